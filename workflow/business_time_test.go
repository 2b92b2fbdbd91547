package workflow

import (
	"testing"
	"time"
)

func TestBusinessAge(t *testing.T) {
	at := func(day, hour int) time.Time { return time.Date(2026, 12, day, hour, 0, 0, 0, time.UTC) } // 4 Dec 2026 is a Friday
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     time.Duration
	}{
		{"same weekday", at(1, 9), at(1, 17), 8 * time.Hour},
		{"over a night", at(1, 17), at(2, 9), 16 * time.Hour},
		{"Friday 17:00 to Monday 17:00 is one business day", at(4, 17), at(7, 17), 24 * time.Hour},
		{"Friday 17:00 to Monday 9:00", at(4, 17), at(7, 9), 16 * time.Hour},
		{"a weekend counts nothing", at(5, 10), at(6, 23), 0},
		{"Saturday to Monday noon", at(5, 10), at(7, 12), 12 * time.Hour},
		{"two weeks", at(1, 9), at(15, 9), 10 * 24 * time.Hour},
		{"to before from", at(2, 9), at(1, 9), 0},
	} {
		if got := BusinessAge(c.from, c.to); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// The target of the README: received Friday 17:00, 1bd, due Monday 17:00.
	fri := at(4, 17)
	if Overdue(fri, at(7, 17), 24*time.Hour) || !Overdue(fri, at(7, 17).Add(time.Minute), 24*time.Hour) {
		t.Errorf("Friday 17:00 + 1bd is not due Monday 17:00")
	}
}
