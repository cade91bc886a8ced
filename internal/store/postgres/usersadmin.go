package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinels of user administration (api.md §1, §5).
var (
	// ErrLastAdmin: the change would leave no active admin.
	ErrLastAdmin = errors.New("the last active admin cannot be demoted, deactivated or deleted")
	// ErrAdminOnly: a non-admin tried to grant the admin role or to change an admin.
	ErrAdminOnly = errors.New("only an admin may grant, remove or edit the admin role")
	// ErrUnknownRole: the role is not a row of auth.roles.
	ErrUnknownRole = errors.New("unknown role")
)

// RoleAdmin is the role the admin rules protect.
const RoleAdmin = "admin"

// Audit actions written by user administration.
const (
	ActionUserCreate        = "user.create"
	ActionUserUpdate        = "user.update"
	ActionUserBulkUpdate    = "user.bulk_update"
	ActionUserDelete        = "user.delete"
	ActionUserProfileUpdate = "user.profile_update"
)

// Actor is who makes a change, and in which request; both go into the change's audit
// row. IsAdmin says whether the actor holds the admin role (the admin rules).
type Actor struct {
	// ID is the acting user ("" is the system: a NULL actor).
	ID        string
	IsAdmin   bool
	RequestID string
}

// Role is a row of auth.roles.
type Role struct {
	Name        string
	DisplayName string
	Permissions []string
}

// UserQuery selects a page of live users, newest first.
type UserQuery struct {
	// Role keeps one role ("" = every role).
	Role string
	// Search is a case-insensitive substring of the email, first or last name
	// ("" = none); LIKE metacharacters in it match themselves.
	Search string
	// IncludeInactive lists inactive users too.
	IncludeInactive bool
	Limit           int
	Offset          int64
}

// UserStatistics are the counts of GET /users/statistics, over live users.
type UserStatistics struct {
	Total        int64
	Verified     int64
	ActiveLast30 int64
	ActiveLast7  int64
	NewLast30    int64
	ByRole       []RoleCount
}

// RoleCount is the number of live users holding a role.
type RoleCount struct {
	Role  string
	Count int64
}

// NewUser is a user to create; PasswordHash is already bcrypt. Email is stored
// trimmed and lower-cased.
type NewUser struct {
	Email        string
	PasswordHash string
	FirstName    string
	LastName     string
	Role         string
}

// UserPatch is a partial change of a user: nil fields stay as they are.
type UserPatch struct {
	FirstName  *string
	LastName   *string
	Role       *string
	IsActive   *bool
	IsVerified *bool
	// PasswordHash is a new bcrypt hash; the audit row says "password_changed" only.
	PasswordHash *string
}

// mayRemoveAdmin: the patch could take a user out of the active admins, so the
// active admins must be locked before the target.
func (p UserPatch) mayRemoveAdmin() bool {
	return p.Role != nil || (p.IsActive != nil && !*p.IsActive)
}

// AuditEntry is a row of auth.audit_log; empty strings stand for NULL.
type AuditEntry struct {
	ID        int64
	At        time.Time
	ActorID   string
	Action    string
	TargetID  string
	OldValues json.RawMessage
	NewValues json.RawMessage
	RequestID string
}

// queryRower is a pool, connection or transaction.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// userOrder is the list order: newest first, the id breaking ties so pages are stable.
const userOrder = ` ORDER BY u.created_at DESC, u.id DESC`

// userFilter is the WHERE of a user list: $1 role ("" any), $2 include inactive,
// $3 LIKE pattern ("" none).
const userFilter = `
	FROM auth.users u JOIN auth.roles r ON r.name = u.role
	WHERE u.deleted_at IS NULL
	  AND ($1::text = '' OR u.role = $1)
	  AND ($2::boolean OR u.is_active)
	  AND ($3::text = '' OR u.email ILIKE $3 ESCAPE '\' OR u.first_name ILIKE $3 ESCAPE '\'
	       OR u.last_name ILIKE $3 ESCAPE '\')`

// likeContains is the ILIKE pattern matching s anywhere, with \, % and _ escaped.
func likeContains(s string) string {
	if s == "" {
		return ""
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// ListUsers returns one page of the users q selects and how many it selects in all,
// both read from one snapshot.
func (s *Users) ListUsers(ctx context.Context, q UserQuery) ([]*User, int64, error) {
	var users []*User
	var total int64
	limit, offset := q.Limit, q.Offset
	if limit <= 0 {
		limit = 20
	}
	offset = max(offset, 0)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		args := []any{q.Role, q.IncludeInactive, likeContains(q.Search)}
		if err := tx.QueryRow(ctx, `SELECT count(*)`+userFilter, args...).Scan(&total); err != nil {
			return err
		}
		var err error
		users, err = queryUsers(ctx, tx, `SELECT `+userColumns+userFilter+userOrder+` LIMIT $4 OFFSET $5`,
			append(args, limit, offset)...)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	return users, total, nil
}

// RecentUsers are the live users created at or after since, newest first.
func (s *Users) RecentUsers(ctx context.Context, since time.Time) ([]*User, error) {
	users, err := queryUsers(ctx, s.pool, `
		SELECT `+userColumns+`
		FROM auth.users u JOIN auth.roles r ON r.name = u.role
		WHERE u.deleted_at IS NULL AND u.created_at >= $1`+userOrder, since)
	if err != nil {
		return nil, fmt.Errorf("recent users: %w", err)
	}
	return users, nil
}

// ExportUsers are every live user, active or not, newest first.
func (s *Users) ExportUsers(ctx context.Context) ([]*User, error) {
	users, err := queryUsers(ctx, s.pool, `
		SELECT `+userColumns+`
		FROM auth.users u JOIN auth.roles r ON r.name = u.role
		WHERE u.deleted_at IS NULL`+userOrder)
	if err != nil {
		return nil, fmt.Errorf("export users: %w", err)
	}
	return users, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryUsers(ctx context.Context, q querier, sql string, args ...any) ([]*User, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	users, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*User, error) { return scanUser(row) })
	if err != nil {
		return nil, err
	}
	if users == nil {
		users = []*User{}
	}
	return users, nil
}

// roleOrder lists the fixed roles from the most to the least privileged; a role
// outside them sorts last, by name.
const roleOrder = ` ORDER BY array_position(ARRAY['admin', 'manager', 'analyst', 'viewer'], r.name) NULLS LAST, r.name`

// Statistics counts the live users (active or not) at now: verified, signed in
// within 30 and 7 days (last_login_at), created within 30 days, and per role (every
// role of auth.roles, zero included).
func (s *Users) Statistics(ctx context.Context, now time.Time) (UserStatistics, error) {
	var st UserStatistics
	const day = 24 * time.Hour
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			SELECT count(*),
			       count(*) FILTER (WHERE is_verified),
			       count(*) FILTER (WHERE last_login_at >= $1),
			       count(*) FILTER (WHERE last_login_at >= $2),
			       count(*) FILTER (WHERE created_at >= $1)
			FROM auth.users WHERE deleted_at IS NULL`, now.Add(-30*day), now.Add(-7*day)).
			Scan(&st.Total, &st.Verified, &st.ActiveLast30, &st.ActiveLast7, &st.NewLast30); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT r.name, count(u.id)
			FROM auth.roles r LEFT JOIN auth.users u ON u.role = r.name AND u.deleted_at IS NULL
			GROUP BY r.name`+roleOrder)
		if err != nil {
			return err
		}
		st.ByRole, err = pgx.CollectRows(rows, pgx.RowToStructByPos[RoleCount])
		return err
	})
	if err != nil {
		return UserStatistics{}, fmt.Errorf("user statistics: %w", err)
	}
	return st, nil
}

// Roles are the rows of auth.roles, most privileged first.
func (s *Users) Roles(ctx context.Context) ([]Role, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.name, r.display_name, r.permissions FROM auth.roles r`+roleOrder)
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	roles, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Role])
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	return roles, nil
}

// RoleByName is one role; ErrNotFound when there is none.
func (s *Users) RoleByName(ctx context.Context, name string) (*Role, error) {
	var r Role
	err := s.pool.QueryRow(ctx, `SELECT name, display_name, permissions FROM auth.roles WHERE name = $1`, name).
		Scan(&r.Name, &r.DisplayName, &r.Permissions)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", name, err)
	}
	return &r, nil
}

// CreateUser creates an active, unverified user at now, with its audit row
// (user.create) in the same transaction, and returns it. ErrEmailInUse when a live
// user has the address (case-insensitively; deleted users' addresses are free),
// ErrAdminOnly when a non-admin creates an admin, ErrUnknownRole.
func (s *Users) CreateUser(ctx context.Context, nu NewUser, actor Actor, now time.Time) (*User, error) {
	now = now.Truncate(time.Microsecond) // PostgreSQL's precision: the audit values match the row
	if nu.Role == RoleAdmin && !actor.IsAdmin {
		return nil, ErrAdminOnly
	}
	var u *User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id uuid.UUID
		err := tx.QueryRow(ctx, `
			INSERT INTO auth.users (email, password_hash, first_name, last_name, role, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
			strings.ToLower(strings.TrimSpace(nu.Email)), nu.PasswordHash, nu.FirstName, nu.LastName, nu.Role, now).Scan(&id)
		if err != nil {
			return userWriteError(err)
		}
		if u, err = userByID(ctx, tx, id); err != nil {
			return err
		}
		return writeAudit(ctx, tx, actor, ActionUserCreate, u.ID, nil, auditSnapshot(u), now)
	})
	if err != nil {
		return nil, wrapUnlessSentinel("create user", err)
	}
	return u, nil
}

// UpdateUser applies a partial change to a live user at now and returns the user as
// it is after the change. In one transaction: the target (and, when the patch could
// take it out of the admins, every active admin first, in id order) is locked, the
// admin rules are checked, the row is changed, refresh tokens are revoked on a
// deactivation or a password change, and the audit row (action, changed fields
// only, never a hash) is written. A patch that changes nothing writes nothing.
// ErrNotFound, ErrAdminOnly (a non-admin granting the admin role or changing an
// admin), ErrLastAdmin, ErrUnknownRole.
func (s *Users) UpdateUser(ctx context.Context, id string, p UserPatch, action string, actor Actor, now time.Time) (*User, error) {
	now = now.Truncate(time.Microsecond) // PostgreSQL's precision: the audit values match the row
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, ErrNotFound
	}
	var u *User
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		activeAdmins, err := lockUser(ctx, tx, uid, p.mayRemoveAdmin())
		if err != nil {
			return err
		}
		cur, err := userByID(ctx, tx, uid)
		if err != nil {
			return err
		}
		if !actor.IsAdmin && (cur.Role == RoleAdmin || (p.Role != nil && *p.Role == RoleAdmin)) {
			return ErrAdminOnly
		}
		wasActiveAdmin := cur.Role == RoleAdmin && cur.IsActive
		staysActiveAdmin := (p.Role == nil || *p.Role == RoleAdmin) && (p.IsActive == nil || *p.IsActive)
		if wasActiveAdmin && !staysActiveAdmin && activeAdmins <= 1 {
			return ErrLastAdmin
		}
		set, oldV, newV := diffPatch(cur, p)
		if len(newV) == 0 {
			u = cur
			return nil
		}
		if _, err := tx.Exec(ctx, `
			UPDATE auth.users SET
				first_name    = COALESCE($2, first_name),
				last_name     = COALESCE($3, last_name),
				role          = COALESCE($4, role),
				is_active     = COALESCE($5, is_active),
				is_verified   = COALESCE($6, is_verified),
				password_hash = COALESCE($7, password_hash),
				updated_at    = $8
			WHERE id = $1`, uid, set.FirstName, set.LastName, set.Role, set.IsActive, set.IsVerified,
			set.PasswordHash, now); err != nil {
			return userWriteError(err)
		}
		if (set.IsActive != nil && !*set.IsActive) || set.PasswordHash != nil {
			if _, err := RevokeUserRefreshTokens(ctx, tx, cur.ID, now); err != nil {
				return err
			}
		}
		if u, err = userByID(ctx, tx, uid); err != nil {
			return err
		}
		return writeAudit(ctx, tx, actor, action, cur.ID, oldV, newV, now)
	})
	if err != nil {
		return nil, wrapUnlessSentinel("update user", err)
	}
	return u, nil
}

// DeleteUser soft-deletes a live user at now: deleted_at set, inactive, refresh
// tokens revoked and the audit row (user.delete) written, in one transaction with
// the active admins locked. ErrNotFound, ErrAdminOnly (a non-admin deleting an
// admin), ErrLastAdmin. Whether one may delete oneself is the caller's rule.
func (s *Users) DeleteUser(ctx context.Context, id string, actor Actor, now time.Time) error {
	now = now.Truncate(time.Microsecond) // PostgreSQL's precision: the audit values match the row
	uid, err := uuid.Parse(id)
	if err != nil {
		return ErrNotFound
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		activeAdmins, err := lockUser(ctx, tx, uid, true)
		if err != nil {
			return err
		}
		cur, err := userByID(ctx, tx, uid)
		if err != nil {
			return err
		}
		if !actor.IsAdmin && cur.Role == RoleAdmin {
			return ErrAdminOnly
		}
		if cur.Role == RoleAdmin && cur.IsActive && activeAdmins <= 1 {
			return ErrLastAdmin
		}
		if _, err := tx.Exec(ctx, `
			UPDATE auth.users SET deleted_at = $2, is_active = false, updated_at = $2 WHERE id = $1`, uid, now); err != nil {
			return err
		}
		revoked, err := RevokeUserRefreshTokens(ctx, tx, cur.ID, now)
		if err != nil {
			return err
		}
		newV := map[string]any{"deleted_at": now.UTC().Format(time.RFC3339Nano), "is_active": false,
			"refresh_tokens_revoked": revoked}
		return writeAudit(ctx, tx, actor, ActionUserDelete, cur.ID, auditSnapshot(cur), newV, now)
	})
	return wrapUnlessSentinel("delete user", err)
}

// AuditEntries are the audit rows about a user, oldest first.
func (s *Users) AuditEntries(ctx context.Context, targetID string) ([]AuditEntry, error) {
	uid, err := uuid.Parse(targetID)
	if err != nil {
		return nil, ErrNotFound
	}
	rows, err := s.pool.Query(ctx, `
		SELECT id, at, COALESCE(actor_id::text, ''), action, COALESCE(target_id::text, ''),
		       old_values, new_values, COALESCE(request_id, '')
		FROM auth.audit_log WHERE target_id = $1 ORDER BY id`, uid)
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		var oldV, newV []byte
		err := row.Scan(&e.ID, &e.At, &e.ActorID, &e.Action, &e.TargetID, &oldV, &newV, &e.RequestID)
		e.OldValues, e.NewValues = oldV, newV
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	return entries, nil
}

// lockUser locks the target row and, with admins, every active admin too, in id
// order (so two such transactions never wait on each other in a cycle), and returns
// how many active admins it locked. FOR NO KEY UPDATE leaves the key-share locks
// that refresh-token inserts take free. Under READ COMMITTED a row changed by a
// transaction that committed while we waited is re-checked against the WHERE, so an
// admin demoted meanwhile is not counted: two concurrent demotions cannot both see
// two admins.
func lockUser(ctx context.Context, tx pgx.Tx, id uuid.UUID, admins bool) (int, error) {
	if !admins {
		_, err := tx.Exec(ctx, `SELECT 1 FROM auth.users WHERE id = $1 FOR NO KEY UPDATE`, id)
		return 0, err
	}
	rows, err := tx.Query(ctx, `
		SELECT role = 'admin' AND is_active AND deleted_at IS NULL
		FROM auth.users
		WHERE (role = 'admin' AND is_active AND deleted_at IS NULL) OR id = $1
		ORDER BY id
		FOR NO KEY UPDATE`, id)
	if err != nil {
		return 0, err
	}
	flags, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return 0, err
	}
	n := 0
	for _, isAdmin := range flags {
		if isAdmin {
			n++
		}
	}
	return n, nil
}

func userByID(ctx context.Context, q queryRower, id uuid.UUID) (*User, error) {
	return scanUser(q.QueryRow(ctx, `
		SELECT `+userColumns+`
		FROM auth.users u JOIN auth.roles r ON r.name = u.role
		WHERE u.id = $1 AND u.deleted_at IS NULL`, id))
}

// diffPatch keeps the fields of p that differ from cur (set) and the audit values
// before and after for them; a new password is recorded as "password_changed".
func diffPatch(cur *User, p UserPatch) (set UserPatch, oldV, newV map[string]any) {
	oldV, newV = map[string]any{}, map[string]any{}
	str := func(name string, to *string, from string, dst **string) {
		if to != nil && *to != from {
			*dst = to
			oldV[name], newV[name] = from, *to
		}
	}
	boolean := func(name string, to *bool, from bool, dst **bool) {
		if to != nil && *to != from {
			*dst = to
			oldV[name], newV[name] = from, *to
		}
	}
	str("first_name", p.FirstName, cur.FirstName, &set.FirstName)
	str("last_name", p.LastName, cur.LastName, &set.LastName)
	str("role", p.Role, cur.Role, &set.Role)
	boolean("is_active", p.IsActive, cur.IsActive, &set.IsActive)
	boolean("is_verified", p.IsVerified, cur.IsVerified, &set.IsVerified)
	if p.PasswordHash != nil {
		set.PasswordHash = p.PasswordHash
		newV["password_changed"] = true
	}
	return set, oldV, newV
}

// auditSnapshot is a user's audited fields (never the hash).
func auditSnapshot(u *User) map[string]any {
	return map[string]any{"email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
		"role": u.Role, "is_active": u.IsActive, "is_verified": u.IsVerified}
}

// writeAudit inserts one audit row; nil values are NULL, as are an empty actor or
// request id.
func writeAudit(ctx context.Context, tx pgx.Tx, actor Actor, action, targetID string, oldV, newV map[string]any, now time.Time) error {
	jsonOrNil := func(m map[string]any) (any, error) {
		if m == nil {
			return nil, nil
		}
		b, err := json.Marshal(m)
		return string(b), err
	}
	oldJSON, err := jsonOrNil(oldV)
	if err != nil {
		return err
	}
	newJSON, err := jsonOrNil(newV)
	if err != nil {
		return err
	}
	var actorID, requestID any
	if actor.ID != "" {
		actorID = actor.ID
	}
	if actor.RequestID != "" {
		requestID = actor.RequestID
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO auth.audit_log (at, actor_id, action, target_id, old_values, new_values, request_id)
		VALUES ($1, $2::uuid, $3, $4::uuid, $5::jsonb, $6::jsonb, $7)`,
		now, actorID, action, targetID, oldJSON, newJSON, requestID)
	if err != nil {
		return fmt.Errorf("write audit %s: %w", action, err)
	}
	return nil
}

// userWriteError maps the constraint violations of a user insert or update.
func userWriteError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505" && pgErr.ConstraintName == "users_email_key":
			return ErrEmailInUse
		case pgErr.Code == "23503" && pgErr.ConstraintName == "users_role_fkey":
			return ErrUnknownRole
		}
	}
	return err
}

func wrapUnlessSentinel(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrEmailInUse), errors.Is(err, ErrAdminOnly),
		errors.Is(err, ErrLastAdmin), errors.Is(err, ErrUnknownRole):
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// PageOffset is the row offset of a 1-based page, saturating instead of overflowing.
func PageOffset(page, perPage int) int64 {
	if page <= 1 || perPage <= 0 {
		return 0
	}
	if int64(page-1) > math.MaxInt64/int64(perPage) {
		return math.MaxInt64
	}
	return int64(page-1) * int64(perPage)
}
