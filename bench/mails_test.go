package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/parser"
)

// The generated backlog must be what the table says it is: requests with
// the right Organization ID, questions without one, auto-replies.
func TestGeneratedMailsParse(t *testing.T) {
	type got struct {
		Kind     parser.Kind
		Customer string
		OrgID    string
		Status   parser.OrgIDStatus
	}
	for i := 0; i < 40; i++ {
		raw := requestMail("t", i)
		if len(raw) < 3500 || len(raw) > 5500 {
			t.Errorf("mail %d is %d bytes, want about 4 KB", i, len(raw))
		}
		m := parser.Parse(raw, parser.Options{})
		g := got{m.Kind, m.CustomerName, m.OrgID, m.OrgIDStatus}
		var want got
		switch kindOf(i) {
		case kindRequest:
			want = got{parser.KindRequest, customerName(i), orgID(i), parser.OrgIDFound}
		case kindDuplicate:
			want = got{parser.KindRequest, customerName(i - 4), orgID(i - 4), parser.OrgIDFound}
		case kindNeedsInfo:
			want = got{parser.KindRequest, customerName(i), "", parser.OrgIDMissing}
		case kindAutoReply:
			want = got{Kind: parser.KindAutoReply, Status: m.OrgIDStatus}
		}
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("mail %d (-want +got):\n%s", i, diff)
		}
	}
	if a := answers(40); a != 38 {
		t.Errorf("answers(40) = %d, want 38 (two auto-replies)", a)
	}
}

func BenchmarkParseBacklogMail(b *testing.B) {
	raw := requestMail("b", 1)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		parser.Parse(raw, parser.Options{})
	}
}
