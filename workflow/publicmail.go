package workflow

import (
	_ "embed"
	"strings"
	"sync"
)

// The public mail providers' domains (gmail.com, outlook.com, …): anyone
// can have an address there, so such a domain is never a whole-domain
// sender rule. The list is public_mail_domains.txt, taken from the
// maintained npm package free-email-domains (github.com/Kikobeats/
// free-email-domains, MIT; based on HubSpot's list); no Go module with such
// a list is served by the module proxy. To update it:
//
//	npm pack free-email-domains && tar xzf free-email-domains-*.tgz
//	jq -r '.[]' package/domains.json | tr A-Z a-z | sort -u   # below the header
//
// builtinPublicMail are the providers that must be refused whatever the
// file says.

//go:embed public_mail_domains.txt
var publicMailFile string

var builtinPublicMail = []string{"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
	"yahoo.com", "icloud.com", "me.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de", "aol.com",
	"proton.me", "protonmail.com", "mail.com", "yandex.com", "zoho.com"}

var publicMail = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool, 16000)
	for _, line := range strings.Split(publicMailFile, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	for _, d := range builtinPublicMail {
		m[d] = true
	}
	return m
})

// IsPublicMailDomain reports whether d (or a domain it belongs to, as
// mail.gmail.com to gmail.com) is a public mail provider's.
func IsPublicMailDomain(d string) bool {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@")), ".")
	m := publicMail()
	for {
		if m[d] {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 || !strings.Contains(d[i+1:], ".") {
			return false
		}
		d = d[i+1:]
	}
}
