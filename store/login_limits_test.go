package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// Tallies are made once, counted without lost updates by concurrent
// transactions (the rows are locked), forgotten and pruned by age.
func TestLoginLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		const workers, each = 4, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					errs <- st.Transact(ctx, func(q *store.Q) error {
						ls, err := q.LockLoginLimits([]string{"user:a@x.example", "ip:192.0.2.1"}, t0)
						if err != nil {
							return err
						}
						for _, l := range ls {
							l.Failures++
							l.LastFailureAt, l.BlockedUntil = t0, t0.Add(time.Second)
							if err := q.SaveLoginLimit(l); err != nil {
								return err
							}
						}
						return nil
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			storetest.Must(t, err)
		}
		var got map[string]store.LoginLimit
		storetest.Must(t, st.Transact(ctx, func(q *store.Q) (err error) {
			got, err = q.LockLoginLimits([]string{"user:a@x.example", "ip:192.0.2.1", "ip:192.0.2.2"}, t0.Add(time.Hour))
			return err
		}))
		for k, want := range map[string]int{"user:a@x.example": workers * each, "ip:192.0.2.1": workers * each, "ip:192.0.2.2": 0} {
			if got[k].Failures != want {
				t.Errorf("%s: %d failures, want %d", k, got[k].Failures, want)
			}
		}
		if !got["ip:192.0.2.1"].BlockedUntil.Equal(t0.Add(time.Second)) {
			t.Errorf("blocked until %v", got["ip:192.0.2.1"].BlockedUntil)
		}
		q := st.Q(ctx)
		storetest.Must(t, q.DeleteLoginLimits("user:a@x.example"))
		// ip:192.0.2.1 failed at t0, ip:192.0.2.2 was made an hour later.
		n, err := q.PruneLoginLimits(t0.Add(time.Minute))
		storetest.Must(t, err)
		left, err := q.CountLoginLimits()
		storetest.Must(t, err)
		if n != 1 || left != 1 {
			t.Errorf("pruned %d, %d left; want 1 and 1", n, left)
		}
	})
}
