// Package defaults holds the default of every onboarder setting that has one: one typed
// constant per ONBOARDER_ variable, and nothing else. It imports nothing and reads nothing.
//
// The settings table of package config (config/settings.go) is where each setting is
// described; its default is named there and written here, once. A package whose option
// struct the composition root fills from a setting (outbox.Config.Lease from
// ONBOARDER_OUTBOX_LEASE, workflow.Options.InviteTTL from ONBOARDER_INVITE_TTL, …) falls
// back to the same constant when it is built without the composition root (tests), so a
// changed default changes everywhere at once. See the config package doc for why the
// defaults live in a leaf package of their own.
package defaults

import "time"

// The defaults, in the order of the settings table. A setting missing here has none
// (unset means off, or the value is derived from another setting).
const (
	DatabaseURL         = "sqlite:onboarder.db"                     // ONBOARDER_DATABASE_URL
	IMAPProcessedFolder = "Onboarder/Processed"                     // ONBOARDER_IMAP_PROCESSED_FOLDER
	IMAPTimeout         = 60 * time.Second                          // ONBOARDER_IMAP_TIMEOUT
	PollLease           = 2 * time.Minute                           // ONBOARDER_POLL_LEASE
	PollSchedule        = "@every 1m"                               // ONBOARDER_POLL_SCHEDULE
	SMTPTimeout         = 60 * time.Second                          // ONBOARDER_SMTP_TIMEOUT
	SMTPConnections     = 2                                         // ONBOARDER_SMTP_CONNECTIONS
	OutboxLease         = 5 * time.Minute                           // ONBOARDER_OUTBOX_LEASE (raised to 4 × SMTP timeout when unset)
	MailFrom            = "Partner Onboarding <partners@localhost>" // ONBOARDER_MAIL_FROM
	PublicURL           = "http://127.0.0.1:8080"                   // ONBOARDER_PUBLIC_URL
	HTTPAddr            = "127.0.0.1:8080"                          // ONBOARDER_HTTP_ADDR
	AdminAddr           = "127.0.0.1:9090"                          // ONBOARDER_ADMIN_ADDR
	SessionMaxAge       = 24 * time.Hour                            // ONBOARDER_SESSION_MAX_AGE
	InviteTTL           = 336 * time.Hour                           // ONBOARDER_INVITE_TTL
	QueueTarget         = 24 * time.Hour                            // ONBOARDER_QUEUE_TARGET (1bd: one business day)
	AnswerLimitSender   = 20                                        // ONBOARDER_ANSWER_LIMIT_SENDER
	AnswerLimitPartner  = 100                                       // ONBOARDER_ANSWER_LIMIT_PARTNER
	RawRetention        = 2160 * time.Hour                          // ONBOARDER_RAW_RETENTION (90 days)
	MaxMessageBytes     = 10485760                                  // ONBOARDER_MAX_MESSAGE_BYTES
	PollBatch           = 500                                       // ONBOARDER_POLL_BATCH
	LogFormat           = "text"                                    // ONBOARDER_LOG_FORMAT
	LogLevel            = "info"                                    // ONBOARDER_LOG_LEVEL
	IMAPAuth            = "password"                                // ONBOARDER_IMAP_AUTH (ONBOARDER_SMTP_AUTH follows it)
	OIDCRoleClaim       = "groups"                                  // ONBOARDER_OIDC_ROLE_CLAIM
	PasswordLogin       = true                                      // ONBOARDER_PASSWORD_LOGIN
	DirectoryTimeout    = 10 * time.Second                          // ONBOARDER_DIRECTORY_TIMEOUT
	DirectoryRetries    = 3                                         // ONBOARDER_DIRECTORY_RETRIES
	DirectoryCacheTTL   = time.Minute                               // ONBOARDER_DIRECTORY_CACHE_TTL
	// FourEyesFindings: requests with any of these findings need two approvers.
	FourEyesFindings = "org_has_other_reseller,name_mismatch,fraud_reported,similar_organization" // ONBOARDER_FOUR_EYES_FINDINGS
)

// The defaults of the timers (workflow.RunTimers).
const (
	InviteReminderBefore = 72 * time.Hour  // ONBOARDER_INVITE_REMINDER_BEFORE
	NeedsInfoChaseAfter  = 72 * time.Hour  // ONBOARDER_NEEDS_INFO_CHASE_AFTER
	NeedsInfoExpireAfter = 336 * time.Hour // ONBOARDER_NEEDS_INFO_EXPIRE_AFTER
	ConsentTTL           = 336 * time.Hour // ONBOARDER_CONSENT_TTL (as long as an invitation)
	OpsDigestSchedule    = "0 8 * * 1-5"   // ONBOARDER_OPS_DIGEST_SCHEDULE (UTC: 08:00 on weekdays)
)

// Ranges of the settings whose values are bounded; the packages that use the values
// rely on them.
const (
	MaxSMTPConnections  = 16 // ONBOARDER_SMTP_CONNECTIONS is 1..16
	MaxDirectoryRetries = 10 // ONBOARDER_DIRECTORY_RETRIES is 1..10
)
