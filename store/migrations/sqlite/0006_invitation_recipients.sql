-- onboarder schema, version 6: an invitation records whom it went to and
-- where that address came from (the directory, or a contact the partner
-- suggested that an ops user picked), and which outbox row carries it. The
-- outbox row's bodies hold a placeholder instead of the link: the token is
-- made when the mail is sent (store.MintInvitationToken), so no live token
-- is ever stored. Rows written before this version are converted in Go
-- (invitationtokens.go).
ALTER TABLE invitations ADD COLUMN outbox_id BIGINT;
ALTER TABLE invitations ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE invitations ADD COLUMN recipient_source TEXT NOT NULL DEFAULT '';
CREATE INDEX invitations_outbox_idx ON invitations (outbox_id);
