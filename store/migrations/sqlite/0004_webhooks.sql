-- onboarder schema, version 4 (SQLite): the webhook outbox. A row is written
-- in the transaction of the request or link transition it reports, then
-- delivered by the webhook dispatcher (claim with a lease, retry with backoff).
CREATE TABLE webhook_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         TEXT NOT NULL UNIQUE,
    type             TEXT NOT NULL,
    request_id       BIGINT REFERENCES requests (id),
    link_id          BIGINT REFERENCES links (id),
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  DATETIME NOT NULL,
    last_attempt_at  DATETIME,
    locked_by        TEXT NOT NULL DEFAULT '',
    locked_until     DATETIME,
    last_error       TEXT NOT NULL DEFAULT '',
    sent_at          DATETIME,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL
);
CREATE INDEX webhook_events_due_idx ON webhook_events (status, next_attempt_at);
CREATE INDEX webhook_events_request_idx ON webhook_events (request_id);
