package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// The client address comes from X-Forwarded-For only through trusted
// proxies: the right-most address there that is not a trusted proxy.
func TestClientAddr(t *testing.T) {
	s := &Server{opts: Options{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("fd00::/8")}}}
	tests := []struct {
		name   string
		peer   string
		xff    []string
		client string
	}{
		{"no proxy", "203.0.113.5:4711", nil, "203.0.113.5"},
		{"untrusted peer's header is ignored", "203.0.113.5:4711", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted peer without header", "10.1.1.1:80", nil, "10.1.1.1"},
		{"one proxy", "10.1.1.1:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the client's own entries are not believed", "10.1.1.1:80", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"two proxies", "10.1.1.1:80", []string{"1.1.1.1, 198.51.100.1, 192.0.2.1"}, "198.51.100.1"},
		{"several header lines", "10.1.1.1:80", []string{"1.1.1.1", "198.51.100.1, 10.2.2.2"}, "198.51.100.1"},
		{"IPv6 and ports", "[fd00::1]:443", []string{"[2001:db8::7]:5555"}, "2001:db8::7"},
		{"IPv4-mapped peer", "[::ffff:10.1.1.1]:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"garbage from a proxy", "10.1.1.1:80", []string{"1.1.1.1, unknown"}, "10.1.1.1"},
		{"only proxies", "10.1.1.1:80", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientAddr(r); got != tt.client {
				t.Errorf("clientAddr = %q, want %q", got, tt.client)
			}
		})
	}
}
