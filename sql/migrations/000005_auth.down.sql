DROP TABLE auth.audit_log;
DROP TABLE auth.refresh_token;
DROP TABLE auth.users;
DROP TABLE auth.roles;
DROP SCHEMA auth;
