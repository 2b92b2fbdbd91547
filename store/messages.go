package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Message dispositions.
const (
	DispRequest     = "request"
	DispReply       = "reply"
	DispAutoReply   = "auto_reply"
	DispBounce      = "bounce"
	DispIgnored     = "ignored"
	DispTooLarge    = "too_large"
	DispDuplicate   = "duplicate"
	DispUnparseable = "unparseable"
	// DispEndLink: a partner's mail asking to end a link (workflow/links.go).
	DispEndLink = "end_link"
	// DispPending marks a mail whose handling failed and will be tried again.
	DispPending = "pending"
)

// Message is a received mail with its raw source and what became of it.
type Message struct {
	ID          int64
	Mailbox     string
	UIDValidity int64
	UID         int64
	MessageID   string
	FromAddr    string
	Subject     string
	Disposition string
	Detail      string
	RequestID   *int64
	Size        int64
	Raw         []byte
	RawSHA256   string `gorm:"column:raw_sha256"`
	// RawDeletedAt: when the retention schedule deleted Raw (nil: kept).
	RawDeletedAt *time.Time
	Attempts     int
	LastError    string
	ReceivedAt   time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// MessageFilter narrows ListMessages.
type MessageFilter struct {
	RequestID   int64
	Disposition string
	Limit       int
}

var messageKeyset = keyset[Message]{col: "received_at", key: func(m Message) (any, any) { return m.ReceivedAt, m.ID }}

// MessagePage lists one page of received mails, newest first, without
// their raw source; disposition "" lists all.
func (q *Q) MessagePage(disposition string, p Paging) (Page[Message], error) {
	db := q.db.Model(&Message{}).Omit("raw")
	if disposition != "" {
		db = db.Where("disposition = ?", disposition)
	}
	pg, err := messageKeyset.page(db, p)
	if err != nil {
		return pg, fmt.Errorf("listing received mails: %w", err)
	}
	return pg, nil
}

// MessagesAt returns the messages recorded at these UIDs of one mailbox
// (UIDVALIDITY included), by UID: one query for a whole chunk instead of
// one per mail.
func (q *Q) MessagesAt(mailbox string, uidValidity int64, uids []int64) (map[int64]Message, error) {
	out := make(map[int64]Message, len(uids))
	if len(uids) == 0 {
		return out, nil
	}
	// The range bounds the index scan to the chunk's UIDs whatever plan
	// PostgreSQL caches for the statement (a generic plan, made while the
	// table was small, otherwise filtered every message of the mailbox).
	lo, hi := slices.Min(uids), slices.Max(uids)
	var ms []Message
	err := q.db.Where("mailbox = ? AND uid_validity = ? AND uid >= ? AND uid <= ? AND uid IN ?", mailbox, uidValidity, lo, hi, uids).Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("looking up %d messages of %s/%d: %w", len(uids), mailbox, uidValidity, err)
	}
	for _, m := range ms {
		out[m.UID] = m
	}
	return out, nil
}

// EarlierMessages finds, in one query, the first recorded message for each
// of keys as EarlierMessage would (keys made with EarlierKey); keys with
// none are left out.
func (q *Q) EarlierMessages(keys []string) (map[string]Message, error) {
	out := map[string]Message{}
	var ids, shas []string
	for _, k := range keys {
		if sha, ok := strings.CutPrefix(k, "sha\x00"); ok {
			shas = append(shas, sha)
		} else if id, _, ok := strings.Cut(k, "\x00"); ok {
			ids = append(ids, id)
		}
	}
	var ms []Message
	if len(ids) > 0 {
		if err := q.db.Omit("raw").Where("message_id IN ?", ids).Find(&ms).Error; err != nil {
			return nil, fmt.Errorf("looking up %d earlier messages: %w", len(ids), err)
		}
	}
	if len(shas) > 0 {
		var more []Message
		if err := q.db.Omit("raw").Where("message_id = '' AND raw_sha256 IN ?", shas).Find(&more).Error; err != nil {
			return nil, fmt.Errorf("looking up %d earlier messages: %w", len(shas), err)
		}
		ms = append(ms, more...)
	}
	// Ordered here, not by the query: with ORDER BY id PostgreSQL may walk
	// the whole table in id order instead of using the message_id index.
	slices.SortFunc(ms, func(a, b Message) int { return cmp.Compare(a.ID, b.ID) })
	for _, m := range ms {
		k := EarlierKey(m.MessageID, m.FromAddr, m.RawSHA256)
		if _, ok := out[k]; !ok { // the first by id
			out[k] = m
		}
	}
	return out, nil
}

// EarlierKey is the identity EarlierMessage looks a mail up by.
func EarlierKey(messageID, from, sha string) string {
	if messageID == "" {
		return "sha\x00" + sha
	}
	return messageID + "\x00" + from
}

// RecentMessages lists received mails newest first, without their raw
// source; disposition "" lists all.
func (q *Q) RecentMessages(disposition string, limit int) ([]Message, error) {
	db := q.db.Omit("raw")
	if disposition != "" {
		db = db.Where("disposition = ?", disposition)
	}
	var out []Message
	err := db.Order("id DESC").Limit(clampLimit(limit)).Find(&out).Error
	return out, err
}

// MessageAt returns the message recorded at this mailbox position.
func (q *Q) MessageAt(mailbox string, uidValidity, uid int64) (Message, error) {
	var m Message
	err := q.db.Where("mailbox = ? AND uid_validity = ? AND uid = ?", mailbox, uidValidity, uid).First(&m).Error
	return m, notFound(err, fmt.Sprintf("message %s/%d/%d", mailbox, uidValidity, uid))
}

// EarlierMessage finds the first recorded message that is the same mail:
// the same Message-ID and sender, or (for mail without a Message-ID) the
// same raw bytes.
func (q *Q) EarlierMessage(messageID, from, sha string) (Message, error) {
	var m Message
	db := q.db
	if messageID != "" {
		db = db.Where("message_id = ? AND from_addr = ?", messageID, from)
	} else {
		db = db.Where("message_id = '' AND raw_sha256 = ?", sha)
	}
	err := db.Order("id").First(&m).Error
	return m, notFound(err, "earlier message")
}

// SaveMessage inserts m, or updates it when it has an id.
func (q *Q) SaveMessage(m *Message) error {
	t := now()
	m.UpdatedAt = t
	if m.ID == 0 {
		m.CreatedAt = t
		if err := q.db.Create(m).Error; err != nil {
			return fmt.Errorf("recording message uid %d: %w", m.UID, err)
		}
		return nil
	}
	if err := q.db.Save(m).Error; err != nil {
		return fmt.Errorf("updating message %d: %w", m.ID, err)
	}
	return nil
}

// MoveMessageLocation records that a known message now sits at a new
// mailbox position (after a UIDVALIDITY change).
func (q *Q) MoveMessageLocation(id int64, mailbox string, uidValidity, uid int64) error {
	return q.db.Model(&Message{}).Where("id = ?", id).Updates(map[string]any{
		"mailbox": mailbox, "uid_validity": uidValidity, "uid": uid, "updated_at": now(),
	}).Error
}

// Message returns one received message (with its raw source).
func (q *Q) Message(id int64) (Message, error) {
	var m Message
	err := q.db.Where("id = ?", id).First(&m).Error
	return m, notFound(err, fmt.Sprintf("message %d", id))
}

// ListMessages lists received mails without their raw source, oldest first.
func (q *Q) ListMessages(f MessageFilter) ([]Message, error) {
	db := q.db.Omit("raw")
	if f.RequestID != 0 {
		db = db.Where("request_id = ?", f.RequestID)
	}
	if f.Disposition != "" {
		db = db.Where("disposition = ?", f.Disposition)
	}
	if f.Limit > 0 {
		db = db.Limit(f.Limit)
	}
	var out []Message
	err := db.Order("id").Find(&out).Error
	return out, err
}

// ThreadRequest finds the request that any of the message ids belongs to:
// a mail we sent about it, or a mail we received for it. ok is false when
// none matches.
func (q *Q) ThreadRequest(messageIDs []string) (id int64, ok bool, err error) {
	if len(messageIDs) == 0 {
		return 0, false, nil
	}
	var ids []int64
	if err := q.db.Model(&OutboxMail{}).Where("message_id IN ? AND request_id IS NOT NULL", messageIDs).
		Order("id DESC").Limit(1).Pluck("request_id", &ids).Error; err != nil {
		return 0, false, err
	}
	if len(ids) == 0 {
		if err := q.db.Model(&Message{}).Where("message_id IN ? AND request_id IS NOT NULL", messageIDs).
			Order("id DESC").Limit(1).Pluck("request_id", &ids).Error; err != nil {
			return 0, false, err
		}
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	return ids[0], true, nil
}

// PurgeRawSources deletes the raw source of up to limit messages recorded
// before the cutoff and notes when (at). The record itself (sender,
// subject, disposition, checksum) stays. It returns how many were purged.
func (s *Store) PurgeRawSources(ctx context.Context, before, at time.Time, limit int) (int64, error) {
	if limit <= 0 {
		limit = 1000
	}
	var n int64
	err := s.Transact(ctx, func(q *Q) error {
		var ids []int64
		if err := q.db.Model(&Message{}).Where("created_at < ? AND raw IS NOT NULL", before.UTC()).
			Order("id").Limit(limit).Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		res := q.db.Model(&Message{}).Where("id IN ?", ids).
			Updates(map[string]any{"raw": nil, "raw_deleted_at": at.UTC(), "updated_at": now()})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("deleting raw sources older than %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}
