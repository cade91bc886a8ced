package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

const testPassword = "Corr3ctHorse"

var jwtB64 = base64.RawURLEncoding

func (ts *testServer) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := ts.Pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func wantError(t *testing.T, resp *http.Response, body errorBody, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || body.Code != code || body.Status != "error" || body.RequestID == "" {
		t.Fatalf("got %d %+v, want %d %s", resp.StatusCode, body, status, code)
	}
}

func TestLoginSuccess(t *testing.T) {
	clock := newTestClock(time.Date(2025, 6, 3, 14, 0, 0, 0, time.UTC))
	ts := newTestServerDeps(t, func(c *Config) { c.AccessTTL = 20 * time.Minute }, func(d *Deps) { d.Now = clock.Now })
	id := ts.createUser(t, "Ana@Example.com", testPassword, "analyst")
	ts.exec(t, `UPDATE auth.users SET failed_login_attempts = 3 WHERE id = $1`, id)

	var out tokenBody
	resp := ts.doJSON(t, http.MethodPost, "/api/v1/auth/login", "",
		map[string]any{"email": "  ANA@example.COM ", "password": testPassword, "extra": 1}, &out)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if out.TokenType != "bearer" || out.ExpiresIn != 1200 || out.RefreshToken == "" || out.User == nil {
		t.Fatalf("response %+v", out)
	}
	u := out.User
	if u.ID != id || u.Email != "ana@example.com" || u.FullName != "Test analyst" ||
		u.Role != (authRoleBody{Name: "analyst", DisplayName: "Analista"}) ||
		!slices.Equal(u.Permissions, []string{"dashboard.read", "reports.read", "reports.export"}) {
		t.Fatalf("user %+v", u)
	}

	var claims jwt.MapClaims
	tok, err := jwt.NewParser(jwt.WithTimeFunc(clock.Now)).ParseWithClaims(out.AccessToken, &claims,
		func(*jwt.Token) (any, error) { return []byte(testJWTSecret), nil })
	if err != nil {
		t.Fatal(err)
	}
	if tok.Method.Alg() != "HS256" {
		t.Fatalf("alg %s", tok.Method.Alg())
	}
	now := clock.Now().Unix()
	if claims["iss"] != "pulso" || claims["sub"] != id || claims["email"] != "ana@example.com" ||
		claims["role"] != "analyst" || claims["typ"] != "access" ||
		claims["iat"] != float64(now) || claims["exp"] != float64(now+1200) {
		t.Fatalf("claims %v", claims)
	}
	if _, err := uuid.Parse(claims["jti"].(string)); err != nil {
		t.Fatalf("jti %v", claims["jti"])
	}
	// Refresh tokens are 32 bytes base64url and stored only as their SHA-256.
	if len(out.RefreshToken) != 43 || strings.ContainsAny(out.RefreshToken, "+/=") {
		t.Fatalf("refresh token %q", out.RefreshToken)
	}
	var n int
	var expires time.Time
	if err := ts.Pool.QueryRow(t.Context(), `SELECT count(*), max(expires_at) FROM auth.refresh_token WHERE token_hash = $1 AND user_id = $2`,
		hashRefreshToken(out.RefreshToken), id).Scan(&n, &expires); err != nil || n != 1 {
		t.Fatalf("stored refresh tokens %d, %v", n, err)
	}
	if !expires.Equal(clock.Now().Add(7 * 24 * time.Hour)) {
		t.Fatalf("refresh expires %v", expires)
	}
	var failed int
	var last *time.Time
	if err := ts.Pool.QueryRow(t.Context(), `SELECT failed_login_attempts, last_login_at FROM auth.users WHERE id = $1`, id).Scan(&failed, &last); err != nil {
		t.Fatal(err)
	}
	if failed != 0 || last == nil || !last.Equal(clock.Now()) {
		t.Fatalf("after success: failures %d, last login %v", failed, last)
	}
}

func TestLoginLockout(t *testing.T) {
	clock := newTestClock(time.Date(2025, 6, 3, 14, 0, 0, 0, time.UTC))
	ts := newTestServerDeps(t, nil, func(d *Deps) { d.Now = clock.Now })
	ts.createUser(t, "lock@example.com", testPassword, "viewer")
	login := func(pw string) (*http.Response, errorBody) {
		var b errorBody
		return ts.doJSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": "lock@example.com", "password": pw}, &b), b
	}
	for i := 1; i <= 4; i++ {
		resp, b := login("Wrong0ne" + strconv.Itoa(i))
		wantError(t, resp, b, http.StatusUnauthorized, CodeUnauthorized)
	}
	// The fifth failure locks the account (30 min by default) and says so.
	resp, b := login("Wrong0ne5")
	wantError(t, resp, b, http.StatusLocked, CodeAccountLocked)
	clock.Advance(10 * time.Minute)
	resp, b = login(testPassword)
	wantError(t, resp, b, http.StatusLocked, CodeAccountLocked)
	if got := resp.Header.Get("Retry-After"); got != "1200" {
		t.Fatalf("Retry-After %q, want 1200 (20 min left)", got)
	}
	// Once the lock runs out the right password works and clears the count.
	clock.Advance(20 * time.Minute)
	ts.login(t, "lock@example.com", testPassword)
	var failed int
	var locked *time.Time
	if err := ts.Pool.QueryRow(t.Context(), `SELECT failed_login_attempts, locked_until FROM auth.users WHERE email = 'lock@example.com'`).Scan(&failed, &locked); err != nil {
		t.Fatal(err)
	}
	if failed != 0 || locked != nil {
		t.Fatalf("after success: %d failures, locked until %v", failed, locked)
	}
}

func TestLoginFailuresAlike(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createUser(t, "known@example.com", testPassword, "viewer")
	id := ts.createUser(t, "inactive@example.com", testPassword, "admin")
	ts.exec(t, `UPDATE auth.users SET is_active = false WHERE id = $1`, id)
	gone := ts.createUser(t, "gone@example.com", testPassword, "viewer")
	ts.exec(t, `UPDATE auth.users SET is_active = false, deleted_at = now() WHERE id = $1`, gone)

	cases := []struct {
		name, email, password string
		dummy                 bool // no such user: bcrypt runs against the dummy hash
	}{
		{"unknown email", "nobody@example.com", testPassword, true},
		{"wrong password", "known@example.com", "Wr0ngPassword", false},
		{"inactive user, right password", "inactive@example.com", testPassword, false},
		{"deleted user, right password", "gone@example.com", testPassword, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.Server.auth.dummyCompares.Load()
			var b errorBody
			resp := ts.doJSON(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": tc.email, "password": tc.password}, &b)
			wantError(t, resp, b, http.StatusUnauthorized, CodeUnauthorized)
			if b.Message != "Invalid email or password" {
				t.Fatalf("message %q", b.Message)
			}
			if got := ts.Server.auth.dummyCompares.Load() - before; got != map[bool]int64{true: 1, false: 0}[tc.dummy] {
				t.Fatalf("dummy bcrypt comparisons %d", got)
			}
		})
	}
	// The dummy hash has the configured cost, so unknown emails cost the same.
	if c, err := bcrypt.Cost(ts.Server.auth.dummyHash()); err != nil || c != bcrypt.MinCost {
		t.Fatalf("dummy hash cost %d, %v", c, err)
	}
}

func TestLoginValidation(t *testing.T) {
	ts := newTestServer(t, nil)
	cases := []struct {
		name   string
		body   any
		code   string
		fields []string
	}{
		{"empty body", nil, CodeValidation, []string{"email", "password"}},
		{"missing password", map[string]string{"email": "a@b.c"}, CodeValidation, []string{"password"}},
		{"blank email", map[string]string{"email": "  ", "password": "x"}, CodeValidation, []string{"email"}},
		{"wrong type", `{"email": 5, "password": "x"}`, CodeValidation, []string{"email"}},
		{"not an object", `["a"]`, CodeValidation, []string{"body"}},
		{"malformed JSON", `{"email": `, CodeBadRequest, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b errorBody
			resp := ts.doJSON(t, http.MethodPost, "/api/v1/auth/login", "", tc.body, &b)
			wantError(t, resp, b, http.StatusBadRequest, tc.code)
			var fields []string
			for _, d := range b.Details {
				fields = append(fields, d.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Fatalf("details %+v, want fields %v", b.Details, tc.fields)
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.LoginPerMinute = 10
		c.TrustedProxies = []string{"10.0.0.1"}
	})
	// Empty bodies are 400s that still count, and keep bcrypt out of the way.
	post := func(peer, xff string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", nil)
		req.RemoteAddr = peer + ":40000"
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		return ts.serve(req)
	}
	wantLimited := func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"code":"rate_limited"`) {
			t.Fatalf("got %d %s, want 429 rate_limited", rec.Code, rec.Body)
		}
		if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 || s > 6 {
			t.Fatalf("Retry-After %q, want about 6 s (one token at 10/min)", rec.Header().Get("Retry-After"))
		}
	}
	t.Run("untrusted peer: X-Forwarded-For ignored", func(t *testing.T) {
		for i := range 10 {
			if rec := post("203.0.113.5", "198.51.100."+strconv.Itoa(i)); rec.Code != http.StatusBadRequest {
				t.Fatalf("request %d: %d", i+1, rec.Code)
			}
		}
		wantLimited(t, post("203.0.113.5", "198.51.100.99"))
		if rec := post("203.0.113.6", ""); rec.Code != http.StatusBadRequest {
			t.Fatalf("another peer: %d", rec.Code)
		}
	})
	t.Run("trusted proxy: X-Forwarded-For honoured", func(t *testing.T) {
		for i := range 10 {
			if rec := post("10.0.0.1", "192.0.2.7"); rec.Code != http.StatusBadRequest {
				t.Fatalf("request %d: %d", i+1, rec.Code)
			}
		}
		wantLimited(t, post("10.0.0.1", "192.0.2.7"))
		if rec := post("10.0.0.1", "192.0.2.8"); rec.Code != http.StatusBadRequest {
			t.Fatalf("another client behind the proxy: %d", rec.Code)
		}
	})
}

func TestLoginLimiterBounded(t *testing.T) {
	l := newIPLimiter(2)
	t0 := time.Now()
	for i := range maxLoginLimiters + 50 {
		l.allow("ip"+strconv.Itoa(i), t0)
	}
	if len(l.entries) > maxLoginLimiters {
		t.Fatalf("%d limiters kept", len(l.entries))
	}
	// Idle a minute, an entry's bucket is full again: the sweep drops them all.
	l.allow("late", t0.Add(time.Minute))
	if len(l.entries) != 1 {
		t.Fatalf("%d limiters after the idle sweep", len(l.entries))
	}
	if ok, _ := l.allow("late", t0.Add(time.Minute)); !ok {
		t.Fatal("second request refused")
	}
	if ok, wait := l.allow("late", t0.Add(time.Minute)); ok || wait < 29*time.Second || wait > 31*time.Second {
		t.Fatalf("third request: %v, wait %v", ok, wait)
	}
}

func TestRefreshRotation(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createUser(t, "rot@example.com", testPassword, "viewer")
	_, r1 := ts.login(t, "rot@example.com", testPassword)
	refresh := func(tok string) (*http.Response, tokenBody, errorBody) {
		var ok tokenBody
		var bad errorBody
		resp := ts.do(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok}, nil)
		decodeBoth(t, resp, &ok, &bad)
		return resp, ok, bad
	}

	resp, got, _ := refresh(r1)
	if resp.StatusCode != http.StatusOK || got.AccessToken == "" || got.RefreshToken == "" || got.RefreshToken == r1 ||
		got.TokenType != "bearer" || got.ExpiresIn != 1800 || got.User != nil {
		t.Fatalf("refresh: %d %+v", resp.StatusCode, got)
	}
	r2 := got.RefreshToken
	if resp := ts.doJSON(t, http.MethodGet, "/api/v1/auth/me", got.AccessToken, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("new access token: %d", resp.StatusCode)
	}
	// Replaying the rotated token revokes the family: the successor dies with it.
	resp, _, bad := refresh(r1)
	wantError(t, resp, bad, http.StatusUnauthorized, CodeInvalidToken)
	resp, _, bad = refresh(r2)
	wantError(t, resp, bad, http.StatusUnauthorized, CodeInvalidToken)
	resp, _, bad = refresh("not-a-token")
	wantError(t, resp, bad, http.StatusUnauthorized, CodeInvalidToken)
	resp, _, bad = refresh("")
	wantError(t, resp, bad, http.StatusBadRequest, CodeValidation)
}

// decodeBoth reads a response body into each of outs and closes it.
func decodeBoth(t *testing.T, resp *http.Response, outs ...any) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range outs {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("decode %q: %v", b, err)
		}
	}
}

func TestLogout(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.createUser(t, "out@example.com", testPassword, "viewer")
	refreshStatus := func(tok string) int {
		return ts.doJSON(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok}, nil).StatusCode
	}

	t.Run("one token", func(t *testing.T) {
		a1, r1 := ts.login(t, "out@example.com", testPassword)
		_, r2 := ts.login(t, "out@example.com", testPassword)
		var out map[string]any
		resp := ts.doJSON(t, http.MethodPost, "/api/v1/auth/logout", a1, map[string]string{"refresh_token": r1}, &out)
		if resp.StatusCode != http.StatusOK || out["message"] != "Logged out" || out["success"] != true {
			t.Fatalf("logout: %d %v", resp.StatusCode, out)
		}
		if got := refreshStatus(r1); got != http.StatusUnauthorized {
			t.Fatalf("logged-out token refreshed: %d", got)
		}
		if got := refreshStatus(r2); got != http.StatusOK {
			t.Fatalf("other session: %d", got)
		}
	})
	t.Run("another user's token is left alone", func(t *testing.T) {
		ts.createUser(t, "other@example.com", testPassword, "viewer")
		_, theirs := ts.login(t, "other@example.com", testPassword)
		mine, _ := ts.login(t, "out@example.com", testPassword)
		if resp := ts.doJSON(t, http.MethodPost, "/api/v1/auth/logout", mine, map[string]string{"refresh_token": theirs}, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if got := refreshStatus(theirs); got != http.StatusOK {
			t.Fatalf("another user's token: %d", got)
		}
	})
	t.Run("all tokens", func(t *testing.T) {
		a1, r1 := ts.login(t, "out@example.com", testPassword)
		_, r2 := ts.login(t, "out@example.com", testPassword)
		if resp := ts.doJSON(t, http.MethodPost, "/api/v1/auth/logout", a1, nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		for _, r := range []string{r1, r2} {
			if got := refreshStatus(r); got != http.StatusUnauthorized {
				t.Fatalf("token survived logout: %d", got)
			}
		}
	})
	t.Run("needs a token", func(t *testing.T) {
		var b errorBody
		resp := ts.doJSON(t, http.MethodPost, "/api/v1/auth/logout", "", nil, &b)
		wantError(t, resp, b, http.StatusUnauthorized, CodeUnauthorized)
	})
}

func TestMe(t *testing.T) {
	ts := newTestServer(t, nil)
	id := ts.createUser(t, "me@example.com", testPassword, "manager")
	access, _ := ts.login(t, "me@example.com", testPassword)
	var me map[string]any
	resp := ts.doJSON(t, http.MethodGet, "/api/v1/auth/me/", access, nil, &me) // trailing slash is optional
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if me["id"] != id || me["email"] != "me@example.com" || me["first_name"] != "Test" || me["last_name"] != "manager" ||
		me["full_name"] != "Test manager" || me["is_active"] != true || me["is_verified"] != true {
		t.Fatalf("me %v", me)
	}
	role, _ := me["role"].(map[string]any)
	if role["name"] != "manager" || role["display_name"] != "Gerente" {
		t.Fatalf("role %v", me["role"])
	}
	if perms, _ := me["permissions"].([]any); len(perms) != 5 {
		t.Fatalf("permissions %v", me["permissions"])
	}
	for _, k := range []string{"last_login_at", "created_at"} {
		s, _ := me[k].(string)
		if at, err := time.Parse(time.RFC3339, s); err != nil || at.Location() != time.UTC {
			t.Fatalf("%s = %v, want RFC 3339 UTC", k, me[k])
		}
	}
	var b errorBody
	wantError(t, ts.doJSON(t, http.MethodGet, "/api/v1/auth/me", "", nil, &b), b, http.StatusUnauthorized, CodeUnauthorized)
}

// TestTokenRejections is R8: every bad bearer gets 401 with its code.
func TestTokenRejections(t *testing.T) {
	ts := newTestServer(t, nil)
	id := ts.createUser(t, "r8@example.com", testPassword, "admin")
	now := time.Now()
	claims := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "pulso", "sub": id, "email": "r8@example.com", "role": "admin",
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": uuid.NewString(), "typ": "access"}
		if mut != nil {
			mut(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	secret := []byte(testJWTSecret)
	good := sign(jwt.SigningMethodHS256, secret, claims(nil))
	cases := []struct {
		name   string
		header string
		code   string
	}{
		{"no header", "", CodeUnauthorized},
		{"not bearer", "Basic dXNlcjpwYXNz", CodeUnauthorized},
		{"empty bearer", "Bearer ", CodeUnauthorized},
		{"garbage", "Bearer abc.def.ghi", CodeInvalidToken},
		{"expired", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) {
			c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-time.Minute).Unix()
		})), CodeTokenExpired},
		{"forged signature", "Bearer " + sign(jwt.SigningMethodHS256, []byte("another-secret-of-at-least-32-bytes!!"), claims(nil)), CodeInvalidToken},
		{"alg none", "Bearer " + sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)), CodeInvalidToken},
		{"alg HS512", "Bearer " + sign(jwt.SigningMethodHS512, secret, claims(nil)), CodeInvalidToken},
		{"typ refresh", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["typ"] = "refresh" })), CodeInvalidToken},
		{"no typ", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "typ") })), CodeInvalidToken},
		{"wrong issuer", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["iss"] = "other" })), CodeInvalidToken},
		{"no expiry", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "exp") })), CodeInvalidToken},
		{"subject not a uuid", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["sub"] = "admin" })), CodeInvalidToken},
		{"unknown user", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["sub"] = uuid.NewString() })), CodeInvalidToken},
		{"tampered payload", "Bearer " + tamper(good), CodeInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var headers map[string]string
			if tc.header != "" {
				headers = map[string]string{"Authorization": tc.header}
			}
			var b errorBody
			resp := ts.do(t, http.MethodGet, "/api/v1/auth/me", "", nil, headers)
			decodeBoth(t, resp, &b)
			wantError(t, resp, b, http.StatusUnauthorized, tc.code)
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("no WWW-Authenticate")
			}
		})
	}
	t.Run("within the leeway", func(t *testing.T) {
		tok := sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Second).Unix() }))
		if resp := ts.doJSON(t, http.MethodGet, "/api/v1/auth/me", tok, nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// tamper swaps the role in a token's payload, keeping the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	p, _ := jwtB64.DecodeString(parts[1])
	parts[1] = jwtB64.EncodeToString([]byte(strings.Replace(string(p), `"admin"`, `"viewer"`, 1)))
	return strings.Join(parts, ".")
}

func TestTokenUserDeactivated(t *testing.T) {
	if principalTTL > time.Minute {
		t.Fatalf("user cache TTL %v exceeds 60 s", principalTTL)
	}
	ts := newTestServer(t, nil)
	ts.Server.auth.principalTTL = 300 * time.Millisecond
	id := ts.createUser(t, "leaver@example.com", testPassword, "viewer")
	access, _ := ts.login(t, "leaver@example.com", testPassword)
	auth := func() error {
		_, err := ts.Server.auth.authenticate(t.Context(), "Bearer "+access)
		return err
	}
	if err := auth(); err != nil {
		t.Fatalf("before: %v", err)
	}
	ts.exec(t, `UPDATE auth.users SET is_active = false WHERE id = $1`, id)
	// The token is still well signed and unexpired; the cache lets it through at most TTL more.
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := auth()
		var apiErr *Error
		if errors.As(err, &apiErr) {
			if apiErr.Status != http.StatusUnauthorized || apiErr.Code != CodeInvalidToken {
				t.Fatalf("got %v", err)
			}
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("deactivated user: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Over HTTP too.
	var b errorBody
	wantError(t, ts.doJSON(t, http.MethodGet, "/api/v1/auth/me", access, nil, &b), b, http.StatusUnauthorized, CodeInvalidToken)
	// forget applies a change at once.
	ts.exec(t, `UPDATE auth.users SET is_active = true WHERE id = $1`, id)
	ts.Server.auth.forget(id)
	if err := auth(); err != nil {
		t.Fatalf("reactivated: %v", err)
	}
}

// TestAuthPermissions: requireAuth answers 403 for a missing permission, and the
// permissions are the user's current role's, not the token's.
func TestAuthPermissions(t *testing.T) {
	ts := newTestServer(t, nil)
	id := ts.createUser(t, "perm@example.com", testPassword, "viewer")
	access, _ := ts.login(t, "perm@example.com", testPassword)
	call := func() (bool, error) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/etl/run", nil)
		req.Header.Set(echo.HeaderAuthorization, "Bearer "+access)
		c := echo.New().NewContext(req, httptest.NewRecorder())
		reached := false
		err := ts.Server.requireAuth([]string{PermSystemConfigure}, func(c echo.Context) error {
			reached = principal(c) != nil
			return nil
		})(c)
		return reached, err
	}
	reached, err := call()
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden || apiErr.Code != CodeForbidden || reached {
		t.Fatalf("viewer: %v (handler reached %v)", err, reached)
	}
	ts.exec(t, `UPDATE auth.users SET role = 'admin' WHERE id = $1`, id)
	ts.Server.auth.forget(id)
	if reached, err := call(); err != nil || !reached {
		t.Fatalf("promoted with the same token: %v (handler reached %v)", err, reached)
	}
}

func TestPasswordPolicy(t *testing.T) {
	cases := []struct {
		p  string
		ok bool
	}{
		{"Abcdefg1", true},
		{"Abcdef1", false},                      // 7 bytes
		{"A1" + strings.Repeat("b", 70), true},  // 72 bytes
		{"A1" + strings.Repeat("b", 71), false}, // 73 bytes
		{"abcdefg1", false},                     // no upper
		{"ABCDEFG1", false},                     // no lower
		{"Abcdefgh", false},                     // no digit
		{"Ñandú123", true},                      // non-ASCII letters count
		{"", false},
	}
	for _, tc := range cases {
		err := CheckPasswordPolicy(tc.p)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrPasswordPolicy)) {
			t.Errorf("CheckPasswordPolicy(%q) = %v, want ok %v", tc.p, err, tc.ok)
		}
	}
}

// TestPasswordDefaultCost: with the default config passwords hash at cost 12.
func TestPasswordDefaultCost(t *testing.T) {
	s, err := New(Config{JWTSecret: testJWTSecret}, Deps{Pool: pgtest.DB(t)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.auth.hashPassword("Abcdefg1")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := bcrypt.Cost([]byte(h)); c != 12 {
		t.Fatalf("cost %d, want 12", c)
	}
}

func TestAuthConfig(t *testing.T) {
	pool := pgtest.DB(t)
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"short secret", Config{JWTSecret: "short"}, false},
		{"no secret", Config{}, false},
		{"32 bytes", Config{JWTSecret: strings.Repeat("x", 32)}, true},
		{"development, no secret", Config{Development: true}, true},
		{"development, short secret", Config{Development: true, JWTSecret: "dev"}, true},
		{"bad bcrypt cost", Config{JWTSecret: testJWTSecret, BcryptCost: 40}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg, Deps{Pool: pool})
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrConfig)) {
				t.Fatalf("New: %v, want ok %v", err, tc.ok)
			}
			if err == nil && len(s.auth.secret) < 3 {
				t.Fatalf("secret of %d bytes", len(s.auth.secret))
			}
		})
	}
}

func TestBootstrapAdmin(t *testing.T) {
	countAdmins := func(t *testing.T, ts *testServer) int {
		var n int
		if err := ts.Pool.QueryRow(t.Context(), `SELECT count(*) FROM auth.users WHERE role = 'admin'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("created once", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) {
			c.BootstrapAdminEmail, c.BootstrapAdminPassword = "Root@Example.com", "B00tstrap!"
		})
		if n := countAdmins(t, ts); n != 1 {
			t.Fatalf("%d admins", n)
		}
		var first, last string
		var verified bool
		var audit string
		if err := ts.Pool.QueryRow(t.Context(), `
			SELECT u.first_name, u.last_name, u.is_verified, a.new_values::text
			FROM auth.users u JOIN auth.audit_log a ON a.target_id = u.id
			WHERE u.email = 'root@example.com' AND a.action = 'user.bootstrap' AND a.actor_id IS NULL AND a.request_id IS NULL`).
			Scan(&first, &last, &verified, &audit); err != nil {
			t.Fatal(err)
		}
		if first != "Admin" || last != "pulso" || !verified || strings.Contains(audit, "$2") || strings.Contains(audit, "password") {
			t.Fatalf("admin %s %s verified %v, audit %s", first, last, verified, audit)
		}
		access, _ := ts.login(t, "root@example.com", "B00tstrap!")
		if resp := ts.doJSON(t, http.MethodGet, "/api/v1/auth/me", access, nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("me: %d", resp.StatusCode)
		}
		// A restart (even with another address configured) leaves the admin alone.
		ts.Server.cfg.BootstrapAdminEmail = "second@example.com"
		if err := ts.Server.bootstrapAdmin(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := countAdmins(t, ts); n != 1 {
			t.Fatalf("%d admins after restart", n)
		}
	})
	t.Run("rules", func(t *testing.T) {
		ts := newTestServer(t, nil) // nothing configured: starts without an admin
		if n := countAdmins(t, ts); n != 0 {
			t.Fatalf("%d admins", n)
		}
		ts.createUser(t, "viewer@example.com", testPassword, "viewer")
		gone := ts.createUser(t, "gone@example.com", testPassword, "analyst")
		ts.exec(t, `UPDATE auth.users SET is_active = false, deleted_at = now() WHERE id = $1`, gone)
		cases := []struct {
			name, email, password string
			wantErr               string // "" = no error
		}{
			{"password fails the policy", "new@example.com", "short", "policy"},
			{"email of a viewer", "VIEWER@example.com", testPassword, "existing viewer user"},
			{"email of a deleted user", "gone@example.com", testPassword, "deleted analyst user"},
			{"only the email", "new@example.com", "", "together"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ts.Server.cfg.BootstrapAdminEmail, ts.Server.cfg.BootstrapAdminPassword = tc.email, tc.password
				err := ts.Server.bootstrapAdmin(t.Context())
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want ErrConfig mentioning %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), testPassword) {
					t.Fatal("the error shows the password")
				}
			})
		}
		var role string
		if err := ts.Pool.QueryRow(t.Context(), `SELECT role FROM auth.users WHERE email = 'viewer@example.com'`).Scan(&role); err != nil || role != "viewer" {
			t.Fatalf("viewer changed: %q %v", role, err)
		}
		if n := countAdmins(t, ts); n != 0 {
			t.Fatalf("%d admins", n)
		}
		// With an active admin nothing is checked or done, even for a viewer's address.
		ts.createUser(t, "boss@example.com", testPassword, "admin")
		ts.Server.cfg.BootstrapAdminEmail, ts.Server.cfg.BootstrapAdminPassword = "viewer@example.com", "short"
		if err := ts.Server.bootstrapAdmin(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad password stops Prepare", func(t *testing.T) {
		pool, err := postgres.Open(t.Context(), pgtest.Fresh(t))
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		s, err := New(Config{JWTSecret: testJWTSecret, BootstrapAdminEmail: "x@example.com", BootstrapAdminPassword: "password"}, Deps{Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		if err := s.Prepare(ctx); !errors.Is(err, ErrConfig) {
			t.Fatalf("Prepare: %v", err)
		}
	})
}
