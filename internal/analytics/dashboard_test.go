package analytics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

var dashToday = etl.NewDate(2025, time.July, 15)

func dashDate(s string) etl.Date {
	v, err := etl.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func dashMonths(ss ...string) []Month {
	var out []Month
	for _, s := range ss {
		m, ok := ParseMonth(s)
		if !ok {
			panic(s)
		}
		out = append(out, m)
	}
	return out
}

func TestParseDashboard(t *testing.T) {
	def := func(mod func(*DashboardParams)) DashboardParams {
		p := DashboardParams{FechaInicio: dashDate("2025-07-01"), FechaFin: dashDate("2025-07-15"), FechaCorte: dashDate("2025-07-15"),
			Dimensions: []string{"cartera", "servicio"}, Format: "json"}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	tests := []struct {
		name  string
		query string // GET form
		body  string // POST form of the same request
		want  DashboardParams
	}{
		{"defaults", "", `{}`, def(nil)},
		{"empty body", "", ``, def(nil)},
		{"null filters", "", `{"filters":null}`, def(nil)},
		{"fechaFin gives fechaCorte and the month start",
			"fecha_fin=2025-06-20", `{"filters":{"fechaFin":"2025-06-20"}}`,
			def(func(p *DashboardParams) {
				p.FechaInicio, p.FechaFin, p.FechaCorte = dashDate("2025-06-01"), dashDate("2025-06-20"), dashDate("2025-06-20")
			})},
		{"explicit fechaCorte gives fechaFin and its month start",
			"fecha_corte=2025-05-10", `{"fechaCorte":"2025-05-10"}`,
			def(func(p *DashboardParams) {
				p.FechaInicio, p.FechaFin, p.FechaCorte = dashDate("2025-05-01"), dashDate("2025-05-10"), dashDate("2025-05-10")
			})},
		{"fechaCorte and fechaFin both given",
			"fecha_corte=2025-07-01&fecha_fin=2025-07-10&fecha_inicio=2025-06-15",
			`{"fechaCorte":"2025-07-01","filters":{"fechaFin":"2025-07-10","fechaInicio":"2025-06-15"}}`,
			def(func(p *DashboardParams) {
				p.FechaInicio, p.FechaFin, p.FechaCorte = dashDate("2025-06-15"), dashDate("2025-07-10"), dashDate("2025-07-01")
			})},
		{"periodo without dates: no window",
			"periodo=ACTUAL", `{"filters":{"periodo":["actual"]}}`,
			def(func(p *DashboardParams) {
				p.FechaInicio, p.FechaFin, p.Periodos = etl.Date{}, etl.Date{}, dashMonths("2025-07")
			})},
		{"periodo aliases resolve against fechaCorte",
			"periodo=ultimos_3_meses,ANTERIOR&fecha_corte=2025-02-10", `{"fechaCorte":"2025-02-10","filters":{"periodo":["ULTIMOS_3_MESES","ANTERIOR"]}}`,
			def(func(p *DashboardParams) {
				p.FechaInicio, p.FechaFin, p.FechaCorte = etl.Date{}, etl.Date{}, dashDate("2025-02-10")
				p.Periodos = dashMonths("2024-12", "2025-01", "2025-02")
			})},
		{"periodo with one date: the other defaults",
			"periodo=2025-06&fecha_inicio=2025-06-20", `{"filters":{"periodo":["2025-06"],"fechaInicio":"2025-06-20"}}`,
			def(func(p *DashboardParams) {
				p.FechaInicio, p.Periodos = dashDate("2025-06-20"), dashMonths("2025-06")
			})},
		{"TODAS, TODOS and blanks are no filter",
			"cartera=TODAS&servicio=todos&periodo=&archivo=TODAS", `{"filters":{"cartera":["TODAS"],"servicio":["todos"],"periodo":[""],"archivo":["TODAS"]}}`,
			def(nil)},
		{"enum lists upper-cased, deduplicated, sorted; archivo case kept",
			"cartera=temprana&cartera=OTRAS,Temprana&servicio=movil&archivo=b,A,b",
			`{"filters":{"cartera":["temprana","OTRAS","Temprana"],"servicio":["movil"],"archivo":["b","A","b"]}}`,
			def(func(p *DashboardParams) {
				p.Carteras, p.Servicios, p.Archivos = []string{"OTRAS", "TEMPRANA"}, []string{"MOVIL"}, []string{"A", "b"}
			})},
		{"dimensions: negocio alias, order kept, case-insensitive",
			"dimensions=Negocio,ARCHIVO", `{"dimensions":["negocio","archivo"]}`,
			def(func(p *DashboardParams) { p.Dimensions = []string{"servicio", "archivo"} })},
		{"one dimension", "dimensions=periodo", `{"dimensions":["periodo"]}`,
			def(func(p *DashboardParams) { p.Dimensions = []string{"periodo"} })},
		{"includeTotal and csv", "include_total=true&format=CSV", `{"includeTotal":true,"format":"csv"}`,
			def(func(p *DashboardParams) { p.IncludeTotal, p.Format = true, "csv" })},
		{"ignored filters named, not hashed",
			"tramo=T1&vencimiento=30&rango_deuda=0-100", `{"filters":{"tramo":["T1"],"vencimiento":[30],"rangoDeuda":["0-100"]}}`,
			def(nil)},
		{"unknown fields ignored", "foo=bar", `{"foo":1,"filters":{"bar":[1]}}`, def(nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			fromGet, err := ParseDashboardQuery(q, dashToday)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			fromPost, err := ParseDashboardBody([]byte(tc.body), dashToday)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			for form, got := range map[string]DashboardParams{"GET": fromGet, "POST": fromPost} {
				got.Ignored = nil
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s = %+v, want %+v", form, got, tc.want)
				}
				if err := got.Validate(); err != nil {
					t.Errorf("%s: not a valid normalised struct: %v", form, err)
				}
				if Hash(got) != Hash(tc.want) {
					t.Errorf("%s hash differs", form)
				}
			}
			if Hash(fromGet) != Hash(fromPost) {
				t.Errorf("GET and POST hash differently: %s vs %s", dashJSON(t, fromGet), dashJSON(t, fromPost))
			}
		})
	}
}

func dashJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := CanonicalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDashboardIgnoredAndCanonicalJSON(t *testing.T) {
	q, _ := url.ParseQuery("tramo=T1&vencimiento=30&rango_deuda=x&rangoDeuda=y&cartera=temprana")
	p, err := ParseDashboardQuery(q, dashToday)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"tramo", "vencimiento", "rango_deuda", "rangoDeuda"}; !slices.Equal(p.Ignored, want) {
		t.Errorf("GET ignored = %v, want %v", p.Ignored, want)
	}
	q, _ = url.ParseQuery("tramo=&vencimiento=")
	if p, err := ParseDashboardQuery(q, dashToday); err != nil || p.Ignored != nil {
		t.Errorf("blank ignored filters: %v, %v; want none named", p.Ignored, err)
	}
	p, err = ParseDashboardBody([]byte(`{"filters":{"tramo":["a"],"vencimiento":[],"rangoDeuda":["r"]}}`), dashToday)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"tramo", "rangoDeuda"}; !slices.Equal(p.Ignored, want) {
		t.Errorf("POST ignored = %v, want %v", p.Ignored, want)
	}
	// Canonical form: keys sorted, no-filter lists left out, Ignored never present.
	q, _ = url.ParseQuery("cartera=temprana&tramo=T1")
	p, err = ParseDashboardQuery(q, dashToday)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cartera":["TEMPRANA"],"dimensions":["cartera","servicio"],"fechaCorte":"2025-07-15","fechaFin":"2025-07-15","fechaInicio":"2025-07-01","format":"json","includeTotal":false}`
	if got := dashJSON(t, p); got != want {
		t.Errorf("canonical = %s, want %s", got, want)
	}
	q, _ = url.ParseQuery("periodo=2025-06")
	p, err = ParseDashboardQuery(q, dashToday)
	if err != nil {
		t.Fatal(err)
	}
	if got := dashJSON(t, p); !strings.Contains(got, `"fechaFin":null,"fechaInicio":null`) || !strings.Contains(got, `"periodo":["2025-06"]`) {
		t.Errorf("periodo without dates: canonical = %s, want null dates", got)
	}
	// Different requests hash differently.
	base, _ := ParseDashboardQuery(url.Values{}, dashToday)
	for _, other := range []string{"format=csv", "include_total=true", "dimensions=servicio,cartera", "fecha_corte=2025-07-14", "servicio=FIJA"} {
		q, _ := url.ParseQuery(other)
		p, err := ParseDashboardQuery(q, dashToday)
		if err != nil {
			t.Fatal(err)
		}
		if Hash(p) == Hash(base) {
			t.Errorf("%s hashes like the defaults", other)
		}
	}
}

func TestParseDashboardErrors(t *testing.T) {
	long := strings.Repeat("x", MaxValueLen+1)
	many := strings.TrimSuffix(strings.Repeat("TEMPRANA,", 10000), ",")
	manyJSON := `["` + strings.Repeat(`TEMPRANA","`, 9999) + `TEMPRANA"]`
	tests := []struct {
		name, query string
		field       string
	}{
		{"unknown cartera", "cartera=FOO", "cartera"},
		{"unknown servicio", "servicio=HFC", "servicio"},
		{"10k cartera values", "cartera=" + many, "cartera"},
		{"value too long", "archivo=" + long, "archivo"},
		{"bad periodo", "periodo=2025-13", "periodo"},
		{"bad periodo alias", "periodo=MANANA", "periodo"},
		{"malformed fecha_corte", "fecha_corte=2025-02-30", "fecha_corte"},
		{"short date", "fecha_inicio=2025-7-1", "fecha_inicio"},
		{"word date", "fecha_fin=hoy", "fecha_fin"},
		{"repeated fecha_corte", "fecha_corte=2025-07-01&fecha_corte=2025-07-02", "fecha_corte"},
		{"reversed range", "fecha_inicio=2025-07-10&fecha_fin=2025-07-01", "fecha_inicio"},
		{"inicio after the default fin", "fecha_inicio=2025-08-01", "fecha_inicio"},
		{"unknown dimension", "dimensions=zona", "dimensions"},
		{"repeated dimension", "dimensions=cartera,cartera", "dimensions"},
		{"negocio and servicio are one", "dimensions=negocio,servicio", "dimensions"},
		{"three dimensions", "dimensions=cartera,servicio,archivo", "dimensions"},
		{"bad include_total", "include_total=quizas", "include_total"},
		{"bad format", "format=xml", "format"},
	}
	for _, tc := range tests {
		t.Run("GET "+tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseDashboardQuery(q, dashToday)
			assertDashFieldError(t, err, tc.field)
		})
	}
	t.Run("GET 10k archivo params", func(t *testing.T) {
		// url.ParseQuery caps the parameter count; a handler may still see this many.
		_, err := ParseDashboardQuery(url.Values{"archivo": slices.Repeat([]string{"a"}, 10000)}, dashToday)
		assertDashFieldError(t, err, "archivo")
	})
	bodies := []struct {
		name, body, field string
	}{
		{"unknown cartera", `{"filters":{"cartera":["FOO"]}}`, "filters.cartera"},
		{"10k cartera items", `{"filters":{"cartera":` + manyJSON + `}}`, "filters.cartera"},
		{"value too long", `{"filters":{"archivo":["` + long + `"]}}`, "filters.archivo"},
		{"bad periodo", `{"filters":{"periodo":["2025-00"]}}`, "filters.periodo"},
		{"malformed fechaInicio", `{"filters":{"fechaInicio":"01/07/2025"}}`, "filters.fechaInicio"},
		{"malformed fechaCorte", `{"fechaCorte":"2025-07-32"}`, "fechaCorte"},
		{"reversed range", `{"filters":{"fechaInicio":"2025-07-10","fechaFin":"2025-07-01"}}`, "filters.fechaInicio"},
		{"unknown dimension", `{"dimensions":["zona"]}`, "dimensions"},
		{"bad format", `{"format":"pdf"}`, "format"},
		{"cartera not an array", `{"filters":{"cartera":"TEMPRANA"}}`, "filters.cartera"},
		{"cartera items not strings", `{"filters":{"cartera":[1]}}`, "filters.cartera"},
		{"vencimiento not ints", `{"filters":{"vencimiento":["30"]}}`, "filters.vencimiento"},
		{"includeTotal not a bool", `{"includeTotal":"yes"}`, "includeTotal"},
		{"fechaCorte not a string", `{"fechaCorte":20250701}`, "fechaCorte"},
		{"dimensions not an array", `{"dimensions":"cartera"}`, "dimensions"},
		{"filters not an object", `{"filters":[]}`, "filters"},
		{"body not an object", `[1,2]`, "body"},
		{"invalid JSON", `{"filters":`, "body"},
		{"trailing data", `{} {}`, "body"},
	}
	for _, tc := range bodies {
		t.Run("POST "+tc.name, func(t *testing.T) {
			_, err := ParseDashboardBody([]byte(tc.body), dashToday)
			assertDashFieldError(t, err, tc.field)
		})
	}
}

func assertDashFieldError(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want a ValidationError naming %q", err, err, field)
	}
	for _, fe := range ve.Details {
		if fe.Field == field {
			return
		}
	}
	t.Errorf("errors %+v do not name %q", ve.Details, field)
}

// dashReq is one random dashboard request, rendered both as a GET query and as a
// POST body.
type dashReq struct {
	cartera, servicio, periodo, archivo, dims []string
	inicio, fin, corte                        string
	includeTotal                              *bool
	format                                    string
	tramo, venc, rango                        bool
	splitLists                                bool // GET: comma lists instead of repeated params
}

func dashRandCase(r *rand.Rand, s string) string {
	switch r.IntN(3) {
	case 0:
		return strings.ToLower(s)
	case 1:
		return strings.ToUpper(s)
	}
	return s
}

func dashPick(r *rand.Rand, pool []string, max int, mangle bool) []string {
	n := r.IntN(max + 1)
	out := make([]string, 0, n)
	for range n {
		v := pool[r.IntN(len(pool))]
		if mangle {
			v = dashRandCase(r, v)
		}
		out = append(out, v)
	}
	return out
}

func dashRandDate(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return ""
	}
	return etl.NewDate(2025, time.Month(1+r.IntN(8)), 1+r.IntN(28)).String()
}

func genDashReq(r *rand.Rand) dashReq {
	q := dashReq{
		cartera:    dashPick(r, append(slices.Clone(Carteras), "TODAS"), 4, true),
		servicio:   dashPick(r, []string{"MOVIL", "FIJA", "TODOS"}, 3, true),
		periodo:    dashPick(r, []string{"2025-06", "2024-12", "ACTUAL", "ANTERIOR", "ULTIMO_MES", "ULTIMOS_3_MESES", "TODAS"}, 3, true),
		archivo:    dashPick(r, []string{"Camp_A", "CAMP_A", "camp_b.txt", "TODAS", "x y"}, 3, false),
		dims:       dashPick(r, []string{"cartera", "servicio", "negocio", "archivo", "periodo"}, 2, true),
		inicio:     dashRandDate(r),
		fin:        dashRandDate(r),
		corte:      dashRandDate(r),
		format:     []string{"", "json", "CSV", "csv"}[r.IntN(4)],
		tramo:      r.IntN(2) == 0,
		venc:       r.IntN(2) == 0,
		rango:      r.IntN(2) == 0,
		splitLists: r.IntN(2) == 0,
	}
	if r.IntN(3) > 0 {
		b := r.IntN(2) == 0
		q.includeTotal = &b
	}
	return q
}

func (q dashReq) query() url.Values {
	v := url.Values{}
	list := func(key string, vals []string) {
		if len(vals) == 0 {
			return
		}
		if q.splitLists {
			v.Set(key, strings.Join(vals, ","))
		} else {
			v[key] = vals
		}
	}
	list("cartera", q.cartera)
	list("servicio", q.servicio)
	list("periodo", q.periodo)
	list("archivo", q.archivo)
	if len(q.dims) > 0 {
		v.Set("dimensions", strings.Join(q.dims, ","))
	}
	for key, val := range map[string]string{"fecha_inicio": q.inicio, "fecha_fin": q.fin, "fecha_corte": q.corte, "format": q.format} {
		if val != "" {
			v.Set(key, val)
		}
	}
	if q.includeTotal != nil {
		v.Set("include_total", fmt.Sprint(*q.includeTotal))
	}
	if q.tramo {
		v.Set("tramo", "T1")
	}
	if q.venc {
		v.Set("vencimiento", "30")
	}
	if q.rango {
		v.Set("rango_deuda", "0-100")
	}
	return v
}

func (q dashReq) body(t *testing.T) []byte {
	filters := map[string]any{}
	for key, vals := range map[string][]string{"cartera": q.cartera, "servicio": q.servicio, "periodo": q.periodo, "archivo": q.archivo} {
		if len(vals) > 0 {
			filters[key] = vals
		}
	}
	if q.inicio != "" {
		filters["fechaInicio"] = q.inicio
	}
	if q.fin != "" {
		filters["fechaFin"] = q.fin
	}
	if q.tramo {
		filters["tramo"] = []string{"T1"}
	}
	if q.venc {
		filters["vencimiento"] = []int{30}
	}
	if q.rango {
		filters["rangoDeuda"] = []string{"0-100"}
	}
	body := map[string]any{"filters": filters}
	if q.corte != "" {
		body["fechaCorte"] = q.corte
	}
	if len(q.dims) > 0 {
		body["dimensions"] = q.dims
	}
	if q.includeTotal != nil {
		body["includeTotal"] = *q.includeTotal
	}
	if q.format != "" {
		body["format"] = q.format
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDashboardGetPostSameHash is a property test: for random filter combinations,
// the GET and POST forms of one request both fail or both give equal normalised
// params with the same Hash.
func TestDashboardGetPostSameHash(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 2025))
	var ok, failed int
	for i := range 3000 {
		req := genDashReq(r)
		fromGet, errGet := ParseDashboardQuery(req.query(), dashToday)
		fromPost, errPost := ParseDashboardBody(req.body(t), dashToday)
		if (errGet == nil) != (errPost == nil) {
			t.Fatalf("case %d %+v: GET err %v, POST err %v", i, req, errGet, errPost)
		}
		if errGet != nil {
			failed++
			continue
		}
		ok++
		// The ignored names differ by form (rango_deuda / rangoDeuda) and are not hashed.
		if len(fromGet.Ignored) != len(fromPost.Ignored) {
			t.Fatalf("case %d: ignored %v vs %v", i, fromGet.Ignored, fromPost.Ignored)
		}
		fromGet.Ignored, fromPost.Ignored = nil, nil
		if !reflect.DeepEqual(fromGet, fromPost) {
			t.Fatalf("case %d %+v:\nGET  %+v\nPOST %+v", i, req, fromGet, fromPost)
		}
		if Hash(fromGet) != Hash(fromPost) {
			t.Fatalf("case %d: hashes differ", i)
		}
		if err := fromGet.Validate(); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
	}
	// The generator must exercise both outcomes, or the property says little.
	if ok < 300 || failed < 300 {
		t.Errorf("generator: %d valid, %d invalid requests; want both ≥ 300", ok, failed)
	}
}

func TestParseEvolution(t *testing.T) {
	tests := []struct {
		name  string
		query string
		body  string // "" = no POST form
		want  EvolutionParams
	}{
		{"GET defaults", "", "", EvolutionParams{FechaInicio: dashDate("2025-06-16"), FechaFin: dashDate("2025-07-15"),
			Metrics: []string{"cobertura", "contacto", "cd", "ci", "cierre", "recupero"}, Dimension: "none", Format: "json"}},
		{"GET fin only: inicio = fin − 29", "fecha_fin=2025-03-01", "", EvolutionParams{FechaInicio: dashDate("2025-01-31"), FechaFin: dashDate("2025-03-01"),
			Metrics: EvolutionGetMetrics, Dimension: "none", Format: "json"}},
		{"POST defaults", "", `{"fechaInicio":"2025-07-01","fechaFin":"2025-07-15"}`, EvolutionParams{FechaInicio: dashDate("2025-07-01"),
			FechaFin: dashDate("2025-07-15"), Metrics: []string{"cobertura", "contacto", "cierre", "intensidad"}, Dimension: "cartera", Format: "json"}},
		{"same request both forms",
			"cartera=temprana,TODAS&servicio=movil&archivo=X,a&fecha_inicio=2025-07-01&fecha_fin=2025-07-15&metrics=PCTRECUPERO,cd,pctRecupero&dimension=Negocio&format=csv",
			`{"filters":{"cartera":["temprana","TODAS"],"servicio":["movil"],"archivo":["X","a"]},"fechaInicio":"2025-07-01","fechaFin":"2025-07-15",` +
				`"includeMetrics":["PCTRECUPERO","cd","pctRecupero"],"comparisonDimension":"negocio","format":"csv"}`,
			EvolutionParams{Carteras: []string{"TEMPRANA"}, Servicios: []string{"MOVIL"}, Archivos: []string{"X", "a"},
				FechaInicio: dashDate("2025-07-01"), FechaFin: dashDate("2025-07-15"), Metrics: []string{"pctRecupero", "cd"},
				Dimension: "servicio", Format: "csv"}},
		{"366 days is the limit", "fecha_inicio=2024-07-15&fecha_fin=2025-07-15&dimension=none&metrics=intensidad",
			`{"fechaInicio":"2024-07-15","fechaFin":"2025-07-15","comparisonDimension":"NONE","includeMetrics":["intensidad"]}`,
			EvolutionParams{FechaInicio: dashDate("2024-07-15"), FechaFin: dashDate("2025-07-15"), Metrics: []string{"intensidad"}, Dimension: "none", Format: "json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var forms []EvolutionParams
			if tc.query != "" || tc.body == "" {
				q, err := url.ParseQuery(tc.query)
				if err != nil {
					t.Fatal(err)
				}
				p, err := ParseEvolutionQuery(q, dashToday)
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
				forms = append(forms, p)
			}
			if tc.body != "" {
				p, err := ParseEvolutionBody([]byte(tc.body), dashToday)
				if err != nil {
					t.Fatalf("POST: %v", err)
				}
				forms = append(forms, p)
			}
			for _, got := range forms {
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
				if Hash(got) != Hash(tc.want) {
					t.Error("hash differs")
				}
				if err := got.Validate(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestParseEvolutionErrors(t *testing.T) {
	gets := []struct{ name, query, field string }{
		{"reversed", "fecha_inicio=2025-07-10&fecha_fin=2025-07-01", "fecha_inicio"},
		{"inicio after default fin (today)", "fecha_inicio=2025-08-01", "fecha_inicio"},
		{"367 days", "fecha_inicio=2024-07-14&fecha_fin=2025-07-15", "fecha_inicio"},
		{"malformed fin", "fecha_fin=2025-02-29", "fecha_fin"},
		{"unknown metric", "metrics=cobertura,roi", "metrics"},
		{"unknown dimension", "dimension=zona", "dimension"},
		{"two dimensions", "dimension=cartera&dimension=servicio", "dimension"},
		{"unknown cartera", "cartera=X", "cartera"},
		{"10k archivos", "archivo=" + strings.Repeat("a,", 10000), "archivo"},
		{"bad format", "format=xlsx", "format"},
	}
	for _, tc := range gets {
		t.Run("GET "+tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseEvolutionQuery(q, dashToday)
			assertDashFieldError(t, err, tc.field)
		})
	}
	posts := []struct{ name, body, field string }{
		{"fechaInicio required", `{"fechaFin":"2025-07-15"}`, "fechaInicio"},
		{"fechaFin required", `{"fechaInicio":"2025-07-15"}`, "fechaFin"},
		{"both required (empty body)", ``, "fechaFin"},
		{"reversed", `{"fechaInicio":"2025-07-15","fechaFin":"2025-07-01"}`, "fechaInicio"},
		{"367 days", `{"fechaInicio":"2024-07-14","fechaFin":"2025-07-15"}`, "fechaInicio"},
		{"unknown metric", `{"fechaInicio":"2025-07-01","fechaFin":"2025-07-15","includeMetrics":["x"]}`, "includeMetrics"},
		{"metrics not an array", `{"fechaInicio":"2025-07-01","fechaFin":"2025-07-15","includeMetrics":"cd"}`, "includeMetrics"},
		{"unknown dimension", `{"fechaInicio":"2025-07-01","fechaFin":"2025-07-15","comparisonDimension":"x"}`, "comparisonDimension"},
		{"dimension not a string", `{"fechaInicio":"2025-07-01","fechaFin":"2025-07-15","comparisonDimension":["cartera"]}`, "comparisonDimension"},
		{"unknown servicio", `{"fechaInicio":"2025-07-01","fechaFin":"2025-07-15","filters":{"servicio":["X"]}}`, "filters.servicio"},
		{"date not a string", `{"fechaInicio":1,"fechaFin":"2025-07-15"}`, "fechaInicio"},
	}
	for _, tc := range posts {
		t.Run("POST "+tc.name, func(t *testing.T) {
			_, err := ParseEvolutionBody([]byte(tc.body), dashToday)
			assertDashFieldError(t, err, tc.field)
		})
	}
}

// TestEvolutionGetPostSameHash: random explicit requests give equal params and hashes
// in both forms.
func TestEvolutionGetPostSameHash(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 2025))
	var metricNames []string
	for _, m := range EvolutionMetricCatalog {
		metricNames = append(metricNames, m.Metric)
	}
	valid := 0
	for i := range 2000 {
		cart := dashPick(r, append(slices.Clone(Carteras), "TODAS"), 3, true)
		serv := dashPick(r, []string{"MOVIL", "FIJA", "TODOS"}, 2, true)
		arch := dashPick(r, []string{"A", "b", "TODAS"}, 2, false)
		mets := dashPick(r, append(metricNames, "roi"), 4, true)
		dim := []string{"cartera", "SERVICIO", "negocio", "archivo", "periodo", "none", "zona"}[r.IntN(7)]
		ini := etl.NewDate(2025, time.Month(1+r.IntN(6)), 1+r.IntN(28))
		fin := ini.AddDays(r.IntN(500) - 50)
		q := url.Values{"fecha_inicio": {ini.String()}, "fecha_fin": {fin.String()}, "dimension": {dim}}
		if len(cart) > 0 {
			q["cartera"] = cart
		}
		if len(serv) > 0 {
			q.Set("servicio", strings.Join(serv, ","))
		}
		if len(arch) > 0 {
			q["archivo"] = arch
		}
		body := map[string]any{"fechaInicio": ini.String(), "fechaFin": fin.String(), "comparisonDimension": dim,
			"filters": map[string]any{"cartera": cart, "servicio": serv, "archivo": arch}}
		if len(mets) > 0 {
			q.Set("metrics", strings.Join(mets, ","))
			body["includeMetrics"] = mets
		} else {
			// The defaults differ by form: send GET's default list explicitly.
			body["includeMetrics"] = EvolutionGetMetrics
		}
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		fromGet, errGet := ParseEvolutionQuery(q, dashToday)
		fromPost, errPost := ParseEvolutionBody(b, dashToday)
		if (errGet == nil) != (errPost == nil) {
			t.Fatalf("case %d: GET %v, POST %v (%s / %s)", i, errGet, errPost, q.Encode(), b)
		}
		if errGet != nil {
			continue
		}
		valid++
		if !reflect.DeepEqual(fromGet, fromPost) || Hash(fromGet) != Hash(fromPost) {
			t.Fatalf("case %d:\nGET  %+v\nPOST %+v", i, fromGet, fromPost)
		}
		if err := fromGet.Validate(); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
	}
	if valid < 200 || valid > 1900 {
		t.Errorf("generator: %d of 2000 valid; want both outcomes well represented", valid)
	}
}

func TestDashboardCountersKPIs(t *testing.T) {
	c := Counters{Cuentas: 8, CuentasGestionadas: 3, CuentasCD: 1, CuentasCI: 1, CuentasSC: 1,
		CuentasPDP: 1, CuentasPagadoras: 1, TotalGestiones: 7, DeudaAsig: 80000, Recupero: 1001}
	tests := []struct {
		name string
		got  Decimal
		want string
	}{
		{"cobertura 3/8 = 37.5", c.Cobertura(), "37.50"},
		{"contacto 2/8 = 25", c.Contacto(), "25.00"},
		{"cd 1/8 = 12.5", c.CD(), "12.50"},
		{"ci", c.CI(), "12.50"},
		{"sc", c.SC(), "12.50"},
		{"conversion 1/1", c.Conversion(), "100.00"},
		{"efectividad 1/3 = 33.333", c.Efectividad(), "33.33"},
		{"cierre 1/8", c.Cierre(), "12.50"},
		// 10.01 / 800.00 ×100 = 1.25125 → 1.25
		{"pctRecupero", c.PctRecupero(), "1.25"},
		{"intensidad 7/3 = 2.333", c.Intensidad(), "2.33"},
		{"recupero", c.RecuperoAmount(), "10.01"},
		// exact half rounds away from zero: 1/800 ×100 = 0.125 → 0.13; 2/3 → 66.67
		{"half away from zero", Pct(1, 800), "0.13"},
		{"two thirds", Pct(2, 3), "66.67"},
		{"zero denominator pct", Counters{}.Cobertura(), "0.00"},
		{"zero denominator conversion", Counters{Cuentas: 5}.Conversion(), "0.00"},
		{"zero denominator intensidad", Counters{Cuentas: 5}.Intensidad(), "0.00"},
	}
	for _, tc := range tests {
		if tc.got.String() != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, tc.got, tc.want)
		}
	}
	// Summed THEN the formula: (1/2 + 1/4) averaged would be 37.50; Σ gives 2/6 = 33.33.
	var sum Counters
	sum.Add(Counters{Cuentas: 2, CuentasGestionadas: 1})
	sum.Add(Counters{Cuentas: 4, CuentasGestionadas: 1})
	if got := sum.Cobertura().String(); got != "33.33" {
		t.Errorf("summed cobertura = %s, want 33.33", got)
	}
	// Every catalog metric is wired to its formula.
	c2 := Counters{Cuentas: 1000, CuentasGestionadas: 900, CuentasCD: 500, CuentasCI: 300, CuentasSC: 100,
		CuentasPDP: 70, CuentasPagadoras: 60, TotalGestiones: 1234, DeudaAsig: 5000000, Recupero: 12345}
	want := map[string]string{"cobertura": "90.00", "contacto": "80.00", "cd": "50.00", "ci": "30.00", "sc": "10.00",
		"conversion": "14.00", "efectividad": "7.78", "cierre": "6.00", "pctRecupero": "0.25", "recupero": "123.45",
		"intensidad": "1.37"}
	if len(want) != len(EvolutionMetricCatalog) {
		t.Fatalf("catalog has %d metrics, test knows %d", len(EvolutionMetricCatalog), len(want))
	}
	for _, m := range EvolutionMetricCatalog {
		if got := c2.Metric(m.Metric).String(); got != want[m.Metric] {
			t.Errorf("Metric(%s) = %s, want %s", m.Metric, got, want[m.Metric])
		}
		wantType := ValuePercent
		switch m.Metric {
		case "recupero":
			wantType = ValueCurrency
		case "intensidad":
			wantType = ValueNumber
		}
		if m.ValueType != wantType {
			t.Errorf("%s valueType %s, want %s", m.Metric, m.ValueType, wantType)
		}
	}
}

func TestDashboardBusinessDays(t *testing.T) {
	hol := []etl.Date{dashDate("2025-06-07"), dashDate("2025-06-20"), dashDate("2025-06-20"), dashDate("2025-07-07"), dashDate("2025-12-25")}
	tests := []struct {
		from, to string
		want     int
	}{
		{"2025-06-02", "2025-06-02", 1},  // Monday
		{"2025-06-07", "2025-06-08", 0},  // weekend
		{"2025-06-02", "2025-06-08", 5},  // Mon..Sun, the Saturday holiday changes nothing
		{"2025-06-03", "2025-06-27", 18}, // 19 weekdays − Friday 06-20 (listed twice, counted once)
		{"2025-06-02", "2025-07-14", 29}, // 31 weekdays − 06-20 − 07-07
		{"2025-07-14", "2025-07-13", 0},  // reversed
		{"2025-06-06", "2025-06-09", 2},  // Fri..Mon
	}
	for _, tc := range tests {
		if got := BusinessDays(dashDate(tc.from), dashDate(tc.to), hol); got != tc.want {
			t.Errorf("BusinessDays(%s, %s) = %d, want %d", tc.from, tc.to, got, tc.want)
		}
	}
}

func TestBuildDashboardShape(t *testing.T) {
	p := DashboardParams{Dimensions: []string{"cartera"}, IncludeTotal: true}
	got := BuildDashboard(p, nil, nil)
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"segmentoData":[],"negocioData":[],"integralChartData":[]}` {
		t.Errorf("empty = %s", b)
	}
	// A group named "Total" is a value like any other: the chart keeps it, the real
	// total row is appended after it.
	rows := []SnapshotRow{{Archivo: "Total", Cartera: "OTRAS", Counters: Counters{Cuentas: 1}},
		{Archivo: "a", Cartera: "OTRAS", Counters: Counters{Cuentas: 3}}}
	got = BuildDashboard(DashboardParams{Dimensions: []string{"archivo"}, IncludeTotal: true}, rows, nil)
	if n := len(got.SegmentoData); n != 3 || got.SegmentoData[2].ID != "total" || got.SegmentoData[0].Name != "Total" ||
		len(got.IntegralChartData) != 2 {
		t.Errorf("segmento %+v, chart %+v", got.SegmentoData, got.IntegralChartData)
	}
	if got.SegmentoData[0].PorcentajeCuentas.String() != "25.00" || got.SegmentoData[2].PorcentajeCuentas.String() != "100.00" {
		t.Errorf("shares %s, %s", got.SegmentoData[0].PorcentajeCuentas, got.SegmentoData[2].PorcentajeCuentas)
	}
	// Non-archivo groupings have null dias fields; the cached JSON round-trips.
	got = BuildDashboard(DashboardParams{Dimensions: []string{"cartera", "servicio"}}, rows, nil)
	b, err = json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back Dashboard
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) || !strings.Contains(string(b), `"fechaAsignacion":null,"fechaCierre":null,"diasGestion":null,"diasHabiles":null`) {
		t.Errorf("round trip:\n%s\n%s", b, b2)
	}
}

func TestBuildEvolutionNone(t *testing.T) {
	p := EvolutionParams{FechaInicio: dashDate("2025-07-01"), FechaFin: dashDate("2025-07-10"), Metrics: []string{"cobertura"}, Dimension: "none"}
	got := BuildEvolution(p, nil)
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"metric":"cobertura","valueType":"percent","series":[{"name":"TODAS","data":[]}]}]`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	// Rows of one date are summed before the formula, whatever order they come in.
	rows := []EvolutionRow{
		{Date: dashDate("2025-07-03"), Key: "TODAS", Counters: Counters{Cuentas: 4, CuentasGestionadas: 1}},
		{Date: dashDate("2025-07-02"), Key: "TODAS", Counters: Counters{Cuentas: 2, CuentasGestionadas: 2}},
		{Date: dashDate("2025-07-03"), Key: "TODAS", Counters: Counters{Cuentas: 4, CuentasGestionadas: 2}},
	}
	b, err = json.Marshal(BuildEvolution(p, rows))
	if err != nil {
		t.Fatal(err)
	}
	// 07-02: 2/2 = 100.00 (day 2); 07-03: (1+2)/(4+4) = 37.50 (day 3)
	want := `[{"metric":"cobertura","valueType":"percent","series":[{"name":"TODAS","data":[{"day":2,"date":"2025-07-02","value":100.00},{"day":3,"date":"2025-07-03","value":37.50}]}]}]`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

// FuzzParseDashboard: any query string or body parses without panicking; a nil error
// means a valid normalised struct that hashes, and an error is a ValidationError.
func FuzzParseDashboard(f *testing.F) {
	f.Add("cartera=temprana&periodo=ACTUAL&dimensions=negocio,archivo&include_total=1", []byte(`{"filters":{"cartera":["TEMPRANA"],"periodo":["2025-06"]},"dimensions":["archivo"]}`))
	f.Add("fecha_inicio=2025-07-10&fecha_fin=2025-07-01", []byte(`{"filters":{"fechaInicio":"2025-07-10","fechaFin":"2025-07-01"}}`))
	f.Add("fecha_corte=0001-01-01&periodo=ULTIMOS_3_MESES", []byte(`{"fechaCorte":"9999-12-31","filters":{"periodo":["ULTIMOS_3_MESES"]}}`))
	f.Add("format=csv&tramo=x&rango_deuda=1", []byte(`{"filters":{"vencimiento":[1,2],"tramo":null},"format":"CSV"}`))
	f.Add("%zz&cartera=%00", []byte(`{"filters":{"cartera":[null]},"includeTotal":null}`))
	f.Add("", []byte(`[`))
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		check := func(form string, p DashboardParams, err error) {
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) || len(ve.Details) == 0 {
					t.Fatalf("%s: error %v is not a ValidationError", form, err)
				}
				return
			}
			if verr := p.Validate(); verr != nil {
				t.Fatalf("%s: nil error but invalid params %+v: %v", form, p, verr)
			}
			_ = Hash(p)
		}
		if q, err := url.ParseQuery(query); err == nil {
			p, err := ParseDashboardQuery(q, dashToday)
			check("GET", p, err)
		}
		p, err := ParseDashboardBody(body, dashToday)
		check("POST", p, err)
	})
}

// FuzzParseEvolution is FuzzParseDashboard for evolution.
func FuzzParseEvolution(f *testing.F) {
	f.Add("metrics=cd,CD&dimension=negocio&fecha_fin=2025-01-01", []byte(`{"fechaInicio":"2025-01-01","fechaFin":"2025-01-02","includeMetrics":["cd"]}`))
	f.Add("fecha_inicio=0001-01-01&fecha_fin=9999-12-31", []byte(`{"fechaInicio":"0001-01-01","fechaFin":"9999-12-31"}`))
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		check := func(form string, p EvolutionParams, err error) {
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) || len(ve.Details) == 0 {
					t.Fatalf("%s: error %v is not a ValidationError", form, err)
				}
				return
			}
			if verr := p.Validate(); verr != nil {
				t.Fatalf("%s: nil error but invalid params %+v: %v", form, p, verr)
			}
			_ = Hash(p)
		}
		if q, err := url.ParseQuery(query); err == nil {
			p, err := ParseEvolutionQuery(q, dashToday)
			check("GET", p, err)
		}
		p, err := ParseEvolutionBody(body, dashToday)
		check("POST", p, err)
	})
}
