package synthetic

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Manifest describes a generated data set: what was written, the keys of every injected
// edge case and what a full load of the directory must report.
type Manifest struct {
	Seed   int64  `json:"seed"`
	AsOf   string `json:"as_of"`
	Scale  string `json:"scale"`
	Format string `json:"format"`
	// BusinessDays is the number of Monday–Friday days from the first apertura to as_of.
	BusinessDays int `json:"business_days"`
	// SnapshotDays lists the trandeuda fecha_proceso days (business days and every
	// campaign's fecha_trandeuda).
	SnapshotDays []string           `json:"snapshot_days"`
	Campaigns    []CampaignManifest `json:"campaigns"`
	// Totals of the generated world (distinct clients and accounts assigned to a campaign).
	Clientes int `json:"clientes"`
	Cuentas  int `json:"cuentas"`
	// Tables by logical name.
	Tables map[string]*TableManifest `json:"tables"`
	// EdgeCases by name (see the Description of each).
	EdgeCases map[string]*EdgeCase `json:"edge_cases"`
}

// CampaignManifest is one campaign as aux.campana will see it.
type CampaignManifest struct {
	Archivo        string `json:"archivo"`
	Cartera        string `json:"cartera"`
	FechaApertura  string `json:"fecha_apertura"`
	FechaTrandeuda string `json:"fecha_trandeuda"`
	FechaCierre    string `json:"fecha_cierre,omitempty"`
	// Cuentas and Clientes are the distinct accounts and clients assigned to it.
	Cuentas  int `json:"cuentas"`
	Clientes int `json:"clientes"`
}

// TableManifest is what was written for one table.
type TableManifest struct {
	Rows  int            `json:"rows"`
	Files []FileManifest `json:"files"`
	// Load is what `pulso load --full` of the whole directory (a fresh database, the
	// same as_of) must report for the table.
	Load LoadExpectation `json:"expected_load"`
}

// FileManifest is one landing file, its path relative to OutDir with '/' separators.
type FileManifest struct {
	Path string `json:"path"`
	Rows int    `json:"rows"`
}

// LoadExpectation holds the raw-step counters of domain.md §3 for one full load:
// RowsRead = RowsFiltered + RowsRejected + RowsLoaded.
type LoadExpectation struct {
	RowsRead     int `json:"rows_read"`
	RowsFiltered int `json:"rows_filtered"`
	RowsRejected int `json:"rows_rejected"`
	RowsLoaded   int `json:"rows_loaded"`
	// Filtered by reason: the etl.reject reasons filtered_monto, filtered_motivo_rechazo,
	// filtered_id_cliente, and identical_row (ejecutivos duplicates, counted only).
	Filtered map[string]int `json:"filtered,omitempty"`
	// Rejected by etl.reject reason (future_date, duplicate_key).
	Rejected map[string]int `json:"rejected,omitempty"`
}

// EdgeCase is one injected case: rows that must be present and rows that must be
// absent, each named by table and the values of some of its columns (source columns,
// or the derived fecha_proceso / fecha_asignacion).
type EdgeCase struct {
	Description string `json:"description"`
	// Count is how many instances were injected; Present/Absent may list only the first
	// ones (Truncated) when the case is a share of a large population.
	Count     int      `json:"count"`
	Truncated bool     `json:"truncated,omitempty"`
	Present   []KeyRef `json:"present,omitempty"`
	Absent    []KeyRef `json:"absent,omitempty"`
}

// KeyRef names rows of a table by column values. Rows, when non-zero, is the exact
// number of rows matching (e.g. 2 for a row delivered in two files); zero means "at
// least one" for Present keys.
type KeyRef struct {
	Table string            `json:"table"`
	Key   map[string]string `json:"key"`
	Rows  int               `json:"rows,omitempty"`
}

// ReadManifest reads a _demo_manifest.json.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	return &m, nil
}

// EdgeCaseNames lists the edge case names in sorted order.
func (m *Manifest) EdgeCaseNames() []string {
	names := make([]string, 0, len(m.EdgeCases))
	for n := range m.EdgeCases {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (m *Manifest) write(path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("synthetic: manifest: %w", err)
	}
	b = append(b, '\n')
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("synthetic: manifest: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("synthetic: manifest: %w", err)
	}
	return nil
}

// edges collects edge cases while generating; maxKeys caps the keys listed for cases
// that are a share of the population.
type edges struct {
	mu      sync.Mutex // the two gestiones channels run concurrently (disjoint case names)
	m       map[string]*EdgeCase
	maxKeys int
}

func (e *edges) get(name, desc string) *EdgeCase {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.m[name]
	if !ok {
		c = &EdgeCase{Description: desc}
		e.m[name] = c
	}
	return c
}

// add records one instance with its present and absent keys (listed unconditionally:
// deliberate cases have a fixed, small count).
func (e *edges) add(name, desc string, present, absent []KeyRef) {
	c := e.get(name, desc)
	c.Count++
	c.Present = append(c.Present, present...)
	c.Absent = append(c.Absent, absent...)
}

// sample records one instance of a share-of-population case, listing its keys only for
// the first maxKeys instances.
func (e *edges) sample(name, desc string, present, absent []KeyRef) {
	if c := e.tally(name, desc); c != nil {
		c.Present = append(c.Present, present...)
		c.Absent = append(c.Absent, absent...)
	}
}

// tally counts one instance of a share-of-population case and returns the case while
// its keys are still listed (the first maxKeys instances), nil after that.
func (e *edges) tally(name, desc string) *EdgeCase {
	c := e.get(name, desc)
	c.Count++
	if c.Count > e.maxKeys {
		c.Truncated = true
		return nil
	}
	return c
}

func key(table string, kv ...string) KeyRef {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return KeyRef{Table: table, Key: m}
}

func keyN(n int, table string, kv ...string) KeyRef {
	k := key(table, kv...)
	k.Rows = n
	return k
}
