-- onboarder schema, version 3 (PostgreSQL): answer rate limits and raw-source retention.
-- One row per answer the intake (a received mail) caused, sent or held:
-- the rate limits count the rows that were not held.
CREATE TABLE answer_log (
    id          BIGSERIAL PRIMARY KEY,
    outbox_id   BIGINT NOT NULL REFERENCES outbox_mails (id),
    partner_id  BIGINT NOT NULL REFERENCES partners (id),
    recipient   TEXT NOT NULL,
    held        BOOLEAN NOT NULL DEFAULT FALSE,
    reason      TEXT NOT NULL DEFAULT '',
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX answer_log_recipient_idx ON answer_log (recipient, at);
CREATE INDEX answer_log_partner_idx ON answer_log (partner_id, at);

-- When the retention schedule deleted the raw source (NULL: still kept, or never stored).
ALTER TABLE messages ADD COLUMN raw_deleted_at TIMESTAMPTZ;
CREATE INDEX messages_created_idx ON messages (created_at);
