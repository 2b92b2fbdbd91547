package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

func TestPartnerForSender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		q := st.Q(context.Background())
		a := &store.Partner{Name: "A"}
		storetest.Must(t, q.CreatePartner(a, []string{"Ops@A.example"}, nil))
		b := &store.Partner{Name: "B"}
		storetest.Must(t, q.CreatePartner(b, []string{"boss@b.example"}, []string{"b.example", "@a.example"}))
		for addr, want := range map[string]int64{
			"ops@a.example":  a.ID, // an address rule beats a domain rule
			"x@a.example":    b.ID,
			"BOSS@b.example": b.ID,
			"x@b.example":    b.ID,
		} {
			p, err := q.PartnerForSender(addr)
			if err != nil || p.ID != want {
				t.Errorf("%s: got %d %v, want %d", addr, p.ID, err, want)
			}
		}
		if _, err := q.PartnerForSender("x@sub.b.example"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("subdomain matched: %v", err)
		}
		// The same address cannot belong to two partners.
		err := q.CreatePartner(&store.Partner{Name: "C"}, []string{"ops@a.example"}, nil)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate rule: %v", err)
		}
		p, err := q.Partner(b.ID)
		storetest.Must(t, err)
		if len(p.Emails()) != 1 || len(p.Domains()) != 2 {
			t.Errorf("rules %+v", p.Rules)
		}
	})
}
