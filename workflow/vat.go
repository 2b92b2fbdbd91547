package workflow

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// VAT identification numbers of the EU member states, Switzerland, the
// United Kingdom and Norway: syntax and check digit per country, from the
// published rules of each tax administration (no Go library we found checks
// the check digits of all of them and is kept up).

// Errors of NormalizeVAT, worded for the partner.
var (
	errVATFormat       = errors.New("does not have the format of a VAT ID of that country")
	errVATCheckDigit   = errors.New("its check digit does not match: a digit is probably mistyped")
	errVATOtherCountry = errors.New("is the VAT ID of another country than the one given")
)

// vatPrefix is the prefix of a country's VAT IDs where it is not the ISO
// code (Greece: EL; Switzerland: CHE).
var vatPrefix = map[string]string{"GR": "EL", "CH": "CHE"}

// vatCheckers checks the part after the prefix, per ISO country code.
var vatCheckers = map[string]func(string) error{
	"AT": vatAT, "BE": vatBE, "BG": vatBG, "CY": vatCY, "CZ": vatCZ, "DE": vatDE, "DK": vatDK, "EE": vatEE,
	"GR": vatGR, "ES": vatES, "FI": vatFI, "FR": vatFR, "HR": vatHR, "HU": vatHU, "IE": vatIE, "IT": vatIT,
	"LT": vatLT, "LU": vatLU, "LV": vatLV, "MT": vatMT, "NL": vatNL, "PL": vatPL, "PT": vatPT, "RO": vatRO,
	"SE": vatSE, "SI": vatSI, "SK": vatSK, "CH": vatCH, "GB": vatGB, "NO": vatNO,
}

// VATChecked reports whether VAT IDs of country (ISO code) are checked.
func VATChecked(country string) bool { return vatCheckers[country] != nil }

// NormalizeVAT checks a VAT ID written for country (ISO 3166-1 alpha-2) and
// returns it as the tax administrations print it, upper case with its
// country prefix and without spaces, dots or dashes (CHE123456789,
// NO123456789MVA). A country it does not know is accepted with letters and
// digits only.
func NormalizeVAT(country, vat string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(vat) {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '+', r == '*':
			b.WriteRune(r)
		case r == ' ', r == '.', r == ',', r == '-', r == '/', r == '\u00a0':
		default:
			return "", errVATFormat
		}
	}
	s := b.String()
	check := vatCheckers[country]
	if check == nil {
		if len(s) < 4 || len(s) > 20 {
			return "", errVATFormat
		}
		return s, nil
	}
	prefix := country
	if p, ok := vatPrefix[country]; ok {
		prefix = p
	}
	switch {
	case strings.HasPrefix(s, prefix):
		s = s[len(prefix):]
	case country == "GR" && strings.HasPrefix(s, "GR"):
		s = s[2:]
	case len(s) > 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && otherPrefix(s, country):
		return "", errVATOtherCountry
	}
	switch country {
	case "CH": // the suffix says the language: MWST, TVA, IVA (or VAT)
		for _, suf := range []string{"MWST", "TVA", "IVA", "VAT"} {
			s = strings.TrimSuffix(s, suf)
		}
	case "NO":
		s = strings.TrimSuffix(s, "MVA")
	case "BE": // old numbers of nine digits have a leading 0 today
		if len(s) == 9 {
			s = "0" + s
		}
	case "GR":
		if len(s) == 8 {
			s = "0" + s
		}
	}
	if err := check(s); err != nil {
		return "", err
	}
	if country == "NO" {
		s += "MVA"
	}
	return prefix + s, nil
}

// otherPrefix reports whether s starts with the VAT prefix of a country
// other than country.
func otherPrefix(s, country string) bool {
	for cc := range vatCheckers {
		p := cc
		if q, ok := vatPrefix[cc]; ok {
			p = q
		}
		if cc != country && strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// digits returns s as digits, or nil when s is not n digits (n 0: any
// length).
func digits(s string, n ...int) []int {
	if len(n) > 0 && !slices.Contains(n, len(s)) {
		return nil
	}
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return nil
		}
		out[i] = int(s[i] - '0')
	}
	return out
}

// weighted is the sum of d[i]*w[i].
func weighted(d, w []int) int {
	sum := 0
	for i := range w {
		sum += d[i] * w[i]
	}
	return sum
}

// luhn reports whether the digits pass the Luhn check.
func luhn(d []int) bool {
	sum := 0
	for i := range d {
		v := d[len(d)-1-i]
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// mod1110 is the ISO 7064 MOD 11,10 check digit of d.
func mod1110(d []int) int {
	p := 10
	for _, v := range d {
		s := (v + p) % 10
		if s == 0 {
			s = 10
		}
		p = (2 * s) % 11
	}
	return (11 - p) % 10
}

func verdict(ok bool) error {
	if ok {
		return nil
	}
	return errVATCheckDigit
}

func vatAT(s string) error {
	if len(s) != 9 || s[0] != 'U' {
		return errVATFormat
	}
	d := digits(s[1:], 8)
	if d == nil {
		return errVATFormat
	}
	sum := 0
	for i := 0; i < 7; i++ {
		v := d[i] * (1 + i%2)
		sum += v/10 + v%10
	}
	return verdict((10-(sum+4)%10)%10 == d[7])
}

func vatBE(s string) error {
	if len(s) == 9 {
		s = "0" + s
	}
	d := digits(s, 10)
	if d == nil || d[0] > 1 {
		return errVATFormat
	}
	n, _ := strconv.Atoi(s[:8])
	c, _ := strconv.Atoi(s[8:])
	return verdict(97-n%97 == c)
}

func vatBG(s string) error {
	d := digits(s, 9, 10)
	if d == nil {
		return errVATFormat
	}
	if len(d) == 9 {
		c := weighted(d, []int{1, 2, 3, 4, 5, 6, 7, 8}) % 11
		if c == 10 {
			c = weighted(d, []int{3, 4, 5, 6, 7, 8, 9, 10}) % 11 % 10
		}
		return verdict(c == d[8])
	}
	// Ten digits: a person's number (EGN), a foreigner's (PNF) or another.
	egn := weighted(d, []int{2, 4, 8, 5, 10, 9, 7, 3, 6}) % 11 % 10
	pnf := weighted(d, []int{21, 19, 17, 13, 11, 9, 7, 3, 1}) % 10
	other := (11 - weighted(d, []int{4, 3, 2, 7, 6, 5, 4, 3, 2})%11) % 11
	return verdict(egn == d[9] || pnf == d[9] || (other != 10 && other == d[9]))
}

func vatCY(s string) error {
	if len(s) != 9 || s[8] < 'A' || s[8] > 'Z' {
		return errVATFormat
	}
	d := digits(s[:8], 8)
	if d == nil || strings.HasPrefix(s, "12") {
		return errVATFormat
	}
	odd := []int{1, 0, 5, 7, 9, 13, 15, 17, 19, 21}
	sum := 0
	for i, v := range d {
		if i%2 == 0 {
			sum += odd[v]
		} else {
			sum += v
		}
	}
	return verdict(byte('A'+sum%26) == s[8])
}

func vatCZ(s string) error {
	d := digits(s, 8, 9, 10)
	if d == nil {
		return errVATFormat
	}
	switch len(d) {
	case 8: // a legal entity
		if d[0] == 9 {
			return errVATFormat
		}
		c := (11 - weighted(d, []int{8, 7, 6, 5, 4, 3, 2})%11) % 11
		if c == 0 {
			c = 1
		}
		return verdict(c%10 == d[7])
	case 10: // a person's birth number: divisible by 11
		n, _ := strconv.Atoi(s)
		return verdict(n%11 == 0 || (n/10%11 == 10 && d[9] == 0))
	}
	return nil // nine digits: a birth number before 1954, without a check digit
}

func vatDE(s string) error {
	d := digits(s, 9)
	if d == nil || d[0] == 0 {
		return errVATFormat
	}
	return verdict(mod1110(d[:8]) == d[8])
}

func vatDK(s string) error {
	d := digits(s, 8)
	if d == nil || d[0] == 0 {
		return errVATFormat
	}
	return verdict(weighted(d, []int{2, 7, 6, 5, 4, 3, 2, 1})%11 == 0)
}

func vatEE(s string) error {
	d := digits(s, 9)
	if d == nil || !strings.HasPrefix(s, "10") {
		return errVATFormat
	}
	return verdict(weighted(d, []int{3, 7, 1, 3, 7, 1, 3, 7, 1})%10 == 0)
}

func vatGR(s string) error {
	if len(s) == 8 {
		s = "0" + s
	}
	d := digits(s, 9)
	if d == nil {
		return errVATFormat
	}
	return verdict(weighted(d, []int{256, 128, 64, 32, 16, 8, 4, 2})%11%10 == d[8])
}

func vatES(s string) error {
	if len(s) != 9 {
		return errVATFormat
	}
	first, last := s[0], s[8]
	const nifLetters = "TRWAGMYFPDXBNJZSQVHLCKE"
	switch {
	case first >= '0' && first <= '9', strings.IndexByte("XYZ", first) >= 0: // NIF, NIE
		num := s[:8]
		if x := strings.IndexByte("XYZ", first); x >= 0 {
			num = strconv.Itoa(x) + s[1:8]
		}
		if digits(num, 8) == nil {
			return errVATFormat
		}
		n, _ := strconv.Atoi(num)
		return verdict(nifLetters[n%23] == last)
	case strings.IndexByte("KLM", first) >= 0: // NIF of a person without DNI
		n, err := strconv.Atoi(s[1:8])
		if err != nil || digits(s[1:8], 7) == nil {
			return errVATFormat
		}
		return verdict(nifLetters[n%23] == last)
	case strings.IndexByte("ABCDEFGHJNPQRSUVW", first) >= 0: // CIF, a legal entity
		d := digits(s[1:8], 7)
		if d == nil {
			return errVATFormat
		}
		sum := 0
		for i, v := range d {
			if i%2 == 0 {
				v *= 2
				v = v/10 + v%10
			}
			sum += v
		}
		c := (10 - sum%10) % 10
		return verdict(last == byte('0'+c) || last == "JABCDEFGHI"[c])
	}
	return errVATFormat
}

func vatFI(s string) error {
	d := digits(s, 8)
	if d == nil {
		return errVATFormat
	}
	return verdict(weighted(d, []int{7, 9, 10, 5, 8, 4, 2, 1})%11 == 0)
}

func vatFR(s string) error {
	if len(s) != 11 {
		return errVATFormat
	}
	siren := digits(s[2:], 9)
	if siren == nil {
		return errVATFormat
	}
	if !luhn(siren) && s[2:] != "356000000" { // La Poste's SIREN fails Luhn
		return errVATCheckDigit
	}
	if k := digits(s[:2], 2); k != nil {
		n, _ := strconv.Atoi(s[2:] + "12")
		key, _ := strconv.Atoi(s[:2])
		return verdict(n%97 == key)
	}
	// A key with letters (new numbers): letters and digits, not I or O.
	for i := 0; i < 2; i++ {
		if c := s[i]; !(c >= '0' && c <= '9') && (c < 'A' || c > 'Z' || c == 'I' || c == 'O') {
			return errVATFormat
		}
	}
	return nil
}

func vatHR(s string) error {
	d := digits(s, 11)
	if d == nil {
		return errVATFormat
	}
	return verdict(mod1110(d[:10]) == d[10])
}

func vatHU(s string) error {
	d := digits(s, 8)
	if d == nil {
		return errVATFormat
	}
	return verdict(weighted(d, []int{9, 7, 3, 1, 9, 7, 3, 1})%10 == 0)
}

func vatIE(s string) error {
	if len(s) == 8 && s[1] >= 'A' && s[1] <= 'Z' || len(s) == 8 && (s[1] == '+' || s[1] == '*') {
		// The old form: digit, letter (or + or *), five digits, check
		// letter; it reads as 0, the five digits, the first digit.
		s = "0" + s[2:7] + s[0:1] + s[7:]
	}
	if len(s) != 8 && len(s) != 9 {
		return errVATFormat
	}
	d := digits(s[:7], 7)
	if d == nil || s[7] < 'A' || s[7] > 'W' {
		return errVATFormat
	}
	sum := weighted(d, []int{8, 7, 6, 5, 4, 3, 2})
	if len(s) == 9 {
		c := s[8]
		switch {
		case c >= 'A' && c <= 'I':
			sum += int(c-'A'+1) * 9
		case c == 'W':
		default:
			return errVATFormat
		}
	}
	return verdict("WABCDEFGHIJKLMNOPQRSTUV"[sum%23] == s[7])
}

func vatIT(s string) error {
	d := digits(s, 11)
	if d == nil || s[:7] == "0000000" {
		return errVATFormat
	}
	office, _ := strconv.Atoi(s[7:10])
	if !(office >= 1 && office <= 100 || office == 120 || office == 121 || office == 888 || office == 999) {
		return errVATFormat
	}
	return verdict(luhn(d))
}

func vatLT(s string) error {
	d := digits(s, 9, 12)
	if d == nil || d[len(d)-2] != 1 {
		return errVATFormat
	}
	n := len(d) - 1
	sum := 0
	for i := 0; i < n; i++ {
		sum += (1 + i%9) * d[i]
	}
	c := sum % 11
	if c == 10 {
		sum = 0
		for i := 0; i < n; i++ {
			sum += (1 + (i+2)%9) * d[i]
		}
		c = sum % 11
	}
	return verdict(c%10 == d[n])
}

func vatLU(s string) error {
	if digits(s, 8) == nil {
		return errVATFormat
	}
	n, _ := strconv.Atoi(s[:6])
	c, _ := strconv.Atoi(s[6:])
	return verdict(n%89 == c)
}

func vatLV(s string) error {
	d := digits(s, 11)
	if d == nil {
		return errVATFormat
	}
	if d[0] > 3 { // a legal entity
		return verdict(weighted(d, []int{9, 1, 4, 8, 3, 10, 2, 5, 7, 6, 1})%11 == 3)
	}
	if strings.HasPrefix(s, "32") { // a person's code since 2017: no check digit
		return nil
	}
	c := (1 - weighted(d, []int{10, 5, 8, 4, 2, 1, 6, 3, 7, 9})%11 + 11) % 11
	return verdict(c == d[10])
}

func vatMT(s string) error {
	d := digits(s, 8)
	if d == nil || d[0] == 0 {
		return errVATFormat
	}
	return verdict(weighted(d, []int{3, 4, 6, 7, 8, 9, 10, 1})%37 == 0)
}

func vatNL(s string) error {
	if len(s) != 12 || s[9] != 'B' || digits(s[10:], 2) == nil {
		return errVATFormat
	}
	d := digits(s[:9], 9)
	if d == nil {
		return errVATFormat
	}
	if (weighted(d, []int{9, 8, 7, 6, 5, 4, 3, 2})-d[8])%11 == 0 {
		return nil
	}
	// Sole traders' numbers since 2020: ISO 7064 MOD 97-10 over "NL" + the
	// number, letters as 10 to 35.
	r := 0
	for _, c := range "NL" + s {
		v := int(c - '0')
		if c >= 'A' && c <= 'Z' {
			v = int(c-'A') + 10
			r = (r*100 + v) % 97
			continue
		}
		r = (r*10 + v) % 97
	}
	return verdict(r == 1)
}

func vatPL(s string) error {
	d := digits(s, 10)
	if d == nil {
		return errVATFormat
	}
	return verdict(weighted(d, []int{6, 5, 7, 2, 3, 4, 5, 6, 7})%11 == d[9])
}

func vatPT(s string) error {
	d := digits(s, 9)
	if d == nil || d[0] == 0 {
		return errVATFormat
	}
	return verdict((11-weighted(d, []int{9, 8, 7, 6, 5, 4, 3, 2})%11)%11%10 == d[8])
}

func vatRO(s string) error {
	d := digits(s)
	if len(d) < 2 || len(d) > 10 || d[0] == 0 {
		return errVATFormat
	}
	d = append(make([]int, 10-len(d)), d...)
	return verdict(weighted(d, []int{7, 5, 3, 2, 1, 7, 5, 3, 2})*10%11%10 == d[9])
}

func vatSE(s string) error {
	d := digits(s, 12)
	if d == nil || !strings.HasSuffix(s, "01") {
		return errVATFormat
	}
	return verdict(luhn(d[:10]))
}

func vatSI(s string) error {
	d := digits(s, 8)
	if d == nil || d[0] == 0 {
		return errVATFormat
	}
	c := 11 - weighted(d, []int{8, 7, 6, 5, 4, 3, 2})%11
	if c == 10 {
		c = 0
	}
	return verdict(c != 11 && c == d[7])
}

func vatSK(s string) error {
	d := digits(s, 10)
	if d == nil || d[0] == 0 || strings.IndexByte("234789", s[2]) < 0 {
		return errVATFormat
	}
	n, _ := strconv.Atoi(s)
	return verdict(n%11 == 0)
}

func vatCH(s string) error {
	d := digits(s, 9)
	if d == nil {
		return errVATFormat
	}
	c := 11 - weighted(d, []int{5, 4, 3, 2, 7, 6, 5, 4})%11
	if c == 11 {
		c = 0
	}
	return verdict(c != 10 && c == d[8])
}

func vatGB(s string) error {
	if len(s) == 5 && (strings.HasPrefix(s, "GD") || strings.HasPrefix(s, "HA")) {
		d := digits(s[2:], 3)
		if d == nil {
			return errVATFormat
		}
		n := d[0]*100 + d[1]*10 + d[2]
		if strings.HasPrefix(s, "GD") {
			return verdict(n < 500) // government departments
		}
		return verdict(n >= 500) // health authorities
	}
	d := digits(s, 9, 12)
	if d == nil {
		return errVATFormat
	}
	sum := weighted(d, []int{8, 7, 6, 5, 4, 3, 2, 10, 1}) % 97
	return verdict(sum == 0 || sum == 42)
}

func vatNO(s string) error {
	d := digits(s, 9)
	if d == nil {
		return errVATFormat
	}
	c := 11 - weighted(d, []int{3, 2, 7, 6, 5, 4, 3, 2})%11
	if c == 11 {
		c = 0
	}
	return verdict(c != 10 && c == d[8])
}
