-- onboarder schema, version 15 (PostgreSQL): organizations a
-- new-organization request created wait as 'initializing' for their
-- administrator.
ALTER TABLE organizations DROP CONSTRAINT organizations_status_check;
ALTER TABLE organizations ADD CONSTRAINT organizations_status_check
    CHECK (status IN ('initializing', 'active', 'suspended', 'deleted'));
-- The similar-name check reads the organizations of one country.
CREATE INDEX organizations_country_idx ON organizations (country);
