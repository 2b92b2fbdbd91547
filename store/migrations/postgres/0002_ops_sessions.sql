-- onboarder schema, version 2 (PostgreSQL): console sessions.
-- Only the SHA-256 of a session token is stored.
CREATE TABLE ops_sessions (
    id            BIGSERIAL PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    user_id       BIGINT NOT NULL REFERENCES ops_users (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX ops_sessions_expiry_idx ON ops_sessions (expires_at);
CREATE INDEX audit_link_idx ON audit_entries (link_id);
