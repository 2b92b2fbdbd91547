-- onboarder schema, version 9 (SQLite): console roles and four-eyes approvals.
--
-- Every ops user has one role: viewer (reads), approver (acts on requests) or
-- admin (also the registry, the directory and the users). The users that exist
-- now become admin: before roles every console user had every right, and taking
-- rights away silently on an upgrade would stop the team from working (and leave
-- nobody able to manage the registry in the console). The column's default for
-- later rows is the least one, viewer: a row written without a role (by hand,
-- or by code that forgot it) may look, not act. The application always names
-- the role; `ops-users add` defaults to viewer too.
ALTER TABLE ops_users ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer'
    CHECK (role IN ('viewer', 'approver', 'admin'));
UPDATE ops_users SET role = 'admin';

-- Approvals of requests that need two pairs of eyes (ONBOARDER_FOUR_EYES_FINDINGS):
-- one row per request and ops user (the login, or the CLI's --by). A table, not
-- the audit trail: the unique key refuses a second approval by the same user even
-- when two arrive at once, and the approve transaction locks the request row before
-- it counts, so two first approvals by different users cannot both stay "1 of 2".
CREATE TABLE approvals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    ops_user    TEXT NOT NULL,
    at          DATETIME NOT NULL,
    UNIQUE (request_id, ops_user)
);
