-- onboarder schema, version 11 (SQLite): single sign-on (OpenID Connect).
-- A session's role as the identity provider stated it at login ('' for a
-- password login: the role is the user's own).
ALTER TABLE ops_sessions ADD COLUMN role TEXT NOT NULL DEFAULT '';
-- Logins started at the identity provider and not yet finished: only the
-- SHA-256 of the browser's cookie is kept; a row is deleted when it is used,
-- so a callback works once.
CREATE TABLE oidc_logins (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash    TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    verifier    TEXT NOT NULL,
    next        TEXT NOT NULL,
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL
);
CREATE INDEX oidc_logins_expiry_idx ON oidc_logins (expires_at);
