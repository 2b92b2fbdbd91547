-- onboarder schema, version 8 (SQLite): fraud reports. An organization's
-- administrator who declines an invitation as not requested by them marks the
-- organization, and the partner who asked, until ops clear the report with a
-- reason. Later requests for the organization or from the partner are
-- flagged while a report is open.
CREATE TABLE fraud_reports (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id  TEXT NOT NULL,
    partner_id       BIGINT NOT NULL REFERENCES partners (id),
    request_id       BIGINT NOT NULL UNIQUE REFERENCES requests (id),
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cleared')),
    reported_at      DATETIME NOT NULL,
    cleared_at       DATETIME,
    cleared_by       TEXT NOT NULL DEFAULT '',
    clear_reason     TEXT NOT NULL DEFAULT '',
    CHECK ((status = 'open') = (cleared_at IS NULL))
);
-- Every request checked looks for open reports by organization and by partner.
CREATE INDEX fraud_reports_open_org_idx ON fraud_reports (organization_id) WHERE status = 'open';
CREATE INDEX fraud_reports_open_partner_idx ON fraud_reports (partner_id) WHERE status = 'open';
