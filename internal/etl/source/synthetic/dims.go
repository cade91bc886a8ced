package synthetic

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// row fills one table's source columns by name; hot paths resolve indices once. A
// column the registry lacks is recorded in err (checked before anything is written)
// and resolves to a harmless index.
type row struct {
	t    *etl.Table
	vals []string
	err  error
}

func newRow(t *etl.Table) *row { return &row{t: t, vals: make([]string, len(t.Columns))} }

func (r *row) idx(name string) int {
	i := r.t.Index(name)
	if i < 0 || i >= len(r.t.Columns) {
		if r.err == nil {
			r.err = fmt.Errorf("synthetic: table %s has no source column %q", r.t.Name, name)
		}
		return 0
	}
	return i
}

func (r *row) set(name, v string) *row {
	r.vals[r.idx(name)] = v
	return r
}

func (r *row) reset() *row {
	clear(r.vals)
	return r
}

// writeSingle writes a whole single-file table from prepared rows.
func (g *generator) writeSingle(name string, rows [][]string) error {
	t := g.table(name)
	fw, err := g.out.single(t)
	if err != nil {
		return err
	}
	for _, v := range rows {
		if err := fw.write(v); err != nil {
			fw.abort()
			return err
		}
	}
	return fw.close(g.out)
}

func (g *generator) calendario() error {
	t := g.table("calendario")
	var rows [][]string
	var colErr error
	add := func(kv ...string) {
		r := newRow(t)
		for i := 0; i+1 < len(kv); i += 2 {
			r.set(kv[i], kv[i+1])
		}
		colErr = cmp.Or(colErr, r.err)
		rows = append(rows, r.vals)
	}
	tem, cf, an := g.camps[campTemprana], g.camps[campCF], g.camps[campAN]
	td := func(c campaign) string { return c.trandeuda.String() }
	add("archivo", tem.archivo, "tipo_cartera", "TEMPRANA", "periodo_asignacion", "2025-06", "rango_vencimiento", "0-30",
		"estado_cartera", "ABIERTA", "periodo_mes", "2025-06", "tipo_ciclo_campana", "MENSUAL", "categoria_duracion", "MEDIA",
		"fecha_apertura", tem.apertura.String(), "fecha_trandeuda", td(tem), "fecha_cierre_planificada", "2025-06-30",
		"periodo_date", "2025-06-01", "duracion_campana_dias_habiles", "21", "anno_asignacion", "2025", "es_cartera_abierta", "true")
	// The second Temprana row: a later periodo_date and apertura with newer attributes.
	// Its fecha_trandeuda stays the campaign's (the MIN apertura's): the latest row
	// supplies aux.campana.fecha_trandeuda (§4.1).
	// Its planned close is capped at as_of: nothing in the set is dated after it.
	planned := min("2025-07-31", g.opts.AsOf.String())
	add("archivo", tem.archivo, "tipo_cartera", "TEMPRANA", "periodo_asignacion", "2025-07", "rango_vencimiento", "0-60",
		"estado_cartera", "ABIERTA", "periodo_mes", "2025-07", "tipo_ciclo_campana", "MENSUAL", "categoria_duracion", "LARGA",
		"fecha_apertura", "2025-07-01", "fecha_trandeuda", td(tem), "fecha_cierre_planificada", planned,
		"periodo_date", "2025-07-01", "duracion_campana_dias_habiles", "44", "anno_asignacion", "2025", "es_cartera_abierta", "true")
	add("archivo", cf.archivo, "tipo_cartera", "CUOTA_FRACCIONAMIENTO", "periodo_asignacion", "2025-06", "rango_vencimiento", "61-180",
		"estado_cartera", "CERRADA", "periodo_mes", "2025-06", "tipo_ciclo_campana", "MENSUAL", "categoria_duracion", "CORTA",
		"fecha_apertura", cf.apertura.String(), "fecha_trandeuda", td(cf), "fecha_cierre", cf.cierre.String(),
		"fecha_cierre_planificada", "2025-06-27", "periodo_date", "2025-06-01", "duracion_campana_dias_habiles", "19",
		"anno_asignacion", "2025", "es_cartera_abierta", "false")
	add("archivo", an.archivo, "tipo_cartera", "ALTAS_NUEVAS", "periodo_asignacion", "2025-06", "rango_vencimiento", "0-90",
		"estado_cartera", "CERRADA", "periodo_mes", "2025-06", "tipo_ciclo_campana", "MENSUAL", "categoria_duracion", "MEDIA",
		"fecha_apertura", an.apertura.String(), "fecha_trandeuda", td(an), "fecha_cierre", an.cierre.String(),
		"fecha_cierre_planificada", "2025-07-08", "periodo_date", "2025-06-01", "duracion_campana_dias_habiles", "21",
		"anno_asignacion", "2025", "es_cartera_abierta", "false")
	g.edges.add("calendario_second_row", "Temprana has a second calendario row: later periodo_date and apertura, newer attributes, still open",
		[]KeyRef{key("calendario", "archivo", tem.archivo, "periodo_date", "2025-06-01"),
			key("calendario", "archivo", tem.archivo, "periodo_date", "2025-07-01", "fecha_apertura", "2025-07-01")}, nil)
	g.edges.add("calendario_fecha_trandeuda_after_apertura", "CF_ANN's fecha_trandeuda is the business day after its apertura",
		[]KeyRef{key("calendario", "archivo", cf.archivo, "fecha_apertura", cf.apertura.String(), "fecha_trandeuda", td(cf))}, nil)
	g.edges.add("calendario_closed", "CF_ANN closed 2025-06-27 and AN closed 2025-07-08",
		[]KeyRef{key("calendario", "archivo", cf.archivo, "fecha_cierre", cf.cierre.String()),
			key("calendario", "archivo", an.archivo, "fecha_cierre", an.cierre.String())}, nil)
	if colErr != nil {
		return colErr
	}
	if err := g.writeSingle("calendario", rows); err != nil {
		return err
	}
	g.expect("calendario", nil, nil)
	return nil
}

// mibotRule is one homologacion_mibotair rule; the generator picks outcomes by index.
type mibotRule struct {
	n1, n2, n3      string
	contactabilidad string
	pdp             string
	peso            string
	class           byte // 'D' CD, 'I' CI, 'S' other
}

var mibotRules = []mibotRule{
	{n1: "CONTACTO DIRECTO", n2: "PROMESA DE PAGO", n3: "PAGO TOTAL", contactabilidad: "Contacto Efectivo", pdp: "SI", peso: "10", class: 'D'},
	{n1: "CONTACTO DIRECTO", n2: "PROMESA DE PAGO", n3: "PAGO PARCIAL", contactabilidad: "Contacto Efectivo", pdp: "1", peso: "9", class: 'D'},
	{n1: "CONTACTO DIRECTO", n2: "PROMESA DE PAGO", n3: "CONVENIO", contactabilidad: "CONTACTO EFECTIVO", pdp: "SI", peso: "8", class: 'D'},
	{n1: "CONTACTO DIRECTO", n2: "SIN COMPROMISO", n3: "SE NIEGA A PAGAR", contactabilidad: "Contacto  Efectivo", pdp: "NO", peso: "5", class: 'D'},
	{n1: "CONTACTO DIRECTO", n2: "SIN COMPROMISO", n3: "YA PAGO", contactabilidad: "Contacto Efectivo", pdp: "NO", peso: "6", class: 'D'},
	{n1: "CONTACTO INDIRECTO", n2: "TERCERO", n3: "DEJA RECADO", contactabilidad: "Contacto No Efectivo", pdp: "NO", peso: "4", class: 'I'},
	{n1: "CONTACTO INDIRECTO", n2: "TERCERO", n3: "NO CONOCE AL TITULAR", contactabilidad: "No Contacto", pdp: "NO", peso: "3", class: 'I'},
	{n1: "CONTACTO INDIRECTO", n2: "FAMILIAR", n3: "PROMETE AVISAR", contactabilidad: "No contacto", pdp: "SI", peso: "3", class: 'I'},
	{n1: "NO CONTACTO", n2: "NO CONTESTA", n3: "", contactabilidad: "Sin Respuesta", pdp: "NO", peso: "2", class: 'S'},
	{n1: "NO CONTACTO", n2: "BUZON DE VOZ", n3: "BUZON", contactabilidad: "Sin Respuesta", pdp: "NO", peso: "N/A", class: 'S'},
	{n1: "NO CONTACTO", n2: "TELEFONO ERRADO", n3: "NUMERO NO EXISTE", contactabilidad: "", pdp: "NO", peso: "1", class: 'S'},
	{n1: "NO CONTACTO", n2: "APAGADO", n3: "FUERA DE SERVICIO", contactabilidad: "Sin Respuesta", pdp: "NO", peso: "1", class: 'S'},
}

// Outcome picks per class for calls (indices into mibotRules).
var (
	callPDPRules   = []int{0, 1, 2}
	callCDRules    = []int{3, 4}
	callCDWeights  = []float64{0.6, 0.4}
	callCIRules    = []int{5, 6, 7}
	callCIWeights  = []float64{0.45, 0.35, 0.20}
	callSCRules    = []int{8, 9, 10, 11}
	callSCWeights  = []float64{0.35, 0.30, 0.15, 0.20}
	callUnmapped   = [][3]string{{"CONTACTO DIRECTO", "RECLAMO", "FACTURACION"}, {"SEGUIMIENTO", "", ""}}
	vbUnmappedKeys = [][3]string{{"TITULAR", "RECLAMO", "NO"}, {"TITULAR", "PROMESA_PAGO", ""}} // "" compromiso: filled as "SI|<amount>"
)

// flagPDP reports a PDP flag on the rule, whatever its class.
func (r *mibotRule) flagPDP() bool { return r.pdp == "SI" || r.pdp == "1" }

// countsPDP reports a PDP that counts: a PDP flag on a CD rule.
func (r *mibotRule) countsPDP() bool { return r.flagPDP() && r.class == 'D' }

// vbRule is one homologacion_voicebot rule.
type vbRule struct {
	mgmt, sub, comp string
	n1, n2, n3      string
	contactabilidad string
	esPDP           string
	peso            string
	class           byte
}

var vbRules = []vbRule{
	{mgmt: "TITULAR", sub: "PROMESA_PAGO", comp: "SI", n1: "CONTACTO DIRECTO", n2: "PROMESA DE PAGO", n3: "BOT PDP", contactabilidad: "Contacto Efectivo", esPDP: "1", peso: "10", class: 'D'},
	{mgmt: "TITULAR", sub: "SIN_COMPROMISO", comp: "NO", n1: "CONTACTO DIRECTO", n2: "SIN COMPROMISO", n3: "BOT NIEGA", contactabilidad: "Contacto Efectivo", esPDP: "0", peso: "5", class: 'D'},
	{mgmt: "TITULAR", sub: "YA_PAGO", comp: "NO", n1: "CONTACTO DIRECTO", n2: "SIN COMPROMISO", n3: "BOT YA PAGO", contactabilidad: "Contacto Efectivo", esPDP: "0", peso: "6", class: 'D'},
	{mgmt: "TERCERO", sub: "DEJA_MENSAJE", comp: "NO", n1: "CONTACTO INDIRECTO", n2: "TERCERO", n3: "BOT RECADO", contactabilidad: "Contacto No Efectivo", esPDP: "0", peso: "3", class: 'I'},
	{mgmt: "TERCERO", sub: "NO_CONOCE", comp: "NO", n1: "CONTACTO INDIRECTO", n2: "TERCERO", n3: "BOT NO CONOCE", contactabilidad: "No Contacto", esPDP: "0", peso: "2", class: 'I'},
	{mgmt: "NO_CONTESTA", sub: "BUZON", comp: "", n1: "NO CONTACTO", n2: "BUZON", n3: "BOT BUZON", contactabilidad: "Sin Respuesta", esPDP: "0", peso: "1", class: 'S'},
	{mgmt: "NO_CONTESTA", sub: "CUELGA", comp: "NO", n1: "NO CONTACTO", n2: "CUELGA", n3: "BOT CUELGA", contactabilidad: "Sin Respuesta", esPDP: "0", peso: "1", class: 'S'},
	{mgmt: "FALLIDA", sub: "NUMERO_INVALIDO", comp: "NO", n1: "NO CONTACTO", n2: "FALLIDA", n3: "BOT FALLIDA", contactabilidad: "", esPDP: "", peso: "", class: 'S'},
}

var (
	vbCDRules   = []int{1, 2}
	vbCDWeights = []float64{0.7, 0.3}
	vbCIRules   = []int{3, 4}
	vbCIWeights = []float64{0.6, 0.4}
	vbSCRules   = []int{5, 6, 7}
	vbSCWeights = []float64{0.45, 0.35, 0.20}
)

func (g *generator) homologaciones() error {
	tm := g.table("homologacion_mibotair")
	var rows [][]string
	for i, ru := range mibotRules {
		r := newRow(tm)
		r.set("management", "COBRANZA").set("n_1", ru.n1).set("n_2", ru.n2).set("n_3", ru.n3).
			set("contactabilidad", ru.contactabilidad).set("tipo_gestion", "CALL").set("codigo_rpta", fmt.Sprintf("R%02d", i+1)).
			set("pdp", ru.pdp).set("gestor", "AGENCIA").set("peso", ru.peso)
		if r.err != nil {
			return r.err
		}
		rows = append(rows, r.vals)
	}
	if err := g.writeSingle(tm.Name, rows); err != nil {
		return err
	}
	g.expect(tm.Name, nil, nil)
	hk := func(i int) KeyRef {
		ru := mibotRules[i]
		return key(tm.Name, "n_1", ru.n1, "n_2", ru.n2, "n_3", ru.n3)
	}
	g.edges.add("homologacion_mibotair_pdp_cd", "three CD rules carry a PDP flag (SI / 1)", []KeyRef{hk(0), hk(1), hk(2)}, nil)
	g.edges.add("homologacion_mibotair_ci_variants", "CI written as Contacto No Efectivo, No Contacto and No contacto", []KeyRef{hk(5), hk(6), hk(7)}, nil)
	g.edges.add("homologacion_mibotair_cd_variants", "CD written as CONTACTO EFECTIVO and with a doubled inner space", []KeyRef{hk(2), hk(3)}, nil)
	g.edges.add("homologacion_mibotair_other", "rules neither CD nor CI: Sin Respuesta and a NULL contactabilidad", []KeyRef{hk(8), hk(10)}, nil)
	g.edges.add("homologacion_mibotair_null_n3", "a rule with a NULL n_3 (stored as '')", []KeyRef{hk(8)}, nil)
	g.edges.add("homologacion_mibotair_non_numeric_peso", "peso 'N/A' (stored as 1 with a warning)", []KeyRef{hk(9)}, nil)
	g.edges.add("homologacion_mibotair_pdp_on_ci", "a PDP flag on a CI rule: never counted", []KeyRef{hk(7)}, nil)

	tv := g.table("homologacion_voicebot")
	rows = nil
	for _, ru := range vbRules {
		r := newRow(tv)
		r.set("bot_management", ru.mgmt).set("bot_sub_management", ru.sub).set("bot_compromiso", ru.comp).
			set("n1_homologado", ru.n1).set("n2_homologado", ru.n2).set("n3_homologado", ru.n3).
			set("contactabilidad_homologada", ru.contactabilidad).set("es_pdp_homologado", ru.esPDP).set("peso_homologado", ru.peso)
		if r.err != nil {
			return r.err
		}
		rows = append(rows, r.vals)
	}
	if err := g.writeSingle(tv.Name, rows); err != nil {
		return err
	}
	g.expect(tv.Name, nil, nil)
	vk := func(i int) KeyRef {
		ru := vbRules[i]
		return key(tv.Name, "bot_management", ru.mgmt, "bot_sub_management", ru.sub, "bot_compromiso", ru.comp)
	}
	g.edges.add("homologacion_voicebot_null_compromiso", "a rule with a NULL bot_compromiso (stored as '')", []KeyRef{vk(5)}, nil)
	g.edges.add("homologacion_voicebot_no_contacto", "a rule classed `No Contacto` (CI)", []KeyRef{vk(4)}, nil)
	g.edges.add("homologacion_voicebot_pdp_cd_only", "the only PDP rule is a CD rule", []KeyRef{vk(0)}, nil)
	g.edges.add("homologacion_voicebot_nulls", "a rule with NULL contactabilidad, es_pdp and peso (SIN_CLASIFICAR, false, 1)", []KeyRef{vk(7)}, nil)
	return nil
}

type agent struct {
	nombre string
	correo string // as written in mibotair_gestiones
	dni    string
}

var (
	agentFirst = []string{"Rosa", "Juan", "Maria", "Carlos", "Lucia", "Jorge", "Ana", "Luis", "Carmen", "Miguel", "Elena", "Pedro", "Sofia", "Diego", "Paola"}
	agentLast  = []string{"Quispe", "Flores", "Huaman", "Rojas", "Mendoza", "Torres", "Garcia", "Chavez", "Vargas", "Ramos", "Castillo", "Espinoza"}
)

// ejecutivos draws the agents (used by mibotair) and writes the ejecutivos table:
// agent 0 is absent, agent 1 has an empty document, agent 2's correo differs from the
// gestiones only in case; plus an identical duplicate row and a row of another client.
func (g *generator) ejecutivos() error {
	r := newStream(g.opts.Seed, "ejecutivos")
	t := g.table("ejecutivos")
	g.agents = make([]agent, g.p.agents)
	for i := range g.agents {
		first, last := agentFirst[r.IntN(len(agentFirst))], agentLast[r.IntN(len(agentLast))]
		g.agents[i] = agent{
			nombre: first + " " + last,
			correo: fmt.Sprintf("%s.%s%02d@agencia-cobranzas.pe", strings.ToLower(first), strings.ToLower(last), i),
			dni:    itoa(40000000 + r.IntN(39999999)),
		}
	}
	var rows [][]string
	ek := func(correo string) KeyRef { return key(t.Name, "correo_name", correo) }
	for i := 1; i < len(g.agents); i++ {
		a := g.agents[i]
		correo, dni := a.correo, a.dni
		switch i {
		case 1:
			dni = ""
			g.edges.add("ejecutivos_empty_document", "an agent with an empty document (SIN DNI)", []KeyRef{ek(correo)}, nil)
		case 2:
			correo = caseVariant(correo)
			g.edges.add("ejecutivos_correo_case", "an ejecutivos correo that differs from the gestiones' only in case",
				[]KeyRef{ek(correo)}, nil)
		}
		er := newRow(t).set("correo_name", correo).set("nombre", a.nombre).set("document", dni).set("id_cliente", "145")
		if er.err != nil {
			return er.err
		}
		rows = append(rows, er.vals)
	}
	dup := append([]string(nil), rows[2]...)
	rows = append(rows, dup)
	g.edges.add("ejecutivos_identical_rows", "two identical ejecutivos rows: collapse before validation, counted as filtered",
		[]KeyRef{keyN(2, t.Name, "correo_name", dup[t.Index("correo_name")])}, nil)
	other := "supervisor.norte@otro-cliente.pe"
	rows = append(rows, newRow(t).set("correo_name", other).set("nombre", "Supervisor Norte").set("document", "41234567").set("id_cliente", "146").vals)
	g.edges.add("ejecutivos_other_id_cliente", "an ejecutivos row with id_cliente 146 (filtered_id_cliente)",
		[]KeyRef{key(t.Name, "correo_name", other, "id_cliente", "146")}, nil)
	g.edges.add("ejecutivos_absent_agent", "an agent with CALL_CENTER gestiones but no ejecutivos row",
		nil, []KeyRef{key(t.Name, "correo_name", g.agents[0].correo)})
	if err := g.writeSingle(t.Name, rows); err != nil {
		return err
	}
	g.expect(t.Name, map[string]int{"identical_row": 1, etl.ReasonFilteredIDCliente: 1}, nil)
	return nil
}

// caseVariant upper-cases the first letter of each dot- or @-separated part.
func caseVariant(s string) string {
	b := []byte(s)
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '.' || c == '@'
	}
	return string(b)
}

// expect sets a table's expected load counters from its written rows.
func (g *generator) expect(name string, filtered, rejected map[string]int) {
	tm := g.out.table(g.table(name))
	e := LoadExpectation{RowsRead: tm.Rows, Filtered: filtered, Rejected: rejected}
	for _, n := range filtered {
		e.RowsFiltered += n
	}
	for _, n := range rejected {
		e.RowsRejected += n
	}
	e.RowsLoaded = e.RowsRead - e.RowsFiltered - e.RowsRejected
	tm.Load = e
}
