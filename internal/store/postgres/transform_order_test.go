package postgres

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
	pulsosql "github.com/pulso-cobranzas/pulso/sql"
)

// stmtRecorder is a pgx.QueryTracer keeping the SQL text of every statement sent
// while it is on, from every connection of the pool (the transform's transaction and
// the ledger writes beside it).
type stmtRecorder struct {
	on  atomic.Bool
	mu  sync.Mutex
	sql []string
}

func (r *stmtRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if r.on.Load() {
		r.mu.Lock()
		r.sql = append(r.sql, d.SQL)
		r.mu.Unlock()
	}
	return ctx
}

func (r *stmtRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// during returns the statements f sent.
func (r *stmtRecorder) during(f func()) []string {
	r.mu.Lock()
	r.sql = nil
	r.mu.Unlock()
	r.on.Store(true)
	f()
	r.on.Store(false)
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sql)
}

// transformFiles is sql/transform as the runner sees it: the numbered build steps
// (NNN_name.sql) and the planner's queries (q_name.sql), each known by its exact
// text, since transform.go sends a file's content unchanged.
type transformFiles struct {
	byText   map[string]string // file content → name without .sql
	steps    []string          // numbered build steps, ascending
	deleteOf map[string]string // "aux.deuda_snapshot" → "020_aux_deuda_snapshot_delete"
}

var stepFile = regexp.MustCompile(`^([0-9]+)_(.+)\.sql$`)

func loadTransformFiles(t testing.TB) transformFiles {
	t.Helper()
	entries, err := fs.ReadDir(pulsosql.Transform, "transform")
	if err != nil {
		t.Fatal(err)
	}
	tf := transformFiles{byText: map[string]string{}, deleteOf: map[string]string{}}
	numbers := map[int]string{}
	for _, e := range entries {
		b, err := fs.ReadFile(pulsosql.Transform, path.Join("transform", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(e.Name(), ".sql")
		if other, dup := tf.byText[string(b)]; dup {
			t.Fatalf("%s and %s have the same text: a traced statement could not be told apart", other, name)
		}
		tf.byText[string(b)] = name
		m := stepFile.FindStringSubmatch(e.Name())
		switch {
		case m != nil:
			n, err := strconv.Atoi(m[1])
			if err != nil {
				t.Fatal(err)
			}
			// Two steps with one number would have no defined order.
			if other, dup := numbers[n]; dup {
				t.Fatalf("%s and %s share the step number %d", other, name, n)
			}
			numbers[n] = name
			tf.steps = append(tf.steps, name)
			// NNN_<schema>_<table>_delete: the step a TRUNCATE of <schema>.<table> replaces.
			if schema, rest, ok := strings.Cut(m[2], "_"); ok && strings.HasSuffix(rest, "_delete") {
				tf.deleteOf[schema+"."+strings.TrimSuffix(rest, "_delete")] = name
			}
		case strings.HasPrefix(name, "q_"):
		default:
			t.Fatalf("sql/transform/%s is neither a numbered step nor a q_ query (README.md, Statements)", e.Name())
		}
	}
	slices.SortFunc(tf.steps, func(a, b string) int { return stepNumber(a) - stepNumber(b) })
	return tf
}

// stepNumber is the numeric prefix of a step file name, -1 if it has none.
func stepNumber(name string) int {
	num, _, _ := strings.Cut(name, "_")
	n, err := strconv.Atoi(num)
	if err != nil {
		return -1
	}
	return n
}

// ranSteps maps traced statements to the build steps they ran, in order. A full
// slice of a truncatable aux table is emptied by `TRUNCATE <table>` in place of its
// delete file (transformer.truncate): that statement stands for the delete step, so
// the file and its replacement together still count once.
func (tf transformFiles) ranSteps(sqls []string) (steps, truncated []string) {
	for _, s := range sqls {
		if name, ok := tf.byText[s]; ok {
			if stepNumber(name) >= 0 {
				steps = append(steps, name)
			}
			continue
		}
		if table, ok := strings.CutPrefix(s, "TRUNCATE "); ok {
			if name, ok := tf.deleteOf[table]; ok {
				steps = append(steps, name)
				truncated = append(truncated, name)
			}
		}
	}
	return steps, truncated
}

// stepOrderProblems checks the build steps one transform ran: none twice, their
// numbers strictly ascending, and every step of want present (want nil: any subset).
func stepOrderProblems(ran, want []string) []string {
	var out []string
	seen := map[string]int{}
	for i, s := range ran {
		if j, dup := seen[s]; dup {
			out = append(out, fmt.Sprintf("%s ran twice (steps %d and %d of the run)", s, j+1, i+1))
		}
		seen[s] = i
		if i > 0 && stepNumber(s) <= stepNumber(ran[i-1]) {
			out = append(out, fmt.Sprintf("%s ran after %s", s, ran[i-1]))
		}
	}
	for _, s := range want {
		if _, ok := seen[s]; !ok {
			out = append(out, s+" never ran")
		}
	}
	return out
}

func TestTransformOrderChecker(t *testing.T) {
	t.Parallel()
	all := []string{"010_a_delete", "011_a_insert", "020_b_delete", "021_b_insert", "900_c"}
	for _, c := range []struct {
		name      string
		ran, want []string
		problems  []string
	}{
		{"full", all, all, nil},
		{"subset", []string{"010_a_delete", "011_a_insert", "900_c"}, nil, nil},
		{"swapped", []string{"010_a_delete", "011_a_insert", "021_b_insert", "020_b_delete", "900_c"}, all,
			[]string{"020_b_delete ran after 021_b_insert"}},
		{"twice in a row", []string{"010_a_delete", "011_a_insert", "011_a_insert"}, nil,
			[]string{"011_a_insert ran twice (steps 2 and 3 of the run)", "011_a_insert ran after 011_a_insert"}},
		{"twice apart", []string{"010_a_delete", "011_a_insert", "900_c", "011_a_insert"}, nil,
			[]string{"011_a_insert ran twice (steps 2 and 4 of the run)", "011_a_insert ran after 900_c"}},
		// 100 after 020 is ascending numerically though not as text.
		{"numeric, not text", []string{"020_b_delete", "100_d"}, nil, nil},
		{"text, not numeric", []string{"100_d", "020_b_delete"}, nil, []string{"020_b_delete ran after 100_d"}},
		{"missing", []string{"010_a_delete", "011_a_insert", "021_b_insert", "900_c"}, all,
			[]string{"020_b_delete never ran"}},
	} {
		if got := stepOrderProblems(c.ran, c.want); !slices.Equal(got, c.problems) {
			t.Errorf("%s: problems %q; want %q", c.name, got, c.problems)
		}
	}

	tf := loadTransformFiles(t)
	del, err := transformSQL("020_aux_deuda_snapshot_delete")
	if err != nil {
		t.Fatal(err)
	}
	q, err := transformSQL("q_campaigns")
	if err != nil {
		t.Fatal(err)
	}
	steps, truncated := tf.ranSteps([]string{q, "TRUNCATE aux.deuda_snapshot", del, "SET LOCAL jit = off", "TRUNCATE raw.pagos"})
	if want := []string{"020_aux_deuda_snapshot_delete", "020_aux_deuda_snapshot_delete"}; !slices.Equal(steps, want) {
		t.Errorf("ranSteps: %q; want %q (a query and unknown statements ignored)", steps, want)
	}
	if !slices.Equal(truncated, []string{"020_aux_deuda_snapshot_delete"}) {
		t.Errorf("truncated: %q", truncated)
	}
	if p := stepOrderProblems(steps, nil); len(p) == 0 {
		t.Error("a TRUNCATE and its delete file both ran, yet no problem reported")
	}
}

// newTracedTFEnv is newTFEnv on a pool whose connections trace every statement.
func newTracedTFEnv(t *testing.T, rec *stmtRecorder) *tfEnv {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC" // as Open sets it
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &replayDB{pool: pool, log: log, store: NewStore(pool, log, StoreOptions{BatchRows: 50000, MaxShrinkRatio: 0.5})}
	return &tfEnv{replayDB: d, t: t, reg: etl.MustRegistry()}
}

// TestTransformOrder traces the statements of a full rebuild and of an incremental
// run after a small delivery and maps them back to sql/transform: on the rebuild
// every numbered step runs exactly once, in ascending numeric order; on the
// incremental run no step runs twice and the order is still ascending.
func TestTransformOrder(t *testing.T) {
	t.Parallel()
	tf := loadTransformFiles(t)
	rec := &stmtRecorder{}
	e := newTracedTFEnv(t, rec)
	land := t.TempDir()
	if err := os.CopyFS(land, os.DirFS("../../../testdata/transform/tiny")); err != nil {
		t.Fatal(err)
	}
	e.load(land, tinyAsOf)

	report := func(t *testing.T, sqls, ran, truncated, want []string) {
		t.Helper()
		problems := stepOrderProblems(ran, want)
		for _, p := range problems {
			t.Error(p)
		}
		if len(problems) > 0 || testing.Verbose() {
			t.Logf("%d statements traced; steps in order (truncated instead of deleted: %v):\n  %s",
				len(sqls), truncated, strings.Join(ran, "\n  "))
		}
	}

	t.Run("full rebuild", func(t *testing.T) {
		var full, rebuilt bool
		sqls := rec.during(func() {
			res := e.transform(tinyAsOf, tfOpts{full: true})
			full, rebuilt = res.Plan.Full, res.Rebuilt
		})
		if !full || !rebuilt {
			t.Fatalf("full %v rebuilt %v; want a full rebuild", full, rebuilt)
		}
		ran, truncated := tf.ranSteps(sqls)
		report(t, sqls, ran, truncated, tf.steps)
	})

	t.Run("incremental", func(t *testing.T) {
		// A payment of account 11 (campaign A) and a CD gestión of its client: the
		// payment, gestiones and mart slices of 06-05 are rebuilt, nothing whole.
		appendLines(t, filepath.Join(land, "pagos.csv"), "BCP,D11a,PAGOS_2025-06-05_2,,20.00,2025-06-05,2025-06-06T12:00:00Z")
		appendLines(t, filepath.Join(land, "voicebot_gestiones.csv"), "vb9,C1,COLA_A,1001,TITULAR,PROMESA_PAGO,SI,,,,,,,,2025-06-05T15:00:00Z,,,")
		e.load(land, tinyAsOf)
		var full, rebuilt bool
		var changes int64
		sqls := rec.during(func() {
			res := e.transform(tinyAsOf, tfOpts{})
			full, rebuilt, changes = res.Plan.Full, res.Rebuilt, res.Changes
		})
		if full || !rebuilt || changes == 0 {
			t.Fatalf("full %v rebuilt %v changes %d; want an incremental rebuild of the delivery", full, rebuilt, changes)
		}
		ran, truncated := tf.ranSteps(sqls)
		report(t, sqls, ran, truncated, nil)
		// The delivery reached pagos and gestiones; a run of every step would not be
		// the incremental path this subtest is about.
		for _, s := range []string{"061_aux_pago_dedup_insert", "041_aux_gestiones_unificadas_insert", "081_mart_dashboard_data_insert"} {
			if !slices.Contains(ran, s) {
				t.Errorf("%s did not run after a delivery of pagos and gestiones", s)
			}
		}
		if len(ran) >= len(tf.steps) {
			t.Errorf("%d of %d steps ran: not an incremental slice", len(ran), len(tf.steps))
		}
	})
}

func appendLines(t *testing.T, file string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if _, err := f.WriteString(l + "\n"); err != nil {
			_ = f.Close()
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
