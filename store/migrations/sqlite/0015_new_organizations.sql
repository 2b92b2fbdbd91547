-- onboarder schema, version 15 (SQLite): organizations a new-organization
-- request created wait as 'initializing' for their administrator. SQLite
-- cannot change a CHECK constraint: the table is rebuilt (nothing
-- references it by foreign key).
CREATE TABLE organizations_new (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('initializing', 'active', 'suspended', 'deleted')),
    admin_name   TEXT NOT NULL DEFAULT '',
    admin_email  TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT '',
    locale       TEXT NOT NULL DEFAULT 'en',
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    vat_id       TEXT NOT NULL DEFAULT ''
);
INSERT INTO organizations_new (id, name, status, admin_name, admin_email, country, locale, created_at, updated_at, vat_id)
    SELECT id, name, status, admin_name, admin_email, country, locale, created_at, updated_at, vat_id FROM organizations;
DROP TABLE organizations;
ALTER TABLE organizations_new RENAME TO organizations;
-- The similar-name check reads the organizations of one country.
CREATE INDEX organizations_country_idx ON organizations (country);
