package analytics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

var repToday = etl.NewDate(2025, time.July, 15)

func repDate(s string) etl.Date {
	v, err := etl.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func repQuery(s string) url.Values {
	v, err := url.ParseQuery(s)
	if err != nil {
		panic(err)
	}
	return v
}

// repWantFields asserts err is a ValidationError naming exactly these fields (in any
// order), each message containing the matching substring when one is given.
func repWantFields(t *testing.T, err error, fields ...string) *ValidationError {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T); want *ValidationError naming %v", err, err, fields)
	}
	var got []string
	for _, f := range ve.Details {
		got = append(got, f.Field)
		if f.Message == "" {
			t.Errorf("field %s: empty message", f.Field)
		}
	}
	slices.Sort(got)
	want := slices.Clone(fields)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("fields %v; want %v (%v)", got, want, err)
	}
	return ve
}

func TestParseAssignmentQuery(t *testing.T) {
	jul, jun := Month{2025, time.July}, Month{2025, time.June}
	tests := []struct {
		name  string
		query string
		want  AssignmentParams
	}{
		{"defaults", "", AssignmentParams{FechaActual: repToday, Periodo: jul, PeriodoAnterior: jun}},
		{"fecha_actual selects its month; anterior the month before", "fecha_actual=2025-03-31",
			AssignmentParams{FechaActual: repDate("2025-03-31"), Periodo: Month{2025, 3}, PeriodoAnterior: Month{2025, 2}}},
		{"january wraps the year", "fecha_actual=2025-01-10",
			AssignmentParams{FechaActual: repDate("2025-01-10"), Periodo: Month{2025, 1}, PeriodoAnterior: Month{2024, 12}}},
		{"fecha_anterior gives periodo_anterior", "fecha_anterior=2024-11-02",
			AssignmentParams{FechaActual: repToday, FechaAnterior: repDate("2024-11-02"), Periodo: jul, PeriodoAnterior: Month{2024, 11}}},
		{"explicit periodos win", "fecha_actual=2025-07-01&fecha_anterior=2025-01-01&periodo=2025-05&periodo_anterior=2025-02",
			AssignmentParams{FechaActual: repDate("2025-07-01"), FechaAnterior: repDate("2025-01-01"), Periodo: Month{2025, 5}, PeriodoAnterior: Month{2025, 2}}},
		{"periodo alone moves periodo_anterior", "periodo=2025-03",
			AssignmentParams{FechaActual: repToday, Periodo: Month{2025, 3}, PeriodoAnterior: Month{2025, 2}}},
		{"filters normalised", "cartera=temprana,OTRAS&cartera=TODAS&cartera=Temprana&servicio=todos&servicio=movil",
			AssignmentParams{FechaActual: repToday, Periodo: jul, PeriodoAnterior: jun,
				Cartera: []string{"OTRAS", "TEMPRANA"}, Servicio: []string{"MOVIL"}}},
		{"no-filter values only", "cartera=TODAS&servicio=TODOS&servicio=",
			AssignmentParams{FechaActual: repToday, Periodo: jul, PeriodoAnterior: jun}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAssignmentQuery(repQuery(tc.query), repToday)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	bad := []struct{ query, field string }{
		{"fecha_actual=2025-02-30", "fecha_actual"},
		{"fecha_actual=15/07/2025", "fecha_actual"},
		{"fecha_anterior=yesterday", "fecha_anterior"},
		{"periodo=2025-13", "periodo"},
		{"periodo=2025-7", "periodo"},
		{"periodo=ACTUAL", "periodo"},
		{"periodo_anterior=2025/06", "periodo_anterior"},
		{"cartera=TEMPRANA,NUEVA", "cartera"},
		{"servicio=HFC", "servicio"},
		{"cartera=" + url.QueryEscape("'; DROP TABLE mart.assignment_data; --"), "cartera"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.query, func(t *testing.T) {
			_, err := ParseAssignmentQuery(repQuery(tc.query), repToday)
			repWantFields(t, err, tc.field)
		})
	}
}

func TestParseAssignmentSummaryQuery(t *testing.T) {
	p, err := ParseAssignmentSummaryQuery(repQuery(""), repToday)
	if err != nil || p != (AssignmentSummaryParams{FechaCorte: repToday, Periodo: Month{2025, 7}}) {
		t.Fatalf("defaults: %+v %v", p, err)
	}
	p, err = ParseAssignmentSummaryQuery(repQuery("fecha_corte=2024-12-31"), repToday)
	if err != nil || p != (AssignmentSummaryParams{FechaCorte: repDate("2024-12-31"), Periodo: Month{2024, 12}}) {
		t.Fatalf("explicit: %+v %v", p, err)
	}
	_, err = ParseAssignmentSummaryQuery(repQuery("fecha_corte=2024-12"), repToday)
	repWantFields(t, err, "fecha_corte")
}

func TestParseOperation(t *testing.T) {
	t.Run("GET defaults: latest day, every section", func(t *testing.T) {
		p, err := ParseOperationQuery(repQuery(""), repToday)
		if err != nil {
			t.Fatal(err)
		}
		want := OperationParams{Today: repToday, Hourly: true, Attempts: true, Queues: true}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("got %+v want %+v", p, want)
		}
		b, err := CanonicalJSON(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"date":"latest"`) || !strings.Contains(string(b), `"today":"2025-07-15"`) {
			t.Fatalf("canonical form %s: want date latest and today", b)
		}
		if got := p.Day(etl.Date{}); got != repToday {
			t.Errorf("no data: day %v; want today", got)
		}
		if got := p.Day(repDate("2025-07-10")); got != repDate("2025-07-10") {
			t.Errorf("latest: day %v", got)
		}
	})
	t.Run("GET explicit day drops today", func(t *testing.T) {
		p, err := ParseOperationQuery(repQuery("fecha_analisis=2025-07-01&include_hourly=false&include_attempts=0&include_queues=no&cartera=otras&archivo=B,A,A"), repToday)
		if err != nil {
			t.Fatal(err)
		}
		want := OperationParams{Date: Latest{repDate("2025-07-01")}, Cartera: []string{"OTRAS"}, Archivo: []string{"A", "B"}}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("got %+v want %+v", p, want)
		}
		if p.Day(repDate("2025-07-14")) != repDate("2025-07-01") {
			t.Error("an explicit day is not replaced by the latest")
		}
	})
	t.Run("views switch the sections off", func(t *testing.T) {
		p, err := ParseOperationQuery(repQuery(""), repToday)
		if err != nil {
			t.Fatal(err)
		}
		k := p.ForView(OperationViewKPIs)
		if k.Hourly || k.Attempts || k.Queues || k.View != "kpis" {
			t.Fatalf("kpis view %+v", k)
		}
		if Hash(k) == Hash(p) || Hash(k) == Hash(p.ForView(OperationViewChannels)) {
			t.Fatal("views must hash apart from each other and from the full report")
		}
		if Hash(p.ForView(OperationViewFull)) != Hash(p) {
			t.Fatal("the full view is the plain report")
		}
	})
	t.Run("POST", func(t *testing.T) {
		p, err := ParseOperationBody([]byte(`{"date":"2025-07-01","includeHourlyBreakdown":false,"unknown":[1,{"x":2}],
			"filters":{"cartera":["otras","TODAS"],"archivo":["B","A"]}}`))
		if err != nil {
			t.Fatal(err)
		}
		want := OperationParams{Date: Latest{repDate("2025-07-01")}, Attempts: true, Queues: true,
			Cartera: []string{"OTRAS"}, Archivo: []string{"A", "B"}}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("got %+v want %+v", p, want)
		}
	})
	bad := []struct {
		name, query, body string
		fields            []string
	}{
		{"GET bad date", "fecha_analisis=2025-7-1", "", []string{"fecha_analisis"}},
		{"GET bad bool", "include_hourly=maybe&include_queues=2", "", []string{"include_hourly", "include_queues"}},
		{"GET bad cartera", "cartera=TEMPRANA%27%20OR%201=1", "", []string{"cartera"}},
		{"POST date missing", "", `{}`, []string{"date"}},
		{"POST empty body", "", ``, []string{"date"}},
		{"POST date null", "", `{"date":null}`, []string{"date"}},
		{"POST date blank", "", `{"date":"  "}`, []string{"date"}},
		{"POST date malformed", "", `{"date":"01/07/2025"}`, []string{"date"}},
		{"POST date number", "", `{"date":20250701}`, []string{"date"}},
		{"POST include string", "", `{"date":"2025-07-01","includeHourlyBreakdown":"yes"}`, []string{"includeHourlyBreakdown"}},
		{"POST cartera string", "", `{"date":"2025-07-01","filters":{"cartera":"TEMPRANA"}}`, []string{"filters.cartera"}},
		{"POST cartera numbers", "", `{"date":"2025-07-01","filters":{"cartera":[1]}}`, []string{"filters.cartera"}},
		{"POST filters array", "", `{"date":"2025-07-01","filters":[]}`, []string{"filters"}},
		{"POST not an object", "", `["2025-07-01"]`, []string{"body"}},
		{"POST invalid JSON", "", `{"date":"2025-07-01"`, []string{"body"}},
		{"POST unknown cartera", "", `{"date":"2025-07-01","filters":{"cartera":["X"]}}`, []string{"filters.cartera"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if strings.HasPrefix(tc.name, "GET") {
				_, err = ParseOperationQuery(repQuery(tc.query), repToday)
			} else {
				_, err = ParseOperationBody([]byte(tc.body))
			}
			repWantFields(t, err, tc.fields...)
		})
	}
}

func TestParseProductivity(t *testing.T) {
	good := []struct {
		name, query string
		want        ProductivityParams
	}{
		{"defaults: latest end, derived start", "",
			ProductivityParams{Today: repToday, MetricType: MetricGestiones, Format: FormatJSON}},
		{"end given: start = end − 29", "fecha_fin=2025-07-10",
			ProductivityParams{FechaInicio: Latest{repDate("2025-06-11")}, FechaFin: Latest{repDate("2025-07-10")},
				MetricType: MetricGestiones, Format: FormatJSON}},
		{"one-day range", "fecha_inicio=2025-07-10&fecha_fin=2025-07-10",
			ProductivityParams{FechaInicio: Latest{repDate("2025-07-10")}, FechaFin: Latest{repDate("2025-07-10")},
				MetricType: MetricGestiones, Format: FormatJSON}},
		{"366 days", "fecha_inicio=2024-07-15&fecha_fin=2025-07-15",
			ProductivityParams{FechaInicio: Latest{repDate("2024-07-15")}, FechaFin: Latest{repDate("2025-07-15")},
				MetricType: MetricGestiones, Format: FormatJSON}},
		{"start alone waits for the latest end", "fecha_inicio=2025-07-01",
			ProductivityParams{FechaInicio: Latest{repDate("2025-07-01")}, Today: repToday, MetricType: MetricGestiones, Format: FormatJSON}},
		{"enums any case, csv, agente trimmed", "metric_type=CONTACTOSEFECTIVOS&format=CSV&agente=%20Ana@X.pe%20&cartera=temprana&archivo=TODAS",
			ProductivityParams{Today: repToday, Agente: "Ana@X.pe", Cartera: []string{"TEMPRANA"},
				MetricType: MetricContactosEfectivos, Format: FormatCSV}},
		{"agente TODOS is no filter", "agente=todos&metric_type=compromisos&format=json",
			ProductivityParams{Today: repToday, MetricType: MetricCompromisos, Format: FormatJSON}},
		{"SQL metacharacters in free values are values", "agente=x%27%20OR%20%271%27=%271&archivo=a%27%3BDROP",
			ProductivityParams{Today: repToday, Agente: "x' OR '1'='1", Archivo: []string{"a';DROP"},
				MetricType: MetricGestiones, Format: FormatJSON}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProductivityQuery(repQuery(tc.query), repToday)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	bad := []struct {
		name, query string
		fields      []string
		msg         string
	}{
		{"reversed", "fecha_inicio=2025-07-11&fecha_fin=2025-07-10", []string{"fecha_fin"}, MsgRangeReversed},
		{"367 days", "fecha_inicio=2024-07-14&fecha_fin=2025-07-15", []string{"fecha_fin"}, "366"},
		{"bad dates", "fecha_inicio=2025-07-32&fecha_fin=20250710", []string{"fecha_inicio", "fecha_fin"}, ""},
		{"metric", "metric_type=llamadas", []string{"metric_type"}, ""},
		{"format", "format=xml", []string{"format"}, ""},
		{"cartera", "cartera=ALTAS", []string{"cartera"}, ""},
		{"agente too long", "agente=" + strings.Repeat("a", 201), []string{"agente"}, ""},
		{"archivo too long", "archivo=" + strings.Repeat("a", 201), []string{"archivo"}, ""},
		{"51 archivos", "archivo=" + strings.Repeat("a,", 50) + "a", []string{"archivo"}, ""},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.name, func(t *testing.T) {
			_, err := ParseProductivityQuery(repQuery(tc.query), repToday)
			ve := repWantFields(t, err, tc.fields...)
			if tc.msg != "" && !strings.Contains(ve.Details[0].Message, tc.msg) {
				t.Errorf("message %q; want it to contain %q", ve.Details[0].Message, tc.msg)
			}
			if tc.msg == MsgRangeReversed && ve.Details[0].Message != MsgRangeReversed {
				t.Errorf("message %q; want exactly %q", ve.Details[0].Message, MsgRangeReversed)
			}
		})
	}
	t.Run("POST", func(t *testing.T) {
		p, err := ParseProductivityBody([]byte(`{"fecha_inicio":"2025-07-01","fecha_fin":"2025-07-10","agente":"ana@x.pe",
			"filtros":{"cartera":["otras"],"archivo":["B","A"]},"metric_type":"Compromisos","extra":true}`), "csv", repToday)
		if err != nil {
			t.Fatal(err)
		}
		want := ProductivityParams{FechaInicio: Latest{repDate("2025-07-01")}, FechaFin: Latest{repDate("2025-07-10")},
			Agente: "ana@x.pe", Cartera: []string{"OTRAS"}, Archivo: []string{"A", "B"},
			MetricType: MetricCompromisos, Format: FormatCSV}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("got %+v want %+v", p, want)
		}
	})
	badBody := []struct {
		name, body string
		fields     []string
	}{
		{"reversed", `{"fecha_inicio":"2025-07-11","fecha_fin":"2025-07-10"}`, []string{"fecha_fin"}},
		{"date number", `{"fecha_fin":20250710}`, []string{"fecha_fin"}},
		{"agente object", `{"agente":{"correo":"x"}}`, []string{"agente"}},
		{"filtros string", `{"filtros":"TEMPRANA"}`, []string{"filtros"}},
		{"cartera bool", `{"filtros":{"cartera":true}}`, []string{"filtros.cartera"}},
		{"archivo numbers", `{"filtros":{"archivo":[1,2]}}`, []string{"filtros.archivo"}},
		{"metric number", `{"metric_type":1}`, []string{"metric_type"}},
		{"metric unknown", `{"metric_type":"recupero"}`, []string{"metric_type"}},
		{"truncated", `{"fecha_fin":"2025-07-10"`, []string{"body"}},
		{"string body", `"x"`, []string{"body"}},
	}
	for _, tc := range badBody {
		t.Run("bad POST "+tc.name, func(t *testing.T) {
			_, err := ParseProductivityBody([]byte(tc.body), "", repToday)
			repWantFields(t, err, tc.fields...)
		})
	}
	_, err := ParseProductivityBody([]byte(`{}`), "pdf", repToday)
	repWantFields(t, err, "format")
}

func TestProductivityRangeResolution(t *testing.T) {
	tests := []struct {
		name, query string
		latest      etl.Date
		from, to    etl.Date
		errMsg      string
	}{
		{"latest end, derived start", "", repDate("2025-07-10"), repDate("2025-06-11"), repDate("2025-07-10"), ""},
		{"no data: today", "", etl.Date{}, repDate("2025-06-16"), repToday, ""},
		{"explicit end ignores latest", "fecha_fin=2025-05-31", repDate("2025-07-10"), repDate("2025-05-02"), repDate("2025-05-31"), ""},
		{"explicit start, latest end", "fecha_inicio=2025-07-01", repDate("2025-07-10"), repDate("2025-07-01"), repDate("2025-07-10"), ""},
		{"explicit start after the latest end", "fecha_inicio=2025-07-11", repDate("2025-07-10"), etl.Date{}, etl.Date{}, MsgRangeReversed},
		{"explicit start too far before the latest end", "fecha_inicio=2024-07-09", repDate("2025-07-10"), etl.Date{}, etl.Date{}, "366"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProductivityQuery(repQuery(tc.query), repToday)
			if err != nil {
				t.Fatal(err)
			}
			from, to, err := p.Range(tc.latest)
			if tc.errMsg != "" {
				ve := repWantFields(t, err, "fecha_fin")
				if !strings.Contains(ve.Details[0].Message, tc.errMsg) {
					t.Fatalf("message %q", ve.Details[0].Message)
				}
				return
			}
			if err != nil || from != tc.from || to != tc.to {
				t.Fatalf("range %v..%v %v; want %v..%v", from, to, err, tc.from, tc.to)
			}
		})
	}
}

func TestParseAgentQuery(t *testing.T) {
	p, err := ParseAgentQuery(" Ana.Perez@Empresa.PE ", repQuery("fecha_fin=2025-07-10"), repToday)
	if err != nil {
		t.Fatal(err)
	}
	want := AgentParams{Agent: "ana.perez@empresa.pe", FechaInicio: Latest{repDate("2025-06-11")}, FechaFin: Latest{repDate("2025-07-10")}}
	if p != want {
		t.Fatalf("got %+v want %+v", p, want)
	}
	p, err = ParseAgentQuery("a@b", repQuery(""), repToday)
	if err != nil || p.Today != repToday || !p.FechaFin.IsZero() {
		t.Fatalf("default end: %+v %v", p, err)
	}
	_, err = ParseAgentQuery("", repQuery(""), repToday)
	repWantFields(t, err, "agent_id")
	_, err = ParseAgentQuery(strings.Repeat("x", 201), repQuery("fecha_inicio=2025-07-11&fecha_fin=2025-07-10"), repToday)
	repWantFields(t, err, "agent_id", "fecha_fin")
	// The agent and the productivity parameters never share a hash.
	pp, err := ParseProductivityQuery(repQuery(""), repToday)
	if err != nil {
		t.Fatal(err)
	}
	ap, err := ParseAgentQuery("a@b", repQuery(""), repToday)
	if err != nil {
		t.Fatal(err)
	}
	if Hash(pp) == Hash(ap) {
		t.Fatal("agent detail and productivity hash alike")
	}
}

// TestOperationAndProductivityHostileInputs: 10k-item lists, long values and SQL text are
// field errors or plain values, never panics.
func TestOperationAndProductivityHostileInputs(t *testing.T) {
	huge := strings.Repeat("TEMPRANA,", 10000)
	many := make([]string, 10000)
	for i := range many {
		many[i] = fmt.Sprintf("ARCHIVO_%d", i)
	}
	q := url.Values{"cartera": {huge}, "archivo": many, "servicio": many}
	_, err := ParseAssignmentQuery(q, repToday)
	repWantFields(t, err, "cartera", "servicio")
	_, err = ParseOperationQuery(q, repToday)
	repWantFields(t, err, "cartera", "archivo")
	_, err = ParseProductivityQuery(q, repToday)
	repWantFields(t, err, "cartera", "archivo")
	body, err := json.Marshal(map[string]any{"date": "2025-07-01", "filters": map[string]any{"cartera": many, "archivo": many}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseOperationBody(body)
	repWantFields(t, err, "filters.cartera", "filters.archivo")
	body, err = json.Marshal(map[string]any{"filtros": map[string]any{"archivo": many}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseProductivityBody(body, "", repToday)
	repWantFields(t, err, "filtros.archivo")
	// 50 values are fine.
	if _, err := ParseProductivityQuery(url.Values{"archivo": many[:50]}, repToday); err != nil {
		t.Fatal(err)
	}
	// Deep nesting and odd JSON never panic.
	for _, b := range []string{strings.Repeat("[", 20000), `{"filtros":{"cartera":[null]}}`, `null`, `{"agente":null}`, "\x00", `{"fecha_fin":"\u0000"}`} {
		_, _ = ParseProductivityBody([]byte(b), "", repToday)
		_, _ = ParseOperationBody([]byte(b))
	}
}

// TestOperationAndProductivityGETPOSTHashAlike is a property test: for generated requests, the
// GET query and the POST body of the same request give the same parameters and H.
func TestOperationAndProductivityGETPOSTHashAlike(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	carteraValues := append(slices.Clone(Carteras), "TODAS", "")
	archivoValues := []string{"Cartera_A_20250602", "Cartera_B_20250603", "x' OR 1=1 --", "TODAS", "ñandú"}
	randCase := func(s string) string {
		b := []rune(s)
		for i := range b {
			if r.IntN(2) == 0 {
				b[i] = []rune(strings.ToLower(string(b[i])))[0]
			}
		}
		return string(b)
	}
	pickList := func(values []string, caseFold bool) []string {
		var out []string
		for range r.IntN(5) {
			v := values[r.IntN(len(values))]
			if caseFold {
				v = randCase(v)
			}
			out = append(out, v)
		}
		return out
	}
	// toQuery writes a list either repeated or comma-joined, at random.
	toQuery := func(q url.Values, key string, list []string) {
		if len(list) == 0 {
			return
		}
		if r.IntN(2) == 0 {
			q[key] = list
		} else {
			q.Set(key, strings.Join(list, ","))
		}
	}
	randDate := func() string {
		return repToday.AddDays(-r.IntN(400)).String()
	}
	for i := range 500 {
		// Productivity.
		carteras, archivos := pickList(carteraValues, true), pickList(archivoValues, false)
		q := url.Values{}
		body := map[string]any{}
		if r.IntN(3) > 0 {
			fin := randDate()
			q.Set("fecha_fin", fin)
			body["fecha_fin"] = fin
		}
		if r.IntN(3) == 0 {
			ini := randDate()
			q.Set("fecha_inicio", ini)
			body["fecha_inicio"] = ini
		}
		if r.IntN(2) == 0 {
			a := []string{"ana@x.pe", "12345678", "TODOS", " Bob@X.pe "}[r.IntN(4)]
			q.Set("agente", a)
			body["agente"] = a
		}
		if r.IntN(2) == 0 {
			m := randCase(MetricTypes[r.IntN(len(MetricTypes))])
			q.Set("metric_type", m)
			body["metric_type"] = m
		}
		toQuery(q, "cartera", carteras)
		toQuery(q, "archivo", archivos)
		filtros := map[string]any{}
		if carteras != nil {
			filtros["cartera"] = carteras
		}
		if archivos != nil {
			filtros["archivo"] = archivos
		}
		if len(filtros) > 0 || r.IntN(2) == 0 {
			body["filtros"] = filtros
		}
		format := []string{"", "json", "csv", "CSV"}[r.IntN(4)]
		if format != "" {
			q.Set("format", format)
		}
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		pg, errG := ParseProductivityQuery(q, repToday)
		pp, errP := ParseProductivityBody(b, format, repToday)
		if (errG == nil) != (errP == nil) {
			t.Fatalf("case %d: GET %v / POST %v disagree on validity\nquery %s\nbody %s", i, errG, errP, q.Encode(), b)
		}
		if errG == nil && (!reflect.DeepEqual(pg, pp) || Hash(pg) != Hash(pp)) {
			t.Fatalf("case %d: GET %+v\nPOST %+v\nquery %s\nbody %s", i, pg, pp, q.Encode(), b)
		}

		// Operation (POST needs a date).
		day := randDate()
		q = url.Values{"fecha_analisis": {day}}
		ob := map[string]any{"date": day}
		for _, pair := range [][2]string{{"include_hourly", "includeHourlyBreakdown"}, {"include_attempts", "includeAttemptAnalysis"}, {"include_queues", "includeQueueDetails"}} {
			switch r.IntN(3) {
			case 0:
				q.Set(pair[0], []string{"false", "0", "FALSE", "no"}[r.IntN(4)])
				ob[pair[1]] = false
			case 1:
				q.Set(pair[0], []string{"true", "1", "True"}[r.IntN(3)])
				ob[pair[1]] = true
			}
		}
		carteras, archivos = pickList(carteraValues, true), pickList(archivoValues, false)
		toQuery(q, "cartera", carteras)
		toQuery(q, "archivo", archivos)
		ob["filters"] = map[string]any{"cartera": carteras, "archivo": archivos}
		b, err = json.Marshal(ob)
		if err != nil {
			t.Fatal(err)
		}
		og, errG := ParseOperationQuery(q, repToday)
		op, errP := ParseOperationBody(b)
		if errG != nil || errP != nil {
			t.Fatalf("case %d: %v / %v", i, errG, errP)
		}
		if !reflect.DeepEqual(og, op) || Hash(og) != Hash(op) {
			t.Fatalf("case %d: GET %+v\nPOST %+v\nquery %s\nbody %s", i, og, op, q.Encode(), b)
		}
	}
}

func TestHashDependsOnEveryProductivityField(t *testing.T) {
	base, err := ParseProductivityQuery(repQuery(""), repToday)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{Hash(base): "base"}
	for _, q := range []string{"fecha_fin=2025-07-15", "fecha_inicio=2025-07-01", "agente=a", "cartera=OTRAS",
		"archivo=A", "metric_type=compromisos", "format=csv"} {
		p, err := ParseProductivityQuery(repQuery(q), repToday)
		if err != nil {
			t.Fatal(err)
		}
		h := Hash(p)
		if prev, ok := seen[h]; ok {
			t.Fatalf("%s hashes like %s", q, prev)
		}
		seen[h] = q
	}
	// "latest" depends on today.
	other, err := ParseProductivityQuery(repQuery(""), repToday.AddDays(1))
	if err != nil {
		t.Fatal(err)
	}
	if Hash(other) == Hash(base) {
		t.Fatal("the latest-day default must hash with today")
	}
}

func FuzzParseProductivity(f *testing.F) {
	f.Add("fecha_inicio=2025-07-01&fecha_fin=2025-07-10&agente=a@b&cartera=TEMPRANA&archivo=X&metric_type=compromisos&format=csv",
		[]byte(`{"fecha_inicio":"2025-07-01","fecha_fin":"2025-07-10","agente":"a@b","filtros":{"cartera":["OTRAS"],"archivo":["x"]},"metric_type":"gestiones"}`))
	f.Add("cartera=%27%3B+DROP+TABLE+x%3B--&fecha_fin=2025-02-30", []byte(`{"filtros":{"cartera":"TEMPRANA"}}`))
	f.Add("fecha_inicio=2025-07-11&fecha_fin=2025-07-10", []byte(`{"fecha_fin":20250710}`))
	f.Add("archivo="+strings.Repeat("a,", 60), []byte(`[[[[`))
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		check := func(p ProductivityParams, err error) {
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) || len(ve.Details) == 0 {
					t.Fatalf("error %v is not a ValidationError", err)
				}
				for _, fe := range ve.Details {
					if fe.Field == "" || fe.Message == "" {
						t.Fatalf("unnamed field error %+v", fe)
					}
				}
				return
			}
			if !slices.Contains(MetricTypes, p.MetricType) || (p.Format != FormatJSON && p.Format != FormatCSV) {
				t.Fatalf("unnormalised %+v", p)
			}
			if len(p.Cartera) > MaxListValues || len(p.Archivo) > MaxListValues || len(p.Agente) > MaxValueLen {
				t.Fatalf("limits not enforced: %+v", p)
			}
			if !sort.StringsAreSorted(p.Cartera) || !sort.StringsAreSorted(p.Archivo) {
				t.Fatalf("lists not sorted: %+v", p)
			}
			for _, c := range p.Cartera {
				if !slices.Contains(Carteras, c) {
					t.Fatalf("cartera %q accepted", c)
				}
			}
			_ = Hash(p)
			if from, to, err := p.Range(repToday.AddDays(-3)); err == nil && (to.Before(from) || DaysBetween(from, to)+1 > MaxRangeDays) {
				t.Fatalf("resolved range %v..%v accepted", from, to)
			}
		}
		if q, err := url.ParseQuery(query); err == nil {
			check(ParseProductivityQuery(q, repToday))
		}
		check(ParseProductivityBody(body, "", repToday))
	})
}

// ---------------------------------------------------------------------------
// Math and shapes

func TestAssignmentVariacion(t *testing.T) {
	tests := []struct {
		actual, anterior int64
		want             string
	}{
		{110, 100, "10.0"},
		{9, 8, "12.5"},      // 1/8 = 12.5 exactly
		{1, 16, "-93.8"},    // −15/16 = −93.75 → half away from zero
		{17, 16, "6.3"},     // 1/16 = 6.25 → 6.3
		{2, 3, "-33.3"},     // −33.33…
		{5, 0, "100.0"},     // anterior 0, actual > 0
		{0, 0, "0.0"},       // both 0
		{0, 7, "-100.0"},    // all gone
		{1001, 1000, "0.1"}, // 0.1
	}
	for _, tc := range tests {
		if got := Variacion(tc.actual, tc.anterior).String(); got != tc.want {
			t.Errorf("Variacion(%d, %d) = %s; want %s", tc.actual, tc.anterior, got, tc.want)
		}
	}
}

func TestNewAssignment(t *testing.T) {
	p := AssignmentParams{FechaActual: repDate("2025-07-15"), Periodo: Month{2025, 7}, PeriodoAnterior: Month{2025, 6}}
	last := time.Date(2025, 7, 15, 6, 0, 0, 0, time.FixedZone("x", -5*3600))
	in := AssignmentInput{
		Current:  AssignmentCounts{Clientes: 5, Cuentas: 6, SaldoCents: 100001},
		Previous: AssignmentCounts{Clientes: 0, Cuentas: 0, SaldoCents: 0},
		ByCartera: map[string]AssignmentPair{
			"TEMPRANA": {Current: AssignmentCounts{3, 3, 100000}},
			"OTRAS":    {Current: AssignmentCounts{1, 2, 1}},
			// Present only in the previous period: listed, not in compositionData.
			"ALTAS_NUEVAS": {Previous: AssignmentCounts{1, 1, 500}},
		},
		LastRefresh: &last, DataVersion: 7,
	}
	a := NewAssignment(p, in)
	// Ticket: 1000.01 / 6 = 166.668… → 166.67; previous 0 / max(0,1) = 0.
	want := []AssignmentKPI{
		{"Total Clientes", Decimal{5, 0}, Decimal{0, 0}, Decimal{1000, 1}, ValueNumber},
		{"Total Cuentas", Decimal{6, 0}, Decimal{0, 0}, Decimal{1000, 1}, ValueNumber},
		{"Saldo Total Deuda", Money(100001), Money(0), Decimal{1000, 1}, ValueCurrency},
		{"Ticket Promedio", Money(16667), Money(0), Decimal{1000, 1}, ValueCurrency},
	}
	if !reflect.DeepEqual(a.KPIs, want) {
		t.Fatalf("kpis %+v", a.KPIs)
	}
	// OTRAS 0.01 / 2 = 0.005 → 0.01 (half away from zero).
	wantDetail := []AssignmentDetail{
		{"temprana", "TEMPRANA", 3, 0, 3, 0, Money(100000), Money(0), Money(33333), Money(0)},
		{"otras", "OTRAS", 1, 0, 2, 0, Money(1), Money(0), Money(1), Money(0)},
		{"altas_nuevas", "ALTAS_NUEVAS", 0, 1, 0, 1, Money(0), Money(500), Money(0), Money(500)},
	}
	if !reflect.DeepEqual(a.DetailBreakdown, wantDetail) {
		t.Fatalf("detail %+v", a.DetailBreakdown)
	}
	wantComp := []CompositionItem{{"TEMPRANA", Money(100000)}, {"OTRAS", Money(1)}}
	if !reflect.DeepEqual(a.CompositionData, wantComp) {
		t.Fatalf("composition %+v", a.CompositionData)
	}
	if a.Metadata.TotalCarteras != 3 || a.Metadata.FechaAnterior != nil || a.Metadata.DataVersion != 7 ||
		a.Metadata.LastRefresh.Location() != time.UTC || !a.Metadata.LastRefresh.Equal(last) {
		t.Fatalf("metadata %+v", a.Metadata)
	}
	a.SetVolatile("miss", 1500*time.Microsecond, time.Now())
	if a.QueryTime != 0.0015 {
		t.Fatalf("queryTime %v", a.QueryTime)
	}
	repRoundTrip(t, &a)
}

// repRoundTrip checks a cached response decodes back to the same JSON.
func repRoundTrip[T any](t *testing.T, v *T) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back T
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	b2, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Fatalf("round trip changed\n%s\n%s", b, b2)
	}
}

// repJSONKeys lists the keys of a JSON object, sorted.
func repJSONKeys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func repSortedKeys(s string) []string {
	k := strings.Split(s, ",")
	slices.Sort(k)
	return k
}

// TestAssignmentOperationProductivityJSONNames pins every field name of api.md §3.4–§3.6.
func TestAssignmentOperationProductivityJSONNames(t *testing.T) {
	cases := []struct {
		v    any
		keys string
	}{
		{Assignment{}, "status,success,message,currentPeriod,previousPeriod,queryTime,kpis,compositionData,detailBreakdown,metadata"},
		{AssignmentKPI{}, "label,valorActual,valorAnterior,variacion,valueType"},
		{CompositionItem{}, "name,value"},
		{AssignmentDetail{}, "id,name,clientesActual,clientesAnterior,cuentasActual,cuentasAnterior,saldoActual,saldoAnterior,ticketPromedioActual,ticketPromedioAnterior"},
		{AssignmentMetadata{}, "fechaActual,fechaAnterior,periodoActual,periodoAnterior,totalCarteras,lastRefresh,dataVersion"},
		{AssignmentSummary{}, "fechaCorte,periodo,totalCuentas,totalClientes,saldoTotal,ticketPromedio,totalCarteras,timestamp"},
		{Operation{}, "date,kpis,channelPerformance,hourlyPerformance,attemptEffectiveness,queuePerformance"},
		{OperationKPI{}, "label,value"},
		{ChannelPerformance{}, "channel,calls,effectiveContacts,nonEffectiveContacts,pdp,cierreRate"},
		{HourlyPerformance{}, "hour,calls,effectiveContacts,nonEffectiveContacts,pdp"},
		{AttemptEffectiveness{}, "attempt,calls,cierreRate"},
		{QueuePerformance{}, "queueName,calls,effectiveContacts,pdp,cierreRate"},
		{Productivity{}, "dailyTrend,hourlyTrend,agentRanking,agentHeatmap,metadata"},
		{ProductivityDay{}, "day,date,llamadas,compromisos,recupero"},
		{ProductivityHour{}, "hour,llamadas,compromisos"},
		{AgentRank{}, "id,rank,agentName,calls,directContacts,commitments,amountRecovered,closingRate,commitmentConversion,quartile"},
		{AgentHeatmapRow{}, "id,dni,agentName,dailyPerformance"},
		{DayPerformance{}, "gestiones,contactosEfectivos,compromisos"},
		{ProductivityMetadata{}, "period,filters,generated_at,execution_time_seconds,total_agents,cache_status,data_version"},
		{Period{}, "start,end"},
		{AgentDetail{}, "id,dni,agentName,period,totals,daily,byArchivo"},
		{AgentTotals{}, "calls,directContacts,commitments,amountRecovered,closingRate,commitmentConversion"},
		{AgentDay{}, "day,date,gestiones,contactosEfectivos,compromisos,recupero"},
		{AgentArchivo{}, "archivo,calls,commitments,amountRecovered"},
		{ProductivityMetricsList{}, "heatmap_metrics,trend_metrics,ranking_metrics"},
	}
	for _, tc := range cases {
		if got, want := repJSONKeys(t, tc.v), repSortedKeys(tc.keys); !slices.Equal(got, want) {
			t.Errorf("%T keys %v; want %v", tc.v, got, want)
		}
	}
	m := ProductivityMetrics()
	if !slices.Equal(m.HeatmapMetrics, []string{"gestiones", "contactosEfectivos", "compromisos"}) ||
		!slices.Equal(m.TrendMetrics, []string{"llamadas", "compromisos", "recupero"}) ||
		!slices.Equal(m.RankingMetrics, []string{"calls", "directContacts", "commitments", "amountRecovered", "closingRate", "commitmentConversion"}) {
		t.Fatalf("metrics %+v", m)
	}
}

func TestOperationFormatCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 12345: "12,345",
		123456: "123,456", 1234567: "1,234,567", -1234: "-1,234", -999: "-999"} {
		if got := FormatCount(n); got != want {
			t.Errorf("FormatCount(%d) = %q; want %q", n, got, want)
		}
	}
	for h, want := range map[int]string{0: "00:00", 9: "09:00", 23: "23:00"} {
		if got := HourLabel(h); got != want {
			t.Errorf("HourLabel(%d) = %q", h, got)
		}
	}
}

func TestNewOperation(t *testing.T) {
	queues := []QueueCounts{{"Z", 5, 1, 0}, {"A", 5, 2, 1}, {"M", 9, 3, 3}}
	for i := range 60 {
		queues = append(queues, QueueCounts{fmt.Sprintf("Q%02d", i), 1, 0, 0})
	}
	op := NewOperation(OperationInput{
		Date: repDate("2025-07-10"),
		// Only the call centre has rows: the voicebot still gets its zero row.
		ByCanal:  map[string]OperationCounts{CanalCallCenter: {Calls: 12345, CD: 1001, CI: 2000, PDP: 333, Clientes: 4000, Cuentas: 4321}},
		Hourly:   []HourCounts{{11, 4, 1, 0}, {8, 2, 1, 1}, {10, 0, 0, 0}},
		Attempts: []AttemptCounts{{2, 3, 2, 1}, {1, 10, 3, 2}, {10, 1, 1, 1}, {4, 0, 0, 0}},
		Queues:   queues,
	})
	// Tasa de Contacto 3001/12345 = 24.3094… → 24.3%; Contacto Directo 1001/12345 =
	// 8.108… → 8.1%; Tasa de Cierre 333/1001 = 33.266… → 33.3%; Intensidad
	// 12345/4000 = 3.08625 → 3.1.
	wantKPIs := []OperationKPI{{"Total Llamadas", "12,345"}, {"Tasa de Contacto", "24.3%"}, {"Contacto Directo", "8.1%"},
		{"Tasa de Cierre", "33.3%"}, {"Intensidad", "3.1"}, {"Cuentas Gestionadas", "4,321"}}
	if !reflect.DeepEqual(op.KPIs, wantKPIs) {
		t.Fatalf("kpis %+v", op.KPIs)
	}
	wantCh := []ChannelPerformance{
		{"Voicebot", 0, 0, 0, 0, Decimal{0, 2}},
		{"Call Center", 12345, 1001, 11344, 333, Pct(333, 1001)},
	}
	if !reflect.DeepEqual(op.ChannelPerformance, wantCh) || op.ChannelPerformance[1].CierreRate.String() != "33.27" {
		t.Fatalf("channels %+v", op.ChannelPerformance)
	}
	wantHours := []HourlyPerformance{{"08:00", 2, 1, 1, 1}, {"09:00", 0, 0, 0, 0}, {"10:00", 0, 0, 0, 0}, {"11:00", 4, 1, 3, 0}}
	if !reflect.DeepEqual(op.HourlyPerformance, wantHours) {
		t.Fatalf("hours %+v", op.HourlyPerformance)
	}
	wantAtt := []AttemptEffectiveness{{1, 10, Pct(2, 3)}, {2, 3, Pct(1, 2)}, {10, 1, Pct(1, 1)}}
	if !reflect.DeepEqual(op.AttemptEffectiveness, wantAtt) || op.AttemptEffectiveness[0].CierreRate.String() != "66.67" {
		t.Fatalf("attempts %+v", op.AttemptEffectiveness)
	}
	if len(op.QueuePerformance) != MaxQueues {
		t.Fatalf("%d queues; want %d", len(op.QueuePerformance), MaxQueues)
	}
	// calls desc, then name: M(9), A(5), Z(5), then Q00… (1 call each).
	if got := []string{op.QueuePerformance[0].QueueName, op.QueuePerformance[1].QueueName, op.QueuePerformance[2].QueueName,
		op.QueuePerformance[3].QueueName, op.QueuePerformance[49].QueueName}; !slices.Equal(got, []string{"M", "A", "Z", "Q00", "Q46"}) {
		t.Fatalf("queue order %v", got)
	}
	// Empty day: zero KPIs, two zero channels, empty sections (never null).
	empty := NewOperation(OperationInput{Date: repDate("2025-07-10")})
	b, err := json.Marshal(empty)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"date":"2025-07-10","kpis":[{"label":"Total Llamadas","value":"0"},{"label":"Tasa de Contacto","value":"0.0%"},` +
		`{"label":"Contacto Directo","value":"0.0%"},{"label":"Tasa de Cierre","value":"0.0%"},{"label":"Intensidad","value":"0.0"},` +
		`{"label":"Cuentas Gestionadas","value":"0"}],"channelPerformance":[` +
		`{"channel":"Voicebot","calls":0,"effectiveContacts":0,"nonEffectiveContacts":0,"pdp":0,"cierreRate":0.00},` +
		`{"channel":"Call Center","calls":0,"effectiveContacts":0,"nonEffectiveContacts":0,"pdp":0,"cierreRate":0.00}],` +
		`"hourlyPerformance":[],"attemptEffectiveness":[],"queuePerformance":[]}`
	if string(b) != wantJSON {
		t.Fatalf("empty day\n%s\nwant\n%s", b, wantJSON)
	}
}

func TestProductivityNTile(t *testing.T) {
	for n := 1; n <= 13; n++ {
		sizes := map[int]int{}
		prev := 1
		for i := range n {
			q := NTile(i, n, 4)
			if q < prev || q > prev+1 {
				t.Fatalf("n=%d: bucket %d after %d", n, q, prev)
			}
			prev = q
			sizes[q]++
		}
		// Sizes differ by at most one, larger first; min(n, 4) buckets.
		if len(sizes) != min(n, 4) {
			t.Fatalf("n=%d: %d buckets", n, len(sizes))
		}
		for b := 1; b < len(sizes); b++ {
			if sizes[b] < sizes[b+1] || sizes[b]-sizes[len(sizes)] > 1 {
				t.Fatalf("n=%d: sizes %v", n, sizes)
			}
		}
	}
	var got []int
	for i := range 5 {
		got = append(got, NTile(i, 5, 4))
	}
	if !slices.Equal(got, []int{1, 1, 2, 3, 4}) {
		t.Fatalf("n=5: %v", got)
	}
}

func TestNewProductivity(t *testing.T) {
	from, to := repDate("2025-07-01"), repDate("2025-07-04")
	row := func(correo, name, dni, day string, calls, cd, pdp, cents int64) AgentDayCounts {
		return AgentDayCounts{Correo: correo, Name: name, DNI: dni, Date: repDate(day), Calls: calls, CD: cd, PDP: pdp, RecoveredCents: cents}
	}
	in := ProductivityInput{From: from, To: to, DataVersion: 3, AgentDays: []AgentDayCounts{
		// e: 2 pdp, most calls → first. b and a tie on pdp and cents and calls: name asc
		// (Ana before Bea); c and d tie on everything incl. name: correo asc.
		row("e@x", "Eva", "5", "2025-07-01", 20, 4, 2, 0),
		row("b@x", "Bea", "2", "2025-07-02", 5, 1, 1, 1000),
		row("a@x", "Ana old", "1", "2025-07-01", 2, 1, 0, 0),
		row("a@x", "Ana", "1", "2025-07-04", 3, 1, 1, 1000),
		row("d@x", "Dan", "4", "2025-07-02", 1, 0, 0, 0),
		row("c@x", "Dan", "3", "2025-07-02", 1, 0, 0, 0),
		// f: no pdp, more calls than c and d; most contacts after e.
		row("f@x", "Fer", "6", "2025-07-03", 3, 3, 0, 0),
	}, Hourly: []HourCounts{{14, 3, 0, 1}, {9, 2, 0, 0}, {10, 0, 0, 0}}}
	p := ProductivityParams{MetricType: MetricContactosEfectivos, Agente: "x", Cartera: []string{"OTRAS"}}
	out := NewProductivity(p, in)
	var order []string
	for _, r := range out.AgentRanking {
		order = append(order, r.ID)
	}
	if !slices.Equal(order, []string{"e@x", "a@x", "b@x", "f@x", "c@x", "d@x"}) {
		t.Fatalf("ranking %v", order)
	}
	// a: calls 5, cd 2, pdp 1 → closing 20.00, conversion 50.00; name of its latest day.
	a := out.AgentRanking[1]
	if a != (AgentRank{"a@x", 2, "Ana", 5, 2, 1, Money(1000), Decimal{2000, 2}, Decimal{5000, 2}, 1}) {
		t.Fatalf("a: %+v", a)
	}
	var quartiles []int
	for _, r := range out.AgentRanking {
		quartiles = append(quartiles, r.Quartile)
	}
	// n = 6: NTILE(4) sizes 2, 2, 1, 1.
	if !slices.Equal(quartiles, []int{1, 1, 2, 2, 3, 4}) {
		t.Fatalf("quartiles %v", quartiles)
	}
	// Heatmap by Σ contactosEfectivos desc (e 4, f 3, a 2, b 1, c 0, d 0), then rank.
	var heat []string
	for _, h := range out.AgentHeatmap {
		heat = append(heat, h.ID)
	}
	if !slices.Equal(heat, []string{"e@x", "f@x", "a@x", "b@x", "c@x", "d@x"}) {
		t.Fatalf("heatmap %v", heat)
	}
	if got := out.AgentHeatmap[2].DailyPerformance; !reflect.DeepEqual(got, DailyPerformance{
		"2025-07-01": {2, 1, 0}, "2025-07-04": {3, 1, 1}}) {
		t.Fatalf("a's days %v", got)
	}
	// Daily trend: 4 days; on 07-03 only f (3 calls).
	wantDaily := []ProductivityDay{{1, repDate("2025-07-01"), 22, 2, Money(0)}, {2, repDate("2025-07-02"), 7, 1, Money(1000)},
		{3, repDate("2025-07-03"), 3, 0, Money(0)}, {4, repDate("2025-07-04"), 3, 1, Money(1000)}}
	if !reflect.DeepEqual(out.DailyTrend, wantDaily) {
		t.Fatalf("daily %+v", out.DailyTrend)
	}
	if !reflect.DeepEqual(out.HourlyTrend, []ProductivityHour{{"09:00", 2, 0}, {"14:00", 3, 1}}) {
		t.Fatalf("hourly %+v", out.HourlyTrend)
	}
	md := out.Metadata
	if md.TotalAgents != 6 || md.DataVersion != 3 || md.Period != (Period{from, to}) || *md.Filters.Agente != "x" ||
		!slices.Equal(md.Filters.Cartera, []string{"OTRAS"}) || md.Filters.Archivo == nil || md.Filters.MetricType != MetricContactosEfectivos {
		t.Fatalf("metadata %+v", md)
	}
	now := time.Date(2025, 7, 15, 1, 2, 3, 0, time.FixedZone("l", -5*3600))
	out.SetVolatile("hit", 2*time.Millisecond, now)
	if md := out.Metadata; md.CacheStatus != "hit" || md.ExecutionTimeSeconds != 0.002 || md.GeneratedAt.Location() != time.UTC || !md.GeneratedAt.Equal(now) {
		t.Fatalf("volatile %+v", md)
	}
	repRoundTrip(t, &out)
	// By compromisos (e 2, a 1, b 1, then f, c, d with 0) and by gestiones (e 20,
	// a 5, b 5, f 3, c 1, d 1) ties fall back to the rank.
	for _, m := range []string{MetricCompromisos, MetricGestiones} {
		p.MetricType = m
		out = NewProductivity(p, in)
		heat = heat[:0]
		for _, h := range out.AgentHeatmap {
			heat = append(heat, h.ID)
		}
		if !slices.Equal(heat, []string{"e@x", "a@x", "b@x", "f@x", "c@x", "d@x"}) {
			t.Fatalf("heatmap by %s %v", m, heat)
		}
	}
}

func TestNewAgentDetail(t *testing.T) {
	in := AgentInput{Correo: "a@x", Name: "Ana", DNI: "1", From: repDate("2025-07-01"), To: repDate("2025-07-03"),
		Days:      []AgentDayCounts{{Date: repDate("2025-07-03"), Calls: 3, CD: 2, PDP: 1, RecoveredCents: 50}, {Date: repDate("2025-07-01"), Calls: 1}},
		ByArchivo: []AgentArchivoCounts{{"B", 2, 0, 0}, {"A", 2, 1, 50}, {"C", 9, 0, 0}}}
	out := NewAgentDetail(in)
	want := AgentDetail{ID: "a@x", DNI: "1", AgentName: "Ana", Period: Period{repDate("2025-07-01"), repDate("2025-07-03")},
		Totals: AgentTotals{4, 2, 1, Money(50), Decimal{2500, 2}, Decimal{5000, 2}},
		Daily: []AgentDay{{1, repDate("2025-07-01"), 1, 0, 0, Money(0)}, {2, repDate("2025-07-02"), 0, 0, 0, Money(0)},
			{3, repDate("2025-07-03"), 3, 2, 1, Money(50)}},
		ByArchivo: []AgentArchivo{{"C", 9, 0, Money(0)}, {"A", 2, 1, Money(50)}, {"B", 2, 0, Money(0)}}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("got %+v\nwant %+v", out, want)
	}
	repRoundTrip(t, &out)
}

// DailyPerformance's own JSON is what encoding/json writes for the plain map.
func TestDailyPerformanceJSON(t *testing.T) {
	for _, d := range []DailyPerformance{nil, {}, {"2025-07-04": {3, 1, 1}, "2025-07-01": {2, 1, 0}, "2025-06-30": {0, 0, 0}}} {
		got, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(map[string]DayPerformance(d))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
}
