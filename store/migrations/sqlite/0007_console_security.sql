-- onboarder schema, version 7 (SQLite): the console's login limiter and
-- disabled ops users.
-- One row per limiter key, by name (ip:ADDRESS, user:EMAIL, pair:EMAIL|ADDRESS): the
-- failures counted since the key's tally last started, and when it may try
-- again. Rows are deleted a day after their last failure; nothing caps how
-- many there are, so filling the table cannot switch the limiter off.
CREATE TABLE login_limits (
    name             TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL DEFAULT 0,
    last_failure_at  DATETIME NOT NULL,
    blocked_until    DATETIME NOT NULL
);
CREATE INDEX login_limits_last_idx ON login_limits (last_failure_at);

ALTER TABLE ops_users ADD COLUMN disabled_at DATETIME;
ALTER TABLE ops_users ADD COLUMN last_login_at DATETIME;
CREATE INDEX ops_sessions_user_idx ON ops_sessions (user_id);
