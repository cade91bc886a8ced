package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sentinels of the auth tables (api.md §1).
var (
	// ErrTokenInvalid: a refresh token is unknown, expired, revoked or already rotated,
	// or its user can no longer sign in.
	ErrTokenInvalid = errors.New("refresh token invalid")
	// ErrEmailInUse: the address belongs to a user (live, or soft-deleted where the
	// caller says deleted users count).
	ErrEmailInUse = errors.New("email in use")
	// ErrAdminExists: an active admin already exists, so no bootstrap admin is made.
	ErrAdminExists = errors.New("an active admin exists")
)

// User is a row of auth.users with its role's display name and permissions.
type User struct {
	ID                  string
	Email               string
	PasswordHash        string
	FirstName           string
	LastName            string
	Role                string
	RoleDisplayName     string
	Permissions         []string
	IsActive            bool
	IsVerified          bool
	FailedLoginAttempts int
	LockedUntil         *time.Time
	LastLoginAt         *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// LoginState is a user's lockout state after a failed login.
type LoginState struct {
	FailedAttempts int
	// LockedUntil is set while the account is locked.
	LockedUntil *time.Time
}

// Users is the SQL of authentication: users, refresh tokens, the bootstrap admin.
type Users struct{ pool *pgxpool.Pool }

// NewUsers wraps a pool.
func NewUsers(pool *pgxpool.Pool) *Users { return &Users{pool: pool} }

// userColumns match scanUser; u is auth.users, r auth.roles.
const userColumns = `u.id::text, u.email, u.password_hash, u.first_name, u.last_name, u.role,
	r.display_name, r.permissions, u.is_active, u.is_verified, u.failed_login_attempts,
	u.locked_until, u.last_login_at, u.created_at, u.updated_at`

func scanUser(row pgx.Row) (*User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.FirstName, &u.LastName, &u.Role,
		&u.RoleDisplayName, &u.Permissions, &u.IsActive, &u.IsVerified, &u.FailedLoginAttempts,
		&u.LockedUntil, &u.LastLoginAt, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// UserByEmail finds a live (not deleted) user by email, case-insensitively; the
// user may be inactive. ErrNotFound when there is none.
func (s *Users) UserByEmail(ctx context.Context, email string) (*User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `
		SELECT `+userColumns+`
		FROM auth.users u JOIN auth.roles r ON r.name = u.role
		WHERE lower(u.email) = lower($1) AND u.deleted_at IS NULL`, email))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("user by email: %w", err)
	}
	return u, err
}

// UserByID finds a live user by id with its current role's permissions. A malformed
// id is ErrNotFound like a missing one.
func (s *Users) UserByID(ctx context.Context, id string) (*User, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, ErrNotFound
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `
		SELECT `+userColumns+`
		FROM auth.users u JOIN auth.roles r ON r.name = u.role
		WHERE u.id = $1 AND u.deleted_at IS NULL`, uid))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("user by id: %w", err)
	}
	return u, err
}

// RecordLoginFailure counts one failed login and locks the account for lockout
// once maxFailures consecutive failures are reached. A lock that has run out
// starts the count again, so each lock takes maxFailures new failures.
func (s *Users) RecordLoginFailure(ctx context.Context, userID string, now time.Time, maxFailures int, lockout time.Duration) (LoginState, error) {
	var st LoginState
	// One UPDATE so concurrent failures each count: SET sees the newest row version.
	err := s.pool.QueryRow(ctx, `
		UPDATE auth.users
		SET failed_login_attempts = CASE WHEN locked_until <= $2 THEN 1 ELSE failed_login_attempts + 1 END,
		    locked_until = CASE
		        WHEN (CASE WHEN locked_until <= $2 THEN 1 ELSE failed_login_attempts + 1 END) >= $3
		            THEN $2::timestamptz + $4::interval
		        WHEN locked_until <= $2 THEN NULL
		        ELSE locked_until END
		WHERE id = $1::uuid
		RETURNING failed_login_attempts, locked_until`,
		userID, now, maxFailures, lockout).Scan(&st.FailedAttempts, &st.LockedUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, ErrNotFound
	}
	if err != nil {
		return st, fmt.Errorf("record login failure: %w", err)
	}
	return st, nil
}

// RecordLoginSuccess resets the failure count and lock and stamps last_login_at.
func (s *Users) RecordLoginSuccess(ctx context.Context, userID string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE auth.users SET failed_login_attempts = 0, locked_until = NULL, last_login_at = $2
		WHERE id = $1::uuid`, userID, now)
	if err != nil {
		return fmt.Errorf("record login success: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// CreateRefreshToken stores a new token (its SHA-256 hex) as the first of a new family.
func (s *Users) CreateRefreshToken(ctx context.Context, userID, tokenHash string, now time.Time, ttl time.Duration) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO auth.refresh_token (user_id, family_id, token_hash, issued_at, expires_at)
		VALUES ($1::uuid, gen_random_uuid(), $2, $3::timestamptz, $3::timestamptz + $4::interval)`, userID, tokenHash, now, ttl)
	if err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// RotateRefreshToken exchanges the token hashed oldHash for a successor hashed
// newHash in the same family and returns the user id. An unknown token is
// ErrTokenInvalid; a revoked, rotated or expired one (reuse of a stolen token, or a
// replay) revokes its whole family, commits that, and is ErrTokenInvalid too, as is
// a token whose user is inactive or deleted. The row lock serialises concurrent
// uses of one token: the second sees it rotated.
func (s *Users) RotateRefreshToken(ctx context.Context, oldHash, newHash string, now time.Time, ttl time.Duration) (string, error) {
	userID, err := s.rotate(ctx, oldHash, newHash, now, ttl)
	if err != nil && !errors.Is(err, ErrTokenInvalid) {
		return "", fmt.Errorf("rotate refresh token: %w", err)
	}
	return userID, err
}

func (s *Users) rotate(ctx context.Context, oldHash, newHash string, now time.Time, ttl time.Duration) (string, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var id, userID, familyID string
	var expiresAt time.Time
	var revokedAt *time.Time
	var replacedBy *string
	var userOK bool
	err = tx.QueryRow(ctx, `
		SELECT t.id::text, t.user_id::text, t.family_id::text, t.expires_at, t.revoked_at, t.replaced_by::text,
		       u.is_active AND u.deleted_at IS NULL
		FROM auth.refresh_token t JOIN auth.users u ON u.id = t.user_id
		WHERE t.token_hash = $1
		FOR UPDATE OF t`, oldHash).Scan(&id, &userID, &familyID, &expiresAt, &revokedAt, &replacedBy, &userOK)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrTokenInvalid
	}
	if err != nil {
		return "", err
	}
	if revokedAt != nil || replacedBy != nil || !expiresAt.After(now) || !userOK {
		if _, err := tx.Exec(ctx, `
			UPDATE auth.refresh_token SET revoked_at = $2
			WHERE family_id = $1::uuid AND revoked_at IS NULL`, familyID, now); err != nil {
			return "", err
		}
		if err := tx.Commit(ctx); err != nil {
			return "", err
		}
		return "", ErrTokenInvalid
	}
	var newID string
	if err := tx.QueryRow(ctx, `
		INSERT INTO auth.refresh_token (user_id, family_id, token_hash, issued_at, expires_at)
		VALUES ($1::uuid, $2::uuid, $3, $4::timestamptz, $4::timestamptz + $5::interval) RETURNING id::text`,
		userID, familyID, newHash, now, ttl).Scan(&newID); err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, `
		UPDATE auth.refresh_token SET replaced_by = $2::uuid, revoked_at = $3 WHERE id = $1::uuid`,
		id, newID, now); err != nil {
		return "", err
	}
	if err := tx.Commit(ctx); err != nil {
		return "", err
	}
	return userID, nil
}

// RevokeRefreshToken revokes one token if it belongs to userID and is not revoked
// yet; it reports whether it did.
func (s *Users) RevokeRefreshToken(ctx context.Context, userID, tokenHash string, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE auth.refresh_token SET revoked_at = $3
		WHERE token_hash = $1 AND user_id = $2::uuid AND revoked_at IS NULL`, tokenHash, userID, now)
	if err != nil {
		return false, fmt.Errorf("revoke refresh token: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// RevokeAllRefreshTokens revokes every live token of a user (logout everywhere,
// password change, deactivation) and returns how many.
func (s *Users) RevokeAllRefreshTokens(ctx context.Context, userID string, now time.Time) (int64, error) {
	return RevokeUserRefreshTokens(ctx, s.pool, userID, now)
}

// Execer is a pool, connection or transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// RevokeUserRefreshTokens is RevokeAllRefreshTokens inside the caller's
// transaction, so a deactivation and its revocation commit together.
func RevokeUserRefreshTokens(ctx context.Context, q Execer, userID string, now time.Time) (int64, error) {
	tag, err := q.Exec(ctx, `
		UPDATE auth.refresh_token SET revoked_at = $2
		WHERE user_id = $1::uuid AND revoked_at IS NULL`, userID, now)
	if err != nil {
		return 0, fmt.Errorf("revoke refresh tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ActiveAdminExists reports whether a live, active admin exists.
func (s *Users) ActiveAdminExists(ctx context.Context) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM auth.users WHERE role = 'admin' AND is_active AND deleted_at IS NULL)`).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("find active admin: %w", err)
	}
	return ok, nil
}

// NewAdmin is the bootstrap admin to create; PasswordHash is already bcrypt.
type NewAdmin struct {
	Email        string
	PasswordHash string
	FirstName    string
	LastName     string
}

// bootstrapLockKey serialises bootstrap between replicas starting together ("pulsoadm").
const bootstrapLockKey int64 = 0x70756c736f61646d

// CreateBootstrapAdmin creates an active, verified admin with an audit row (actor
// and request id NULL, action user.bootstrap) and returns its id. It never touches
// an existing user: ErrEmailInUse (wrapped with who holds it) when any user, even a
// deleted one, has the address; ErrAdminExists when another process made an active
// admin first.
func (s *Users) CreateBootstrapAdmin(ctx context.Context, a NewAdmin) (string, error) {
	var id string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, bootstrapLockKey); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM auth.users WHERE role = 'admin' AND is_active AND deleted_at IS NULL)`).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return ErrAdminExists
		}
		var role string
		var deleted, active bool
		err := tx.QueryRow(ctx, `
			SELECT role, deleted_at IS NOT NULL, is_active FROM auth.users
			WHERE lower(email) = lower($1)
			ORDER BY deleted_at IS NULL DESC LIMIT 1`, a.Email).Scan(&role, &deleted, &active)
		switch {
		case err == nil && deleted:
			return fmt.Errorf("%w: it belongs to a deleted %s user", ErrEmailInUse, role)
		case err == nil && role == "admin" && !active:
			return fmt.Errorf("%w: it belongs to an inactive admin", ErrEmailInUse)
		case err == nil:
			return fmt.Errorf("%w: it belongs to an existing %s user", ErrEmailInUse, role)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		// new_values is built from the inserted row and leaves the hash out.
		return tx.QueryRow(ctx, `
			WITH u AS (
				INSERT INTO auth.users (email, password_hash, first_name, last_name, role, is_active, is_verified)
				VALUES (lower($1), $2, $3, $4, 'admin', true, true)
				RETURNING id, email, first_name, last_name, role, is_active, is_verified
			), a AS (
				INSERT INTO auth.audit_log (actor_id, action, target_id, new_values, request_id)
				SELECT NULL, 'user.bootstrap', u.id, jsonb_build_object('email', u.email,
					'first_name', u.first_name, 'last_name', u.last_name, 'role', u.role,
					'is_active', u.is_active, 'is_verified', u.is_verified), NULL
				FROM u
			)
			SELECT id::text FROM u`, a.Email, a.PasswordHash, a.FirstName, a.LastName).Scan(&id)
	})
	switch {
	case errors.Is(err, ErrAdminExists), errors.Is(err, ErrEmailInUse):
		return "", err
	case err != nil:
		return "", fmt.Errorf("create bootstrap admin: %w", err)
	}
	return id, nil
}
