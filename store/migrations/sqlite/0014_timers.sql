-- onboarder schema, version 14 (SQLite): requests over time.
-- A needs_info request is chased once: when, so that it is not chased twice.
ALTER TABLE requests ADD COLUMN chased_at DATETIME;
-- The invitation a reminder carries (it replaces the first one, same
-- expiry): marked, so that an invitation is reminded of once.
ALTER TABLE invitations ADD COLUMN reminder BOOLEAN NOT NULL DEFAULT FALSE;
-- One row per scheduled run that must happen once however many workers
-- run it (the ops digest: one per schedule slot), written in the
-- transaction of what the run queued.
CREATE TABLE timer_runs (
    run_key   TEXT PRIMARY KEY,
    done_at   DATETIME NOT NULL,
    outbox_id BIGINT REFERENCES outbox_mails (id)
);
