package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/api/openapi"
)

// An administrator's day, end to end on the real binary, every response checked
// against the OpenAPI document: the admin creates an analyst; the analyst logs in
// and reads the dashboard but is refused users and ETL control; the admin triggers a
// pipeline run from the API, sees it finish in etl/status, and the analyst's next
// dashboard response carries the new data version.
func TestAdminDay(t *testing.T) {
	t.Parallel()
	api, _, admin := etlAPIServe(t)
	validator, err := openapi.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	do := func(x exchange) apiResponse {
		t.Helper()
		req, resp := send(t, api.base, x)
		if resp.status != x.status {
			t.Fatalf("%s %s: %d %s, want %d", x.method, x.path, resp.status, truncateBody(resp.body), x.status)
		}
		if err := validator.ValidateResponse(req, resp.status, resp.header, resp.body); err != nil {
			t.Errorf("%s %s: the response does not match the OpenAPI document: %v", x.method, x.path, err)
		}
		return resp
	}

	do(exchange{method: "POST", path: "/api/v1/users", token: admin, status: http.StatusCreated, body: map[string]string{
		"email": "analista@pulso.test", "password": "Analista-2025", "first_name": "Rosa", "last_name": "Huamán", "role": "analyst"}})
	login := do(exchange{method: "POST", path: "/api/v1/auth/login", status: http.StatusOK,
		body: map[string]string{"email": "analista@pulso.test", "password": "Analista-2025"}})
	var tok struct {
		AccessToken string `json:"access_token"`
		User        struct {
			Role struct{ Name string } `json:"role"`
		} `json:"user"`
	}
	login.decode(t, &tok)
	if tok.User.Role.Name != "analyst" {
		t.Fatalf("the analyst logged in as %q", tok.User.Role.Name)
	}
	analyst := tok.AccessToken

	before := do(exchange{method: "GET", path: "/api/v1/dashboard", token: analyst, status: http.StatusOK})
	for _, x := range []exchange{
		{method: "GET", path: "/api/v1/users", token: analyst, status: http.StatusForbidden},
		{method: "POST", path: "/api/v1/users", token: analyst, status: http.StatusForbidden,
			body: map[string]string{"email": "x@pulso.test", "password": "Xxxxxxx-1", "first_name": "X", "last_name": "Y"}},
		{method: "GET", path: "/api/v1/etl/status", token: analyst, status: http.StatusForbidden},
		{method: "POST", path: "/api/v1/etl/trigger", token: analyst, body: map[string]any{}, status: http.StatusForbidden},
		{method: "POST", path: "/api/v1/refresh", token: analyst, status: http.StatusForbidden},
	} {
		do(x)
	}

	started := do(exchange{method: "POST", path: "/api/v1/etl/trigger", token: admin, body: map[string]any{}, status: http.StatusAccepted})
	var run triggered
	started.decode(t, &run)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := do(exchange{method: "GET", path: "/api/v1/etl/status", token: admin, status: http.StatusOK})
		var body etlStatusBody
		st.decode(t, &body)
		finished := false
		for _, a := range body.RecentActivity {
			finished = finished || (a.RunID == run.RunID && body.Status == "healthy")
		}
		if finished {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d not finished in etl/status after 2 min: %s", run.RunID, truncateBody(st.body))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The commit reaches the server by LISTEN; once it has, the analyst's next
	// dashboard request under the old ETag is a 200 with the new version.
	waitMetric(t, api, "pulso_data_version", before.header.Get("X-Data-Version"))
	after := do(exchange{method: "GET", path: "/api/v1/dashboard", token: analyst, status: http.StatusOK,
		header: map[string]string{"If-None-Match": before.header.Get("ETag")}})
	if after.header.Get("X-Data-Version") == before.header.Get("X-Data-Version") {
		t.Fatalf("X-Data-Version still %s after run %d", after.header.Get("X-Data-Version"), run.RunID)
	}
	var dash struct {
		SegmentoData []struct{ Cuentas int64 } `json:"segmentoData"`
	}
	after.decode(t, &dash)
	if len(dash.SegmentoData) == 0 {
		t.Fatalf("the dashboard after the run is empty: %s", truncateBody(after.body))
	}
	t.Logf("run %d finished; data version %s → %s", run.RunID,
		before.header.Get("X-Data-Version"), after.header.Get("X-Data-Version"))
}
