-- onboarder schema, version 13 (SQLite): links over time.
-- One row per reminder decided before a link's end date (30, 7 or 1 days):
-- written in the transaction that queues the reminder mail, its unique key
-- makes several workers, or a restart, send each reminder once. A row with
-- skipped set was passed over (the clock moved past it together with a
-- nearer one) and sent nothing.
CREATE TABLE link_reminders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    link_id     BIGINT NOT NULL REFERENCES links (id),
    days        INTEGER NOT NULL,
    ends_at     DATETIME NOT NULL,
    skipped     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX link_reminders_uniq ON link_reminders (link_id, days);
-- The "manage your partners" links in mails to an organization's
-- administrator: only the SHA-256 of a token is kept, and the token is made
-- when its mail is sent (as for invitations). Ops revoke all of an
-- organization's links at once.
CREATE TABLE manage_links (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id  TEXT NOT NULL,
    token_hash       TEXT NOT NULL UNIQUE,
    outbox_id        BIGINT,
    revoked_at       DATETIME,
    revoked_by       TEXT NOT NULL DEFAULT '',
    created_at       DATETIME NOT NULL
);
CREATE INDEX manage_links_org_idx ON manage_links (organization_id);
CREATE INDEX manage_links_outbox_idx ON manage_links (outbox_id);
