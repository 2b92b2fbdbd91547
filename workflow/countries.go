package workflow

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"
)

// countryNames maps a country's English or German name (countryKey) to its
// ISO 3166-1 alpha-2 code; built once, from x/text's CLDR names.
var countryNames = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			cc := string([]rune{a, b})
			if CheckCountry(cc) != nil {
				continue
			}
			r := language.MustParseRegion(cc)
			for _, n := range []string{display.English.Regions().Name(r), display.German.Regions().Name(r)} {
				if k := countryKey(n); k != "" {
					m[k] = cc
				}
			}
		}
	}
	// What partners write besides CLDR's names.
	for name, cc := range map[string]string{
		"UK": "GB", "Great Britain": "GB", "England": "GB", "Scotland": "GB", "Wales": "GB", "Northern Ireland": "GB",
		"Grossbritannien": "GB", "England (UK)": "GB", "USA": "US", "United States of America": "US",
		"Holland": "NL", "The Netherlands": "NL", "Czech Republic": "CZ", "Tschechische Republik": "CZ",
		"Slovak Republic": "SK", "Slowakische Republik": "SK", "Republic of Ireland": "IE", "Éire": "IE",
		"Federal Republic of Germany": "DE", "Bundesrepublik Deutschland": "DE", "BRD": "DE",
		"Schweizerische Eidgenossenschaft": "CH", "Suisse": "CH", "Svizzera": "CH", "Norge": "NO",
		"Hellas": "GR", "Sverige": "SE", "Danmark": "DK", "Suomi": "FI", "España": "ES", "Italia": "IT",
		"Polska": "PL", "Magyarország": "HU", "Lëtzebuerg": "LU", "Luxemburg": "LU",
	} {
		m[countryKey(name)] = cc
	}
	return m
})

// countryKey is a country name as countryNames holds it: lower case,
// letters only, without accents.
func countryKey(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'ß':
			b.WriteString("ss")
		case unicode.IsLetter(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CountryCode reads a country as partners write it: an ISO 3166-1 alpha-2
// code in any case, or its English or German name. ok is false when it is
// neither.
func CountryCode(s string) (string, bool) {
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), ".,;"))
	if len(s) == 2 {
		cc := strings.ToUpper(s)
		if cc == "UK" {
			return "GB", true
		}
		if CheckCountry(cc) == nil {
			return cc, true
		}
		return "", false
	}
	cc, ok := countryNames()[countryKey(s)]
	return cc, ok
}

// CountryName is the country's name in locale (en or de).
func CountryName(cc, locale string) string {
	r, err := language.ParseRegion(cc)
	if err != nil {
		return cc
	}
	if locale == "de" {
		return display.German.Regions().Name(r)
	}
	return display.English.Regions().Name(r)
}

// countryLocale is the locale of a new organization's administrator: German
// in the German-speaking countries, else the partner's (English when none).
func countryLocale(cc, partnerLocale string) string {
	switch cc {
	case "DE", "AT", "CH", "LI":
		return "de"
	}
	if partnerLocale == "de" || partnerLocale == "en" {
		return partnerLocale
	}
	return "en"
}
