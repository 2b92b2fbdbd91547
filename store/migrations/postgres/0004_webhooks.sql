-- onboarder schema, version 4 (PostgreSQL): the webhook outbox. A row is written
-- in the transaction of the request or link transition it reports, then
-- delivered by the webhook dispatcher (claim with a lease, retry with backoff).
CREATE TABLE webhook_events (
    id               BIGSERIAL PRIMARY KEY,
    event_id         TEXT NOT NULL UNIQUE,
    type             TEXT NOT NULL,
    request_id       BIGINT REFERENCES requests (id),
    link_id          BIGINT REFERENCES links (id),
    payload          TEXT NOT NULL,
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
CREATE INDEX webhook_events_due_idx ON webhook_events (status, next_attempt_at);
CREATE INDEX webhook_events_request_idx ON webhook_events (request_id);
