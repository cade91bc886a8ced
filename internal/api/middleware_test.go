package api

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The middleware chain of api.md §6: request id (kept when well-formed, else a new
// UUID, echoed in errors), security headers, gzip from 1 KiB, CORS only for the
// configured origins and never with credentials, metrics labelled by route pattern.
func TestMiddlewareChain(t *testing.T) {
	reg := prometheus.NewRegistry()
	ts := newTestServerDeps(t, func(c *Config) {
		c.CORSOrigins = []string{"https://dash.example.pe"}
		c.HSTS = true
		c.DocsEnabled = true
	}, func(d *Deps) { d.Registry = reg })

	resp := ts.do(t, http.MethodGet, "/health", "", nil, map[string]string{"X-Request-ID": "abc.DEF-123_x"})
	resp.Body.Close()
	h := resp.Header
	if h.Get("X-Request-ID") != "abc.DEF-123_x" {
		t.Errorf("well-formed request id not kept: %q", h.Get("X-Request-ID"))
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "strict-origin-when-cross-origin", "Strict-Transport-Security": "max-age=31536000; includeSubDomains"} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	resp = ts.do(t, http.MethodGet, "/api/v1/status", "", nil, map[string]string{"X-Request-ID": "bad id with spaces"})
	code, _ := errorShape(t, resp) // checks requestId == X-Request-ID
	if id := resp.Header.Get("X-Request-ID"); code != CodeUnauthorized || len(id) != 36 || strings.Contains(id, " ") {
		t.Errorf("ill-formed request id: code %s, id %q; want 401 and a new UUID", code, id)
	}

	// gzip: the OpenAPI document is far above 1 KiB, /health far below.
	for path, want := range map[string]string{"/api/v1/openapi.json": "gzip", "/health": ""} {
		req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("Content-Encoding"); got != want {
			t.Errorf("%s: Content-Encoding %q, want %q", path, got, want)
		}
		if want == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if b, err := io.ReadAll(zr); err != nil || !strings.Contains(string(b), `"openapi"`) {
				t.Errorf("%s: gzip body unreadable: %v", path, err)
			}
		}
		resp.Body.Close()
	}

	// CORS: the configured origin is allowed without credentials, others are not.
	for origin, allowed := range map[string]bool{"https://dash.example.pe": true, "https://evil.example": false} {
		req, err := http.NewRequest(http.MethodOptions, ts.URL+"/api/v1/dashboard", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := ts.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if (got == origin) != allowed || got == "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("CORS preflight from %s: allow-origin %q credentials %q", origin, got, resp.Header.Get("Access-Control-Allow-Credentials"))
		}
	}

	// Metrics carry the route pattern, not the concrete path.
	token := ts.tokenFor(t, "admin")
	resp = ts.do(t, http.MethodGet, "/api/v1/productivity/agents/a%40b.pe", token, nil, nil)
	resp.Body.Close()
	if n := testutil.ToFloat64(ts.Server.metrics.requests.WithLabelValues("GET", "/api/v1/productivity/agents/:agent_id", "404")); n != 1 {
		t.Errorf("http_requests_total for the agent route pattern = %v, want 1", n)
	}
	if n, err := testutil.GatherAndCount(reg, "http_requests_total", "http_request_duration_seconds", "http_requests_in_flight", "pulso_data_version"); err != nil || n < 5 {
		t.Errorf("metrics gathered: %d series, %v", n, err)
	}
}
