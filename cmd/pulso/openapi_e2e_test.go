package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulso-cobranzas/pulso/internal/api/openapi"
)

// exchange is one request sent to the running server whose response must match
// the OpenAPI document.
type exchange struct {
	method, path string
	body         any
	token        string
	header       map[string]string
	status       int
}

// Real responses of every route, on the demo data, validated against the embedded
// OpenAPI document (status, headers, body schema, content type): the document the
// dashboard's developers read is the API the server runs. Every operation of the
// document must be exercised here, so a new route cannot go unchecked.
func TestServeResponsesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	mustRun(t, url, pipelineArgs(demoSet(t))...)
	api := startServe(t, url)
	validator, err := openapi.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	admin := api.login(t)
	login := api.call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": serveAdminEmail, "password": serveAdminPassword})
	var tokens struct {
		RefreshToken string `json:"refresh_token"`
	}
	login.decode(t, &tokens)
	var prod struct {
		AgentRanking []struct {
			ID string `json:"id"`
		} `json:"agentRanking"`
	}
	api.mustGet(t, "/api/v1/productivity", admin, &prod)
	if len(prod.AgentRanking) == 0 {
		t.Fatal("the demo's productivity has no agents")
	}
	agent := "/api/v1/productivity/agents/" + urlPathEscape(prod.AgentRanking[0].ID)
	dash := api.mustGet(t, "/api/v1/dashboard", admin, nil)
	created := api.call(t, http.MethodPost, "/api/v1/users", admin, map[string]string{"email": "ana@pulso.test",
		"password": "Analista-2025", "first_name": "Ana", "last_name": "Quispe", "role": "analyst"})
	var user struct {
		ID string `json:"id"`
	}
	created.decode(t, &user)
	if created.status != http.StatusCreated || user.ID == "" {
		t.Fatalf("create user: %d %s", created.status, created.body)
	}
	userPath := "/api/v1/users/" + user.ID

	exchanges := []exchange{
		{method: "GET", path: "/", status: 200},
		{method: "GET", path: "/health", status: 200},
		{method: "GET", path: "/health/ready", status: 200},
		{method: "GET", path: "/api/v1/health", status: 200},
		{method: "GET", path: "/docs", status: 200},
		{method: "GET", path: "/api/v1/openapi.json", status: 200},
		{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": serveAdminEmail, "password": serveAdminPassword}, status: 200},
		{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": serveAdminEmail, "password": "Wrong-passw0rd"}, status: 401},
		{method: "POST", path: "/api/v1/auth/login", body: map[string]any{"email": 7}, status: 400},
		{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": tokens.RefreshToken}, status: 200},
		{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": "not-a-token"}, status: 401},
		{method: "GET", path: "/api/v1/auth/me", token: admin, status: 200},
		{method: "GET", path: "/api/v1/auth/me", status: 401},
		{method: "GET", path: "/api/v1/dashboard?dimensions=archivo,servicio&include_total=true&fecha_inicio=2025-06-01", token: admin, status: 200},
		{method: "GET", path: "/api/v1/dashboard?format=csv", token: admin, status: 200},
		{method: "GET", path: "/api/v1/dashboard", token: admin, header: map[string]string{"If-None-Match": dash.header.Get("ETag")}, status: 304},
		{method: "GET", path: "/api/v1/dashboard?cartera=NINGUNA", token: admin, status: 400},
		{method: "GET", path: "/api/v1/dashboard?tramo=1&rango_deuda=alto", token: admin, status: 200},
		{method: "POST", path: "/api/v1/dashboard", token: admin, body: map[string]any{"filters": map[string]any{"cartera": []string{"TEMPRANA"}},
			"dimensions": []string{"periodo"}, "includeTotal": true}, status: 200},
		{method: "GET", path: "/api/v1/filters", token: admin, status: 200},
		{method: "GET", path: "/api/v1/evolution?dimension=cartera&metrics=cobertura,recupero,intensidad", token: admin, status: 200},
		{method: "GET", path: "/api/v1/evolution?format=csv", token: admin, status: 200},
		{method: "POST", path: "/api/v1/evolution", token: admin, body: map[string]any{"fechaInicio": "2025-06-16", "fechaFin": "2025-07-15"}, status: 200},
		{method: "GET", path: "/api/v1/evolution/carteras", token: admin, status: 200},
		{method: "GET", path: "/api/v1/evolution/metrics", token: admin, status: 200},
		{method: "GET", path: "/api/v1/assignment?periodo=2025-06", token: admin, status: 200},
		{method: "GET", path: "/api/v1/assignment/summary?fecha_corte=2025-06-30", token: admin, status: 200},
		{method: "GET", path: "/api/v1/operation", token: admin, status: 200},
		{method: "POST", path: "/api/v1/operation", token: admin, body: map[string]any{"date": "2025-07-14"}, status: 200},
		{method: "GET", path: "/api/v1/operation/kpis", token: admin, status: 200},
		{method: "GET", path: "/api/v1/operation/channels", token: admin, status: 200},
		{method: "GET", path: "/api/v1/productivity?metric_type=compromisos", token: admin, status: 200},
		{method: "GET", path: "/api/v1/productivity?format=csv", token: admin, status: 200},
		{method: "POST", path: "/api/v1/productivity", token: admin, body: map[string]any{"fecha_inicio": "2025-07-01", "fecha_fin": "2025-07-15"}, status: 200},
		{method: "GET", path: agent, token: admin, status: 200},
		{method: "GET", path: "/api/v1/productivity/agents/nadie%40pulso.test", token: admin, status: 404},
		{method: "GET", path: "/api/v1/productivity/metrics", token: admin, status: 200},
		{method: "GET", path: "/api/v1/freshness", token: admin, status: 200},
		{method: "GET", path: "/api/v1/status", token: admin, status: 200},
		{method: "POST", path: "/api/v1/users", token: admin, body: map[string]string{"email": "ANA@pulso.test",
			"password": "Analista-2025", "first_name": "Ana", "last_name": "Otra"}, status: 409},
		{method: "GET", path: "/api/v1/users?role=analyst&search=ana", token: admin, status: 200},
		{method: "GET", path: userPath, token: admin, status: 200},
		{method: "GET", path: "/api/v1/users/not-a-uuid", token: admin, status: 400},
		{method: "PUT", path: userPath, token: admin, body: map[string]any{"is_verified": true}, status: 200},
		{method: "GET", path: "/api/v1/users/me/profile", token: admin, status: 200},
		{method: "PUT", path: "/api/v1/users/me/profile", token: admin, body: map[string]any{"first_name": "Root"}, status: 200},
		{method: "GET", path: "/api/v1/users/statistics", token: admin, status: 200},
		{method: "GET", path: "/api/v1/users/recent?days=7", token: admin, status: 200},
		{method: "POST", path: "/api/v1/users/bulk-update", token: admin, body: []map[string]any{{"id": user.ID, "last_name": "Q."},
			{"id": "00000000-0000-4000-8000-000000000000", "first_name": "Nadie"}}, status: 200},
		{method: "GET", path: "/api/v1/users/export", token: admin, status: 200},
		{method: "GET", path: "/api/v1/users/roles", token: admin, status: 200},
		{method: "GET", path: "/api/v1/users/roles/analyst/users", token: admin, status: 200},
		{method: "GET", path: "/api/v1/etl/status", token: admin, status: 200},
		{method: "GET", path: "/api/v1/etl/status/table/pagos", token: admin, status: 200},
		{method: "GET", path: "/api/v1/etl/status/table/nada", token: admin, status: 404},
		{method: "GET", path: "/api/v1/etl/watermarks", token: admin, status: 200},
		{method: "POST", path: "/api/v1/etl/watermarks/pagos/reset", token: admin, body: map[string]any{"to": "2025-07-10T00:00:00Z"}, status: 200},
		{method: "POST", path: "/api/v1/etl/trigger", token: admin, body: map[string]any{"tables": []string{"nadie"}}, status: 400},
		{method: "POST", path: "/api/v1/refresh?force=true", token: admin, status: 200},
		{method: "DELETE", path: userPath, token: admin, status: 204},
		{method: "POST", path: "/api/v1/auth/logout", token: admin, body: map[string]any{}, status: 200},
	}
	covered := map[string]bool{}
	for _, x := range exchanges {
		name := x.method + " " + x.path
		req, resp := send(t, api.base, x)
		if resp.status != x.status {
			t.Errorf("%s: %d %s, want %d", name, resp.status, truncateBody(resp.body), x.status)
			continue
		}
		if err := validator.ValidateResponse(req, resp.status, resp.header, resp.body); err != nil {
			t.Errorf("%s: the %d response does not match the OpenAPI document: %v", name, resp.status, err)
		}
		covered[x.method+" "+templatePath(req.URL.Path)] = true
	}
	for _, op := range documentedOperations(t) {
		if !covered[op] {
			t.Errorf("%s is documented but no exchange here checks it", op)
		}
	}
}

func urlPathEscape(s string) string { return url.PathEscape(s) }

func truncateBody(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// send performs one exchange and returns the request (for the validator) and response.
func send(t *testing.T, base string, x exchange) (*http.Request, apiResponse) {
	t.Helper()
	var raw []byte
	if x.body != nil {
		b, err := json.Marshal(x.body)
		if err != nil {
			t.Fatal(err)
		}
		raw = b
	}
	req, err := http.NewRequestWithContext(t.Context(), x.method, base+x.path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if x.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if x.token != "" {
		req.Header.Set("Authorization", "Bearer "+x.token)
	}
	for k, v := range x.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", x.method, x.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// The validator reads the request again.
	req.Body = io.NopCloser(bytes.NewReader(raw))
	return req, apiResponse{status: resp.StatusCode, header: resp.Header, body: body}
}

// templatePath maps a concrete path onto the document's template for the routes
// with path parameters.
func templatePath(p string) string {
	parts := strings.Split(p, "/")
	switch {
	case strings.HasPrefix(p, "/api/v1/productivity/agents/"):
		return "/api/v1/productivity/agents/{agent_id}"
	case strings.HasPrefix(p, "/api/v1/etl/status/table/"):
		return "/api/v1/etl/status/table/{table}"
	case strings.HasPrefix(p, "/api/v1/etl/watermarks/") && strings.HasSuffix(p, "/reset"):
		return "/api/v1/etl/watermarks/{table}/reset"
	case strings.HasPrefix(p, "/api/v1/users/roles/") && len(parts) == 7:
		return "/api/v1/users/roles/{role}/users"
	case len(parts) == 5 && parts[3] == "users" && !slices.Contains([]string{"statistics", "recent", "export", "roles", "bulk-update"}, parts[4]):
		return "/api/v1/users/{id}"
	}
	return p
}

// documentedOperations lists "METHOD path" of every operation in the document.
func documentedOperations(t *testing.T) []string {
	t.Helper()
	raw, err := openapi.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "post", "put", "delete", "patch":
			default:
				continue
			}
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(ops)
	if len(ops) < 30 {
		t.Fatalf("the document lists only %d operations", len(ops))
	}
	return ops
}
