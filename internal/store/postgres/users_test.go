package postgres

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// usersEnv is a private database: the auth statements commit.
type usersEnv struct {
	*opsEnv
	users *Users
}

func newUsersEnv(t *testing.T) *usersEnv {
	t.Helper()
	e := newOpsEnv(t)
	return &usersEnv{opsEnv: e, users: NewUsers(e.pool)}
}

func (e *usersEnv) user(email, role string) string {
	e.t.Helper()
	var id string
	if err := e.pool.QueryRow(e.t.Context(), `
		INSERT INTO auth.users (email, password_hash, first_name, last_name, role)
		VALUES ($1, '$2a$04$hash', 'First', 'Last', $2) RETURNING id::text`, email, role).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func TestUserLookup(t *testing.T) {
	e := newUsersEnv(t)
	ctx := t.Context()
	id := e.user("Mixed.Case@Example.com", "manager")
	u, err := e.users.UserByEmail(ctx, "mixed.case@EXAMPLE.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != id || u.Role != "manager" || u.RoleDisplayName != "Gerente" || !u.IsActive || u.IsVerified ||
		!slices.Equal(u.Permissions, []string{"user.read", "dashboard.read", "reports.read", "reports.export", "system.read"}) {
		t.Fatalf("user %+v", u)
	}
	byID, err := e.users.UserByID(ctx, id)
	if err != nil || byID.Email != "Mixed.Case@Example.com" {
		t.Fatalf("by id: %+v %v", byID, err)
	}
	// Inactive users are found (the caller decides); deleted ones are not.
	e.exec(`UPDATE auth.users SET is_active = false WHERE id = $1`, id)
	if u, err := e.users.UserByEmail(ctx, "mixed.case@example.com"); err != nil || u.IsActive {
		t.Fatalf("inactive: %+v %v", u, err)
	}
	e.exec(`UPDATE auth.users SET deleted_at = now() WHERE id = $1`, id)
	for _, lookup := range []func() (*User, error){
		func() (*User, error) { return e.users.UserByEmail(ctx, "mixed.case@example.com") },
		func() (*User, error) { return e.users.UserByID(ctx, id) },
		func() (*User, error) { return e.users.UserByID(ctx, "not-a-uuid") },
		func() (*User, error) { return e.users.UserByID(ctx, uuid.NewString()) },
	} {
		if _, err := lookup(); !errors.Is(err, ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	}
}

func TestUserLoginFailures(t *testing.T) {
	e := newUsersEnv(t)
	ctx := t.Context()
	id := e.user("f@example.com", "viewer")
	now := time.Date(2025, 6, 3, 12, 0, 0, 0, time.UTC)
	const lockout = 30 * time.Minute
	for i := 1; i <= 3; i++ {
		st, err := e.users.RecordLoginFailure(ctx, id, now, 3, lockout)
		if err != nil {
			t.Fatal(err)
		}
		locked := st.LockedUntil != nil
		if st.FailedAttempts != i || locked != (i == 3) {
			t.Fatalf("failure %d: %+v", i, st)
		}
		if locked && !st.LockedUntil.Equal(now.Add(lockout)) {
			t.Fatalf("locked until %v", st.LockedUntil)
		}
	}
	// After the lock runs out a failure starts a new count and clears the lock.
	st, err := e.users.RecordLoginFailure(ctx, id, now.Add(lockout), 3, lockout)
	if err != nil || st.FailedAttempts != 1 || st.LockedUntil != nil {
		t.Fatalf("after the lock: %+v %v", st, err)
	}
	if err := e.users.RecordLoginSuccess(ctx, id, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	u, err := e.users.UserByID(ctx, id)
	if err != nil || u.FailedLoginAttempts != 0 || u.LockedUntil != nil || u.LastLoginAt == nil || !u.LastLoginAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("after success: %+v %v", u, err)
	}
	if _, err := e.users.RecordLoginFailure(ctx, uuid.NewString(), now, 3, lockout); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestRefreshTokenRotation(t *testing.T) {
	e := newUsersEnv(t)
	ctx := t.Context()
	id := e.user("r@example.com", "viewer")
	now := time.Date(2025, 6, 3, 12, 0, 0, 0, time.UTC)
	const ttl = 7 * 24 * time.Hour
	if err := e.users.CreateRefreshToken(ctx, id, "h1", now, ttl); err != nil {
		t.Fatal(err)
	}
	if err := e.users.CreateRefreshToken(ctx, id, "other", now, ttl); err != nil { // another session
		t.Fatal(err)
	}
	got, err := e.users.RotateRefreshToken(ctx, "h1", "h2", now.Add(time.Hour), ttl)
	if err != nil || got != id {
		t.Fatalf("rotate: %q %v", got, err)
	}
	var sameFamily, linked bool
	var expires time.Time
	if err := e.pool.QueryRow(ctx, `
		SELECT o.family_id = n.family_id, o.replaced_by = n.id AND o.revoked_at IS NOT NULL AND n.revoked_at IS NULL, n.expires_at
		FROM auth.refresh_token o, auth.refresh_token n WHERE o.token_hash = 'h1' AND n.token_hash = 'h2'`).Scan(&sameFamily, &linked, &expires); err != nil {
		t.Fatal(err)
	}
	if !sameFamily || !linked || !expires.Equal(now.Add(time.Hour+ttl)) {
		t.Fatalf("same family %v, linked %v, expires %v", sameFamily, linked, expires)
	}
	// Reuse of h1 revokes the family, h2 included; the other session lives.
	if _, err := e.users.RotateRefreshToken(ctx, "h1", "h3", now.Add(2*time.Hour), ttl); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := e.users.RotateRefreshToken(ctx, "h2", "h4", now.Add(2*time.Hour), ttl); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("successor after reuse: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM auth.refresh_token WHERE token_hash IN ('h3', 'h4')`); n != 0 {
		t.Fatalf("%d successors issued on reuse", n)
	}
	if n := e.count(`SELECT count(*) FROM auth.refresh_token WHERE token_hash = 'other' AND revoked_at IS NULL`); n != 1 {
		t.Fatal("the other family was revoked")
	}
	if _, err := e.users.RotateRefreshToken(ctx, "unknown", "h5", now, ttl); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("unknown: %v", err)
	}
	// An expired token is refused and takes its family with it.
	if _, err := e.users.RotateRefreshToken(ctx, "other", "h6", now.Add(ttl), ttl); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("expired: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM auth.refresh_token WHERE revoked_at IS NULL`); n != 0 {
		t.Fatalf("%d live tokens", n)
	}
	// A deactivated user's token is refused.
	if err := e.users.CreateRefreshToken(ctx, id, "h7", now, ttl); err != nil {
		t.Fatal(err)
	}
	e.exec(`UPDATE auth.users SET is_active = false WHERE id = $1`, id)
	if _, err := e.users.RotateRefreshToken(ctx, "h7", "h8", now, ttl); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("inactive user: %v", err)
	}
}

// TestRefreshTokenConcurrentRotation: two uses of one token race; the row lock lets
// exactly one win and the loser, seeing a rotated token, revokes the family.
func TestRefreshTokenConcurrentRotation(t *testing.T) {
	e := newUsersEnv(t)
	ctx := t.Context()
	id := e.user("c@example.com", "viewer")
	now := time.Now()
	if err := e.users.CreateRefreshToken(ctx, id, "c0", now, time.Hour); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.users.RotateRefreshToken(ctx, "c0", "c"+string(rune('1'+i)), now, time.Hour) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrTokenInvalid):
			t.Fatal(err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d rotations succeeded: %v", ok, errs)
	}
	if n := e.count(`SELECT count(*) FROM auth.refresh_token WHERE revoked_at IS NULL`); n != 0 {
		t.Fatalf("%d live tokens after the race", n)
	}
}

func TestRefreshTokenRevoke(t *testing.T) {
	e := newUsersEnv(t)
	ctx := t.Context()
	alice, bob := e.user("alice@example.com", "viewer"), e.user("bob@example.com", "viewer")
	now := time.Now()
	for _, tok := range []struct{ user, hash string }{{alice, "a1"}, {alice, "a2"}, {alice, "a3"}, {bob, "b1"}} {
		if err := e.users.CreateRefreshToken(ctx, tok.user, tok.hash, now, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := e.users.RevokeRefreshToken(ctx, alice, "b1", now); err != nil || ok {
		t.Fatalf("revoked another user's token: %v %v", ok, err)
	}
	if ok, err := e.users.RevokeRefreshToken(ctx, alice, "a1", now); err != nil || !ok {
		t.Fatalf("revoke own: %v %v", ok, err)
	}
	if ok, _ := e.users.RevokeRefreshToken(ctx, alice, "a1", now); ok {
		t.Fatal("revoked twice")
	}
	if n, err := e.users.RevokeAllRefreshTokens(ctx, alice, now); err != nil || n != 2 {
		t.Fatalf("revoke all: %d %v", n, err)
	}
	live := e.count(`SELECT count(*) FROM auth.refresh_token WHERE revoked_at IS NULL`)
	if live != 1 {
		t.Fatalf("%d live tokens, want bob's", live)
	}
}

func TestBootstrapAdminStore(t *testing.T) {
	e := newUsersEnv(t)
	ctx := t.Context()
	viewer := e.user("viewer@example.com", "viewer")
	gone := e.user("gone@example.com", "analyst")
	e.exec(`UPDATE auth.users SET is_active = false, deleted_at = now() WHERE id = $1`, gone)
	inactiveAdmin := e.user("old@example.com", "admin")
	e.exec(`UPDATE auth.users SET is_active = false WHERE id = $1`, inactiveAdmin)

	if ok, err := e.users.ActiveAdminExists(ctx); err != nil || ok {
		t.Fatalf("active admin: %v %v", ok, err)
	}
	for _, tc := range []struct{ email, want string }{
		{"VIEWER@example.com", "existing viewer"},
		{"gone@example.com", "deleted analyst"},
		{"old@example.com", "inactive admin"},
	} {
		_, err := e.users.CreateBootstrapAdmin(ctx, NewAdmin{Email: tc.email, PasswordHash: "$2a$04$x", FirstName: "Admin", LastName: "pulso"})
		if !errors.Is(err, ErrEmailInUse) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: %v", tc.email, err)
		}
	}
	if n := e.count(`SELECT count(*) FROM auth.users WHERE id = $1 AND role = 'viewer'`, viewer); n != 1 {
		t.Fatal("the viewer was changed")
	}
	id, err := e.users.CreateBootstrapAdmin(ctx, NewAdmin{Email: "Root@Example.com", PasswordHash: "$2a$04$secret", FirstName: "Admin", LastName: "pulso"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.users.UserByID(ctx, id)
	if err != nil || u.Email != "root@example.com" || u.Role != "admin" || !u.IsActive || !u.IsVerified {
		t.Fatalf("admin %+v %v", u, err)
	}
	var audit string
	if err := e.pool.QueryRow(ctx, `
		SELECT new_values::text FROM auth.audit_log
		WHERE target_id = $1 AND action = 'user.bootstrap' AND actor_id IS NULL AND request_id IS NULL AND old_values IS NULL`, id).Scan(&audit); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(audit, "secret") || strings.Contains(audit, "password") || !strings.Contains(audit, `"role": "admin"`) {
		t.Fatalf("audit new_values %s", audit)
	}
	if ok, err := e.users.ActiveAdminExists(ctx); err != nil || !ok {
		t.Fatalf("active admin after bootstrap: %v %v", ok, err)
	}
	if _, err := e.users.CreateBootstrapAdmin(ctx, NewAdmin{Email: "second@example.com", PasswordHash: "x", FirstName: "A", LastName: "B"}); !errors.Is(err, ErrAdminExists) {
		t.Fatalf("second bootstrap: %v", err)
	}
}

// TestUserRevokeInTx: RevokeUserRefreshTokens joins the caller's transaction.
func TestUserRevokeInTx(t *testing.T) {
	tx := pgtest.Tx(t)
	ctx := t.Context()
	var id string
	if err := tx.QueryRow(ctx, `
		INSERT INTO auth.users (email, password_hash, first_name, last_name) VALUES ('tx@example.com', 'x', 'T', 'X')
		RETURNING id::text`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO auth.refresh_token (user_id, family_id, token_hash, expires_at)
		VALUES ($1, gen_random_uuid(), 'tx1', now() + interval '1 hour')`, id); err != nil {
		t.Fatal(err)
	}
	if n, err := RevokeUserRefreshTokens(ctx, tx, id, time.Now()); err != nil || n != 1 {
		t.Fatalf("revoked %d, %v", n, err)
	}
}
