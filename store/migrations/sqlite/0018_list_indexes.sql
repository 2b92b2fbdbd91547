-- onboarder schema, version 18 (SQLite): indexes for the console's keyset-paged
-- lists, which read newest first by (sort key, id). Only on the tables a
-- mail seldom writes: on SQLite the worker maintains every index itself, and
-- those of requests, messages, outbox_mails and audit_entries cost the
-- intake a tenth of its speed (make bench); their console lists sort in
-- memory instead, which is quick at the sizes one SQLite worker keeps.
-- PostgreSQL, the choice for production and large tables, has them all.
CREATE INDEX links_started_idx ON links (started_at, id);
CREATE INDEX partners_name_idx ON partners (name, id);
CREATE INDEX organizations_name_idx ON organizations (name, id);
