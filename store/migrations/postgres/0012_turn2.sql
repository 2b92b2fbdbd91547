-- onboarder schema, version 12 (PostgreSQL): the columns the turn-2 flows share.
-- A request has a kind (connect, new_organization, customer_first), may
-- have been sent by a distributor for one of its resellers, and a new
-- organization's request keeps the parsed company and contact fields (JSON).
ALTER TABLE requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'connect';
ALTER TABLE requests ADD COLUMN distributor_id BIGINT REFERENCES partners (id);
ALTER TABLE requests ADD COLUMN new_org TEXT NOT NULL DEFAULT '';
-- A link records the distributor too, may have an end date set by ops, and
-- keeps who ended it and why.
ALTER TABLE links ADD COLUMN distributor_id BIGINT REFERENCES partners (id);
ALTER TABLE links ADD COLUMN ends_at TIMESTAMPTZ;
ALTER TABLE links ADD COLUMN ended_by TEXT NOT NULL DEFAULT '';
ALTER TABLE links ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX links_ends_at_idx ON links (ends_at) WHERE ends_at IS NOT NULL;
-- The states waiting for a partner's or reseller's consent are open too:
-- one open request per partner and organization still holds.
DROP INDEX requests_open_uniq;
CREATE UNIQUE INDEX requests_open_uniq ON requests (partner_id, organization_id)
    WHERE state IN ('pending_partner', 'pending_reseller', 'pending_approval', 'invited');
