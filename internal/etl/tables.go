// Package etl holds what every stage agrees on: the registry of the nine source
// tables, the typed row a source produces, the conversion rules of domain.md §1–§3
// and the small interfaces the pipeline consumes.
package etl

import (
	"fmt"
	"slices"
	"strings"
)

// Type is how a source column is converted (BigQuery type → PostgreSQL type).
type Type uint8

const (
	TypeText         Type = iota // STRING → TEXT
	TypeIntText                  // INT64 → TEXT, canonical integer text (STRING digits accepted)
	TypeFloatIntText             // FLOAT64 → TEXT, integer digits (phone numbers)
	TypeDate                     // DATE → DATE
	TypeTimestamp                // TIMESTAMP → TIMESTAMPTZ
	TypeInteger                  // INT64 → INTEGER
	TypeMoney                    // FLOAT64 → NUMERIC(15,2)
	TypeBool                     // BOOL → BOOLEAN
	TypeIntBool                  // INT64 → BOOLEAN (1/true → true; 0/false/NULL → false)
	TypeLenientInt               // STRING → INTEGER, non-integer → 1 with a warning
)

func (t Type) String() string {
	return [...]string{"text", "int-text", "float-int-text", "date", "timestamp", "integer", "money", "bool", "int-bool", "lenient-int"}[t]
}

// Column is one source column of a table, in landing-file order.
type Column struct {
	Name     string
	Type     Type
	Required bool // header must be present in landing files (R)
	NotNull  bool // a NULL rejects the row (NN)
	// Lower stores the value lower-cased (ejecutivos.correo_name).
	Lower bool
	// BlankAsEmpty stores NULL or blank as '' (homologation keys: never rejected for NULL).
	BlankAsEmpty bool
	// NullAs replaces a NULL with this canonical value (document → 'SIN DNI', peso → 1).
	NullAs string
}

// Derivation says how a derived column is computed from its source column.
type Derivation uint8

const (
	DeriveLimaDate Derivation = iota + 1 // lima_date(timestamp)
	DerivePDPFlag                        // upper(pdp) IN ('SI','SÍ','1','TRUE')
)

// Derived is a column computed from a source column of the same row.
type Derived struct {
	Name string
	Type Type
	Rule Derivation
	// From names the source column the value is derived from.
	From string
}

// ChangeColumns are the source or derived columns that locate a change: the campaign,
// the day (a timestamp is recorded as its Lima date) and the document.
type ChangeColumns struct {
	Archivo, Day, Document string
}

// Mode says whether a table is read incrementally or replaced in full every run.
type Mode uint8

const (
	ModeIncremental Mode = iota
	ModeFull
)

func (m Mode) String() string {
	if m == ModeFull {
		return "full"
	}
	return "incremental"
}

// Filter is a source filter pushed down to BigQuery; on file sources a failing row
// is counted as filtered and recorded in etl.reject under Reason.
type Filter uint8

const (
	FilterPositiveAmount Filter = iota + 1 // <money column> > 0
	FilterNoRejection                      // motivo_rechazo NULL or ''
	FilterIDCliente                        // id_cliente = etl.ejecutivos_id_cliente
)

// Check is a cross-column rule of a table: Column compared with Other. A failing row
// is rejected with the check's reason, naming Column.
type Check struct {
	Kind          CheckKind
	Column, Other string
}

// CheckKind is how a Check compares its columns.
type CheckKind uint8

const (
	// CheckNotBefore: the DATE Column, when not NULL, is not before the DATE Other.
	CheckNotBefore CheckKind = iota + 1
	// CheckNotAfterLimaDateOf: the DATE Column is not after the Lima date of the
	// TIMESTAMP Other.
	CheckNotAfterLimaDateOf
)

// Reason is the etl.reject reason a failing filter records.
func (f Filter) Reason() string {
	switch f {
	case FilterPositiveAmount:
		return ReasonFilteredMonto
	case FilterNoRejection:
		return ReasonFilteredMotivo
	case FilterIDCliente:
		return ReasonFilteredIDCliente
	}
	return "filtered"
}

// Table describes one logical source table (domain.md §1).
type Table struct {
	Name    string // logical name: --tables, watermark keys, metric labels
	BQTable string // default BigQuery table pattern; {uid} is substituted
	Mode    Mode
	Columns []Column
	Derived []Derived
	// Key is the upsert key (source or derived column names).
	Key []string
	// Incremental is the column whose greatest accepted value is the watermark.
	Incremental  string
	LookbackDays int
	Filters      []Filter
	// Checks are the table's cross-column rules (domain.md §1), applied after typing.
	Checks []Check
	// Distinct collapses identical rows before validation (ejecutivos).
	Distinct bool
	// DependsOn lists tables that must load first (dependency order of run-pipeline).
	DependsOn []string
	// Change names the columns an incremental merge records in etl.pending_change for
	// each inserted or changed row (domain.md §6); empty names record NULL.
	Change ChangeColumns

	colIndex map[string]int
	keyIndex []int
	incIndex int
}

// RawTable is the qualified raw-layer table name.
func (t *Table) RawTable() string { return "raw." + t.Name }

// Width is the number of values in a converted row: source then derived columns.
func (t *Table) Width() int { return len(t.Columns) + len(t.Derived) }

// ColumnNames lists source then derived column names, the order of Row.Values and of
// the raw table's leading columns.
func (t *Table) ColumnNames() []string {
	names := make([]string, 0, t.Width())
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	for _, d := range t.Derived {
		names = append(names, d.Name)
	}
	return names
}

// Index returns the position of a source or derived column in Row.Values, or -1.
func (t *Table) Index(name string) int {
	if i, ok := t.colIndex[name]; ok {
		return i
	}
	return -1
}

// KeyIndex returns the positions of the upsert key columns in Row.Values.
func (t *Table) KeyIndex() []int { return t.keyIndex }

// IncrementalIndex returns the position of the incremental column, or -1 for full tables.
func (t *Table) IncrementalIndex() int { return t.incIndex }

// TypeOf returns the type of a source or derived column by position.
func (t *Table) TypeOf(i int) Type {
	if i < len(t.Columns) {
		return t.Columns[i].Type
	}
	return t.Derived[i-len(t.Columns)].Type
}

func (t *Table) index() error {
	t.colIndex = make(map[string]int, t.Width())
	for i, n := range t.ColumnNames() {
		if _, dup := t.colIndex[n]; dup {
			return fmt.Errorf("table %s: duplicate column %q", t.Name, n)
		}
		t.colIndex[n] = i
	}
	t.keyIndex = t.keyIndex[:0]
	for _, k := range t.Key {
		i, ok := t.colIndex[k]
		if !ok {
			return fmt.Errorf("table %s: key column %q unknown", t.Name, k)
		}
		t.keyIndex = append(t.keyIndex, i)
	}
	t.incIndex = -1
	if t.Incremental != "" {
		i, ok := t.colIndex[t.Incremental]
		if !ok {
			return fmt.Errorf("table %s: incremental column %q unknown", t.Name, t.Incremental)
		}
		t.incIndex = i
	}
	for _, c := range []string{t.Change.Archivo, t.Change.Day, t.Change.Document} {
		if _, ok := t.colIndex[c]; c != "" && !ok {
			return fmt.Errorf("table %s: change column %q unknown", t.Name, c)
		}
	}
	for _, d := range t.Derived {
		if _, ok := t.colIndex[d.From]; !ok {
			return fmt.Errorf("table %s: derived %s from unknown %q", t.Name, d.Name, d.From)
		}
	}
	for _, ck := range t.Checks {
		want := TypeDate
		if ck.Kind == CheckNotAfterLimaDateOf {
			want = TypeTimestamp
		}
		c, okC := t.colIndex[ck.Column]
		o, okO := t.colIndex[ck.Other]
		if !okC || !okO || c >= len(t.Columns) || o >= len(t.Columns) ||
			t.Columns[c].Type != TypeDate || t.Columns[o].Type != want {
			return fmt.Errorf("table %s: check on %s and %s: want source columns of type DATE and %v", t.Name, ck.Column, ck.Other, want)
		}
	}
	return nil
}

// Registry is the ordered set of source tables, in load dependency order.
type Registry struct {
	tables []*Table
	byName map[string]*Table
}

// Tables returns every table in load order.
func (r *Registry) Tables() []*Table { return r.tables }

// Table looks a table up by logical name.
func (r *Registry) Table(name string) (*Table, bool) {
	t, ok := r.byName[name]
	return t, ok
}

// Names lists the logical names in load order.
func (r *Registry) Names() []string {
	names := make([]string, len(r.tables))
	for i, t := range r.tables {
		names[i] = t.Name
	}
	return names
}

// Select resolves a --tables list (empty = all) into tables in load order, naming the
// first unknown one.
func (r *Registry) Select(names []string) ([]*Table, error) {
	if len(names) == 0 {
		return r.tables, nil
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if _, ok := r.byName[n]; !ok {
			return nil, fmt.Errorf("unknown table %q (known: %s)", n, strings.Join(r.Names(), ", "))
		}
		want[n] = true
	}
	var out []*Table
	for _, t := range r.tables {
		if want[t.Name] {
			out = append(out, t)
		}
	}
	return out, nil
}

// NewRegistry builds the registry of domain.md §1 and checks its internal consistency.
func NewRegistry() (*Registry, error) {
	tables := sourceTables()
	r := &Registry{byName: make(map[string]*Table, len(tables))}
	for _, t := range tables {
		if err := t.index(); err != nil {
			return nil, err
		}
		for _, dep := range t.DependsOn {
			if _, ok := r.byName[dep]; !ok {
				return nil, fmt.Errorf("table %s depends on %s, which is not registered before it", t.Name, dep)
			}
		}
		r.tables = append(r.tables, t)
		r.byName[t.Name] = t
	}
	return r, nil
}

// MustRegistry is NewRegistry for callers that cannot recover from a broken
// compiled-in registry (tests, the binary's start-up).
func MustRegistry() *Registry {
	r, err := NewRegistry()
	if err != nil {
		panic(err)
	}
	return r
}

func col(name string, typ Type, flags ...string) Column {
	c := Column{Name: name, Type: typ}
	for _, f := range flags {
		switch {
		case f == "R":
			c.Required = true
		case f == "NN":
			c.NotNull = true
		case f == "lower":
			c.Lower = true
		case f == "blank":
			c.BlankAsEmpty = true
		case strings.HasPrefix(f, "null="):
			c.NullAs = strings.TrimPrefix(f, "null=")
		default:
			panic("unknown column flag " + f)
		}
	}
	return c
}

// sourceTables is domain.md §1, columns in landing-file order. Dimensions load first;
// the facts depend on calendario only for ordering the run summary.
func sourceTables() []*Table {
	const R, NN = "R", "NN"
	return []*Table{
		{
			Name: "homologacion_mibotair", BQTable: "homologacion_{uid}_v2", Mode: ModeFull,
			Columns: []Column{
				col("management", TypeText),
				col("n_1", TypeText, R, "blank"),
				col("n_2", TypeText, R, "blank"),
				col("n_3", TypeText, R, "blank"),
				col("contactabilidad", TypeText, R),
				col("tipo_gestion", TypeText),
				col("codigo_rpta", TypeText),
				col("pdp", TypeText, R),
				col("gestor", TypeText),
				col("peso", TypeLenientInt, R),
			},
			Derived: []Derived{{Name: "es_pdp", Type: TypeBool, Rule: DerivePDPFlag, From: "pdp"}},
			Key:     []string{"n_1", "n_2", "n_3"},
		},
		{
			Name: "homologacion_voicebot", BQTable: "homologacion_{uid}_voicebot", Mode: ModeFull,
			Columns: []Column{
				col("bot_management", TypeText, R, "blank"),
				col("bot_sub_management", TypeText, R, "blank"),
				col("bot_compromiso", TypeText, R, "blank"),
				col("n1_homologado", TypeText),
				col("n2_homologado", TypeText),
				col("n3_homologado", TypeText),
				col("contactabilidad_homologada", TypeText, R),
				col("es_pdp_homologado", TypeIntBool, R),
				col("peso_homologado", TypeInteger, "null=1"),
			},
			Key: []string{"bot_management", "bot_sub_management", "bot_compromiso"},
		},
		{
			Name: "ejecutivos", BQTable: "sync_mibotair_batch_SYS_user", Mode: ModeFull, Distinct: true,
			Columns: []Column{
				col("correo_name", TypeText, R, NN, "lower"),
				col("nombre", TypeText, R),
				col("document", TypeText, R, "null=SIN DNI"),
				col("id_cliente", TypeInteger, R),
			},
			Key:     []string{"correo_name"},
			Filters: []Filter{FilterIDCliente},
		},
		{
			Name: "calendario", BQTable: "bi_{uid}_dash_calendario_v5", Mode: ModeFull,
			Columns: []Column{
				col("archivo", TypeText, R, NN),
				col("tipo_cartera", TypeText),
				col("periodo_asignacion", TypeText),
				col("rango_vencimiento", TypeText),
				col("estado_cartera", TypeText),
				col("periodo_mes", TypeText),
				col("tipo_ciclo_campana", TypeText),
				col("categoria_duracion", TypeText),
				col("fecha_apertura", TypeDate, R, NN),
				col("fecha_trandeuda", TypeDate, R),
				col("fecha_cierre", TypeDate, R),
				col("fecha_cierre_planificada", TypeDate),
				col("periodo_date", TypeDate, R, NN),
				col("duracion_campana_dias_habiles", TypeInteger),
				col("anno_asignacion", TypeInteger),
				col("es_cartera_abierta", TypeBool),
			},
			Key:    []string{"archivo", "periodo_date"},
			Checks: []Check{{Kind: CheckNotBefore, Column: "fecha_cierre", Other: "fecha_apertura"}},
		},
		{
			Name: "asignaciones", BQTable: "batch_{uid}_asignacion", Mode: ModeIncremental,
			Columns: []Column{
				col("cliente", TypeIntText),
				col("cuenta", TypeIntText, R, NN),
				col("cod_luna", TypeIntText, R, NN),
				col("telefono", TypeIntText),
				col("archivo", TypeText, R, NN),
				col("tramo_gestion", TypeText),
				col("negocio", TypeText, R),
				col("dias_sin_trafico", TypeText),
				col("zona", TypeText),
				col("campania_act", TypeText),
				col("min_vto", TypeDate, R),
				col("decil_contacto", TypeInteger),
				col("decil_pago", TypeInteger),
				col("rango_renta", TypeInteger),
				col("creado_el", TypeTimestamp, R, NN),
			},
			Derived:     []Derived{{Name: "fecha_asignacion", Type: TypeDate, Rule: DeriveLimaDate, From: "creado_el"}},
			Key:         []string{"cod_luna", "cuenta", "archivo", "fecha_asignacion"},
			Incremental: "creado_el", LookbackDays: 30,
			DependsOn: []string{"calendario"},
			Change:    ChangeColumns{Archivo: "archivo", Day: "fecha_asignacion"},
		},
		{
			Name: "trandeuda", BQTable: "batch_{uid}_tran_deuda", Mode: ModeIncremental,
			Columns: []Column{
				col("cod_cuenta", TypeText, R, NN),
				col("nro_documento", TypeText, R, NN),
				col("archivo", TypeText, R, NN),
				col("motivo_rechazo", TypeText, R),
				col("fecha_vencimiento", TypeDate),
				col("monto_exigible", TypeMoney, R, NN),
				col("creado_el", TypeTimestamp, R, NN),
			},
			Derived:     []Derived{{Name: "fecha_proceso", Type: TypeDate, Rule: DeriveLimaDate, From: "creado_el"}},
			Key:         []string{"cod_cuenta", "nro_documento", "archivo", "fecha_proceso"},
			Incremental: "creado_el", LookbackDays: 14,
			Filters:   []Filter{FilterPositiveAmount, FilterNoRejection},
			DependsOn: []string{"calendario"},
			// A snapshot day holds nearly every document, so the day alone locates the
			// change; the transform re-attributes that day's documents' payments.
			Change: ChangeColumns{Day: "fecha_proceso"},
		},
		{
			Name: "pagos", BQTable: "batch_{uid}_pagos", Mode: ModeIncremental,
			Columns: []Column{
				col("cod_sistema", TypeText),
				col("nro_documento", TypeText, R, NN),
				col("archivo", TypeText, R, NN),
				col("motivo_rechazo", TypeText, R),
				col("monto_cancelado", TypeMoney, R, NN),
				col("fecha_pago", TypeDate, R, NN),
				col("creado_el", TypeTimestamp, R, NN),
			},
			Key:         []string{"nro_documento", "fecha_pago", "monto_cancelado", "archivo"},
			Incremental: "creado_el", LookbackDays: 30,
			Filters:   []Filter{FilterPositiveAmount, FilterNoRejection},
			Checks:    []Check{{Kind: CheckNotAfterLimaDateOf, Column: "fecha_pago", Other: "creado_el"}},
			DependsOn: []string{"calendario"},
			Change:    ChangeColumns{Day: "fecha_pago", Document: "nro_documento"},
		},
		{
			Name: "voicebot_gestiones", BQTable: "voicebot_{uid}", Mode: ModeIncremental,
			Columns: []Column{
				col("uid", TypeText, R, NN),
				col("campaign_id", TypeText),
				col("campaign_name", TypeText, R),
				col("document", TypeText, R),
				col("management", TypeText, R),
				col("sub_management", TypeText, R),
				col("compromiso", TypeText, R),
				col("origin", TypeText),
				col("observacion", TypeText),
				col("project", TypeText),
				col("client", TypeText),
				col("id_telephony", TypeText),
				col("url_record_bot", TypeText),
				col("phone", TypeFloatIntText),
				col("date", TypeTimestamp, R, NN),
				col("fecha_compromiso", TypeTimestamp),
				col("weight", TypeInteger),
				col("duracion", TypeInteger),
			},
			Key:         []string{"uid"},
			Incremental: "date", LookbackDays: 7,
			DependsOn: []string{"homologacion_voicebot"},
			Change:    ChangeColumns{Day: "date"},
		},
		{
			Name: "mibotair_gestiones", BQTable: "mibotair_{uid}", Mode: ModeIncremental,
			Columns: []Column{
				col("uid", TypeText, R, NN),
				col("campaign_id", TypeText),
				col("campaign_name", TypeText, R),
				col("document", TypeText, R),
				col("management", TypeText),
				col("sub_management", TypeText),
				col("origin", TypeText),
				col("n1", TypeText, R),
				col("n2", TypeText, R),
				col("n3", TypeText, R),
				col("observacion", TypeText),
				col("extra", TypeText),
				col("project", TypeText),
				col("client", TypeText),
				col("nombre_agente", TypeText, R),
				col("correo_agente", TypeText, R),
				col("url", TypeText),
				col("phone", TypeFloatIntText),
				col("date", TypeTimestamp, R, NN),
				col("fecha_compromiso", TypeDate),
				col("monto_compromiso", TypeMoney),
				col("weight", TypeInteger),
				col("duracion", TypeInteger),
			},
			Key:         []string{"uid"},
			Incremental: "date", LookbackDays: 7,
			DependsOn: []string{"homologacion_mibotair", "ejecutivos"},
			Change:    ChangeColumns{Day: "date"},
		},
	}
}

// IncrementalTables lists the tables that keep a watermark.
func (r *Registry) IncrementalTables() []*Table {
	return slices.DeleteFunc(slices.Clone(r.tables), func(t *Table) bool { return t.Mode != ModeIncremental })
}
