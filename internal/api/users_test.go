package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/api/openapi"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// contract holds every response of these tests to the embedded OpenAPI document.
var contract = sync.OnceValues(openapi.NewValidator)

// reply is a response read whole.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// call sends a request, reads the response and checks it against the contract.
func (ts *testServer) call(t *testing.T, method, path, token string, body any, hdr map[string]string) reply {
	t.Helper()
	resp := ts.do(t, method, path, token, body, hdr)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	v, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.ValidateResponse(httptest.NewRequest(method, path, nil), resp.StatusCode, resp.Header, b); err != nil {
		t.Errorf("contract: %v\nbody: %s", err, b)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// ok decodes a 2xx reply of the wanted status into out.
func (r reply) ok(t *testing.T, status int, out any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			t.Fatalf("decode %s: %v", r.Body, err)
		}
	}
}

// fails checks an error reply: status, code, the error shape and, when given, that
// the details name exactly these fields.
func (r reply) fails(t *testing.T, status int, code string, fields ...string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("error body %s: %v", r.Body, err)
	}
	if r.Status != status || e.Code != code || e.Status != "error" || e.Message == "" ||
		e.RequestID == "" || e.RequestID != r.Header.Get("X-Request-ID") {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
	if len(fields) > 0 {
		var got []string
		for _, d := range e.Details {
			got = append(got, d.Field)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(fields))
		if !slices.Equal(got, want) {
			t.Fatalf("details name %v, want %v: %s", got, want, r.Body)
		}
	}
	return e
}

// account creates an active, verified user with role and signs it in.
func (ts *testServer) account(t *testing.T, role string) (id, email, token string) {
	t.Helper()
	email = fmt.Sprintf("%s%d@acct.pulso", role, ts.seq.Add(1))
	id = ts.createUser(t, email, testPassword, role)
	token, _ = ts.login(t, email, testPassword)
	return id, email, token
}

// insertUser writes a user row directly, for hand-made sets.
type rowUser struct {
	email, first, last, role string
	active, verified         bool
	created                  time.Time
	lastLogin                *time.Time
	deleted                  bool
}

func (ts *testServer) insertUser(t *testing.T, u rowUser) string {
	t.Helper()
	var id string
	var deletedAt *time.Time
	if u.deleted {
		deletedAt = &u.created
	}
	if u.first == "" {
		u.first, u.last = "Nombre", "Apellido"
	}
	err := ts.Pool.QueryRow(t.Context(), `
		INSERT INTO auth.users (email, password_hash, first_name, last_name, role, is_active, is_verified,
			created_at, updated_at, last_login_at, deleted_at)
		VALUES ($1, '$2a$04$notarealhashnotarealhashnotarealhashnotarealhashnot', $2, $3, $4, $5, $6, $7, $7, $8, $9)
		RETURNING id::text`,
		u.email, u.first, u.last, u.role, u.active && !u.deleted, u.verified, u.created, u.lastLogin, deletedAt).Scan(&id)
	if err != nil {
		t.Fatalf("insert %s: %v", u.email, err)
	}
	return id
}

func (ts *testServer) audit(t *testing.T, targetID string) []postgres.AuditEntry {
	t.Helper()
	entries, err := ts.Server.auth.users.AuditEntries(t.Context(), targetID)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func jsonObject(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	if raw == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("audit values %s: %v", raw, err)
	}
	return m
}

// sameUser compares two UserResponses field by field (last_login_at by instant).
func sameUser(a, b userResponse) bool {
	la, lb := a.LastLoginAt, b.LastLoginAt
	return a.ID == b.ID && a.Email == b.Email && a.FirstName == b.FirstName && a.LastName == b.LastName &&
		a.Role == b.Role && a.IsActive == b.IsActive && a.IsVerified == b.IsVerified &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		(la == nil) == (lb == nil) && (la == nil || la.Equal(*lb))
}

func userPath(id string) string { return "/api/v1/users/" + id }

// CRUD happy paths with every field of UserResponse checked, then the validation.
func TestUserCRUD(t *testing.T) {
	ts := newTestServer(t, nil)
	_, _, admin := ts.account(t, "admin")
	before := time.Now().Add(-time.Second)

	r := ts.call(t, http.MethodPost, "/api/v1/users", admin, map[string]any{
		"email": "  Ana.Perez@Example.COM ", "password": "Secreto123", "first_name": " Ana ",
		"last_name": "Pérez", "role": "Analyst", "is_verified": true, "unknown": "ignored"}, nil)
	var created userResponse
	r.ok(t, http.StatusCreated, &created)
	if _, err := uuid.Parse(created.ID); err != nil {
		t.Fatalf("id %q", created.ID)
	}
	if created.Email != "ana.perez@example.com" || created.FirstName != "Ana" || created.LastName != "Pérez" ||
		created.Role != "analyst" || !created.IsActive || created.IsVerified || created.LastLoginAt != nil ||
		!created.CreatedAt.Equal(created.UpdatedAt) || created.CreatedAt.Before(before) ||
		created.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("created %+v", created)
	}
	var raw map[string]any
	_ = json.Unmarshal(r.Body, &raw)
	if len(raw) != 10 || raw["last_login_at"] != nil || !strings.HasSuffix(raw["created_at"].(string), "Z") {
		t.Fatalf("UserResponse %s", r.Body)
	}
	// The password works; the role defaults to viewer.
	if access, _ := ts.login(t, "ANA.perez@example.com", "Secreto123"); access == "" {
		t.Fatal("no token")
	}
	var dflt userResponse
	ts.call(t, http.MethodPost, "/api/v1/users", admin, map[string]any{"email": "v@example.com",
		"password": "Secreto123", "first_name": "V", "last_name": "W"}, nil).ok(t, http.StatusCreated, &dflt)
	if dflt.Role != "viewer" {
		t.Fatalf("default role %q", dflt.Role)
	}

	var got userResponse
	ts.call(t, http.MethodGet, userPath(created.ID), admin, nil, nil).ok(t, http.StatusOK, &got)
	if got.ID != created.ID || got.Email != created.Email || got.Role != "analyst" || got.LastLoginAt == nil {
		t.Fatalf("get %+v (the login above set last_login_at)", got)
	}

	var upd userResponse
	ts.call(t, http.MethodPut, userPath(created.ID), admin, map[string]any{"first_name": "Ana María",
		"last_name": "Pérez Soto", "role": "manager", "is_verified": true, "email": "ignored@example.com"}, nil).
		ok(t, http.StatusOK, &upd)
	if upd.ID != created.ID || upd.Email != "ana.perez@example.com" || upd.FirstName != "Ana María" ||
		upd.LastName != "Pérez Soto" || upd.Role != "manager" || !upd.IsActive || !upd.IsVerified ||
		upd.LastLoginAt == nil || !upd.CreatedAt.Equal(created.CreatedAt) || upd.UpdatedAt.Before(created.UpdatedAt) {
		t.Fatalf("updated %+v", upd)
	}
	r = ts.call(t, http.MethodGet, userPath(created.ID), admin, nil, nil)
	r.ok(t, http.StatusOK, &got)
	if !sameUser(got, upd) {
		t.Fatalf("get after update %+v, want %+v", got, upd)
	}

	// Deactivation: the user's token stops at once and login fails.
	access, refresh := ts.login(t, "ana.perez@example.com", "Secreto123")
	ts.call(t, http.MethodGet, "/api/v1/users/me/profile", access, nil, nil).ok(t, http.StatusOK, nil)
	ts.call(t, http.MethodPut, userPath(created.ID), admin, map[string]any{"is_active": false}, nil).ok(t, http.StatusOK, &upd)
	if upd.IsActive {
		t.Fatal("still active")
	}
	ts.call(t, http.MethodGet, "/api/v1/users/me/profile", access, nil, nil).fails(t, http.StatusUnauthorized, CodeInvalidToken)
	ts.call(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}, nil).
		fails(t, http.StatusUnauthorized, CodeInvalidToken)
	var revoked int
	_ = ts.Pool.QueryRow(t.Context(), `SELECT count(*) FROM auth.refresh_token WHERE user_id = $1 AND revoked_at IS NULL`,
		created.ID).Scan(&revoked)
	if revoked != 0 {
		t.Fatalf("%d live refresh tokens after deactivation", revoked)
	}
	// An inactive user is listed only with include_inactive.
	var list userListResponse
	ts.call(t, http.MethodGet, "/api/v1/users?search=ana.perez", admin, nil, nil).ok(t, http.StatusOK, &list)
	if list.Total != 0 {
		t.Fatalf("inactive listed: %+v", list)
	}
	ts.call(t, http.MethodGet, "/api/v1/users?search=ana.perez&include_inactive=true", admin, nil, nil).ok(t, http.StatusOK, &list)
	if list.Total != 1 || list.Users[0].ID != created.ID {
		t.Fatalf("include_inactive: %+v", list)
	}

	// Delete: 204, then it is gone everywhere; the row stays, soft-deleted.
	r = ts.call(t, http.MethodDelete, userPath(created.ID), admin, nil, nil)
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	ts.call(t, http.MethodGet, userPath(created.ID), admin, nil, nil).fails(t, http.StatusNotFound, CodeNotFound)
	ts.call(t, http.MethodPut, userPath(created.ID), admin, map[string]any{"first_name": "X"}, nil).fails(t, http.StatusNotFound, CodeNotFound)
	ts.call(t, http.MethodDelete, userPath(created.ID), admin, nil, nil).fails(t, http.StatusNotFound, CodeNotFound)
	var deleted, active bool
	if err := ts.Pool.QueryRow(t.Context(), `SELECT deleted_at IS NOT NULL, is_active FROM auth.users WHERE id = $1`,
		created.ID).Scan(&deleted, &active); err != nil || !deleted || active {
		t.Fatalf("row after delete: deleted %v active %v %v", deleted, active, err)
	}
	ts.call(t, http.MethodGet, "/api/v1/users?include_inactive=true&search=ana", admin, nil, nil).ok(t, http.StatusOK, &list)
	if list.Total != 0 {
		t.Fatalf("deleted user listed: %+v", list)
	}
}

func TestUserValidation(t *testing.T) {
	ts := newTestServer(t, nil)
	_, _, admin := ts.account(t, "admin")
	target, _, _ := ts.account(t, "viewer")
	long := strings.Repeat("ñ", 51)
	cases := []struct {
		name, method, path string
		body               any
		fields             []string
	}{
		{"empty create", "POST", "/api/v1/users", map[string]any{}, []string{"email", "password", "first_name", "last_name"}},
		{"bad create", "POST", "/api/v1/users", map[string]any{"email": "not an email", "password": "short",
			"first_name": "  ", "last_name": long, "role": "boss"}, []string{"email", "password", "first_name", "last_name", "role"}},
		{"weak password", "POST", "/api/v1/users", map[string]any{"email": "a@b.pe", "password": "alllowercase1",
			"first_name": "A", "last_name": "B"}, []string{"password"}},
		{"display name in email", "POST", "/api/v1/users", map[string]any{"email": "Ana <a@b.pe>", "password": "Secreto123",
			"first_name": "A", "last_name": "B"}, []string{"email"}},
		{"wrong type create", "POST", "/api/v1/users", `{"email": 5}`, []string{"email"}},
		{"not an object", "POST", "/api/v1/users", `["x"]`, []string{"body"}},
		{"bad JSON", "POST", "/api/v1/users", `{"email": `, []string{"body"}},
		{"wrong type update", "PUT", userPath(target), `{"is_active": "no"}`, []string{"is_active"}},
		{"bad update", "PUT", userPath(target), map[string]any{"first_name": "", "last_name": long, "role": "root"},
			[]string{"first_name", "last_name", "role"}},
		{"malformed id get", "GET", userPath("12345"), nil, []string{"id"}},
		{"malformed id put", "PUT", userPath("not-a-uuid"), map[string]any{}, []string{"id"}},
		{"malformed id delete", "DELETE", userPath("not-a-uuid"), nil, []string{"id"}},
		{"me is not an id", "GET", userPath("me"), nil, []string{"id"}},
		{"page", "GET", "/api/v1/users?page=0", nil, []string{"page"}},
		{"per_page high", "GET", "/api/v1/users?per_page=101", nil, []string{"per_page"}},
		{"per_page text", "GET", "/api/v1/users?per_page=ten", nil, []string{"per_page"}},
		{"role filter", "GET", "/api/v1/users?role=boss", nil, []string{"role"}},
		{"include_inactive", "GET", "/api/v1/users?include_inactive=maybe", nil, []string{"include_inactive"}},
		{"search too long", "GET", "/api/v1/users?search=" + strings.Repeat("a", 201), nil, []string{"search"}},
		{"search NUL", "GET", "/api/v1/users?search=a%00b", nil, []string{"search"}},
		{"search not UTF-8", "GET", "/api/v1/users?search=%FF", nil, []string{"search"}},
		{"NUL in an email", "POST", "/api/v1/users", `{"email": "a\u0000@b.pe", "password": "Secreto123", "first_name": "A", "last_name": "B"}`, []string{"email"}},
		{"NUL in a name", "PUT", userPath(target), `{"first_name": "a\u0000b"}`, []string{"first_name"}},
		{"days low", "GET", "/api/v1/users/recent?days=0", nil, []string{"days"}},
		{"days high", "GET", "/api/v1/users/recent?days=366", nil, []string{"days"}},
		{"role page", "GET", "/api/v1/users/roles/viewer/users?per_page=0", nil, []string{"per_page"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts.call(t, c.method, c.path, admin, c.body, nil).fails(t, http.StatusBadRequest, CodeValidation, c.fields...)
		})
	}
	// Nothing was written by the refused requests.
	var n int
	ts.scanRow(t, `SELECT count(*) FROM auth.audit_log`)(&n)
	if n != 0 {
		t.Fatalf("%d audit rows after refused requests", n)
	}
}

// Literal routes are not taken as ids; unknown ids are 404.
func TestUserLiteralRoutes(t *testing.T) {
	ts := newTestServer(t, nil)
	_, _, admin := ts.account(t, "admin")
	for _, path := range []string{"/api/v1/users/statistics", "/api/v1/users/me/profile", "/api/v1/users/recent",
		"/api/v1/users/export", "/api/v1/users/roles", "/api/v1/users/roles/viewer/users",
		"/api/v1/users/statistics/", "/api/v1/users/me/profile/", "/api/v1/users/roles/VIEWER/users"} {
		ts.call(t, http.MethodGet, path, admin, nil, nil).ok(t, http.StatusOK, nil)
	}
	ts.call(t, http.MethodGet, userPath(uuid.NewString()), admin, nil, nil).fails(t, http.StatusNotFound, CodeNotFound)
	ts.call(t, http.MethodPut, userPath(uuid.NewString()), admin, map[string]any{"first_name": "X"}, nil).
		fails(t, http.StatusNotFound, CodeNotFound)
	ts.call(t, http.MethodDelete, userPath(uuid.NewString()), admin, nil, nil).fails(t, http.StatusNotFound, CodeNotFound)
	ts.call(t, http.MethodGet, "/api/v1/users/roles/boss/users", admin, nil, nil).fails(t, http.StatusNotFound, CodeNotFound)
	// A viewer may read its own profile, not another user.
	_, _, viewer := ts.account(t, "viewer")
	ts.call(t, http.MethodGet, "/api/v1/users/me/profile", viewer, nil, nil).ok(t, http.StatusOK, nil)
	ts.call(t, http.MethodGet, "/api/v1/users/statistics", viewer, nil, nil).fails(t, http.StatusForbidden, CodeForbidden)
}

func TestUserEmailConflict(t *testing.T) {
	ts := newTestServer(t, nil)
	_, _, admin := ts.account(t, "admin")
	body := func(email string) map[string]any {
		return map[string]any{"email": email, "password": "Secreto123", "first_name": "A", "last_name": "B"}
	}
	var u userResponse
	ts.call(t, http.MethodPost, "/api/v1/users", admin, body("dup@example.com"), nil).ok(t, http.StatusCreated, &u)
	for _, email := range []string{"dup@example.com", "DUP@Example.com", "  dup@example.COM  "} {
		ts.call(t, http.MethodPost, "/api/v1/users", admin, body(email), nil).fails(t, http.StatusConflict, CodeConflict)
	}
	// An inactive user still holds the address; a deleted one frees it.
	ts.call(t, http.MethodPut, userPath(u.ID), admin, map[string]any{"is_active": false}, nil).ok(t, http.StatusOK, nil)
	ts.call(t, http.MethodPost, "/api/v1/users", admin, body("dup@example.com"), nil).fails(t, http.StatusConflict, CodeConflict)
	ts.call(t, http.MethodDelete, userPath(u.ID), admin, nil, nil).ok(t, http.StatusNoContent, nil)
	var again userResponse
	ts.call(t, http.MethodPost, "/api/v1/users", admin, body("Dup@example.com"), nil).ok(t, http.StatusCreated, &again)
	if again.ID == u.ID || again.Email != "dup@example.com" {
		t.Fatalf("reused address: %+v", again)
	}
}

// List: filters, pagination, total honouring the filters, newest first, LIKE
// metacharacters matching themselves.
func TestUserList(t *testing.T) {
	ts := newTestServer(t, nil)
	adminID, _, admin := ts.account(t, "admin")
	ts.exec(t, `UPDATE auth.users SET created_at = now() - interval '1 year' WHERE id = $1`, adminID)
	base := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	mk := func(i int, email, first, last, role string, active bool) string {
		return ts.insertUser(t, rowUser{email: email, first: first, last: last, role: role, active: active,
			created: base.Add(time.Duration(i) * time.Minute)})
	}
	u1 := mk(1, "carla@example.com", "Carla", "Rojas", "viewer", true)
	u2 := mk(2, "under_score@example.com", "Luis", "Quispe", "analyst", true)
	u3 := mk(3, "underxscore@example.com", "Rosa", "Mamani", "viewer", true)
	u4 := mk(4, "pct@example.com", "Cien", "100%", "viewer", true)
	u5 := mk(5, "off@example.com", "Inés", "Rojas", "viewer", false)
	ts.insertUser(t, rowUser{email: "gone@example.com", role: "viewer", created: base.Add(6 * time.Minute), deleted: true})

	list := func(query string) (userListResponse, []string) {
		t.Helper()
		var out userListResponse
		ts.call(t, http.MethodGet, "/api/v1/users"+query, admin, nil, nil).ok(t, http.StatusOK, &out)
		ids := make([]string, len(out.Users))
		for i, u := range out.Users {
			ids[i] = u.ID
		}
		return out, ids
	}
	cases := []struct {
		query                string
		ids                  []string
		total, page, perPage int
		pages                int
	}{
		{"", []string{u4, u3, u2, u1, adminID}, 5, 1, 20, 1},
		{"?per_page=2", []string{u4, u3}, 5, 1, 2, 3},
		{"?per_page=2&page=2", []string{u2, u1}, 5, 2, 2, 3},
		{"?per_page=2&page=3", []string{adminID}, 5, 3, 2, 3},
		{"?per_page=2&page=4", []string{}, 5, 4, 2, 3},
		{"?page=999999999999", []string{}, 5, 999999999999, 20, 1},
		{"?include_inactive=true", []string{u5, u4, u3, u2, u1, adminID}, 6, 1, 20, 1},
		{"?role=viewer", []string{u4, u3, u1}, 3, 1, 20, 1},
		{"?role=VIEWER&include_inactive=1&per_page=1", []string{u5}, 4, 1, 1, 4},
		{"?search=ROJAS", []string{u1}, 1, 1, 20, 1},
		{"?search=rojas&include_inactive=true", []string{u5, u1}, 2, 1, 20, 1},
		{"?search=under_", []string{u2}, 1, 1, 20, 1},
		{"?search=under", []string{u3, u2}, 2, 1, 20, 1},
		{"?search=%25", []string{u4}, 1, 1, 20, 1},
		{"?search=%5C", []string{}, 0, 1, 20, 0},
		{"?search=quis", []string{u2}, 1, 1, 20, 1},
		{"?search=' OR 1=1 --", []string{}, 0, 1, 20, 0},
		{"?search=r&role=viewer&per_page=1&page=2", []string{u1}, 2, 2, 1, 2},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			out, ids := list(strings.ReplaceAll(c.query, " ", "%20"))
			if !slices.Equal(ids, c.ids) || out.Total != int64(c.total) || out.Page != c.page ||
				out.PerPage != c.perPage || out.TotalPages != int64(c.pages) {
				t.Fatalf("got ids %v total %d page %d per_page %d pages %d; want %v %d %d %d %d",
					ids, out.Total, out.Page, out.PerPage, out.TotalPages, c.ids, c.total, c.page, c.perPage, c.pages)
			}
		})
	}
	// GET /users/roles/{role}/users is the same list restricted to the role.
	var byRole userListResponse
	ts.call(t, http.MethodGet, "/api/v1/users/roles/viewer/users?per_page=2", admin, nil, nil).ok(t, http.StatusOK, &byRole)
	if byRole.Total != 3 || byRole.TotalPages != 2 || len(byRole.Users) != 2 || byRole.Users[0].ID != u4 || byRole.Users[1].ID != u3 {
		t.Fatalf("role viewer: %+v", byRole)
	}
	ts.call(t, http.MethodGet, "/api/v1/users/roles/manager/users", admin, nil, nil).ok(t, http.StatusOK, &byRole)
	if byRole.Total != 0 || byRole.Users == nil || len(byRole.Users) != 0 || byRole.TotalPages != 0 {
		t.Fatalf("role manager: %+v", byRole)
	}
}

// The last active admin can never be demoted, deactivated or deleted; with two
// admins one may be.
func TestUserLastAdmin(t *testing.T) {
	ts := newTestServer(t, nil)
	a, _, tokA := ts.account(t, "admin")
	// An inactive admin does not count.
	ts.insertUser(t, rowUser{email: "sleeping@example.com", role: "admin", active: false, created: time.Now()})
	for _, patch := range []map[string]any{{"role": "manager"}, {"is_active": false}, {"role": "viewer", "is_active": false}} {
		ts.call(t, http.MethodPut, userPath(a), tokA, patch, nil).fails(t, http.StatusConflict, CodeConflict)
	}
	r := ts.call(t, http.MethodPost, "/api/v1/users/bulk-update", tokA, []map[string]any{{"id": a, "role": "analyst"}}, nil)
	var bulk bulkUpdateResponse
	r.ok(t, http.StatusOK, &bulk)
	if bulk.UpdatedCount != 0 || len(bulk.Errors) != 1 || !strings.Contains(bulk.Errors[0].Message, "last active admin") {
		t.Fatalf("bulk demotion of the last admin: %+v", bulk)
	}
	// Own account: 400 before anything else.
	ts.call(t, http.MethodDelete, userPath(a), tokA, nil, nil).fails(t, http.StatusBadRequest, CodeBadRequest)
	// Harmless changes of the last admin are fine.
	var u userResponse
	ts.call(t, http.MethodPut, userPath(a), tokA, map[string]any{"role": "admin", "is_active": true, "first_name": "Única"}, nil).
		ok(t, http.StatusOK, &u)
	if u.Role != "admin" || !u.IsActive || u.FirstName != "Única" {
		t.Fatalf("%+v", u)
	}

	// Two admins: one may be demoted, then the other is the last.
	b, _, tokB := ts.account(t, "admin")
	ts.call(t, http.MethodPut, userPath(b), tokA, map[string]any{"role": "manager"}, nil).ok(t, http.StatusOK, &u)
	if u.Role != "manager" {
		t.Fatalf("demoted: %+v", u)
	}
	// B's next request already sees its new role (its cached principal was dropped).
	ts.call(t, http.MethodPut, userPath(a), tokB, map[string]any{"role": "viewer"}, nil).fails(t, http.StatusForbidden, CodeForbidden)
	ts.call(t, http.MethodPut, userPath(a), tokA, map[string]any{"role": "viewer"}, nil).fails(t, http.StatusConflict, CodeConflict)

	// Deleting the last admin: the actor must be an admin other than the target, so
	// make a stale one: C is cached as admin, then demoted behind the server's back.
	c, _, tokC := ts.account(t, "admin")
	ts.call(t, http.MethodGet, "/api/v1/users/me/profile", tokC, nil, nil).ok(t, http.StatusOK, nil)
	ts.exec(t, `UPDATE auth.users SET role = 'manager' WHERE id = $1`, c)
	ts.call(t, http.MethodDelete, userPath(a), tokC, nil, nil).fails(t, http.StatusConflict, CodeConflict)
	ts.call(t, http.MethodPut, userPath(a), tokC, map[string]any{"is_active": false}, nil).fails(t, http.StatusConflict, CodeConflict)
	// With a second active admin the delete goes through.
	ts.exec(t, `UPDATE auth.users SET role = 'admin' WHERE id = $1`, b)
	ts.call(t, http.MethodDelete, userPath(b), tokA, nil, nil).ok(t, http.StatusNoContent, nil)
	var admins int
	ts.scanRow(t, `SELECT count(*) FROM auth.users WHERE role = 'admin' AND is_active AND deleted_at IS NULL`)(&admins)
	if admins != 1 {
		t.Fatalf("%d active admins", admins)
	}
}

// Two admins demote (or delete, or deactivate) each other at the same time: exactly
// one succeeds and one active admin remains.
func TestUserAdminConcurrentDemotion(t *testing.T) {
	ts := newTestServer(t, nil)
	ops := []struct {
		method string
		body   any
	}{
		{http.MethodPut, map[string]any{"role": "viewer"}},
		{http.MethodPut, map[string]any{"is_active": false}},
		{http.MethodDelete, nil},
	}
	for round := range 12 {
		a, _, tokA := ts.account(t, "admin")
		b, _, tokB := ts.account(t, "admin")
		// Only A and B are active admins this round.
		rows, err := ts.Pool.Query(t.Context(), `UPDATE auth.users SET role = 'viewer'
			WHERE role = 'admin' AND id NOT IN ($1, $2) RETURNING id::text`, a, b)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			ts.Server.auth.forget(id)
		}
		opA, opB := ops[round%3], ops[(round/3)%3]
		var wg sync.WaitGroup
		start := make(chan struct{})
		statuses := make([]int, 2)
		for i, req := range []struct {
			token, target string
			method        string
			body          any
		}{{tokA, b, opA.method, opA.body}, {tokB, a, opB.method, opB.body}} {
			wg.Go(func() {
				<-start
				resp := ts.do(t, req.method, userPath(req.target), req.token, req.body, nil)
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			switch {
			case s == http.StatusOK || s == http.StatusNoContent:
				ok++
			case s != http.StatusConflict && s != http.StatusForbidden && s != http.StatusUnauthorized:
				t.Fatalf("round %d: status %d", round, s)
			}
		}
		var admins int
		ts.scanRow(t, `SELECT count(*) FROM auth.users WHERE role = 'admin' AND is_active AND deleted_at IS NULL`)(&admins)
		if ok != 1 || admins != 1 {
			t.Fatalf("round %d (%s/%s): statuses %v, %d active admins; want exactly one success and one admin",
				round, opA.method, opB.method, statuses, admins)
		}
	}
}

// Only an admin grants, removes or edits the admin role: a manager given the user.*
// permissions (through the database) can manage other users but not admins.
func TestUserOnlyAdminGrantsAdmin(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.exec(t, `UPDATE auth.roles SET permissions = permissions || ARRAY['user.create', 'user.update', 'user.delete']
		WHERE name = 'manager'`)
	admin, _, _ := ts.account(t, "admin")
	_, _, mgr := ts.account(t, "manager")
	viewer, _, _ := ts.account(t, "viewer")

	var u userResponse
	ts.call(t, http.MethodPut, userPath(viewer), mgr, map[string]any{"first_name": "Editado", "role": "analyst"}, nil).ok(t, http.StatusOK, &u)
	if u.FirstName != "Editado" || u.Role != "analyst" {
		t.Fatalf("%+v", u)
	}
	refused := []struct {
		method, path string
		body         any
	}{
		{http.MethodPut, userPath(viewer), map[string]any{"role": "admin"}},
		{http.MethodPut, userPath(viewer), map[string]any{"role": "ADMIN", "first_name": "X"}},
		{http.MethodPost, "/api/v1/users", map[string]any{"email": "new.admin@example.com", "password": "Secreto123",
			"first_name": "N", "last_name": "A", "role": "admin"}},
		{http.MethodPut, userPath(admin), map[string]any{"role": "viewer"}},
		{http.MethodPut, userPath(admin), map[string]any{"is_active": false}},
		{http.MethodPut, userPath(admin), map[string]any{"first_name": "Hacked"}},
		{http.MethodDelete, userPath(admin), nil},
	}
	for _, c := range refused {
		ts.call(t, c.method, c.path, mgr, c.body, nil).fails(t, http.StatusForbidden, CodeForbidden)
	}
	var bulk bulkUpdateResponse
	ts.call(t, http.MethodPost, "/api/v1/users/bulk-update", mgr, []map[string]any{
		{"id": viewer, "role": "admin"}, {"id": admin, "is_verified": false}, {"id": viewer, "role": "viewer"}}, nil).
		ok(t, http.StatusOK, &bulk)
	if bulk.UpdatedCount != 1 || bulk.TotalAttempted != 3 || len(bulk.Errors) != 2 ||
		!strings.Contains(bulk.Errors[0].Message, "Only an admin") || bulk.Errors[1].ID != admin {
		t.Fatalf("bulk: %+v", bulk)
	}
	var created userResponse
	ts.call(t, http.MethodPost, "/api/v1/users", mgr, map[string]any{"email": "analyst@example.com",
		"password": "Secreto123", "first_name": "N", "last_name": "A", "role": "analyst"}, nil).ok(t, http.StatusCreated, &created)
	// The admin is untouched and the refusals left no audit rows.
	var role string
	var active bool
	var first string
	ts.scanRow(t, `SELECT role, is_active, first_name FROM auth.users WHERE id = $1`, admin)(&role, &active, &first)
	if role != "admin" || !active || first == "Hacked" {
		t.Fatalf("admin changed: %s %v %s", role, active, first)
	}
	if n := len(ts.audit(t, admin)); n != 0 {
		t.Fatalf("%d audit rows about the admin", n)
	}
	// An admin may grant it.
	_, _, tokAdmin := ts.account(t, "admin")
	ts.call(t, http.MethodPut, userPath(viewer), tokAdmin, map[string]any{"role": "admin"}, nil).ok(t, http.StatusOK, &u)
	if u.Role != "admin" {
		t.Fatalf("%+v", u)
	}
}

// A deleted user's token stops working at once, as do its refresh token and login;
// one's own account cannot be deleted.
func TestUserDeleteRevokes(t *testing.T) {
	ts := newTestServer(t, nil)
	adminID, _, admin := ts.account(t, "admin")
	id, email, token := ts.account(t, "analyst")
	_, refresh := ts.login(t, email, testPassword)
	ts.call(t, http.MethodGet, "/api/v1/users/me/profile", token, nil, nil).ok(t, http.StatusOK, nil) // cached
	ts.call(t, http.MethodDelete, userPath(adminID), admin, nil, nil).fails(t, http.StatusBadRequest, CodeBadRequest)
	ts.call(t, http.MethodDelete, userPath(id), admin, nil, nil).ok(t, http.StatusNoContent, nil)
	ts.call(t, http.MethodGet, "/api/v1/users/me/profile", token, nil, nil).fails(t, http.StatusUnauthorized, CodeInvalidToken)
	ts.call(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}, nil).
		fails(t, http.StatusUnauthorized, CodeInvalidToken)
	ts.call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": testPassword}, nil).
		fails(t, http.StatusUnauthorized, CodeUnauthorized)
	var live int
	ts.scanRow(t, `SELECT count(*) FROM auth.refresh_token WHERE user_id = $1 AND revoked_at IS NULL`, id)(&live)
	if live != 0 {
		t.Fatalf("%d live refresh tokens", live)
	}
}

func TestUserProfile(t *testing.T) {
	ts := newTestServer(t, nil)
	id, email, token := ts.account(t, "viewer")
	_, refresh := ts.login(t, email, testPassword)
	var me userResponse
	ts.call(t, http.MethodGet, "/api/v1/users/me/profile", token, nil, nil).ok(t, http.StatusOK, &me)
	if me.ID != id || me.Email != email || me.Role != "viewer" || !me.IsActive || !me.IsVerified || me.LastLoginAt == nil {
		t.Fatalf("profile %+v", me)
	}
	// Names; fields outside the profile (role, is_active) are ignored.
	ts.call(t, http.MethodPut, "/api/v1/users/me/profile", token, map[string]any{"first_name": " Nuevo ",
		"last_name": "Nombre", "role": "admin", "is_active": false}, nil).ok(t, http.StatusOK, &me)
	if me.FirstName != "Nuevo" || me.LastName != "Nombre" || me.Role != "viewer" || !me.IsActive {
		t.Fatalf("after names %+v", me)
	}
	put := func(body map[string]any) reply {
		return ts.call(t, http.MethodPut, "/api/v1/users/me/profile", token, body, nil)
	}
	put(map[string]any{"password": "NuevaClave9"}).fails(t, http.StatusBadRequest, CodeValidation, "current_password")
	put(map[string]any{"password": "NuevaClave9", "current_password": ""}).fails(t, http.StatusBadRequest, CodeValidation, "current_password")
	put(map[string]any{"password": "weak", "current_password": testPassword}).fails(t, http.StatusBadRequest, CodeValidation, "password")
	put(map[string]any{"password": "NuevaClave9", "current_password": "Wrong" + testPassword}).fails(t, http.StatusUnauthorized, CodeUnauthorized)
	put(map[string]any{"first_name": 7}).fails(t, http.StatusBadRequest, CodeValidation, "first_name")
	// The refused attempts changed nothing.
	ts.login(t, email, testPassword)
	put(map[string]any{"password": "NuevaClave9", "current_password": testPassword}).ok(t, http.StatusOK, &me)
	// Every refresh token of the user is revoked; the new password is the one now.
	ts.call(t, http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}, nil).
		fails(t, http.StatusUnauthorized, CodeInvalidToken)
	ts.call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"email": email, "password": testPassword}, nil).
		fails(t, http.StatusUnauthorized, CodeUnauthorized)
	ts.login(t, email, "NuevaClave9")
	entries := ts.audit(t, id)
	if len(entries) != 2 || entries[0].Action != "user.profile_update" || entries[1].Action != "user.profile_update" {
		t.Fatalf("audit %+v", entries)
	}
	if nv := jsonObject(t, entries[1].NewValues); len(nv) != 1 || nv["password_changed"] != true {
		t.Fatalf("password audit %s", entries[1].NewValues)
	}
}

// Bulk update: each item on its own; the counts and the errors are exact.
func TestUserBulkUpdate(t *testing.T) {
	ts := newTestServer(t, nil)
	admin, _, tok := ts.account(t, "admin")
	u1, _, _ := ts.account(t, "viewer")
	u2, _, _ := ts.account(t, "viewer")
	missing := uuid.NewString()
	items := `[
		{"id": "` + u1 + `", "first_name": "Bulk", "is_verified": false},
		{"id": "` + missing + `", "first_name": "X"},
		{"id": "` + admin + `", "role": "viewer"},
		{"id": "` + u2 + `", "role": "superuser"},
		{"id": "nope"},
		{"id": "` + u2 + `", "is_active": "yes"},
		{"first_name": "no id"},
		7,
		{"id": "` + u2 + `", "last_name": "Dos", "unknown": true}
	]`
	var out bulkUpdateResponse
	ts.call(t, http.MethodPost, "/api/v1/users/bulk-update", tok, items, map[string]string{"X-Request-ID": "bulk-1"}).
		ok(t, http.StatusOK, &out)
	wantIDs := []string{missing, admin, u2, "nope", u2, "", ""}
	wantMsg := []string{"User not found", "last active admin", "role: must be one of", "id: must be a UUID",
		"is_active: must be a boolean", "id: is required", "body: must be an object"}
	if out.UpdatedCount != 2 || out.TotalAttempted != 9 || len(out.Errors) != len(wantIDs) || out.Message != "Updated 2 of 9 users" {
		t.Fatalf("bulk %+v", out)
	}
	for i, e := range out.Errors {
		if e.ID != wantIDs[i] || !strings.Contains(e.Message, wantMsg[i]) {
			t.Errorf("error %d: %+v, want id %q and %q", i, e, wantIDs[i], wantMsg[i])
		}
	}
	var first, last, role string
	var verified bool
	ts.scanRow(t, `SELECT first_name, is_verified FROM auth.users WHERE id = $1`, u1)(&first, &verified)
	if first != "Bulk" || verified {
		t.Fatalf("u1: %s %v", first, verified)
	}
	ts.scanRow(t, `SELECT last_name, role FROM auth.users WHERE id = $1`, u2)(&last, &role)
	if last != "Dos" || role != "viewer" {
		t.Fatalf("u2: %s %s", last, role)
	}
	for _, id := range []string{u1, u2} {
		e := ts.audit(t, id)
		if len(e) != 1 || e[0].Action != "user.bulk_update" || e[0].RequestID != "bulk-1" {
			t.Fatalf("audit of %s: %+v", id, e)
		}
	}
	if e := ts.audit(t, admin); len(e) != 0 {
		t.Fatalf("refused item audited: %+v", e)
	}

	ts.call(t, http.MethodPost, "/api/v1/users/bulk-update", tok, `[]`, nil).ok(t, http.StatusOK, &out)
	if out.UpdatedCount != 0 || out.TotalAttempted != 0 || out.Errors == nil {
		t.Fatalf("empty bulk %+v", out)
	}
	many := make([]map[string]any, 101)
	for i := range many {
		many[i] = map[string]any{"id": u1, "is_verified": true}
	}
	ts.call(t, http.MethodPost, "/api/v1/users/bulk-update", tok, many, nil).fails(t, http.StatusBadRequest, CodeValidation, "body")
	ts.call(t, http.MethodPost, "/api/v1/users/bulk-update", tok, map[string]any{"id": u1}, nil).fails(t, http.StatusBadRequest, CodeValidation, "body")
	ts.call(t, http.MethodPost, "/api/v1/users/bulk-update", tok, nil, nil).fails(t, http.StatusBadRequest, CodeValidation, "body")
	ts.call(t, http.MethodPost, "/api/v1/users/bulk-update", tok, many[:100], nil).ok(t, http.StatusOK, &out)
	if out.UpdatedCount != 100 {
		t.Fatalf("100 items: %+v", out)
	}
}

func TestUserExport(t *testing.T) {
	ts := newTestServer(t, nil)
	_, adminEmail, admin := ts.account(t, "admin")
	created := time.Date(2025, 3, 4, 15, 16, 17, 0, time.UTC)
	login := time.Date(2025, 7, 1, 8, 9, 10, 0, time.UTC)
	never := ts.insertUser(t, rowUser{email: "nunca@example.com", first: "Nilda", last: "Nunca", role: "analyst",
		active: false, verified: false, created: created})
	seen := ts.insertUser(t, rowUser{email: "visto@example.com", first: "Víctor", last: "Visto", role: "manager",
		active: true, verified: true, created: created.Add(time.Hour), lastLogin: &login})
	ts.insertUser(t, rowUser{email: "borrado@example.com", role: "viewer", created: created, deleted: true})

	r := ts.call(t, http.MethodGet, "/api/v1/users/export", admin, nil, nil)
	var out struct {
		Data            []map[string]string `json:"data"`
		TotalRecords    int                 `json:"total_records"`
		ExportTimestamp time.Time           `json:"export_timestamp"`
		ExportedBy      string              `json:"exported_by"`
	}
	r.ok(t, http.StatusOK, &out)
	if out.TotalRecords != 3 || len(out.Data) != 3 || out.ExportedBy != adminEmail ||
		time.Since(out.ExportTimestamp) > time.Minute {
		t.Fatalf("export %s", r.Body)
	}
	rows := map[string]map[string]string{}
	for _, row := range out.Data {
		if len(row) != 11 {
			t.Fatalf("row has %d keys: %v", len(row), row)
		}
		rows[row["ID"]] = row
	}
	want := map[string]map[string]string{
		never: {"ID": never, "Email": "nunca@example.com", "Nombre": "Nilda", "Apellido": "Nunca",
			"Nombre Completo": "Nilda Nunca", "Rol": "Analista", "Activo": "No", "Verificado": "No",
			"Último Login": "Nunca", "Fecha Creación": "2025-03-04T15:16:17Z", "Última Actualización": "2025-03-04T15:16:17Z"},
		seen: {"ID": seen, "Email": "visto@example.com", "Nombre": "Víctor", "Apellido": "Visto",
			"Nombre Completo": "Víctor Visto", "Rol": "Gerente", "Activo": "Sí", "Verificado": "Sí",
			"Último Login": "2025-07-01T08:09:10Z", "Fecha Creación": "2025-03-04T16:16:17Z", "Última Actualización": "2025-03-04T16:16:17Z"},
	}
	for id, w := range want {
		for k, v := range w {
			if rows[id][k] != v {
				t.Errorf("%s %q = %q, want %q", id, k, rows[id][k], v)
			}
		}
	}
	if !strings.Contains(string(r.Body), `"Último Login":"Nunca"`) {
		t.Errorf("raw export %s", r.Body)
	}
	// It needs reports.export on top of user.read.
	_, _, analyst := ts.account(t, "analyst") // export, no user.read
	ts.call(t, http.MethodGet, "/api/v1/users/export", analyst, nil, nil).fails(t, http.StatusForbidden, CodeForbidden)
	_, _, mgr := ts.account(t, "manager")
	ts.call(t, http.MethodGet, "/api/v1/users/export", mgr, nil, nil).ok(t, http.StatusOK, nil)
	ts.exec(t, `UPDATE auth.roles SET permissions = array_remove(permissions, 'reports.export') WHERE name = 'manager'`)
	_, _, mgr2 := ts.account(t, "manager")
	ts.call(t, http.MethodGet, "/api/v1/users", mgr2, nil, nil).ok(t, http.StatusOK, nil)
	ts.call(t, http.MethodGet, "/api/v1/users/export", mgr2, nil, nil).fails(t, http.StatusForbidden, CodeForbidden)
}

func TestUserStatistics(t *testing.T) {
	ts := newTestServer(t, nil)
	_, _, admin := ts.account(t, "admin") // created now, verified, signed in now
	now := time.Now()
	day := 24 * time.Hour
	at := func(d time.Duration) *time.Time { v := now.Add(-d); return &v }
	ts.insertUser(t, rowUser{email: "m@x.pe", role: "manager", active: true, verified: true, created: now.Add(-60 * day), lastLogin: at(3 * day)})
	ts.insertUser(t, rowUser{email: "a@x.pe", role: "analyst", active: true, created: now.Add(-10 * day), lastLogin: at(20 * day)})
	ts.insertUser(t, rowUser{email: "v1@x.pe", role: "viewer", active: true, created: now.Add(-40 * day)})
	ts.insertUser(t, rowUser{email: "v2@x.pe", role: "viewer", active: false, verified: true, created: now.Add(-5 * day), lastLogin: at(31 * day)})
	ts.insertUser(t, rowUser{email: "gone@x.pe", role: "analyst", verified: true, created: now.Add(-day), lastLogin: at(day), deleted: true})
	var st userStatisticsResponse
	ts.call(t, http.MethodGet, "/api/v1/users/statistics", admin, nil, nil).ok(t, http.StatusOK, &st)
	want := userStatisticsResponse{TotalUsers: 5, VerifiedUsers: 3, ActiveLast30Days: 3, ActiveLast7Days: 2, NewLast30Days: 3,
		UsersByRole: []roleCountBody{{"admin", 1}, {"manager", 1}, {"analyst", 1}, {"viewer", 2}}}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Fatalf("statistics %+v, want %+v", st, want)
	}
}

func TestUserRecentAndRoles(t *testing.T) {
	ts := newTestServer(t, nil)
	adminID, _, admin := ts.account(t, "admin")
	now := time.Now()
	day := 24 * time.Hour
	ts.exec(t, `UPDATE auth.users SET created_at = now() - interval '400 days' WHERE id = $1`, adminID)
	d2 := ts.insertUser(t, rowUser{email: "d2@x.pe", role: "viewer", active: true, created: now.Add(-2 * day)})
	d10 := ts.insertUser(t, rowUser{email: "d10@x.pe", role: "viewer", active: false, created: now.Add(-10 * day)})
	d100 := ts.insertUser(t, rowUser{email: "d100@x.pe", role: "viewer", active: true, created: now.Add(-100 * day)})
	ts.insertUser(t, rowUser{email: "gone@x.pe", role: "viewer", created: now.Add(-day), deleted: true})
	for _, c := range []struct {
		query string
		days  int
		ids   []string
	}{{"", 30, []string{d2, d10}}, {"?days=7", 7, []string{d2}}, {"?days=365", 365, []string{d2, d10, d100}}, {"?days=1", 1, []string{}}} {
		var out recentUsersResponse
		ts.call(t, http.MethodGet, "/api/v1/users/recent"+c.query, admin, nil, nil).ok(t, http.StatusOK, &out)
		ids := []string{}
		for _, u := range out.Users {
			ids = append(ids, u.ID)
		}
		if out.Days != c.days || !slices.Equal(ids, c.ids) {
			t.Errorf("recent%s: days %d ids %v, want %d %v", c.query, out.Days, ids, c.days, c.ids)
		}
	}

	var roles []roleBody
	ts.call(t, http.MethodGet, "/api/v1/users/roles", admin, nil, nil).ok(t, http.StatusOK, &roles)
	names := map[string]string{"admin": "Administrador", "manager": "Gerente", "analyst": "Analista", "viewer": "Visualizador"}
	if len(roles) != 4 {
		t.Fatalf("roles %+v", roles)
	}
	for i, want := range []string{"admin", "manager", "analyst", "viewer"} {
		r := roles[i]
		if r.Name != want || r.DisplayName != names[want] || !slices.Equal(r.Permissions, rolePermissions[want]) {
			t.Errorf("role %d: %+v", i, r)
		}
	}
}

// Every change writes its audit row: actor, action, target, old and new values
// (changed fields only, no hash anywhere) and the request's id.
func TestUserAuditLog(t *testing.T) {
	ts := newTestServer(t, nil)
	adminID, _, admin := ts.account(t, "admin")
	hdr := func(id string) map[string]string { return map[string]string{"X-Request-ID": id} }

	r := ts.call(t, http.MethodPost, "/api/v1/users", admin, map[string]any{"email": "Audit@Example.com",
		"password": "Secreto123", "first_name": "Au", "last_name": "Dit", "role": "analyst"}, hdr("req-create"))
	var u userResponse
	r.ok(t, http.StatusCreated, &u)
	// No X-Request-ID sent: the audit row carries the generated one, as echoed.
	upd := ts.call(t, http.MethodPut, userPath(u.ID), admin, map[string]any{"role": "manager", "first_name": "Au",
		"is_verified": true}, nil)
	upd.ok(t, http.StatusOK, nil)
	// A change that changes nothing writes nothing.
	ts.call(t, http.MethodPut, userPath(u.ID), admin, map[string]any{"role": "manager"}, hdr("req-noop")).ok(t, http.StatusOK, nil)
	ts.call(t, http.MethodPost, "/api/v1/users/bulk-update", admin, []map[string]any{{"id": u.ID, "is_active": false}},
		hdr("req-bulk")).ok(t, http.StatusOK, nil)
	ts.call(t, http.MethodDelete, userPath(u.ID), admin, nil, hdr("req-delete")).ok(t, http.StatusNoContent, nil)
	ts.call(t, http.MethodPut, "/api/v1/users/me/profile", admin, map[string]any{"last_name": "Jefe",
		"password": "OtraClave77", "current_password": testPassword}, hdr("req-profile")).ok(t, http.StatusOK, nil)

	type want struct {
		action, requestID string
		oldV, newV        map[string]any
	}
	check := func(target string, entries []postgres.AuditEntry, wants []want) {
		t.Helper()
		if len(entries) != len(wants) {
			t.Fatalf("%d audit rows about %s, want %d: %+v", len(entries), target, len(wants), entries)
		}
		for i, w := range wants {
			e := entries[i]
			if e.ActorID != adminID || e.TargetID != target || e.Action != w.action || e.RequestID != w.requestID {
				t.Errorf("row %d: %+v, want %s by %s request %s", i, e, w.action, adminID, w.requestID)
			}
			if got := jsonObject(t, e.OldValues); fmt.Sprint(got) != fmt.Sprint(w.oldV) {
				t.Errorf("row %d (%s) old_values %s, want %v", i, w.action, e.OldValues, w.oldV)
			}
			if got := jsonObject(t, e.NewValues); fmt.Sprint(got) != fmt.Sprint(w.newV) {
				t.Errorf("row %d (%s) new_values %s, want %v", i, w.action, e.NewValues, w.newV)
			}
		}
	}
	entries := ts.audit(t, u.ID)
	if len(entries) == 4 {
		// deleted_at is the clock's; take it from the row.
		var deletedAt time.Time
		ts.scanRow(t, `SELECT deleted_at FROM auth.users WHERE id = $1`, u.ID)(&deletedAt)
		check(u.ID, entries, []want{
			{"user.create", "req-create", nil, map[string]any{"email": "audit@example.com", "first_name": "Au",
				"last_name": "Dit", "role": "analyst", "is_active": true, "is_verified": false}},
			{"user.update", upd.Header.Get("X-Request-ID"), map[string]any{"role": "analyst", "is_verified": false},
				map[string]any{"role": "manager", "is_verified": true}},
			{"user.bulk_update", "req-bulk", map[string]any{"is_active": true}, map[string]any{"is_active": false}},
			{"user.delete", "req-delete", map[string]any{"email": "audit@example.com", "first_name": "Au",
				"last_name": "Dit", "role": "manager", "is_active": false, "is_verified": true},
				map[string]any{"deleted_at": deletedAt.UTC().Format(time.RFC3339Nano), "is_active": false,
					"refresh_tokens_revoked": float64(0)}},
		})
	} else {
		t.Fatalf("audit rows %+v", entries)
	}
	check(adminID, ts.audit(t, adminID), []want{{"user.profile_update", "req-profile",
		map[string]any{"last_name": "admin"}, map[string]any{"last_name": "Jefe", "password_changed": true}}})

	// No password hash anywhere in the trail.
	var trail string
	if err := ts.Pool.QueryRow(t.Context(), `SELECT COALESCE(json_agg(a)::text, '') FROM auth.audit_log a`).Scan(&trail); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"$2a$", "$2b$", "password_hash", "Secreto123", "OtraClave77"} {
		if strings.Contains(trail, bad) {
			t.Fatalf("audit trail contains %q: %s", bad, trail)
		}
	}
	if !strings.Contains(trail, `"password_changed": true`) {
		t.Fatalf("no password_changed in %s", trail)
	}
}

// scanRow runs a one-row query and returns a scanner that fails the test on any
// error, so a broken query cannot pass as a zero value.
func (ts *testServer) scanRow(t *testing.T, query string, args ...any) func(dest ...any) {
	t.Helper()
	return func(dest ...any) {
		t.Helper()
		if err := ts.Pool.QueryRow(t.Context(), query, args...).Scan(dest...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
}
