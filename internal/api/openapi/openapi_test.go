package openapi

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// wantOperations is every route of api.md, as "METHOD path".
var wantOperations = []string{
	"POST /api/v1/auth/login",
	"POST /api/v1/auth/refresh",
	"POST /api/v1/auth/logout",
	"GET /api/v1/auth/me",
	"GET /api/v1/dashboard",
	"POST /api/v1/dashboard",
	"GET /api/v1/filters",
	"GET /api/v1/evolution",
	"POST /api/v1/evolution",
	"GET /api/v1/evolution/carteras",
	"GET /api/v1/evolution/metrics",
	"GET /api/v1/assignment",
	"GET /api/v1/assignment/summary",
	"GET /api/v1/operation",
	"POST /api/v1/operation",
	"GET /api/v1/operation/kpis",
	"GET /api/v1/operation/channels",
	"GET /api/v1/productivity",
	"POST /api/v1/productivity",
	"GET /api/v1/productivity/agents/{agent_id}",
	"GET /api/v1/productivity/metrics",
	"GET /api/v1/freshness",
	"GET /api/v1/status",
	"GET /api/v1/etl/status",
	"GET /api/v1/etl/status/table/{table}",
	"GET /api/v1/etl/watermarks",
	"POST /api/v1/etl/trigger",
	"POST /api/v1/etl/watermarks/{table}/reset",
	"POST /api/v1/refresh",
	"POST /api/v1/users",
	"GET /api/v1/users",
	"GET /api/v1/users/{id}",
	"PUT /api/v1/users/{id}",
	"DELETE /api/v1/users/{id}",
	"GET /api/v1/users/me/profile",
	"PUT /api/v1/users/me/profile",
	"GET /api/v1/users/statistics",
	"GET /api/v1/users/recent",
	"POST /api/v1/users/bulk-update",
	"GET /api/v1/users/export",
	"GET /api/v1/users/roles",
	"GET /api/v1/users/roles/{role}/users",
	"GET /health",
	"GET /health/ready",
	"GET /api/v1/health",
	"GET /",
	"GET /docs",
	"GET /api/v1/openapi.json",
}

// publicOperations need no bearer token (api.md §1).
var publicOperations = []string{
	"POST /api/v1/auth/login",
	"POST /api/v1/auth/refresh",
	"GET /health",
	"GET /health/ready",
	"GET /api/v1/health",
	"GET /",
	"GET /docs",
	"GET /api/v1/openapi.json",
}

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func operations(doc *openapi3.T) map[string]*openapi3.Operation {
	ops := make(map[string]*openapi3.Operation)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+path] = op
		}
	}
	return ops
}

func TestDocumentLoadsAndValidates(t *testing.T) {
	doc := loadDoc(t)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The JSON form is the same document: it loads and validates too.
	data, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := fromJSON.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := fromJSON.Paths.Len(), doc.Paths.Len(); got != want {
		t.Fatalf("JSON has %d paths, YAML %d", got, want)
	}
}

func TestEveryRouteIsDocumented(t *testing.T) {
	ops := operations(loadDoc(t))
	var got []string
	for k := range ops {
		got = append(got, k)
	}
	want := slices.Clone(wantOperations)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("operations:\n got  %q\n want %q", got, want)
	}
}

func TestOperationsHaveIDTagSummaryAndSecurity(t *testing.T) {
	doc := loadDoc(t)
	tags := make(map[string]bool)
	for _, tag := range doc.Tags {
		tags[tag.Name] = true
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Fatalf("global security = %v, want bearerAuth", doc.Security)
	}
	ids := make(map[string]string)
	for key, op := range operations(doc) {
		t.Run(key, func(t *testing.T) {
			if op.OperationID == "" {
				t.Error("no operationId")
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %q also used by %s", op.OperationID, other)
			}
			ids[op.OperationID] = key
			if len(op.Tags) == 0 {
				t.Error("no tag")
			}
			for _, tag := range op.Tags {
				if !tags[tag] {
					t.Errorf("tag %q not declared", tag)
				}
			}
			if op.Summary == "" {
				t.Error("no summary")
			}
			public := slices.Contains(publicOperations, key)
			if isPublic := op.Security != nil && len(*op.Security) == 0; isPublic != public {
				t.Errorf("public = %v, want %v", isPublic, public)
			}
			path := strings.SplitN(key, " ", 2)[1]
			admin := strings.HasPrefix(path, "/api/v1/etl/") || strings.HasPrefix(path, "/api/v1/users") || path == "/api/v1/refresh"
			if got := op.Extensions["x-pulso-admin"] == true; got != admin {
				t.Errorf("x-pulso-admin = %v, want %v", got, admin)
			}
			if op.Responses.Len() == 0 {
				t.Error("no responses")
			}
			if !public && op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Error("secured operation without a 401 response")
			}
		})
	}
}

func TestJSONKeepsKeysOrderAndTypes(t *testing.T) {
	data, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	data[0] = 'x' // each call returns its own copy
	data, err = JSON()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", v.OpenAPI)
	}
	// Document order is kept: login is the first path, the OpenAPI document the last.
	first := strings.Index(string(data), `"/api/v1/auth/login"`)
	last := strings.Index(string(data), `"/api/v1/openapi.json"`)
	if first < 0 || last < first {
		t.Errorf("path order not kept (login at %d, openapi.json at %d)", first, last)
	}
	// The YAML and JSON forms hold the same values.
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(specYAML, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &fromJSON); err != nil {
		t.Fatal(err)
	}
	yamlJSON, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatalf("YAML does not map to JSON directly (non-string key?): %v", err)
	}
	var viaYAML any
	if err := json.Unmarshal(yamlJSON, &viaYAML); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(viaYAML)
	b, _ := json.Marshal(fromJSON)
	if string(a) != string(b) {
		t.Error("JSON() differs from the YAML document")
	}
}

func TestYAMLToJSONScalars(t *testing.T) {
	src := "a: 2025-07-01\n200: x\nb: [1, 1.5, true, null, '3', ~]\nc: &x {d: e}\nf: *x\n"
	got, err := yamlToJSON([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":"2025-07-01","200":"x","b":[1,1.5,true,null,"3",null],"c":{"d":"e"},"f":{"d":"e"}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{"a: 1\na: 2\n", "a: .inf\n", "? [a]\n: b\n", "a: &x {b: 1}\nc:\n  <<: *x\n"} {
		if _, err := yamlToJSON([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func newValidator(t *testing.T) *Validator {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// jsonHeader is the header of a JSON response; cached adds the cache headers.
func jsonHeader(cached bool) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("X-Request-ID", "req-1")
	if cached {
		h.Set("ETag", `W/"v42-s1-0123456789abcdef0123456789abcdef"`)
		h.Set("Cache-Control", "private, no-cache")
		h.Set("X-Data-Version", "42")
		h.Set("X-Cache", "miss")
	}
	return h
}

func dataRow(id string) map[string]any {
	return map[string]any{
		"id": strings.ToLower(id), "name": id,
		"status": "none", "porcentajeDeudaStatus": "none", "porcentajeDeudaActStatus": "none",
		"contactoStatus": "none", "cierreStatus": "none", "intenStatus": "none",
		"cuentas": 120, "porcentajeCuentas": 60.0, "deudaAsig": 15234.5, "porcentajeDeuda": 55.12,
		"deudaAct": 14000.25, "porcentajeDeudaAct": 54.3,
		"cobertura": 75.5, "contacto": 40.25, "cd": 30, "ci": 10.25, "sc": 25.25, "cierre": 12.5, "inten": 2.35,
		"cdCount": 36, "ciCount": 12, "scCount": 30, "sgCount": 42, "pdpCount": 9, "fracCount": 0, "pdpFracCount": 9,
		"fechaAsignacion": nil, "fechaCierre": nil, "diasGestion": nil, "diasHabiles": nil,
		"recupero": 1234.56, "pctRecupero": 8.1, "conversion": 25, "efectividad": 9.89,
		"gestionablesCount": 110, "gestionadasCount": 78, "pagadorasCount": 15, "totalGestiones": 183,
	}
}

func dashboard(mutate func(body map[string]any)) []byte {
	row := dataRow("TEMPRANA")
	archivoRow := dataRow("CAMP_2025_07_A")
	archivoRow["fechaAsignacion"] = "2025-07-01"
	archivoRow["diasGestion"] = 15
	archivoRow["diasHabiles"] = 11
	total := dataRow("Total")
	total["id"] = "total"
	body := map[string]any{
		"segmentoData": []any{row, total},
		"negocioData":  []any{archivoRow},
		"integralChartData": []any{map[string]any{
			"name": "TEMPRANA", "cobertura": 75.5, "contacto": 40.25, "contactoDirecto": 30,
			"contactoIndirecto": 10.25, "tasaDeCierre": 12.5, "intensidad": 2.35,
		}},
	}
	if mutate != nil {
		mutate(body)
	}
	return mustJSON(body)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func errorBody(status int, code string) []byte {
	return mustJSON(map[string]any{"status": "error", "message": http.StatusText(status), "code": code, "requestId": "req-1"})
}

func userResponse() map[string]any {
	return map[string]any{
		"id": "5b0f6d1e-3f43-4a8e-9a51-0c6b1f2d3e4f", "email": "ana@example.pe", "first_name": "Ana", "last_name": "Paz",
		"role": "analyst", "is_active": true, "is_verified": false, "last_login_at": nil,
		"created_at": "2025-07-01T10:00:00Z", "updated_at": "2025-07-02T10:00:00.123456Z",
	}
}

func with(m map[string]any, key string, value any) map[string]any {
	m[key] = value
	return m
}

func authUser() map[string]any {
	return map[string]any{
		"id": "5b0f6d1e-3f43-4a8e-9a51-0c6b1f2d3e4f", "email": "ana@example.pe", "first_name": "Ana", "last_name": "Paz",
		"full_name": "Ana Paz", "role": map[string]any{"name": "analyst", "display_name": "Analista"},
		"permissions": []string{"dashboard.read", "reports.read", "reports.export"},
	}
}

func etlTable() map[string]any {
	return map[string]any{
		"table_name": "pagos", "mode": "incremental", "status": "success",
		"last_extracted": "2025-07-15T04:00:00Z", "last_success_at": "2025-07-15T05:00:00Z",
		"rows_loaded": 1200, "rows_rejected": 3, "duration_seconds": 12.5, "error_message": nil,
		"stale": false, "next_scheduled": "2025-07-15T08:00:00Z",
	}
}

type exchange struct {
	name   string
	method string
	target string
	status int
	header http.Header
	body   []byte
}

func (e exchange) check(t *testing.T, v *Validator) error {
	t.Helper()
	req := httptest.NewRequest(e.method, e.target, nil)
	return v.ValidateResponse(req, e.status, e.header, e.body)
}

func TestValidatorAcceptsValidResponses(t *testing.T) {
	v := newValidator(t)
	csv := jsonHeader(true)
	csv.Set("Content-Type", "text/csv; charset=utf-8")
	ignored := jsonHeader(true)
	ignored.Set("X-Pulso-Ignored-Filters", "rangoDeuda,tramo")
	notModified := jsonHeader(true)
	notModified.Del("X-Cache")
	notModified.Del("Content-Type")
	locked := jsonHeader(false)
	locked.Set("Retry-After", "1800")
	me := authUser()
	me["is_active"], me["is_verified"], me["last_login_at"], me["created_at"] = true, true, "2025-07-15T12:00:00Z", "2025-07-01T10:00:00Z"
	detail := etlTable()
	detail["recent_activity"] = []any{map[string]any{"run_id": 7, "table_name": "pagos", "status": "success", "timestamp": "2025-07-15T05:00:00Z", "records": 1200, "duration": 12.5}}
	neverRun := etlTable()
	neverRun["status"], neverRun["last_extracted"], neverRun["last_success_at"], neverRun["next_scheduled"] = "never_run", nil, nil, nil
	neverRun["rows_loaded"], neverRun["rows_rejected"], neverRun["duration_seconds"] = nil, nil, nil

	for _, e := range []exchange{
		{"dashboard GET", "GET", "/api/v1/dashboard?cartera=TEMPRANA,MOVIL&cartera=OTRAS&dimensions=cartera,archivo", 200, ignored, dashboard(nil)},
		{"dashboard POST, trailing slash", "POST", "/api/v1/dashboard/", 200, jsonHeader(true), dashboard(nil)},
		{"dashboard empty", "GET", "/api/v1/dashboard", 200, jsonHeader(true), []byte(`{"segmentoData":[],"negocioData":[],"integralChartData":[]}`)},
		{"dashboard CSV", "GET", "/api/v1/dashboard?format=csv", 200, csv, []byte("\ufeffid,name\r\ntemprana,TEMPRANA\r\n")},
		{"dashboard 304", "GET", "/api/v1/dashboard", 304, notModified, nil},
		{"dashboard 400 with details", "GET", "/api/v1/dashboard?fecha_corte=x", 400, jsonHeader(false), mustJSON(map[string]any{
			"status": "error", "message": "Invalid request parameters", "code": "validation_failed", "requestId": "req-1",
			"details": []any{map[string]any{"field": "fecha_corte", "message": "must be a date"}}})},
		{"dashboard 503", "GET", "/api/v1/dashboard", 503, jsonHeader(false), errorBody(503, "unavailable")},
		{"evolution", "GET", "/api/v1/evolution", 200, jsonHeader(true), mustJSON([]any{map[string]any{
			"metric": "cobertura", "valueType": "percent", "series": []any{map[string]any{
				"name": "TODAS", "data": []any{map[string]any{"day": 1, "date": "2025-07-01", "value": 12.34}}}}}})},
		{"filters", "GET", "/api/v1/filters", 200, jsonHeader(true), mustJSON(map[string]any{
			"status": "success", "message": "Operation successful", "data": map[string]any{
				"cartera": []any{map[string]any{"value": "TODAS", "label": "Todas"}}, "servicio": []any{}, "periodo": []any{},
				"archivo": []any{}, "fechaMin": nil, "fechaMax": nil}})},
		{"operation channels", "GET", "/api/v1/operation/channels", 200, jsonHeader(true), mustJSON([]any{
			map[string]any{"channel": "Voicebot", "calls": 10, "effectiveContacts": 4, "nonEffectiveContacts": 6, "pdp": 1, "cierreRate": 25},
			map[string]any{"channel": "Call Center", "calls": 0, "effectiveContacts": 0, "nonEffectiveContacts": 0, "pdp": 0, "cierreRate": 0}})},
		{"productivity agent, encoded email", "GET", "/api/v1/productivity/agents/ana%40example.pe", 200, jsonHeader(true), mustJSON(map[string]any{
			"id": "ana@example.pe", "dni": "12345678", "agentName": "Ana Paz", "period": map[string]any{"start": "2025-07-01", "end": "2025-07-15"},
			"totals": map[string]any{"calls": 10, "directContacts": 5, "commitments": 2, "amountRecovered": 100.5, "closingRate": 20, "commitmentConversion": 40},
			"daily":  []any{}, "byArchivo": []any{}})},
		{"freshness", "GET", "/api/v1/freshness", 200, jsonHeader(false), mustJSON(map[string]any{
			"dataVersion": 42, "dataVersionUpdatedAt": "2025-07-15T05:00:00Z", "lastTransform": nil,
			"tables": []any{map[string]any{"table": "calendario", "mode": "full", "highWaterMark": nil, "lastSuccessAt": nil,
				"lastRunId": nil, "lastStatus": nil, "ageSeconds": nil, "stale": true}}})},
		{"status", "GET", "/api/v1/status", 200, jsonHeader(false), mustJSON(map[string]any{
			"status": "success", "message": "Operation successful", "data": map[string]any{
				"api_version": "v1", "status": "healthy", "timestamp": "2025-07-15T05:00:00Z",
				"service_health": map[string]any{"postgres": "ok", "redis": "disabled"}, "data_version": 42}})},
		{"login", "POST", "/api/v1/auth/login", 200, jsonHeader(false), mustJSON(map[string]any{
			"access_token": "a.b.c", "refresh_token": "xyz", "token_type": "bearer", "expires_in": 1800, "user": authUser()})},
		{"login locked", "POST", "/api/v1/auth/login", 423, locked, errorBody(423, "account_locked")},
		{"me", "GET", "/api/v1/auth/me", 200, jsonHeader(false), mustJSON(me)},
		{"users statistics (literal before {id})", "GET", "/api/v1/users/statistics", 200, jsonHeader(false), mustJSON(map[string]any{
			"total_users": 3, "verified_users": 1, "active_last_30_days": 2, "active_last_7_days": 1, "new_last_30_days": 3,
			"users_by_role": []any{map[string]any{"role": "admin", "count": 1}}})},
		{"user created", "POST", "/api/v1/users", 201, jsonHeader(false), mustJSON(userResponse())},
		{"user who logged in", "GET", "/api/v1/users/me/profile", 200, jsonHeader(false), mustJSON(with(userResponse(), "last_login_at", "2025-07-15T12:00:00-05:00"))},
		{"user deleted", "DELETE", "/api/v1/users/5b0f6d1e-3f43-4a8e-9a51-0c6b1f2d3e4f", 204, http.Header{}, nil},
		{"etl table", "GET", "/api/v1/etl/status/table/pagos", 200, jsonHeader(false), mustJSON(detail)},
		{"etl status", "GET", "/api/v1/etl/status", 200, jsonHeader(false), mustJSON(map[string]any{
			"status": "never_run", "last_updated": nil, "total_tables": 9, "successful_tables": 0, "failed_tables": 0,
			"running_extractions": 0, "data_version": 0, "tables": []any{neverRun}, "recent_activity": []any{}})},
		{"etl running", "POST", "/api/v1/etl/trigger", 409, jsonHeader(false), errorBody(409, "etl_running")},
		{"health", "GET", "/health", 200, jsonHeader(false), []byte(`{"status":"healthy","service":"pulso","version":"dev"}`)},
		{"not ready", "GET", "/health/ready", 503, jsonHeader(false), []byte(`{"status":"not_ready","checks":{"postgres":"down","redis":"ok","migrations":"unknown"}}`)},
		{"root", "GET", "/", 200, jsonHeader(false), []byte(`{"message":"Bienvenido a pulso API","docs_url":"/docs"}`)},
	} {
		t.Run(e.name, func(t *testing.T) {
			if err := e.check(t, v); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestValidatorRejectsInvalidResponses(t *testing.T) {
	v := newValidator(t)
	noETag := jsonHeader(true)
	noETag.Del("ETag")
	badETag := jsonHeader(true)
	badETag.Set("ETag", `"v42"`)
	badCache := jsonHeader(true)
	badCache.Set("X-Cache", "stale")
	notModified := jsonHeader(true)
	notModified.Del("Content-Type")
	notModified304NoVersion := notModified.Clone()
	notModified304NoVersion.Del("X-Data-Version")
	locked := jsonHeader(false) // no Retry-After
	htmlHeader := jsonHeader(true)
	htmlHeader.Set("Content-Type", "text/html")
	me := authUser()
	me["is_active"], me["is_verified"], me["last_login_at"], me["created_at"] = true, true, nil, "2025-07-01T10:00:00Z"
	me["password_hash"] = "$2a$12$…"
	leakyUser := userResponse()
	leakyUser["password_hash"] = "$2a$12$…"
	detail := etlTable()
	detail["recent_activity"] = []any{}
	detail["extra"] = 1
	heatmap := map[string]any{
		"dailyTrend": []any{}, "hourlyTrend": []any{}, "agentRanking": []any{},
		"agentHeatmap": []any{map[string]any{"id": "a@x.pe", "dni": "1", "agentName": "A", "dailyPerformance": map[string]any{
			"July 1": map[string]any{"gestiones": 1, "contactosEfectivos": 0, "compromisos": 0}}}},
		"metadata": map[string]any{"period": map[string]any{"start": "2025-07-01", "end": "2025-07-15"}, "filters": map[string]any{},
			"generated_at": "2025-07-15T05:00:00Z", "execution_time_seconds": 0.1, "total_agents": 1, "cache_status": "miss", "data_version": 1},
	}

	for _, e := range []exchange{
		{"missing required field", "GET", "/api/v1/dashboard", 200, jsonHeader(true), dashboard(func(b map[string]any) {
			delete(b["segmentoData"].([]any)[0].(map[string]any), "cuentas")
		})},
		{"missing top-level field", "GET", "/api/v1/dashboard", 200, jsonHeader(true), []byte(`{"segmentoData":[],"negocioData":[]}`)},
		{"string for a count", "GET", "/api/v1/dashboard", 200, jsonHeader(true), dashboard(func(b map[string]any) {
			b["segmentoData"].([]any)[0].(map[string]any)["cuentas"] = "120"
		})},
		{"fraction for a count", "GET", "/api/v1/dashboard", 200, jsonHeader(true), dashboard(func(b map[string]any) {
			b["segmentoData"].([]any)[0].(map[string]any)["cdCount"] = 1.5
		})},
		{"null where not nullable", "GET", "/api/v1/dashboard", 200, jsonHeader(true), dashboard(func(b map[string]any) {
			b["segmentoData"].([]any)[0].(map[string]any)["cobertura"] = nil
		})},
		{"bad date in a nullable date", "GET", "/api/v1/dashboard", 200, jsonHeader(true), dashboard(func(b map[string]any) {
			b["negocioData"].([]any)[0].(map[string]any)["fechaAsignacion"] = "01/07/2025"
		})},
		{"unknown field (typo)", "GET", "/api/v1/dashboard", 200, jsonHeader(true), dashboard(func(b map[string]any) {
			b["segmentoData"].([]any)[0].(map[string]any)["porcentajeCuenta"] = 1
		})},
		{"wrong constant", "GET", "/api/v1/dashboard", 200, jsonHeader(true), dashboard(func(b map[string]any) {
			b["segmentoData"].([]any)[0].(map[string]any)["status"] = "ok"
		})},
		{"missing ETag", "GET", "/api/v1/dashboard", 200, noETag, dashboard(nil)},
		{"malformed ETag", "GET", "/api/v1/dashboard", 200, badETag, dashboard(nil)},
		{"bad X-Cache", "GET", "/api/v1/dashboard", 200, badCache, dashboard(nil)},
		{"undocumented content type", "GET", "/api/v1/dashboard", 200, htmlHeader, dashboard(nil)},
		{"undocumented status", "GET", "/api/v1/dashboard", 418, jsonHeader(false), errorBody(418, "bad_request")},
		{"304 with a body", "GET", "/api/v1/dashboard", 304, notModified, []byte(`{}`)},
		{"304 without X-Data-Version", "GET", "/api/v1/dashboard", 304, notModified304NoVersion, nil},
		{"304 on an uncached route", "GET", "/api/v1/freshness", 304, notModified, nil},
		{"error with an unknown code", "GET", "/api/v1/dashboard", 400, jsonHeader(false), errorBody(400, "invalid")},
		{"error without requestId", "GET", "/api/v1/dashboard", 400, jsonHeader(false), []byte(`{"status":"error","message":"x","code":"bad_request"}`)},
		{"423 without Retry-After", "POST", "/api/v1/auth/login", 423, locked, errorBody(423, "account_locked")},
		{"user with a null where not nullable", "GET", "/api/v1/users/5b0f6d1e-3f43-4a8e-9a51-0c6b1f2d3e4f", 200, jsonHeader(false), mustJSON(with(userResponse(), "created_at", nil))},
		{"user with a number in a nullable timestamp", "GET", "/api/v1/users/5b0f6d1e-3f43-4a8e-9a51-0c6b1f2d3e4f", 200, jsonHeader(false), mustJSON(with(userResponse(), "last_login_at", 5))},
		{"user with an unknown role", "GET", "/api/v1/users/5b0f6d1e-3f43-4a8e-9a51-0c6b1f2d3e4f", 200, jsonHeader(false), mustJSON(with(userResponse(), "role", "root"))},
		{"user leaking a field", "GET", "/api/v1/users/5b0f6d1e-3f43-4a8e-9a51-0c6b1f2d3e4f", 200, jsonHeader(false), mustJSON(leakyUser)},
		{"me with an extra field (allOf)", "GET", "/api/v1/auth/me", 200, jsonHeader(false), mustJSON(me)},
		{"etl table with an extra field (allOf)", "GET", "/api/v1/etl/status/table/pagos", 200, jsonHeader(false), mustJSON(detail)},
		{"heatmap key not a date", "GET", "/api/v1/productivity", 200, jsonHeader(true), mustJSON(heatmap)},
		{"readiness 503 in the error shape", "GET", "/health/ready", 503, jsonHeader(false), errorBody(503, "unavailable")},
		{"unknown route", "GET", "/api/v1/nothing", 200, jsonHeader(false), []byte(`{}`)},
		{"undocumented method", "DELETE", "/api/v1/dashboard", 200, jsonHeader(false), []byte(`{}`)},
	} {
		t.Run(e.name, func(t *testing.T) {
			err := e.check(t, v)
			if err == nil {
				t.Fatal("validated, want an error")
			}
			t.Log(err)
		})
	}
}

func TestValidateRequest(t *testing.T) {
	v := newValidator(t)
	for _, c := range []struct {
		method, target, body string
		ok                   bool
	}{
		{"GET", "/api/v1/dashboard?cartera=TEMPRANA,MOVIL&cartera=OTRAS&servicio=movil&include_total=true", "", true},
		{"GET", "/api/v1/dashboard/?fecha_corte=2025-07-15&dimensions=cartera&dimensions=archivo", "", true},
		{"GET", "/api/v1/dashboard?include_total=maybe", "", false},
		{"GET", "/api/v1/dashboard?fecha_corte=2025-13-01", "", false},
		{"GET", "/api/v1/dashboard?format=xml", "", false},
		{"POST", "/api/v1/dashboard", `{"filters":{"cartera":["TEMPRANA"],"vencimiento":[30],"fechaInicio":null},"includeTotal":true,"unknown":1}`, true},
		{"POST", "/api/v1/dashboard", `{"includeTotal":"yes"}`, false},
		{"POST", "/api/v1/evolution", `{"fechaFin":"2025-07-15"}`, false},
		{"GET", "/api/v1/users?page=0", "", false},
		{"GET", "/api/v1/users/not-a-uuid", "", false},
		{"POST", "/api/v1/auth/login/", `{"email":"ana@example.pe","password":"Secret123"}`, true},
		{"POST", "/api/v1/auth/login", `{"password":"Secret123"}`, false},
	} {
		t.Run(c.method+" "+c.target, func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			err := v.ValidateRequest(req)
			if (err == nil) != c.ok {
				t.Errorf("ok = %v, want %v (%v)", err == nil, c.ok, err)
			}
			if body, _ := io.ReadAll(req.Body); string(body) != c.body {
				t.Errorf("body after validation = %q, want %q", body, c.body)
			}
		})
	}
}

func TestValidatorIsSafeForConcurrentUse(t *testing.T) {
	v := newValidator(t)
	done := make(chan error)
	for range 8 {
		go func() {
			req := httptest.NewRequest("GET", "/api/v1/dashboard", nil)
			done <- v.ValidateResponse(req, 200, jsonHeader(true), dashboard(nil))
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

var externalURL = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+`)

func serve(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSwaggerUIServesIndexAndAssets(t *testing.T) {
	h := SwaggerUI()
	for _, target := range []string{"/docs", "/docs/", "/docs/index.html"} {
		rec := serve(h, "GET", target, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", target, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q", target, ct)
		}
		if !strings.Contains(rec.Body.String(), `data-spec-url="/api/v1/openapi.json"`) {
			t.Errorf("%s: page does not load /api/v1/openapi.json", target)
		}
	}

	index := serve(h, "GET", "/docs", nil).Body.String()
	if m := externalURL.FindString(index); m != "" {
		t.Errorf("index refers to %q", m)
	}
	// Every src/href is a relative path (resolved against <base href="/docs/">) that the handler serves.
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(index, -1)
	if len(refs) < 4 {
		t.Fatalf("index has %d references", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if ref == "/docs/" { // the <base>
			continue
		}
		if strings.Contains(ref, ":") || strings.HasPrefix(ref, "/") {
			t.Errorf("reference %q is not a relative path", ref)
			continue
		}
		rec := serve(h, "GET", "/docs/"+ref, nil)
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("%s: status %d, %d bytes", ref, rec.Code, rec.Body.Len())
		}
	}
	init := serve(h, "GET", "/docs/swagger-init.js", nil).Body.String()
	if m := externalURL.FindString(init); m != "" {
		t.Errorf("swagger-init.js refers to %q", m)
	}
	if !strings.Contains(init, "validatorUrl: null") {
		t.Error("swagger-init.js does not turn off the public validator")
	}

	for target, ct := range map[string]string{
		"/docs/swagger-ui.css":       "text/css",
		"/docs/swagger-ui-bundle.js": "text/javascript",
		"/docs/favicon-32x32.png":    "image/png",
	} {
		rec := serve(h, "GET", target, nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), ct) {
			t.Errorf("%s: status %d, Content-Type %q", target, rec.Code, rec.Header().Get("Content-Type"))
		}
		etag := rec.Header().Get("ETag")
		if etag == "" {
			t.Errorf("%s: no ETag", target)
			continue
		}
		if rec := serve(h, "GET", target, http.Header{"If-None-Match": {etag}}); rec.Code != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: status %d", target, rec.Code)
		}
	}
	if rec := serve(h, "HEAD", "/docs", nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /docs: status %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestSwaggerUIErrors(t *testing.T) {
	h := SwaggerUI()
	v := newValidator(t)
	for _, c := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/docs/swagger-ui.js.map", http.StatusNotFound},
		{"GET", "/docs/../openapi.yaml", http.StatusNotFound},
		{"GET", "/docsx", http.StatusNotFound},
		{"POST", "/docs", http.StatusMethodNotAllowed},
	} {
		rec := serve(h, c.method, c.target, http.Header{"X-Request-Id": {"abc-1"}})
		if rec.Code != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.target, rec.Code, c.status)
		}
		var body struct{ Status, Code, RequestID string }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Status != "error" || body.RequestID != "abc-1" {
			t.Errorf("%s %s: body %s", c.method, c.target, rec.Body)
		}
	}
	// The 404 of /docs is the documented error shape.
	rec := serve(h, "GET", "/docs/nothing", nil)
	if err := v.ValidateResponse(httptest.NewRequest("GET", "/docs", nil), rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
		t.Error(err)
	}
	// And the page itself matches the document.
	rec = serve(h, "GET", "/docs", nil)
	if err := v.ValidateResponse(httptest.NewRequest("GET", "/docs", nil), rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
		t.Error(err)
	}
}

func TestSwaggerUIAssetsHaveNoSourceMaps(t *testing.T) {
	err := fs.WalkDir(uiFiles, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(path, ".map") {
			t.Errorf("%s: source map embedded", path)
		}
		data, err := fs.ReadFile(uiFiles, path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), "sourceMappingURL=") {
			t.Errorf("%s: refers to a source map", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenAPIJSONMatchesItsOwnDocument(t *testing.T) {
	v := newValidator(t)
	data, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/v1/openapi.json", nil)
	if err := v.ValidateResponse(req, 200, jsonHeader(false), data); err != nil {
		t.Error(err)
	}
}
