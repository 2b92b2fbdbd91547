-- onboarder schema, version 10 (PostgreSQL): the registry as ops edit it.
-- A partner may sell through a parent distributor; an organization of the
-- database directory has a VAT ID; an audit entry names the subject it is
-- about (partner:3, organization:UUID) when that is not a request or link,
-- so a partner's or organization's history can be listed.
ALTER TABLE partners ADD COLUMN parent_id BIGINT REFERENCES partners (id);
CREATE INDEX partners_parent_idx ON partners (parent_id);
ALTER TABLE organizations ADD COLUMN vat_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_entries ADD COLUMN subject TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_subject_idx ON audit_entries (subject, id) WHERE subject <> '';
