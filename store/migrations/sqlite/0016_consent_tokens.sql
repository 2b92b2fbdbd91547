-- onboarder schema, version 16 (SQLite): consent tokens.
-- A single-use link that asks a partner for its consent: a partner an
-- organization's administrator asked for (customer first), or a reseller a
-- distributor named (tier 2). Like an invitation, only the token's SHA-256
-- is stored, and only from when the mail carrying it is sent.
CREATE TABLE consent_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  BIGINT NOT NULL REFERENCES requests (id),
    partner_id  BIGINT NOT NULL REFERENCES partners (id),
    purpose     TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    outbox_id   BIGINT, -- the mail is written at the end of its transaction (store.Deferred)
    expires_at  DATETIME NOT NULL,
    used_at     DATETIME,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE INDEX consent_tokens_request_idx ON consent_tokens (request_id);
CREATE INDEX consent_tokens_outbox_idx ON consent_tokens (outbox_id);
