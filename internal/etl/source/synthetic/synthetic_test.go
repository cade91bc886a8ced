package synthetic

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
)

// dataset is a generated directory read back through the files readers and the etl
// converter, the path `pulso load` takes.
type dataset struct {
	dir    string
	man    *Manifest
	asOf   etl.Date
	tables map[string]*tableData
}

type tableData struct {
	t *etl.Table
	// rows hold the raw fields of every record read, then the derived columns.
	rows  [][]string
	files map[string]int // rows per file, path relative to the directory
	load  LoadExpectation
}

func (td *tableData) col(name string) int {
	i := td.t.Index(name)
	if i < 0 {
		panic("no column " + name)
	}
	return i
}

func generate(t testing.TB, dir string, opts Options) *Manifest {
	t.Helper()
	opts.OutDir = dir
	m, err := Generate(context.Background(), opts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return m
}

// read loads every table of dir through files.Source and etl.Converter, counting the
// outcomes as the loader does (duplicate keys among accepted rows are rejected).
func read(t testing.TB, dir string, man *Manifest) *dataset {
	t.Helper()
	ctx := context.Background()
	reg := etl.MustRegistry()
	asOf, err := etl.ParseDate(man.AsOf)
	if err != nil {
		t.Fatal(err)
	}
	ds := &dataset{dir: dir, man: man, asOf: asOf, tables: map[string]*tableData{}}
	src := files.New(dir, files.Options{}, nil)
	for _, tbl := range reg.Tables() {
		td := &tableData{t: tbl, files: map[string]int{}}
		ds.tables[tbl.Name] = td
		parts, err := src.Parts(ctx, tbl)
		if err != nil {
			t.Fatalf("%s: %v", tbl.Name, err)
		}
		conv := etl.NewConverter(tbl, etl.ConvertOptions{Window: etl.Window{To: asOf.AddDays(1).Start()}, EjecutivosIDCliente: 145})
		keys := map[string]bool{}
		accepted := 0
		e := LoadExpectation{Filtered: map[string]int{}, Rejected: map[string]int{}}
		var rec etl.Record
		var row etl.Row
		var rej etl.Reject
		for _, p := range parts {
			rd, err := src.Open(ctx, tbl, p, etl.Window{})
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, p.Name)
			rel = filepath.ToSlash(rel)
			for {
				ok, err := rd.Next(&rec)
				if err != nil {
					t.Fatalf("%s: %v", p.Name, err)
				}
				if !ok {
					break
				}
				if rec.Fault != nil {
					t.Fatalf("%s:%d: row fault %v", p.Name, rec.Line, rec.Fault)
				}
				td.files[rel]++
				fields := append(make([]string, 0, tbl.Width()), rec.Fields...)
				for _, d := range tbl.Derived {
					fields = append(fields, derive(t, d, fields[tbl.Index(d.From)]))
				}
				td.rows = append(td.rows, fields)
				e.RowsRead++
				switch conv.Convert(&rec, &row, &rej) {
				case etl.Accepted:
					accepted++
					var k strings.Builder
					for _, i := range tbl.KeyIndex() {
						k.WriteString(row.Values[i])
						k.WriteByte(0)
					}
					keys[k.String()] = true
				case etl.Filtered:
					e.RowsFiltered++
					e.Filtered["identical_row"]++
				case etl.OutsideWindow:
					e.RowsFiltered++
					e.Filtered["outside_window"]++
				case etl.FilteredRecorded:
					e.RowsFiltered++
					e.Filtered[rej.Reason]++
				case etl.Rejected:
					e.RowsRejected++
					e.Rejected[rej.Reason]++
					t.Logf("%s: %s line %d rejected %s: %s", tbl.Name, rec.Source, rec.Line, rej.Reason, rej.Detail)
				}
			}
			if w := rd.Warnings(); len(w) > 0 {
				t.Errorf("%s: reader warnings %v", p.Name, w)
			}
			rd.Close()
		}
		if dup := accepted - len(keys); dup > 0 {
			e.RowsRejected += dup
			e.Rejected[etl.ReasonDuplicateKey] += dup
		}
		e.RowsLoaded = e.RowsRead - e.RowsFiltered - e.RowsRejected
		if len(e.Filtered) == 0 {
			e.Filtered = nil
		}
		if len(e.Rejected) == 0 {
			e.Rejected = nil
		}
		td.load = e
	}
	return ds
}

func derive(t testing.TB, d etl.Derived, from string) string {
	if d.Rule != etl.DeriveLimaDate || from == "" {
		return ""
	}
	return limaDay(t, from).String()
}

func limaDay(t testing.TB, ts string) etl.Date {
	c, err := etl.CanonicalTimestamp(ts)
	if err != nil {
		t.Fatalf("timestamp %q: %v", ts, err)
	}
	tt, _ := time.Parse(time.RFC3339Nano, c)
	return etl.LimaDate(tt)
}

func limaClock(t testing.TB, ts string) (h, m, s int) {
	c, _ := etl.CanonicalTimestamp(ts)
	tt, err := time.Parse(time.RFC3339Nano, c)
	if err != nil {
		t.Fatalf("timestamp %q: %v", ts, err)
	}
	return tt.In(etl.Lima).Clock()
}

var (
	smallOnce sync.Once
	smallDir  string
	smallMan  *Manifest
	smallData *dataset
	smallErr  error
)

// small is the default data set (seed 42, as_of 2025-07-15), generated once per run.
func small(t *testing.T) *dataset {
	t.Helper()
	smallOnce.Do(func() {
		smallDir, smallErr = os.MkdirTemp("", "synthetic-small-")
		if smallErr != nil {
			return
		}
		smallMan, smallErr = Generate(context.Background(), Options{OutDir: smallDir})
		if smallErr == nil {
			smallData = read(t, smallDir, smallMan)
		}
	})
	if smallErr != nil {
		t.Fatal(smallErr)
	}
	return smallData
}

func TestMain(m *testing.M) {
	code := m.Run()
	if smallDir != "" {
		os.RemoveAll(smallDir)
	}
	os.Exit(code)
}

// snapshot returns every regular file under dir (relative path → bytes).
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	for _, f := range []files.Format{files.FormatCSV, files.FormatCSVGz, files.FormatNDJSON} {
		t.Run(f.String(), func(t *testing.T) {
			a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
			generate(t, a, Options{Seed: 42, Format: f})
			generate(t, b, Options{Seed: 42, Format: f})
			generate(t, c, Options{Seed: 7, Format: f})
			sa, sb, sc := snapshot(t, a), snapshot(t, b), snapshot(t, c)
			if len(sa) != len(sb) {
				t.Fatalf("same seed: %d files vs %d", len(sa), len(sb))
			}
			for name, ba := range sa {
				if !bytes.Equal(ba, sb[name]) {
					t.Errorf("same seed: %s differs", name)
				}
			}
			differ := 0
			for name, ba := range sa {
				if !bytes.Equal(ba, sc[name]) {
					differ++
				}
			}
			if differ == 0 || bytes.Equal(sa[ManifestName], sc[ManifestName]) {
				t.Errorf("seed 7 gave the same data set as seed 42 (%d files differ)", differ)
			}
			for name := range sa {
				if strings.HasPrefix(filepath.Base(name), ".") {
					t.Errorf("temporary file left behind: %s", name)
				}
			}
		})
	}
}

// TestExpectedLoad reads every format back through the files readers and the etl
// converter: the outcomes match the manifest's expected_load, and the files and row
// counts match its file lists.
func TestExpectedLoad(t *testing.T) {
	check := func(t *testing.T, ds *dataset) {
		for _, name := range tableNames {
			td, tm := ds.tables[name], ds.man.Tables[name]
			if tm == nil {
				t.Fatalf("%s: not in the manifest", name)
			}
			if fmt.Sprint(td.load) != fmt.Sprint(tm.Load) {
				t.Errorf("%s: load\n got  %+v\n want %+v", name, td.load, tm.Load)
			}
			if tm.Load.RowsRead != tm.Load.RowsFiltered+tm.Load.RowsRejected+tm.Load.RowsLoaded {
				t.Errorf("%s: manifest counters do not add up: %+v", name, tm.Load)
			}
			sum := 0
			got := map[string]int{}
			for _, f := range tm.Files {
				got[f.Path] = f.Rows
				sum += f.Rows
			}
			if sum != tm.Rows || tm.Rows != len(td.rows) {
				t.Errorf("%s: manifest rows %d, file rows %d, read %d", name, tm.Rows, sum, len(td.rows))
			}
			if fmt.Sprint(got) != fmt.Sprint(td.files) {
				t.Errorf("%s: files\n manifest %v\n read     %v", name, got, td.files)
			}
		}
	}
	t.Run("csv", func(t *testing.T) { check(t, small(t)) })
	for _, f := range []files.Format{files.FormatCSVGz, files.FormatNDJSON} {
		t.Run(f.String(), func(t *testing.T) {
			dir := t.TempDir()
			m := generate(t, dir, Options{Format: f})
			check(t, read(t, dir, m))
		})
	}
}

func (ds *dataset) match(t *testing.T, k KeyRef) int {
	t.Helper()
	td := ds.tables[k.Table]
	if td == nil {
		t.Fatalf("edge key names unknown table %q", k.Table)
	}
	type cv struct {
		i int
		v string
	}
	var cols []cv
	for name, v := range k.Key {
		i := td.t.Index(name)
		if i < 0 {
			t.Fatalf("edge key %v names unknown column %s.%s", k.Key, k.Table, name)
		}
		cols = append(cols, cv{i, v})
	}
	n := 0
	for _, r := range td.rows {
		ok := true
		for _, c := range cols {
			if r[c.i] != c.v {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}

// wantEdges are the §7 edge cases every data set carries.
var wantEdges = []string{
	"calendario_second_row", "calendario_fecha_trandeuda_after_apertura", "calendario_closed",
	"asignaciones_negocio_variants", "asignaciones_min_vto_bands", "asignaciones_late", "asignaciones_evening",
	"asignaciones_two_campaigns", "asignaciones_unmatched_archivo",
	"trandeuda_never_appears", "trandeuda_owes_under_one", "trandeuda_misses_fecha_trandeuda",
	"trandeuda_paid_document_leaves", "trandeuda_partial_payment_reduces", "trandeuda_document_in_two_files",
	"trandeuda_filtered_monto", "trandeuda_filtered_motivo_rechazo", "trandeuda_fecha_trandeuda_after_apertura",
	"homologacion_mibotair_pdp_cd", "homologacion_mibotair_ci_variants", "homologacion_mibotair_other",
	"homologacion_mibotair_null_n3", "homologacion_mibotair_non_numeric_peso", "homologacion_mibotair_pdp_on_ci",
	"homologacion_voicebot_null_compromiso", "homologacion_voicebot_no_contacto", "homologacion_voicebot_pdp_cd_only",
	"ejecutivos_absent_agent", "ejecutivos_empty_document", "ejecutivos_correo_case", "ejecutivos_identical_rows",
	"ejecutivos_other_id_cliente",
	"voicebot_gestiones_unmapped_codes", "mibotair_gestiones_unmapped_codes",
	"voicebot_gestiones_before_apertura", "mibotair_gestiones_before_apertura",
	"voicebot_gestiones_after_cierre", "mibotair_gestiones_after_cierre",
	"voicebot_gestiones_document_without_assignment", "mibotair_gestiones_document_without_assignment",
	"voicebot_gestiones_uid_in_two_files", "mibotair_gestiones_uid_in_two_files",
	"voicebot_gestiones_after_19h", "mibotair_gestiones_after_19h",
	"voicebot_gestiones_null_campaign_name", "mibotair_gestiones_null_campaign_name",
	"mibotair_gestiones_agent_absent", "mibotair_gestiones_correo_case", "mibotair_gestiones_pdp_on_ci",
	"pagos_duplicate_in_two_files", "pagos_after_campaign_close", "pagos_future_date", "pagos_excess_per_day",
	"pagos_unknown_document", "pagos_filtered_monto", "pagos_filtered_motivo_rechazo", "pagos_after_pdp",
}

func TestEdgeCaseKeysInFiles(t *testing.T) {
	ds := small(t)
	for _, name := range wantEdges {
		if ec := ds.man.EdgeCases[name]; ec == nil || ec.Count == 0 {
			t.Errorf("edge case %s missing from the manifest", name)
		}
	}
	for _, name := range ds.man.EdgeCaseNames() {
		ec := ds.man.EdgeCases[name]
		if len(ec.Present)+len(ec.Absent) == 0 {
			t.Errorf("%s: no keys", name)
		}
		for _, k := range ec.Present {
			n := ds.match(t, k)
			if (k.Rows == 0 && n == 0) || (k.Rows > 0 && n != k.Rows) {
				t.Errorf("%s: %s %v matches %d rows, want %d (0 = at least one)", name, k.Table, k.Key, n, k.Rows)
			}
		}
		for _, k := range ec.Absent {
			if n := ds.match(t, k); n != 0 {
				t.Errorf("%s: %s %v should be absent, matches %d rows", name, k.Table, k.Key, n)
			}
		}
	}
	// Exact counts of the deliberate cases.
	for name, want := range map[string]int{
		"asignaciones_two_campaigns": 10, "asignaciones_unmatched_archivo": 3, "trandeuda_misses_fecha_trandeuda": 10,
		"pagos_excess_per_day": 4, "asignaciones_negocio_variants": 6, "asignaciones_min_vto_bands": 5,
	} {
		if got := ds.man.EdgeCases[name].Count; got != want {
			t.Errorf("%s: count %d, want %d", name, got, want)
		}
	}
}

// TestNothingAfterAsOf: every DATE and the Lima date of every TIMESTAMP is ≤ as_of.
func TestNothingAfterAsOf(t *testing.T) {
	ds := small(t)
	for _, name := range tableNames {
		td := ds.tables[name]
		for i, c := range td.t.Columns {
			if c.Type != etl.TypeDate && c.Type != etl.TypeTimestamp {
				continue
			}
			for _, r := range td.rows {
				v := r[i]
				if v == "" {
					continue
				}
				d := v
				if c.Type == etl.TypeTimestamp {
					d = limaDay(t, v).String()
				}
				if d > ds.man.AsOf {
					t.Errorf("%s.%s = %s is after as_of %s", name, c.Name, v, ds.man.AsOf)
				}
			}
		}
	}
}

func TestCalendario(t *testing.T) {
	ds := small(t)
	td := ds.tables["calendario"]
	if len(td.rows) != 4 {
		t.Fatalf("calendario rows %d, want 4", len(td.rows))
	}
	want := map[string]string{
		"Cartera_Agencia_Cobranding_Gestion_Temprana_20250602": "",
		"Cartera_Agencia_Cobranding_Gestion_CF_ANN_20250603":   "2025-06-27",
		"Cartera_Agencia_Cobranding_Gestion_AN_20250610":       "2025-07-08",
	}
	minAp := map[string]string{}
	for _, r := range td.rows {
		a := r[td.col("archivo")]
		cierre, ok := want[a]
		if !ok {
			t.Fatalf("unexpected archivo %s", a)
		}
		if r[td.col("fecha_cierre")] != cierre {
			t.Errorf("%s: fecha_cierre %q, want %q", a, r[td.col("fecha_cierre")], cierre)
		}
		ap := r[td.col("fecha_apertura")]
		if minAp[a] == "" || ap < minAp[a] {
			minAp[a] = ap
		}
	}
	// fecha_trandeuda, in every row of the campaign: its apertura, or the business
	// day after for CF_ANN.
	lag := map[string]int{
		"Cartera_Agencia_Cobranding_Gestion_Temprana_20250602": 0,
		"Cartera_Agencia_Cobranding_Gestion_CF_ANN_20250603":   1,
		"Cartera_Agencia_Cobranding_Gestion_AN_20250610":       0,
	}
	for _, r := range td.rows {
		a := r[td.col("archivo")]
		ap, _ := etl.ParseDate(minAp[a])
		wantTD := ap
		if lag[a] == 1 {
			wantTD = nextBusinessDay(ap)
		}
		if ftd := r[td.col("fecha_trandeuda")]; ftd != wantTD.String() {
			t.Errorf("%s (periodo_date %s): fecha_trandeuda %s, want %s", a, r[td.col("periodo_date")], ftd, wantTD)
		}
	}
	for _, c := range ds.man.Campaigns {
		ap, _ := etl.ParseDate(c.FechaApertura)
		if c.FechaTrandeuda != ap.String() && c.FechaTrandeuda != nextBusinessDay(ap).String() {
			t.Errorf("manifest: %s fecha_trandeuda %s is neither apertura %s nor the business day after", c.Archivo, c.FechaTrandeuda, ap)
		}
	}
}

func nextBusinessDay(d etl.Date) etl.Date {
	d = d.AddDays(1)
	for isWeekend(d) {
		d = d.AddDays(1)
	}
	return d
}

func isWeekend(d etl.Date) bool {
	wd := d.Start().Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// assigned returns the asignaciones rows whose archivo names a campaign.
func (ds *dataset) assigned() [][]string {
	td := ds.tables["asignaciones"]
	var out [][]string
	for _, r := range td.rows {
		if r[td.col("archivo")] != unmatchedArchivo {
			out = append(out, r)
		}
	}
	return out
}

func (ds *dataset) apertura(t *testing.T) map[string]etl.Date {
	out := map[string]etl.Date{}
	for _, c := range ds.man.Campaigns {
		d, err := etl.ParseDate(c.FechaApertura)
		if err != nil {
			t.Fatal(err)
		}
		out[c.Archivo+".txt"] = d
	}
	return out
}

func TestAsignaciones(t *testing.T) {
	ds := small(t)
	td := ds.tables["asignaciones"]
	rows := ds.assigned()
	ap := ds.apertura(t)
	clients, accounts := map[string]map[string]bool{}, map[string]bool{}
	variants := map[string]int{}
	bands := map[string]int{}
	late, evening, movil := 0, 0, 0
	for _, r := range rows {
		a := r[td.col("archivo")]
		apd, ok := ap[a]
		if !ok {
			t.Fatalf("archivo %q is neither campaign + .txt nor the unmatched one", a)
		}
		cl, cu := r[td.col("cod_luna")], r[td.col("cuenta")]
		if clients[cl] == nil {
			clients[cl] = map[string]bool{}
		}
		clients[cl][cu] = true
		accounts[cu] = true
		neg := r[td.col("negocio")]
		variants[neg]++
		if strings.EqualFold(strings.TrimSpace(neg), "MOVIL") {
			movil++
		}
		if mv := r[td.col("min_vto")]; mv != "" {
			d, _ := etl.ParseDate(mv)
			days := int(apd.Start().Sub(d.Start()).Hours()) / 24
			switch {
			case days < 0 || days > 250:
				t.Errorf("min_vto %s is %d days before apertura", mv, days)
			case days <= 30:
				bands["0-30"]++
			case days <= 60:
				bands["31-60"]++
			case days <= 90:
				bands["61-90"]++
			case days <= 180:
				bands["91-180"]++
			default:
				bands["180+"]++
			}
		}
		ce := r[td.col("creado_el")]
		fa := limaDay(t, ce)
		switch lag := int(fa.Start().Sub(apd.Start()).Hours()) / 24; {
		case lag == 0:
		case lag >= 1 && lag <= 3:
			late++
		default:
			t.Errorf("creado_el %s is %d days after apertura %s", ce, lag, apd)
		}
		if h, _, _ := limaClock(t, ce); h >= 22 {
			evening++
			if fa.String() != r[td.col("fecha_asignacion")] || limaDay(t, ce).String() == ce[:10] {
				t.Errorf("evening creado_el %s should fall on the next UTC day", ce)
			}
		}
		for _, c := range []string{"decil_contacto", "decil_pago"} {
			if v := r[td.col(c)]; len(v) == 0 || (v != "10" && (len(v) != 1 || v < "1" || v > "9")) {
				t.Errorf("%s = %q, want 1–10", c, v)
			}
		}
	}
	if n := len(clients); n < 740 || n > 820 {
		t.Errorf("%d clients, want ~780", n)
	}
	if n := len(accounts); n < 760 || n > 840 {
		t.Errorf("%d accounts, want ~800", n)
	}
	// As in real portfolios: ~1.02 accounts per client, 2% of clients with two or three.
	multi := 0
	for cl, accs := range clients {
		if len(accs) < 1 || len(accs) > 3 {
			t.Errorf("client %s has %d accounts, want 1–3", cl, len(accs))
		}
		if len(accs) > 1 {
			multi++
		}
	}
	if r := float64(len(accounts)) / float64(len(clients)); r < 1.0 || r > 1.05 {
		t.Errorf("%.3f accounts per client, want ~1.02", r)
	}
	if share := float64(multi) / float64(len(clients)); share < 0.01 || share > 0.035 {
		t.Errorf("clients with 2–3 accounts: %.3f, want ~2%%", share)
	}
	for _, v := range []string{"MOVIL", "Movil", " movil ", "FIJA", "HFC", ""} {
		if variants[v] == 0 {
			t.Errorf("negocio variant %q missing", v)
		}
	}
	if share := float64(movil) / float64(len(rows)); share < 0.53 || share > 0.67 {
		t.Errorf("MOVIL share %.2f, want ~0.60", share)
	}
	for _, b := range []string{"0-30", "31-60", "61-90", "91-180", "180+"} {
		if bands[b] == 0 {
			t.Errorf("min_vto band %s missing", b)
		}
	}
	if share := float64(late) / float64(len(rows)); late == 0 || share > 0.06 {
		t.Errorf("late assignments %d (%.3f), want ~3%%", late, share)
	}
	if evening == 0 {
		t.Error("no assignment created 22:00–23:59 Lima")
	}
	if got := len(td.rows) - len(rows); got != 3 {
		t.Errorf("%d rows match no campaign, want 3", got)
	}
}

var tranArchivo = regexp.MustCompile(`^TRAN_DEUDA_(\d\d)(\d\d)_([12])$`)

func TestTrandeuda(t *testing.T) {
	ds := small(t)
	td := ds.tables["trandeuda"]
	days := map[string]map[string]bool{}
	first := map[string]string{}               // account → first fecha_proceso
	firstTotal := map[string]int64{}           // account → total at its first snapshot
	docsPerDay := map[string]map[string]bool{} // account|day → documents
	for _, r := range td.rows {
		if r[td.col("motivo_rechazo")] != "" || strings.HasPrefix(r[td.col("monto_exigible")], "-") || r[td.col("monto_exigible")] == "0.00" {
			continue
		}
		fp, cu, arch := r[td.col("fecha_proceso")], r[td.col("cod_cuenta")], r[td.col("archivo")]
		m := tranArchivo.FindStringSubmatch(arch)
		if m == nil || m[1] != fp[8:10] || m[2] != fp[5:7] {
			t.Fatalf("archivo %s does not name fecha_proceso %s", arch, fp)
		}
		if days[fp] == nil {
			days[fp] = map[string]bool{}
		}
		days[fp][arch] = true
		if h, mi, s := limaClock(t, r[td.col("creado_el")]); h != 7 || mi != 4 || s != 0 {
			t.Fatalf("creado_el %s is not 07:04 Lima", r[td.col("creado_el")])
		}
		c := parseCents(t, r[td.col("monto_exigible")])
		if c > 500000 {
			t.Errorf("monto_exigible %s above the 5,000 cap", r[td.col("monto_exigible")])
		}
		if first[cu] == "" || fp < first[cu] {
			first[cu], firstTotal[cu] = fp, 0
		}
		k := cu + "|" + fp
		if docsPerDay[k] == nil {
			docsPerDay[k] = map[string]bool{}
		}
		if fp == first[cu] && !docsPerDay[k][r[td.col("nro_documento")]] {
			firstTotal[cu] += c
		}
		docsPerDay[k][r[td.col("nro_documento")]] = true
	}
	var got []string
	for d, arch := range days {
		got = append(got, d)
		if len(arch) < 1 || len(arch) > 2 {
			t.Errorf("%s: %d load files, want 1–2", d, len(arch))
		}
	}
	slices.Sort(got)
	if fmt.Sprint(got) != fmt.Sprint(ds.man.SnapshotDays) {
		t.Errorf("snapshot days\n got  %v\n want %v", got, ds.man.SnapshotDays)
	}
	for k, docs := range docsPerDay {
		if len(docs) > 2 {
			t.Errorf("%s: %d documents, want 1–2", k, len(docs))
		}
	}
	accounts := map[string]bool{}
	for _, r := range ds.assigned() {
		accounts[r[ds.tables["asignaciones"].col("cuenta")]] = true
	}
	never, under := 0, 0
	for cu := range accounts {
		if first[cu] == "" {
			never++
		} else if firstTotal[cu] < 100 {
			under++
		}
	}
	if share := float64(never) / float64(len(accounts)); share < 0.025 || share > 0.08 {
		t.Errorf("accounts never in trandeuda: %.3f, want ~5%%", share)
	}
	if share := float64(under) / float64(len(accounts)); share < 0.01 || share > 0.06 {
		t.Errorf("accounts owing < 1: %.3f, want ~3%%", share)
	}
}

// snapshots indexes the trandeuda rows a load accepts: per account its snapshot days
// (ascending) and per (account, day) its documents.
type snapshots struct {
	days map[string][]string
	docs map[[2]string]map[string]bool
}

func (ds *dataset) snapshots(t *testing.T) *snapshots {
	td := ds.tables["trandeuda"]
	s := &snapshots{days: map[string][]string{}, docs: map[[2]string]map[string]bool{}}
	for _, r := range td.rows {
		if r[td.col("motivo_rechazo")] != "" || parseCents(t, r[td.col("monto_exigible")]) <= 0 {
			continue
		}
		k := [2]string{r[td.col("cod_cuenta")], r[td.col("fecha_proceso")]}
		if s.docs[k] == nil {
			s.docs[k] = map[string]bool{}
			s.days[k[0]] = append(s.days[k[0]], k[1])
		}
		s.docs[k][r[td.col("nro_documento")]] = true
	}
	for _, d := range s.days {
		slices.Sort(d)
	}
	return s
}

// asigCuenta is one (campaign, account) as aux.asignacion_cuenta derives it (§4.3).
type asigCuenta struct {
	archivo, cuenta       string
	apertura, trandeuda   string
	fechaAsignacion, snap string // snap: snap_asig, "" when NULL
}

// assignments derives snap_asig for every (campaign, account): the campaign's
// fecha_trandeuda if the account has a snapshot that day, else its first snapshot in
// [fecha_asignacion, fin]. Campaign attributes come from calendario as §4.1 collapses
// it: MIN apertura, the rest from the row with the greatest periodo_date.
func (ds *dataset) asigCuentas(t *testing.T, snaps *snapshots) []asigCuenta {
	tc := ds.tables["calendario"]
	type camp struct{ apertura, trandeuda, fin, periodo string }
	camps := map[string]*camp{}
	for _, r := range tc.rows {
		a := strings.ToUpper(r[tc.col("archivo")])
		c := camps[a]
		if c == nil {
			c = &camp{apertura: r[tc.col("fecha_apertura")]}
			camps[a] = c
		}
		c.apertura = min(c.apertura, r[tc.col("fecha_apertura")])
		if p := r[tc.col("periodo_date")]; p > c.periodo {
			c.periodo, c.trandeuda, c.fin = p, r[tc.col("fecha_trandeuda")], r[tc.col("fecha_cierre")]
		}
	}
	ta := ds.tables["asignaciones"]
	first := map[[2]string]string{}
	for _, r := range ds.assigned() {
		k := [2]string{strings.ToUpper(strings.TrimSuffix(r[ta.col("archivo")], ".txt")), r[ta.col("cuenta")]}
		if fa := r[ta.col("fecha_asignacion")]; first[k] == "" || fa < first[k] {
			first[k] = fa
		}
	}
	var out []asigCuenta
	for k, fa := range first {
		c := camps[k[0]]
		if c == nil {
			t.Fatalf("archivo %s matches no calendario row", k[0])
		}
		fin := cmp.Or(c.fin, ds.man.AsOf)
		as := asigCuenta{archivo: k[0], cuenta: k[1], apertura: c.apertura, trandeuda: c.trandeuda, fechaAsignacion: fa}
		if snaps.docs[[2]string{k[1], c.trandeuda}] != nil {
			as.snap = c.trandeuda
		} else {
			for _, d := range snaps.days[k[1]] {
				if d >= fa && d <= fin {
					as.snap = d
					break
				}
			}
		}
		out = append(out, as)
	}
	slices.SortFunc(out, func(x, y asigCuenta) int {
		return cmp.Or(strings.Compare(x.archivo, y.archivo), strings.Compare(x.cuenta, y.cuenta))
	})
	return out
}

// TestSnapAsig: a trandeuda snapshot is delivered on every fecha_trandeuda, and the
// accounts assigned on apertura take their snap_asig from it, except the 10 that miss
// it and appear the next business day.
func TestSnapAsig(t *testing.T) {
	ds := small(t)
	snaps := ds.snapshots(t)
	for _, c := range ds.man.Campaigns {
		if !slices.Contains(ds.man.SnapshotDays, c.FechaTrandeuda) {
			t.Errorf("%s: no trandeuda snapshot on fecha_trandeuda %s", c.Archivo, c.FechaTrandeuda)
		}
	}
	missing := map[string]bool{}
	for _, k := range ds.man.EdgeCases["trandeuda_misses_fecha_trandeuda"].Absent {
		missing[k.Key["cod_cuenta"]] = true
	}
	onApertura := map[string]int{}
	missed := 0
	for _, as := range ds.asigCuentas(t, snaps) {
		switch {
		case as.snap == "":
		case missing[as.cuenta]:
			missed++
			if as.snap == as.trandeuda {
				t.Errorf("%s %s: listed as missing fecha_trandeuda %s, yet takes it as snap_asig", as.archivo, as.cuenta, as.trandeuda)
			}
		case as.fechaAsignacion == as.apertura:
			onApertura[as.archivo]++
			if as.snap != as.trandeuda {
				t.Errorf("%s %s: assigned on apertura %s, snap_asig %s, want fecha_trandeuda %s",
					as.archivo, as.cuenta, as.apertura, as.snap, as.trandeuda)
			}
		}
	}
	for _, c := range ds.man.Campaigns {
		if onApertura[strings.ToUpper(c.Archivo)] == 0 {
			t.Errorf("%s: no account assigned on apertura with a snapshot", c.Archivo)
		}
	}
	if missed != len(missing) || missed != 10 {
		t.Errorf("%d accounts miss the fecha_trandeuda snapshot (of %d listed), want 10", missed, len(missing))
	}
}

func parseCents(t testing.TB, s string) int64 {
	t.Helper()
	var neg bool
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	var whole, frac int64
	if _, err := fmt.Sscanf(s, "%d.%d", &whole, &frac); err != nil || len(s) < 4 || s[len(s)-3] != '.' {
		t.Fatalf("money %q: not 2 decimals", s)
	}
	c := whole*100 + frac
	if neg {
		c = -c
	}
	return c
}

var pagosArchivo = regexp.MustCompile(`^PAGOS_(\d{4}-\d\d-\d\d)_([12])$`)

func TestPagos(t *testing.T) {
	ds := small(t)
	tp, tt := ds.tables["pagos"], ds.tables["trandeuda"]
	// Per document: greatest amount, account.
	maxAmt, account := map[string]int64{}, map[string]string{}
	for _, r := range tt.rows {
		if r[tt.col("motivo_rechazo")] != "" {
			continue
		}
		d := r[tt.col("nro_documento")]
		maxAmt[d] = max(maxAmt[d], parseCents(t, r[tt.col("monto_exigible")]))
		account[d] = r[tt.col("cod_cuenta")]
	}
	// Per account: its assignment snapshots (snap_asig, one per campaign).
	snaps := ds.snapshots(t)
	snapAsig := map[string][]string{}
	for _, as := range ds.asigCuentas(t, snaps) {
		if as.snap != "" {
			snapAsig[as.cuenta] = append(snapAsig[as.cuenta], as.snap)
		}
	}
	future := ds.man.EdgeCases["pagos_future_date"].Present[0].Key
	seen := map[string]bool{}
	paid := map[string]int64{}
	payers := map[string]bool{}
	for _, r := range tp.rows {
		d, fp, monto, arch := r[tp.col("nro_documento")], r[tp.col("fecha_pago")], r[tp.col("monto_cancelado")], r[tp.col("archivo")]
		m := pagosArchivo.FindStringSubmatch(arch)
		if m == nil {
			t.Fatalf("archivo %q is not PAGOS_YYYY-MM-DD_n", arch)
		}
		ce := r[tp.col("creado_el")]
		if h, mi, _ := limaClock(t, ce); h != 6 || mi != 0 {
			t.Errorf("creado_el %s is not 06:00 Lima", ce)
		}
		load := limaDay(t, ce)
		if m[1] != load.AddDays(-1).String() {
			t.Errorf("archivo %s is not named after the day before its creado_el %s", arch, ce)
		}
		isFuture := d == future["nro_documento"] && fp == future["fecha_pago"]
		if !isFuture && fp != load.AddDays(-1).String() {
			t.Errorf("fecha_pago %s is not the day before creado_el %s", fp, ce)
		}
		c := parseCents(t, monto)
		if c <= 0 || r[tp.col("motivo_rechazo")] != "" || isFuture {
			continue
		}
		k := d + "|" + fp + "|" + monto
		if seen[k] {
			continue
		}
		seen[k] = true
		if d == unknownDocument {
			continue
		}
		// Only documents of an assignment snapshot, never before that snapshot.
		cu := account[d]
		if !slices.ContainsFunc(snapAsig[cu], func(sa string) bool { return sa <= fp && snaps.docs[[2]string{cu, sa}][d] }) {
			t.Errorf("payment of %s on %s: not a document of an assignment snapshot of account %q on or before it (%v)", d, fp, cu, snapAsig[cu])
		}
		paid[d] += c
		payers[account[d]] = true
	}
	for d, c := range paid {
		if c > maxAmt[d] {
			t.Errorf("document %s: paid %d cents > its amount %d", d, c, maxAmt[d])
		}
	}
	if share := float64(len(payers)) / float64(ds.man.Cuentas); share < 0.11 || share > 0.19 {
		t.Errorf("paying accounts %.3f, want ~15%%", share)
	}
}

func TestGestiones(t *testing.T) {
	ds := small(t)
	mibot := map[[3]string]mibotRule{}
	for _, r := range mibotRules {
		mibot[[3]string{strings.ToUpper(r.n1), strings.ToUpper(r.n2), strings.ToUpper(r.n3)}] = r
	}
	vb := map[[3]string]vbRule{}
	for _, r := range vbRules {
		vb[[3]string{r.mgmt, r.sub, r.comp}] = r
	}
	for _, name := range []string{"voicebot_gestiones", "mibotair_gestiones"} {
		td := ds.tables[name]
		uids := map[string]int{}
		var cd, ci, pdp, after19 int
		queues, agents := map[string]int{}, map[string]bool{}
		for _, r := range td.rows {
			uids[r[td.col("uid")]]++
			h, _, _ := limaClock(t, r[td.col("date")])
			if h < 8 || h >= 20 {
				t.Errorf("%s: %s at %d h Lima, want 08:00–20:00", name, r[td.col("uid")], h)
			}
			if h >= 19 {
				after19++
			}
			queues[r[td.col("campaign_name")]]++
			var class byte
			var isPDP bool
			if name == "voicebot_gestiones" {
				ru, ok := vb[[3]string{r[td.col("management")], r[td.col("sub_management")], r[td.col("compromiso")]}]
				class, isPDP = ru.class, ok && ru.esPDP == "1"
			} else {
				ru := mibot[[3]string{strings.ToUpper(r[td.col("n1")]), strings.ToUpper(r[td.col("n2")]), strings.ToUpper(r[td.col("n3")])}]
				class, isPDP = ru.class, ru.countsPDP()
				agents[strings.ToLower(r[td.col("correo_agente")])] = true
			}
			switch class {
			case 'D':
				cd++
				if isPDP {
					pdp++
				}
			case 'I':
				ci++
			}
		}
		n := len(td.rows)
		for u, c := range uids {
			if c > 1 && c != 2 {
				t.Errorf("%s: uid %s appears %d times", name, u, c)
			}
		}
		if dup := n - len(uids); dup != 1 {
			t.Errorf("%s: %d repeated uids, want 1", name, dup)
		}
		if s := float64(cd) / float64(n); s < 0.22 || s > 0.28 {
			t.Errorf("%s: CD share %.3f, want ~25%%", name, s)
		}
		if s := float64(ci) / float64(n); s < 0.31 || s > 0.39 {
			t.Errorf("%s: CI share %.3f, want ~35%%", name, s)
		}
		if s := float64(pdp) / float64(cd); s < 0.25 || s > 0.35 {
			t.Errorf("%s: PDP share of CD %.3f, want ~30%%", name, s)
		}
		if after19 == 0 {
			t.Errorf("%s: nothing after 19:00 Lima", name)
		}
		if len(queues) != 5 || queues[""] == 0 {
			t.Errorf("%s: queues %v, want 4 plus NULL", name, queues)
		}
		if name == "mibotair_gestiones" && len(agents) != 10 {
			t.Errorf("mibotair: %d agents, want 10", len(agents))
		}
	}
	// Bot: 30% of clients never called; calls reach about half the clients each week.
	botClients := map[string]bool{}
	tv := ds.tables["voicebot_gestiones"]
	for _, r := range tv.rows {
		botClients[r[tv.col("document")]] = true
	}
	if s := 1 - float64(len(botClients))/float64(ds.man.Clientes); s > 0.30 {
		t.Errorf("clients the bot never reached: %.2f", s)
	}
}

func TestCountsInRange(t *testing.T) {
	ds := small(t)
	m := ds.man
	if m.Clientes < 740 || m.Clientes > 820 || m.Cuentas < 760 || m.Cuentas > 840 {
		t.Errorf("clientes %d, cuentas %d: want ~780 / ~800", m.Clientes, m.Cuentas)
	}
	if r := float64(m.Cuentas) / float64(m.Clientes); r < 1.0 || r > 1.05 {
		t.Errorf("%.3f accounts per client, want ~1.02", r)
	}
	if len(m.Campaigns) != 3 {
		t.Errorf("%d campaigns", len(m.Campaigns))
	}
	if m.BusinessDays < 30 || m.BusinessDays > 34 {
		t.Errorf("%d business days, want ~32", m.BusinessDays)
	}
	for name, want := range map[string]int{"calendario": 4, "homologacion_mibotair": 12, "homologacion_voicebot": 8} {
		if got := m.Tables[name].Rows; got != want {
			t.Errorf("%s: %d rows, want %d", name, got, want)
		}
	}
	for _, c := range m.Campaigns {
		if c.Cuentas == 0 || c.Clientes == 0 || c.Clientes > c.Cuentas {
			t.Errorf("campaign %s: %d clientes, %d cuentas", c.Archivo, c.Clientes, c.Cuentas)
		}
	}
	carteras := []string{}
	for _, c := range m.Campaigns {
		carteras = append(carteras, c.Cartera)
	}
	if fmt.Sprint(carteras) != "[TEMPRANA CUOTA_FRACCIONAMIENTO ALTAS_NUEVAS]" {
		t.Errorf("carteras %v", carteras)
	}
	// The manifest on disk is the one returned.
	onDisk, err := ReadManifest(filepath.Join(ds.dir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(onDisk.Tables["pagos"].Load) != fmt.Sprint(m.Tables["pagos"].Load) || onDisk.Seed != 42 || onDisk.AsOf != "2025-07-15" {
		t.Errorf("manifest on disk differs from the returned one")
	}
}

func TestAsOfAndStaleFiles(t *testing.T) {
	dir := t.TempDir()
	generate(t, dir, Options{AsOf: etl.NewDate(2025, time.July, 31), Format: files.FormatCSV})
	m := generate(t, dir, Options{AsOf: etl.NewDate(2025, time.July, 10), Format: files.FormatNDJSON})
	ds := read(t, dir, m)
	for _, name := range tableNames {
		for f := range ds.tables[name].files {
			if !strings.HasSuffix(f, ".ndjson") {
				t.Errorf("stale file %s left from the earlier run", f)
			}
		}
		if fmt.Sprint(ds.tables[name].load) != fmt.Sprint(m.Tables[name].Load) {
			t.Errorf("%s: load %+v, manifest %+v", name, ds.tables[name].load, m.Tables[name].Load)
		}
	}
	if m.SnapshotDays[len(m.SnapshotDays)-1] != "2025-07-10" {
		t.Errorf("last snapshot %s, want as_of 2025-07-10", m.SnapshotDays[len(m.SnapshotDays)-1])
	}
}

// TestLaterAsOfExtends: a later as_of adds files and leaves the per-day files of
// earlier days byte-identical (so an incremental load re-reads only the new ones), except
// gestiones of the last days, whose promise dates are capped at as_of, and calendario,
// whose planned close is.
func TestLaterAsOfExtends(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	generate(t, a, Options{AsOf: etl.NewDate(2025, time.July, 14)})
	generate(t, b, Options{AsOf: etl.NewDate(2025, time.July, 15)})
	sa, sb := snapshot(t, a), snapshot(t, b)
	var added, changed []string
	for name, bb := range sb {
		ba, ok := sa[name]
		switch {
		case !ok:
			added = append(added, name)
		case !bytes.Equal(ba, bb):
			changed = append(changed, name)
		}
	}
	if len(sa) > len(sb) {
		t.Errorf("the later as_of lost files: %d vs %d", len(sb), len(sa))
	}
	slices.Sort(added)
	want := []string{"mibotair_gestiones/2025-07-15.csv", "pagos/2025-07-15.csv", "trandeuda/2025-07-15.csv", "voicebot_gestiones/2025-07-15.csv"}
	if fmt.Sprint(added) != fmt.Sprint(want) {
		t.Errorf("added files %v, want %v", added, want)
	}
	for _, name := range changed {
		dir, file := filepath.Split(name)
		switch {
		case name == ManifestName || name == "calendario.csv":
		case strings.HasSuffix(dir, "_gestiones/") && file >= "2025-07-08":
		default:
			t.Errorf("%s changed with a later as_of", name)
		}
	}
}

func TestValidate(t *testing.T) {
	o := Options{OutDir: "x"}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.Seed != 42 || o.AsOf.String() != "2025-07-15" || o.Scale != Small || o.Format != files.FormatCSV || o.Registry == nil {
		t.Errorf("defaults not applied: %+v", o)
	}
	for _, bad := range []Options{
		{},
		{OutDir: "x", AsOf: etl.NewDate(2025, time.July, 1)},
		{OutDir: "x", AsOf: etl.NewDate(2026, time.January, 1)},
		{OutDir: "x", Scale: Scale(9)},
		{OutDir: "x", Format: files.Format(9)},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted", bad)
		}
	}
	for s, want := range map[string]Scale{"small": Small, "large": Large} {
		if got, err := ParseScale(s); err != nil || got != want || got.String() != s {
			t.Errorf("ParseScale(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseScale("huge"); err == nil {
		t.Error("ParseScale accepted huge")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, Options{OutDir: t.TempDir()}); err == nil {
		t.Error("Generate ignored a cancelled context")
	}
}

func TestMoneyText(t *testing.T) {
	for _, c := range []int64{0, 1, 9, 10, 99, 100, 12345, -1250, 500000} {
		s := cents(c)
		canon, err := etl.CanonicalMoney(s)
		if err != nil || canon != s || parseCents(t, s) != c {
			t.Errorf("cents %d → %q (canonical %q, %v)", c, s, canon, err)
		}
	}
}

// BenchmarkGenerateLarge generates the large set (CSV) once per iteration.
func BenchmarkGenerateLarge(b *testing.B) {
	dir := b.TempDir()
	var m *Manifest
	for b.Loop() {
		m = generate(b, dir, Options{Scale: Large})
	}
	rows := 0
	for _, tm := range m.Tables {
		rows += tm.Rows
	}
	b.ReportMetric(float64(rows), "rows/op")
	for _, name := range tableNames {
		b.Logf("%-22s %9d rows %3d files", name, m.Tables[name].Rows, len(m.Tables[name].Files))
	}
}
