package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// testJWTSecret signs the test servers' tokens (tests forge tokens with it).
const testJWTSecret = "pulso-test-secret-0123456789abcdefghijklmnop"

// testServer is a Server on its own migrated database, prepared (bootstrap, data
// version) and listening on an httptest server.
type testServer struct {
	URL    string
	Server *Server
	Pool   *pgxpool.Pool
	Client *http.Client
	seq    atomic.Int64
}

// newTestServer builds a test server. The config defaults suit tests: a fixed
// secret, bcrypt at its minimum cost and a login rate high enough for many logins
// from 127.0.0.1; mutateCfg changes any of it.
func newTestServer(t *testing.T, mutateCfg func(*Config)) *testServer {
	t.Helper()
	return newTestServerDeps(t, mutateCfg, nil)
}

// newTestServerDeps is newTestServer that may also change the dependencies (a
// clock in Now, a Cache, a Registry).
func newTestServerDeps(t *testing.T, mutateCfg func(*Config), mutateDeps func(*Deps)) *testServer {
	t.Helper()
	pool, err := postgres.Open(t.Context(), pgtest.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	cfg := Config{Version: "test", JWTSecret: testJWTSecret, BcryptCost: bcrypt.MinCost, LoginPerMinute: 10000}
	if mutateCfg != nil {
		mutateCfg(&cfg)
	}
	deps := Deps{Pool: pool, Log: slog.New(slog.DiscardHandler), Tables: etl.MustRegistry().Tables()}
	if mutateDeps != nil {
		mutateDeps(&deps)
	}
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Prepare(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
	})
	return &testServer{URL: hs.URL, Server: s, Pool: pool, Client: hs.Client()}
}

// createUser inserts an active, verified user with role and returns its id.
func (ts *testServer) createUser(t *testing.T, email, password, role string) string {
	t.Helper()
	hash, err := ts.Server.auth.hashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	err = ts.Pool.QueryRow(t.Context(), `
		INSERT INTO auth.users (email, password_hash, first_name, last_name, role, is_active, is_verified)
		VALUES (lower($1), $2, 'Test', $3, $3, true, true) RETURNING id::text`, email, hash, role).Scan(&id)
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return id
}

// login signs in through the API and returns the access and refresh tokens.
func (ts *testServer) login(t *testing.T, email, password string) (access, refresh string) {
	t.Helper()
	var out tokenBody
	resp := ts.doJSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, &out)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: status %d", email, resp.StatusCode)
	}
	return out.AccessToken, out.RefreshToken
}

// tokenFor creates a user with role (a fresh email each call) and returns an access token.
func (ts *testServer) tokenFor(t *testing.T, role string) string {
	t.Helper()
	email := fmt.Sprintf("%s%d@test.pulso", role, ts.seq.Add(1))
	ts.createUser(t, email, "Passw0rd!", role)
	access, _ := ts.login(t, email, "Passw0rd!")
	return access
}

// do sends a request: body nil sends none, []byte or string is sent as is, anything
// else as JSON. The caller closes the body (doJSON does it).
func (ts *testServer) do(t *testing.T, method, path, token string, body any, headers map[string]string) *http.Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := ts.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// doJSON is do that decodes the response body into out (when not nil) and closes it.
func (ts *testServer) doJSON(t *testing.T, method, path, token string, body, out any) *http.Response {
	t.Helper()
	resp := ts.do(t, method, path, token, body, nil)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp
}

// serve drives the handler directly, for requests whose peer address matters
// (set req.RemoteAddr).
func (ts *testServer) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	ts.Server.Handler().ServeHTTP(rec, req)
	return rec
}

// testClock is a settable clock for Deps.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{now: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
