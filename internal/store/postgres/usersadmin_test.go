package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }

func (e *usersEnv) activeAdmins() int64 {
	e.t.Helper()
	return e.count(`SELECT count(*) FROM auth.users WHERE role = 'admin' AND is_active AND deleted_at IS NULL`)
}

var sysAdmin = Actor{ID: uuid.NewString(), IsAdmin: true, RequestID: "req-test"}

func TestUserAdminCreate(t *testing.T) {
	e := newUsersEnv(t)
	ctx := t.Context()
	now := time.Date(2025, 7, 1, 12, 0, 0, 123456789, time.UTC)
	u, err := e.users.CreateUser(ctx, NewUser{Email: "  New.User@Example.COM ", PasswordHash: "$2a$04$x",
		FirstName: "Nu", LastName: "Evo", Role: "analyst"}, sysAdmin, now)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "new.user@example.com" || u.Role != "analyst" || u.RoleDisplayName != "Analista" || !u.IsActive ||
		u.IsVerified || u.LastLoginAt != nil || !u.CreatedAt.Equal(now.Truncate(time.Microsecond)) || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Fatalf("created %+v", u)
	}
	for _, email := range []string{"new.user@example.com", "NEW.USER@example.com"} {
		if _, err := e.users.CreateUser(ctx, NewUser{Email: email, PasswordHash: "h", FirstName: "A", LastName: "B",
			Role: "viewer"}, sysAdmin, now); !errors.Is(err, ErrEmailInUse) {
			t.Fatalf("%s: %v, want ErrEmailInUse", email, err)
		}
	}
	if _, err := e.users.CreateUser(ctx, NewUser{Email: "r@example.com", PasswordHash: "h", FirstName: "A", LastName: "B",
		Role: "boss"}, sysAdmin, now); !errors.Is(err, ErrUnknownRole) {
		t.Fatalf("unknown role: %v", err)
	}
	if _, err := e.users.CreateUser(ctx, NewUser{Email: "adm@example.com", PasswordHash: "h", FirstName: "A", LastName: "B",
		Role: "admin"}, Actor{ID: uuid.NewString()}, now); !errors.Is(err, ErrAdminOnly) {
		t.Fatalf("non-admin creating an admin: %v", err)
	}
	// A deleted user's address is free again.
	if err := e.users.DeleteUser(ctx, u.ID, sysAdmin, now); err != nil {
		t.Fatal(err)
	}
	again, err := e.users.CreateUser(ctx, NewUser{Email: "new.user@example.com", PasswordHash: "h", FirstName: "A",
		LastName: "B", Role: "viewer"}, sysAdmin, now)
	if err != nil || again.ID == u.ID {
		t.Fatalf("reuse: %+v %v", again, err)
	}
	entries, err := e.users.AuditEntries(ctx, u.ID)
	if err != nil || len(entries) != 2 || entries[0].Action != ActionUserCreate || entries[1].Action != ActionUserDelete ||
		entries[0].ActorID != sysAdmin.ID || entries[0].RequestID != "req-test" || entries[0].OldValues != nil ||
		!entries[0].At.Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("audit %+v %v", entries, err)
	}
	var created map[string]any
	_ = json.Unmarshal(entries[0].NewValues, &created)
	if fmt.Sprint(created) != "map[email:new.user@example.com first_name:Nu is_active:true is_verified:false last_name:Evo role:analyst]" {
		t.Fatalf("create values %s", entries[0].NewValues)
	}
}

func TestUserAdminUpdateRules(t *testing.T) {
	e := newUsersEnv(t)
	ctx := t.Context()
	now := time.Now()
	admin := e.user("admin@example.com", "admin")
	viewer := e.user("viewer@example.com", "viewer")
	nonAdmin := Actor{ID: viewer, RequestID: "r"}

	// The last active admin.
	for _, p := range []UserPatch{{Role: strp("manager")}, {IsActive: boolp(false)}} {
		if _, err := e.users.UpdateUser(ctx, admin, p, ActionUserUpdate, sysAdmin, now); !errors.Is(err, ErrLastAdmin) {
			t.Fatalf("%+v: %v, want ErrLastAdmin", p, err)
		}
	}
	if err := e.users.DeleteUser(ctx, admin, sysAdmin, now); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("delete last admin: %v", err)
	}
	// A non-admin may not grant admin nor change an admin.
	for _, c := range []struct {
		id string
		p  UserPatch
	}{{viewer, UserPatch{Role: strp("admin")}}, {admin, UserPatch{Role: strp("viewer")}},
		{admin, UserPatch{FirstName: strp("X")}}, {admin, UserPatch{IsActive: boolp(false)}}} {
		if _, err := e.users.UpdateUser(ctx, c.id, c.p, ActionUserUpdate, nonAdmin, now); !errors.Is(err, ErrAdminOnly) {
			t.Fatalf("non-admin %+v: %v", c.p, err)
		}
	}
	if err := e.users.DeleteUser(ctx, admin, nonAdmin, now); !errors.Is(err, ErrAdminOnly) {
		t.Fatalf("non-admin delete of an admin: %v", err)
	}
	if _, err := e.users.UpdateUser(ctx, viewer, UserPatch{Role: strp("analyst")}, ActionUserUpdate, nonAdmin, now); err != nil {
		t.Fatalf("non-admin changing a non-admin: %v", err)
	}
	if _, err := e.users.UpdateUser(ctx, viewer, UserPatch{Role: strp("boss")}, ActionUserUpdate, sysAdmin, now); !errors.Is(err, ErrUnknownRole) {
		t.Fatalf("unknown role: %v", err)
	}
	for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
		if _, err := e.users.UpdateUser(ctx, id, UserPatch{FirstName: strp("X")}, ActionUserUpdate, sysAdmin, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: %v", id, err)
		}
		if err := e.users.DeleteUser(ctx, id, sysAdmin, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: %v", id, err)
		}
	}
	// With a second admin the first may go; then the second is the last.
	second := e.user("second@example.com", "admin")
	if _, err := e.users.UpdateUser(ctx, admin, UserPatch{Role: strp("viewer")}, ActionUserUpdate, sysAdmin, now); err != nil {
		t.Fatal(err)
	}
	if err := e.users.DeleteUser(ctx, second, sysAdmin, now); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("delete the remaining admin: %v", err)
	}

	// A deactivation and a password change revoke the user's refresh tokens in
	// the same transaction; a patch that changes nothing writes nothing.
	for i := range 2 {
		if err := e.users.CreateRefreshToken(ctx, viewer, fmt.Sprintf("h%d", i), now, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	before := e.count(`SELECT count(*) FROM auth.audit_log WHERE target_id = $1`, viewer)
	if _, err := e.users.UpdateUser(ctx, viewer, UserPatch{Role: strp("analyst"), IsActive: boolp(true)},
		ActionUserUpdate, sysAdmin, now); err != nil {
		t.Fatal(err)
	}
	if after := e.count(`SELECT count(*) FROM auth.audit_log WHERE target_id = $1`, viewer); after != before {
		t.Fatalf("a no-op wrote %d audit rows", after-before)
	}
	u, err := e.users.UpdateUser(ctx, viewer, UserPatch{PasswordHash: strp("$2a$04$new")}, ActionUserProfileUpdate, Actor{ID: viewer}, now)
	if err != nil || u.PasswordHash != "$2a$04$new" {
		t.Fatalf("password: %+v %v", u, err)
	}
	if n := e.count(`SELECT count(*) FROM auth.refresh_token WHERE user_id = $1 AND revoked_at IS NULL`, viewer); n != 0 {
		t.Fatalf("%d live tokens after a password change", n)
	}
	entries, err := e.users.AuditEntries(ctx, viewer)
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if last.Action != ActionUserProfileUpdate || last.ActorID != viewer || last.RequestID != "" ||
		string(last.OldValues) != "{}" || !strings.Contains(string(last.NewValues), `"password_changed": true`) ||
		strings.Contains(string(last.NewValues), "$2a$") {
		t.Fatalf("password audit %+v (%s → %s)", last, last.OldValues, last.NewValues)
	}
}

// Two demotions of the last two admins racing: both wait on a lock the test holds,
// then run together; exactly one succeeds.
func TestUserAdminConcurrentDemotions(t *testing.T) {
	e := newUsersEnv(t)
	ctx := t.Context()
	type op func(target string) error
	demote := func(target string) error {
		_, err := e.users.UpdateUser(ctx, target, UserPatch{Role: strp("viewer")}, ActionUserUpdate, sysAdmin, time.Now())
		return err
	}
	deactivate := func(target string) error {
		_, err := e.users.UpdateUser(ctx, target, UserPatch{IsActive: boolp(false)}, ActionUserUpdate, sysAdmin, time.Now())
		return err
	}
	del := func(target string) error { return e.users.DeleteUser(ctx, target, sysAdmin, time.Now()) }
	ops := []op{demote, deactivate, del}
	for round := range 9 {
		e.exec(`UPDATE auth.users SET role = 'viewer' WHERE role = 'admin'`)
		a := e.user(fmt.Sprintf("a%d@example.com", round), "admin")
		b := e.user(fmt.Sprintf("b%d@example.com", round), "admin")
		hold, err := e.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hold.Exec(ctx, `SELECT 1 FROM auth.users WHERE id IN ($1, $2) FOR UPDATE`, a, b); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, c := range []struct {
			f      op
			target string
		}{{ops[round%3], b}, {ops[(round/3)%3], a}} {
			wg.Go(func() { errs[i] = c.f(c.target) })
		}
		// Both are blocked on the held lock before it is released.
		deadline := time.Now().Add(5 * time.Second)
		for e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) < 2 {
			if time.Now().After(deadline) {
				t.Fatal("the two changes never waited on the lock")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := hold.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		ok, last := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrLastAdmin):
				last++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 || last != 1 || e.activeAdmins() != 1 {
			t.Fatalf("round %d: errors %v, %d active admins; want one success, one ErrLastAdmin, one admin",
				round, errs, e.activeAdmins())
		}
	}
}

func TestUserAdminListAndStatistics(t *testing.T) {
	e := newUsersEnv(t)
	ctx := t.Context()
	now := time.Now().UTC()
	day := 24 * time.Hour
	ins := func(email, first, role string, active, verified bool, created time.Time, lastLogin *time.Time, deleted bool) string {
		var id string
		var deletedAt *time.Time
		if deleted {
			deletedAt = &created
		}
		if err := e.pool.QueryRow(ctx, `
			INSERT INTO auth.users (email, password_hash, first_name, last_name, role, is_active, is_verified,
				created_at, updated_at, last_login_at, deleted_at)
			VALUES ($1, 'h', $2, 'L', $3, $4, $5, $6, $6, $7, $8) RETURNING id::text`,
			email, first, role, active, verified, created, lastLogin, deletedAt).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ago := func(d time.Duration) *time.Time { v := now.Add(-d); return &v }
	a := ins("a_b@x.pe", "Ana", "admin", true, true, now.Add(-50*day), ago(day), false)
	b := ins("axb@x.pe", "Bea", "viewer", true, false, now.Add(-20*day), ago(10*day), false)
	c := ins("c@x.pe", "100%", "viewer", false, true, now.Add(-2*day), nil, false)
	ins("d@x.pe", "Dora", "viewer", false, true, now.Add(-day), ago(day), true)

	list := func(q UserQuery) ([]string, int64) {
		t.Helper()
		users, total, err := e.users.ListUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, u := range users {
			ids = append(ids, u.ID)
		}
		return ids, total
	}
	for _, tc := range []struct {
		q     UserQuery
		want  string
		total int64
	}{
		{UserQuery{}, fmt.Sprint([]string{b, a}), 2},
		{UserQuery{IncludeInactive: true}, fmt.Sprint([]string{c, b, a}), 3},
		{UserQuery{IncludeInactive: true, Limit: 1, Offset: 1}, fmt.Sprint([]string{b}), 3},
		{UserQuery{IncludeInactive: true, Limit: 1, Offset: math.MaxInt64}, fmt.Sprint([]string{}), 3},
		{UserQuery{Search: "A_B"}, fmt.Sprint([]string{a}), 1},
		{UserQuery{Search: "%", IncludeInactive: true}, fmt.Sprint([]string{c}), 1},
		{UserQuery{Role: "viewer", IncludeInactive: true}, fmt.Sprint([]string{c, b}), 2},
		{UserQuery{Role: "manager"}, fmt.Sprint([]string{}), 0},
	} {
		if ids, total := list(tc.q); fmt.Sprint(ids) != tc.want || total != tc.total {
			t.Errorf("%+v: %v (%d), want %s (%d)", tc.q, ids, total, tc.want, tc.total)
		}
	}

	st, err := e.users.Statistics(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	want := UserStatistics{Total: 3, Verified: 2, ActiveLast30: 2, ActiveLast7: 1, NewLast30: 2,
		ByRole: []RoleCount{{"admin", 1}, {"manager", 0}, {"analyst", 0}, {"viewer", 2}}}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Fatalf("statistics %+v, want %+v", st, want)
	}
	recent, err := e.users.RecentUsers(ctx, now.Add(-30*day))
	if err != nil || len(recent) != 2 || recent[0].ID != c || recent[1].ID != b {
		t.Fatalf("recent %v %v", recent, err)
	}
	roles, err := e.users.Roles(ctx)
	if err != nil || len(roles) != 4 || roles[0].Name != "admin" || roles[3].Name != "viewer" || roles[3].DisplayName != "Visualizador" {
		t.Fatalf("roles %+v %v", roles, err)
	}
	if _, err := e.users.RoleByName(ctx, "boss"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown role: %v", err)
	}
}

func TestUserAdminHelpers(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{{"", ""}, {"ana", "%ana%"}, {`50%_off\`, `%50\%\_off\\%`}} {
		if got := likeContains(c.in); got != c.want {
			t.Errorf("likeContains(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		page, perPage int
		want          int64
	}{{1, 20, 0}, {0, 20, 0}, {3, 20, 40}, {math.MaxInt, 100, math.MaxInt64}} {
		if got := PageOffset(c.page, c.perPage); got != c.want {
			t.Errorf("PageOffset(%d, %d) = %d, want %d", c.page, c.perPage, got, c.want)
		}
	}
}
