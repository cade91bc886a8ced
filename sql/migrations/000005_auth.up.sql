-- auth: API users, roles, refresh tokens and the audit trail (api.md §1, §5).
-- gen_random_uuid() is built into PostgreSQL 13+, no extension needed.

CREATE SCHEMA auth;

-- The four fixed roles; permissions are data so the API reads them, not hard-codes them.
CREATE TABLE auth.roles (
    name         TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    permissions  TEXT[] NOT NULL DEFAULT '{}',
    CONSTRAINT roles_pkey PRIMARY KEY (name)
);

INSERT INTO auth.roles (name, display_name, permissions) VALUES
    ('admin', 'Administrador', ARRAY['user.read', 'user.create', 'user.update', 'user.delete',
        'dashboard.read', 'reports.read', 'reports.export', 'system.read', 'system.configure']),
    ('manager', 'Gerente', ARRAY['user.read', 'dashboard.read', 'reports.read', 'reports.export', 'system.read']),
    ('analyst', 'Analista', ARRAY['dashboard.read', 'reports.read', 'reports.export']),
    ('viewer', 'Visualizador', ARRAY['dashboard.read']);

-- Soft-deleted users keep their row (audit, foreign keys); the email is unique only
-- among live users, so a deleted user's address can be reused.
CREATE TABLE auth.users (
    id                    UUID        NOT NULL DEFAULT gen_random_uuid(),
    email                 TEXT        NOT NULL,
    password_hash         TEXT        NOT NULL,
    first_name            TEXT        NOT NULL,
    last_name             TEXT        NOT NULL,
    role                  TEXT        NOT NULL DEFAULT 'viewer',
    is_active             BOOLEAN     NOT NULL DEFAULT true,
    is_verified           BOOLEAN     NOT NULL DEFAULT false,
    failed_login_attempts INTEGER     NOT NULL DEFAULT 0,
    locked_until          TIMESTAMPTZ,
    last_login_at         TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at            TIMESTAMPTZ,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_role_fkey FOREIGN KEY (role) REFERENCES auth.roles (name),
    CONSTRAINT users_failed_login_attempts_check CHECK (failed_login_attempts >= 0),
    -- A deleted user is inactive (api.md §5: soft delete sets deleted_at and inactive).
    CONSTRAINT users_deleted_inactive_check CHECK (deleted_at IS NULL OR NOT is_active)
);

CREATE UNIQUE INDEX users_email_key ON auth.users (lower(email)) WHERE deleted_at IS NULL;
-- GET /users lists newest first.
CREATE INDEX users_created_at_idx ON auth.users (created_at);

-- Refresh tokens are stored only as their SHA-256; rotation links a token to its
-- successor and a family, so reuse of a rotated token can revoke the whole family.
CREATE TABLE auth.refresh_token (
    id          UUID        NOT NULL DEFAULT gen_random_uuid(),
    user_id     UUID        NOT NULL,
    family_id   UUID        NOT NULL,
    token_hash  TEXT        NOT NULL,
    issued_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ,
    replaced_by UUID,
    CONSTRAINT refresh_token_pkey PRIMARY KEY (id),
    CONSTRAINT refresh_token_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_token_user_fkey FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE,
    CONSTRAINT refresh_token_replaced_by_fkey FOREIGN KEY (replaced_by) REFERENCES auth.refresh_token (id) ON DELETE SET NULL,
    CONSTRAINT refresh_token_expiry_check CHECK (expires_at > issued_at)
);

CREATE INDEX refresh_token_user_idx ON auth.refresh_token (user_id);
CREATE INDEX refresh_token_family_idx ON auth.refresh_token (family_id);
-- prune deletes expired tokens.
CREATE INDEX refresh_token_expires_idx ON auth.refresh_token (expires_at);

-- Every user change. No foreign keys: the trail outlives what it describes and the
-- actor may be the system (bootstrap, NULL actor).
CREATE TABLE auth.audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY,
    at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_id   UUID,
    action     TEXT        NOT NULL,
    target_id  UUID,
    old_values JSONB,
    new_values JSONB,
    request_id TEXT,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id)
);

-- prune (rows older than 2 years) and per-user history.
CREATE INDEX audit_log_at_idx ON auth.audit_log (at);
CREATE INDEX audit_log_target_idx ON auth.audit_log (target_id);
