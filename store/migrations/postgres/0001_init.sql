-- onboarder schema, version 1 (PostgreSQL)
CREATE TABLE partners (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    locale      TEXT NOT NULL DEFAULT 'en',
    trusted     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE sender_rules (
    id          BIGSERIAL PRIMARY KEY,
    partner_id  BIGINT NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('email', 'domain')),
    value       TEXT NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX sender_rules_partner_idx ON sender_rules (partner_id);

CREATE TABLE organizations (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
    admin_name   TEXT NOT NULL DEFAULT '',
    admin_email  TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT '',
    locale       TEXT NOT NULL DEFAULT 'en',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE requests (
    id               BIGSERIAL PRIMARY KEY,
    state            TEXT NOT NULL,
    partner_id       BIGINT REFERENCES partners (id),
    customer_name    TEXT NOT NULL DEFAULT '',
    organization_id  TEXT,
    sender           TEXT NOT NULL DEFAULT '',
    message_id       TEXT NOT NULL DEFAULT '',
    subject          TEXT NOT NULL DEFAULT '',
    contact_email    TEXT NOT NULL DEFAULT '',
    note             TEXT NOT NULL DEFAULT '',
    received_at      TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX requests_state_idx ON requests (state, received_at);
CREATE INDEX requests_org_idx ON requests (organization_id);
-- One open request per partner and organization, whatever the workers do.
CREATE UNIQUE INDEX requests_open_uniq ON requests (partner_id, organization_id)
    WHERE state IN ('pending_approval', 'invited');

CREATE TABLE findings (
    id          BIGSERIAL PRIMARY KEY,
    request_id  BIGINT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    code        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX findings_request_idx ON findings (request_id);

CREATE TABLE messages (
    id            BIGSERIAL PRIMARY KEY,
    mailbox       TEXT NOT NULL,
    uid_validity  BIGINT NOT NULL,
    uid           BIGINT NOT NULL,
    message_id    TEXT NOT NULL DEFAULT '',
    from_addr     TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL DEFAULT '',
    disposition   TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    request_id    BIGINT REFERENCES requests (id),
    size          BIGINT NOT NULL DEFAULT 0,
    raw           BYTEA,
    raw_sha256    TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    received_at   TIMESTAMPTZ NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (mailbox, uid_validity, uid)
);
CREATE INDEX messages_message_id_idx ON messages (message_id);
CREATE INDEX messages_sha_idx ON messages (raw_sha256);
CREATE INDEX messages_request_idx ON messages (request_id);

CREATE TABLE links (
    id               BIGSERIAL PRIMARY KEY,
    partner_id       BIGINT NOT NULL REFERENCES partners (id),
    organization_id  TEXT NOT NULL,
    type             TEXT NOT NULL DEFAULT 'reseller',
    status           TEXT NOT NULL,
    request_id       BIGINT REFERENCES requests (id),
    started_at       TIMESTAMPTZ NOT NULL,
    ended_at         TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX links_live_uniq ON links (partner_id, organization_id)
    WHERE status IN ('invited', 'active');
CREATE INDEX links_org_idx ON links (organization_id);

CREATE TABLE invitations (
    id          BIGSERIAL PRIMARY KEY,
    link_id     BIGINT NOT NULL REFERENCES links (id),
    request_id  BIGINT NOT NULL REFERENCES requests (id),
    token_hash  TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX invitations_request_idx ON invitations (request_id);
CREATE INDEX invitations_expiry_idx ON invitations (status, expires_at);

CREATE TABLE outbox_mails (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL,
    request_id       BIGINT REFERENCES requests (id),
    from_addr        TEXT NOT NULL,
    reply_to         TEXT NOT NULL DEFAULT '',
    to_addrs         TEXT NOT NULL,
    subject          TEXT NOT NULL,
    text_body        TEXT NOT NULL,
    html_body        TEXT NOT NULL DEFAULT '',
    message_id       TEXT NOT NULL UNIQUE,
    in_reply_to      TEXT NOT NULL DEFAULT '',
    refs             TEXT NOT NULL DEFAULT '',
    auto_submitted   TEXT NOT NULL DEFAULT 'auto-generated',
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_attempt_at  TIMESTAMPTZ,
    locked_by        TEXT NOT NULL DEFAULT '',
    locked_until     TIMESTAMPTZ,
    last_error       TEXT NOT NULL DEFAULT '',
    sent_at          TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbox_due_idx ON outbox_mails (status, next_attempt_at);
CREATE INDEX outbox_request_idx ON outbox_mails (request_id);

CREATE TABLE audit_entries (
    id          BIGSERIAL PRIMARY KEY,
    request_id  BIGINT REFERENCES requests (id),
    link_id     BIGINT REFERENCES links (id),
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    from_state  TEXT NOT NULL DEFAULT '',
    to_state    TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_request_idx ON audit_entries (request_id);

CREATE TABLE mailbox_cursors (
    mailbox       TEXT PRIMARY KEY,
    uid_validity  BIGINT NOT NULL,
    last_uid      BIGINT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE ops_users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
