package store

// ConvertInvitationBodies runs migration 6's Go step again (tests write
// rows as an older version did first).
func ConvertInvitationBodies(s *Store) error { return convertInvitationBodies(s.db) }
