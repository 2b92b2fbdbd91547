-- onboarder schema, version 18 (PostgreSQL): indexes for the console's keyset-paged
-- lists, which read newest first by (sort key, id).
CREATE INDEX requests_received_idx ON requests (received_at, id);
CREATE INDEX links_started_idx ON links (started_at, id);
CREATE INDEX messages_received_idx ON messages (received_at, id);
CREATE INDEX outbox_created_idx ON outbox_mails (created_at, id);
CREATE INDEX audit_at_idx ON audit_entries (at, id);
CREATE INDEX audit_actor_idx ON audit_entries (actor, at, id);
CREATE INDEX partners_name_idx ON partners (name, id);
CREATE INDEX organizations_name_idx ON organizations (name, id);
