package workflow

import (
	"errors"
	"testing"
)

// TestNormalizeVAT: per country, published valid VAT IDs (as written, with
// the tax administrations' form) and invalid ones (a digit changed, a wrong
// format, another country's prefix).
func TestNormalizeVAT(t *testing.T) {
	for _, tc := range []struct {
		country, valid, want string
		badDigit, badFormat  string
	}{
		{"AT", "ATU 1358 5627", "ATU13585627", "ATU13585628", "AT13585627"},
		{"BE", "BE 0403.019.261", "BE0403019261", "BE0403019262", "BE2403019261"},
		{"BE", "403019261", "BE0403019261", "403019262", "40301926"},
		{"BG", "BG 175 074 752", "BG175074752", "BG175074753", "BG17507475"},
		{"CY", "CY-10259033P", "CY10259033P", "CY10259033Q", "CY1025903P"},
		{"CZ", "CZ 25123891", "CZ25123891", "CZ25123892", "CZ2512389"},
		{"DE", "DE 136,695 976", "DE136695976", "DE136695977", "DE036695976"},
		{"DK", "DK 13 58 56 28", "DK13585628", "DK13585629", "DK03585628"},
		{"EE", "EE 100 931 558", "EE100931558", "EE100931559", "EE200931558"},
		{"GR", "EL 094259216", "EL094259216", "EL094259217", "EL09425921A"},
		{"GR", "GR 94259216", "EL094259216", "GR94259217", "GR9425921"},
		{"ES", "ES A13 585 625", "ESA13585625", "ESA13585626", "ESI13585625"},
		{"ES", "ES 54362315K", "ES54362315K", "ES54362315L", "ES5436231K"},
		{"FI", "FI 20774740", "FI20774740", "FI20774741", "FI2077474"},
		{"FR", "FR 61 954 506 077", "FR61954506077", "FR62954506077", "FR6195450607"},
		{"HR", "HR 33392005961", "HR33392005961", "HR33392005962", "HR3339200596"},
		{"HU", "HU 12892312", "HU12892312", "HU12892313", "HU1289231"},
		{"IE", "IE 6433435F", "IE6433435F", "IE6433435E", "IE643343F"},
		{"IE", "IE 8Z49289F", "IE8Z49289F", "IE8Z49288F", "IE8Z4928F"},
		{"IE", "IE 3628739UA", "IE3628739UA", "IE3628739UB", "IE3628739UZ"},
		{"IT", "IT 00743110157", "IT00743110157", "IT00743110158", "IT00743112007"},
		{"LT", "LT 119511515", "LT119511515", "LT119511516", "LT119511525"},
		{"LT", "LT100001919017", "LT100001919017", "LT100001919018", "LT10000191901"},
		{"LU", "LU 150 274 42", "LU15027442", "LU15027443", "LU1502744"},
		{"LV", "LV 4000 3521 600", "LV40003521600", "LV40003521601", "LV4000352160"},
		{"MT", "MT 1167-9112", "MT11679112", "MT11679113", "MT01679112"},
		{"NL", "NL 004495445B01", "NL004495445B01", "NL004495446B01", "NL004495445A01"},
		{"PL", "PL 8567346215", "PL8567346215", "PL8567346216", "PL856734621"},
		{"PT", "PT 501 964 843", "PT501964843", "PT501964844", "PT001964843"},
		{"RO", "RO 18 547 290", "RO18547290", "RO18547291", "RO01"},
		{"SE", "SE 123456789701", "SE123456789701", "SE123456789801", "SE123456789702"},
		{"SI", "SI 5022 3054", "SI50223054", "SI50223055", "SI05022305"},
		{"SK", "SK 202 274 96 19", "SK2022749619", "SK2022749618", "SK2012749619"},
		{"CH", "CHE-107.787.577 IVA", "CHE107787577", "CHE-107.787.578 MWST", "CHE-107.787.57"},
		{"GB", "GB 980 7806 84", "GB980780684", "GB980780685", "GB98078068"},
		{"GB", "GB 100 1950 75", "GB100195075", "GB100195076", "GBXY1234"},
		{"NO", "NO 995 525 828 MVA", "NO995525828MVA", "NO 995 525 829 MVA", "NO 99552582 MVA"},
	} {
		got, err := NormalizeVAT(tc.country, tc.valid)
		if err != nil || got != tc.want {
			t.Errorf("%s %q: got %q, %v; want %q", tc.country, tc.valid, got, err, tc.want)
		}
		if _, err := NormalizeVAT(tc.country, tc.badDigit); !errors.Is(err, errVATCheckDigit) {
			t.Errorf("%s %q: got %v, want a check digit error", tc.country, tc.badDigit, err)
		}
		if _, err := NormalizeVAT(tc.country, tc.badFormat); !errors.Is(err, errVATFormat) {
			t.Errorf("%s %q: got %v, want a format error", tc.country, tc.badFormat, err)
		}
	}
	// Every checked country has a row.
	for cc := range vatCheckers {
		if _, err := NormalizeVAT(cc, ""); err == nil {
			t.Errorf("%s: an empty VAT ID passes", cc)
		}
	}
	if _, err := NormalizeVAT("AT", "DE136695976"); !errors.Is(err, errVATOtherCountry) {
		t.Errorf("a German VAT ID for Austria: %v", err)
	}
	if got, err := NormalizeVAT("US", "12-3456789"); err != nil || got != "123456789" {
		t.Errorf("a country without rules: %q %v", got, err)
	}
}

// TestCountryCode: ISO codes and English or German names.
func TestCountryCode(t *testing.T) {
	for in, want := range map[string]string{"de": "DE", "DE": "DE", "Germany": "DE", "Deutschland": "DE", "Österreich": "AT",
		"Osterreich": "AT", "Schweiz": "CH", "switzerland": "CH", "United Kingdom": "GB", "UK": "GB", "Vereinigtes Königreich": "GB",
		"Norwegen": "NO", "Poland": "PL", "Polen": "PL", "Griechenland": "GR", "Czech Republic": "CZ", "Tschechien": "CZ"} {
		if got, ok := CountryCode(in); !ok || got != want {
			t.Errorf("%q: got %q %v, want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "XX", "Atlantis", "Germ"} {
		if got, ok := CountryCode(in); ok {
			t.Errorf("%q: got %q, want not a country", in, got)
		}
	}
	if CountryName("AT", "de") != "Österreich" || CountryName("AT", "en") != "Austria" {
		t.Errorf("names of AT: %q %q", CountryName("AT", "de"), CountryName("AT", "en"))
	}
}
