package store

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Keyset paging for the console's lists: a page is the rows after (or
// before) the last one shown, by (sort key, id), so rows inserted between
// two page loads neither repeat nor hide a row, and no page costs an
// OFFSET scan.

// PageSize is how many rows a console page shows.
const PageSize = 50

// ErrBadCursor is returned for a page cursor that this store did not make.
var ErrBadCursor = errors.New("not a valid page cursor")

// Paging selects one page: the one after cursor After (the next page),
// before cursor Before (the previous page), or the first when both are "".
type Paging struct {
	After, Before string
	// Limit is the page size (PageSize when 0).
	Limit int
}

// Page is one page of a list and the cursors of its neighbours ("" when
// there is none).
type Page[T any] struct {
	Items      []T
	Next, Prev string
}

// keyset says how a list is sorted: by column col (a time or a text),
// then by the id column, descending unless asc.
type keyset[T any] struct {
	col    string
	asc    bool
	text   bool // the sort key is text, not a time
	textID bool // the id is text (organizations), not a number
	// key returns a row's sort key and id.
	key func(T) (any, any)
}

// cursor encodes a row's position (opaque to clients: base64url of the
// key and the id).
func (k keyset[T]) cursor(row T) string {
	key, id := k.key(row)
	var ks string
	switch v := key.(type) {
	case time.Time:
		ks = v.UTC().Format(time.RFC3339Nano)
	default:
		ks = fmt.Sprint(v)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprint(id) + "\x00" + ks))
}

// decode reads a cursor back into the typed key and id it was made from.
func (k keyset[T]) decode(c string) (key, id any, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > 1000 {
		return nil, nil, ErrBadCursor
	}
	ids, ks, ok := strings.Cut(string(b), "\x00")
	// Text goes to the database as it is: it must be text PostgreSQL takes.
	if !ok || ids == "" || strings.ContainsRune(ks, 0) || !utf8.ValidString(ks) || !utf8.ValidString(ids) {
		return nil, nil, ErrBadCursor
	}
	if k.textID {
		id = ids
	} else {
		n, err := strconv.ParseInt(ids, 10, 64)
		if err != nil {
			return nil, nil, ErrBadCursor
		}
		id = n
	}
	if k.text {
		return ks, id, nil
	}
	t, err := time.Parse(time.RFC3339Nano, ks)
	if err != nil {
		return nil, nil, ErrBadCursor
	}
	return t.UTC(), id, nil
}

// page loads one page of db's rows (db already filtered).
func (k keyset[T]) page(db *gorm.DB, p Paging) (Page[T], error) {
	limit := p.Limit
	if limit <= 0 {
		limit = PageSize
	}
	raw, back := p.After, false
	if p.Before != "" {
		raw, back = p.Before, true
	}
	desc := !k.asc
	if back {
		desc = !desc // read towards the start, then turn the rows round
	}
	if raw != "" {
		key, id, err := k.decode(raw)
		if err != nil {
			return Page[T]{}, err
		}
		op := ">"
		if desc {
			op = "<"
		}
		db = db.Where(fmt.Sprintf("(%s, id) %s (?, ?)", k.col, op), key, id)
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	var rows []T
	if err := db.Order(k.col + dir).Order("id" + dir).Limit(limit + 1).Find(&rows).Error; err != nil {
		return Page[T]{}, err
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := Page[T]{Items: rows}
	if back {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	if len(rows) == 0 {
		return out, nil
	}
	first, last := k.cursor(rows[0]), k.cursor(rows[len(rows)-1])
	switch {
	case back:
		out.Next = last
		if more {
			out.Prev = first
		}
	default:
		if more {
			out.Next = last
		}
		if raw != "" {
			out.Prev = first
		}
	}
	return out, nil
}

// each calls fn with every row of db's, page by page in the list's order
// (for exports: the whole list without holding it in memory).
func (k keyset[T]) each(db *gorm.DB, fn func(T) error) error {
	p := Paging{Limit: 500}
	for {
		pg, err := k.page(db.Session(&gorm.Session{}), p)
		if err != nil {
			return err
		}
		for _, r := range pg.Items {
			if err := fn(r); err != nil {
				return err
			}
		}
		if pg.Next == "" {
			return nil
		}
		p.After = pg.Next
	}
}
