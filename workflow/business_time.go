package workflow

import "time"

// BusinessAge is how much of the time from from to to fell on a Monday to
// Friday, in to's time zone: the age the queue holds against its target
// (ONBOARDER_QUEUE_TARGET), so a weekend does not make a request overdue.
func BusinessAge(from, to time.Time) time.Duration {
	from = from.In(to.Location())
	var age time.Duration
	for t := from; t.Before(to); {
		y, m, d := t.Date()
		next := time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
		end := next
		if to.Before(end) {
			end = to
		}
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			age += end.Sub(t)
		}
		t = next
	}
	return age
}

// Overdue says whether a request received at received has waited longer
// than target business time at now.
func Overdue(received, now time.Time, target time.Duration) bool {
	return target > 0 && BusinessAge(received, now) > target
}
