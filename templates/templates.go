package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path"
	"reflect"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode"
	"unicode/utf8"
)

// Mail kinds, one per mail the product sends.
const (
	KindRequestReceived       = "request_received"       // to the partner: request registered, pending approval
	KindNeedsInfo             = "needs_info"             // to the partner: Organization ID missing, ambiguous or malformed
	KindRequestRejected       = "request_rejected"       // to the partner: unknown or inactive organization, or rejected by ops
	KindRequestDuplicate      = "request_duplicate"      // to the partner: an open request or a link already exists
	KindRequestApproved       = "request_approved"       // to the partner: approved, invitation sent
	KindInvitation            = "invitation"             // to the organization's administrator
	KindConnectionEstablished = "connection_established" // to both; Data.Audience says which
	KindInvitationDeclined    = "invitation_declined"    // to the partner
	KindInvitationExpired     = "invitation_expired"     // to the partner
)

// Audiences.
const (
	AudiencePartner = "partner"
	AudienceAdmin   = "admin"
)

// Kinds lists every mail kind.
var Kinds = []string{
	KindRequestReceived,
	KindNeedsInfo,
	KindRequestRejected,
	KindRequestDuplicate,
	KindRequestApproved,
	KindInvitation,
	KindConnectionEstablished,
	KindInvitationDeclined,
	KindInvitationExpired,
}

// Locales lists the supported locales; the first one is the fallback.
var Locales = []string{"en", "de"}

// Data is everything a mail template may show. Every string may come from a
// mail and is treated as plain text.
type Data struct {
	Audience          string    // "partner" or "admin"; only read for connection_established
	Reference         string    // "REQ-000123"
	ThreadSubject     string    // full subject for answers in the partner's thread, e.g. "Re: Please establish … [REQ-000123]"
	PartnerName       string    // the partner's registered name
	PartnerRef        string    // the partner's external reference, may be empty
	RecipientName     string    // name for the greeting, may be empty
	CustomerName      string    // as the partner wrote it in the subject
	OrganizationID    string    // canonical UUID
	OrganizationName  string    // the directory's name
	AdminName         string    // organization administrator
	AdminEmail        string    // organization administrator
	ReasonCode        string    // unknown_organization | organization_inactive | ops | …
	Reason            string    // human text (an ops reason), may be empty
	ExistingReference string    // for request_duplicate
	Problem           string    // for needs_info: "missing" | "ambiguous" | "malformed"
	Candidates        []string  // for needs_info/ambiguous: the IDs seen
	Message           string    // the administrator's decline message
	Note              string    // ops note on approval
	InviteURL         string    // full link to the invitation page
	ExpiresAt         time.Time // invitation expiry
	Mailbox           string    // our address, for "reply to this mail" hints
}

// Rendered is one rendered mail.
type Rendered struct {
	Subject string // one line, no control characters
	Text    string // text/plain body
	HTML    string // text/html body, a complete document
}

// view is what the templates see: Data plus what Render decides.
type view struct {
	Data
	Kind    string
	Locale  string
	Subject string
}

// Set holds the parsed templates for every kind and locale. It is safe for
// concurrent use.
type Set struct {
	mails map[string]*mail // key: kind + "/" + locale
}

type mail struct {
	text     *template.Template     // root: the text layout
	html     *htmltemplate.Template // root: the HTML layout
	textRoot string
	htmlRoot string
	textKind string // name of the kind's text file, for errors
	htmlDiag error  // errors of the HTML snippets executed on their own, to name the culprit file
}

//go:embed mail
var builtin embed.FS

// BuiltinFS returns the built-in template files, laid out as an override
// directory must be (mail/…), e.g. for exporting them as a starting point.
func BuiltinFS() fs.FS { return builtin }

// maxFileSize bounds one template file.
const maxFileSize = 1 << 20

const (
	layoutText = "mail/layout.txt.tmpl"
	layoutHTML = "mail/layout.html.tmpl"
)

func commonFile(locale, ext string) string { return "mail/" + locale + "/common." + ext + ".tmpl" }
func kindFile(locale, kind, ext string) string {
	return "mail/" + locale + "/" + kind + "." + ext + ".tmpl"
}

// Files lists the relative paths of every template file, in the layout an
// override directory uses.
func Files() []string {
	files := []string{layoutText, layoutHTML}
	for _, loc := range Locales {
		files = append(files, commonFile(loc, "txt"), commonFile(loc, "html"))
		for _, k := range Kinds {
			files = append(files, kindFile(loc, k, "txt"), kindFile(loc, k, "html"))
		}
	}
	return files
}

// source is one template file's content and the name used in errors.
type source struct {
	name string // relative path for built-ins, full path for overrides
	text string
}

// Load parses the built-in templates, replaced file by file by those found in
// overrideDir ("" means built-ins only), and test-renders every kind, locale
// and format with sample data. Errors name the file and line.
func Load(overrideDir string) (*Set, error) {
	files := Files()
	known := make(map[string]bool, len(files))
	for _, f := range files {
		known[f] = true
	}
	srcs := make(map[string]source, len(files))
	for _, f := range files {
		b, err := fs.ReadFile(builtin, f)
		if err != nil {
			return nil, fmt.Errorf("reading built-in template %s: %w", f, err)
		}
		srcs[f] = source{name: f, text: string(b)}
	}
	if overrideDir != "" {
		if err := readOverrides(overrideDir, known, srcs); err != nil {
			return nil, err
		}
	}

	s := &Set{mails: make(map[string]*mail, len(Kinds)*len(Locales))}
	allowed := allowedNames()
	for _, loc := range Locales {
		for _, kind := range Kinds {
			m, err := build(srcs, loc, kind, allowed)
			if err != nil {
				return nil, err
			}
			for _, d := range samples() {
				if _, err := s.render(m, kind, loc, d); err != nil {
					return nil, fmt.Errorf("test-rendering %s/%s with sample data: %w", kind, loc, err)
				}
			}
			s.mails[kind+"/"+loc] = m
		}
	}
	return s, nil
}

// readOverrides replaces entries of srcs by the files found in dir.
func readOverrides(dir string, known map[string]bool, srcs map[string]source) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("opening template override directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("template override directory %s is not a directory", dir)
	}
	fsys := os.DirFS(dir)
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading template override directory %s: %w", dir, err)
		}
		if d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return nil
		}
		full := path.Join(dir, p)
		if !known[p] {
			return fmt.Errorf("template override %s: unknown template file %q (expected one of mail/layout.{txt,html}.tmpl, mail/<%s>/common.{txt,html}.tmpl, mail/<locale>/<kind>.{txt,html}.tmpl with kind one of %s)",
				full, p, strings.Join(Locales, "|"), strings.Join(Kinds, ", "))
		}
		b, err := readLimited(fsys, p)
		if err != nil {
			return fmt.Errorf("reading template override %s: %w", full, err)
		}
		if !utf8.Valid(b) {
			return fmt.Errorf("template override %s: not valid UTF-8", full)
		}
		srcs[p] = source{name: full, text: string(b)}
		return nil
	})
}

func readLimited(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	return b, nil
}

// build parses the layout, common and kind files of both formats for one kind
// and locale.
func build(srcs map[string]source, loc, kind string, allowed map[string]bool) (*mail, error) {
	fm := funcs(loc)
	tl, tc, tk := srcs[layoutText], srcs[commonFile(loc, "txt")], srcs[kindFile(loc, kind, "txt")]
	tt := template.New(tl.name).Funcs(fm)
	for i, src := range []source{tl, tc, tk} {
		t := tt
		if i > 0 {
			t = tt.New(src.name)
		}
		if _, err := t.Parse(src.text); err != nil {
			return nil, fmt.Errorf("parsing mail templates: %w", err)
		}
	}
	for _, name := range []string{"subject", "body"} {
		if tt.Lookup(name) == nil {
			return nil, fmt.Errorf("template %s does not define %q", tk.name, name)
		}
	}
	for _, t := range tt.Templates() {
		if err := checkFields(t.Tree, allowed); err != nil {
			return nil, err
		}
	}

	hl, hc, hk := srcs[layoutHTML], srcs[commonFile(loc, "html")], srcs[kindFile(loc, kind, "html")]
	ht := htmltemplate.New(hl.name).Funcs(htmltemplate.FuncMap(fm))
	for i, src := range []source{hl, hc, hk} {
		t := ht
		if i > 0 {
			t = ht.New(src.name)
		}
		if _, err := t.Parse(src.text); err != nil {
			return nil, fmt.Errorf("parsing mail templates: %w", err)
		}
	}
	if ht.Lookup("body") == nil {
		return nil, fmt.Errorf("template %s does not define %q", hk.name, "body")
	}
	for _, t := range ht.Templates() {
		if err := checkFields(t.Tree, allowed); err != nil {
			return nil, err
		}
	}
	// html/template reports a snippet that ends in the wrong context (an
	// unclosed attribute, say) against the layout that includes it. Execute
	// each snippet on its own, in a clone, so that such an error can name
	// the file the snippet came from.
	var diag []error
	for _, name := range []string{"body", "greeting", "footer"} {
		def := ht.Lookup(name)
		if def == nil || def.Tree == nil {
			continue
		}
		c, err := ht.Clone()
		if err != nil {
			return nil, fmt.Errorf("cloning HTML templates for %s/%s: %w", kind, loc, err)
		}
		v := view{Data: samples()[0], Kind: kind, Locale: loc, Subject: "sample"}
		if err := c.ExecuteTemplate(io.Discard, name, v); err != nil {
			diag = append(diag, fmt.Errorf("template %s, in %q: %w", def.Tree.ParseName, name, err))
		}
	}
	return &mail{text: tt, html: ht, textRoot: tl.name, htmlRoot: hl.name, textKind: tk.name, htmlDiag: errors.Join(diag...)}, nil
}

// Render renders one mail. An unknown or empty locale falls back to "en"
// ("de-DE" and "de_AT" count as "de"); an unknown kind is an error, and so is
// connection_established without Audience "partner" or "admin". Values are
// cleaned first: control characters in one-line fields become spaces, and
// multi-line fields (Reason, Message, Note) keep only their line breaks.
func (s *Set) Render(kind, locale string, d Data) (Rendered, error) {
	if s == nil || s.mails == nil {
		return Rendered{}, errors.New("rendering mail: template set not loaded")
	}
	loc := normalizeLocale(locale)
	m, ok := s.mails[kind+"/"+loc]
	if !ok {
		return Rendered{}, fmt.Errorf("rendering mail: unknown kind %q", kind)
	}
	return s.render(m, kind, loc, d)
}

func (s *Set) render(m *mail, kind, loc string, d Data) (Rendered, error) {
	switch kind {
	case KindInvitation:
		d.Audience = AudienceAdmin
	case KindConnectionEstablished:
		if d.Audience != AudiencePartner && d.Audience != AudienceAdmin {
			return Rendered{}, fmt.Errorf("rendering %s: audience %q is neither %q nor %q", kind, d.Audience, AudiencePartner, AudienceAdmin)
		}
	default:
		d.Audience = AudiencePartner
	}
	v := view{Data: cleanData(d), Kind: kind, Locale: loc}

	var buf bytes.Buffer
	if err := m.text.ExecuteTemplate(&buf, "subject", v); err != nil {
		return Rendered{}, fmt.Errorf("rendering %s/%s subject: %w", kind, loc, err)
	}
	v.Subject = CleanSubject(buf.String())
	if v.Subject == "" {
		return Rendered{}, fmt.Errorf("rendering %s/%s subject: template %s: \"subject\" renders empty", kind, loc, m.textKind)
	}

	buf.Reset()
	if err := m.text.ExecuteTemplate(&buf, m.textRoot, v); err != nil {
		return Rendered{}, fmt.Errorf("rendering %s/%s text: %w", kind, loc, err)
	}
	text := tidyText(buf.String())

	buf.Reset()
	if err := m.html.ExecuteTemplate(&buf, m.htmlRoot, v); err != nil {
		if m.htmlDiag != nil {
			return Rendered{}, fmt.Errorf("rendering %s/%s HTML: %w (on its own: %w)", kind, loc, err, m.htmlDiag)
		}
		return Rendered{}, fmt.Errorf("rendering %s/%s HTML: %w", kind, loc, err)
	}
	return Rendered{Subject: v.Subject, Text: text, HTML: buf.String()}, nil
}

func normalizeLocale(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	for _, known := range Locales {
		if l == known {
			return l
		}
	}
	return Locales[0]
}

// CleanSubject makes s a safe one-line subject: every control character, line
// or paragraph separator and other white space becomes a space, runs of spaces
// collapse to one, and the ends are trimmed.
func CleanSubject(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || isBidiControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// isBidiControl reports the explicit directional formatting characters, which
// can make a subject read differently from what it says.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

// oneLine replaces control characters and line breaks by spaces.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || isBidiControl(r) || r == utf8.RuneError
	}) {
		return s
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return ' '
		case isBidiControl(r):
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD")))
}

// multiLine keeps line breaks (normalized to \n) and tabs, and drops every
// other control character.
func multiLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u0085':
			return '\n'
		case unicode.IsControl(r) || isBidiControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func cleanData(d Data) Data {
	for _, p := range []*string{
		&d.Audience, &d.Reference, &d.ThreadSubject, &d.PartnerName, &d.PartnerRef,
		&d.RecipientName, &d.CustomerName, &d.OrganizationID, &d.OrganizationName,
		&d.AdminName, &d.AdminEmail, &d.ReasonCode, &d.ExistingReference, &d.Problem,
		&d.InviteURL, &d.Mailbox,
	} {
		*p = oneLine(*p)
	}
	for _, p := range []*string{&d.Reason, &d.Message, &d.Note} {
		*p = multiLine(*p)
	}
	if d.Candidates != nil {
		c := make([]string, 0, len(d.Candidates))
		for _, s := range d.Candidates {
			c = append(c, oneLine(s))
		}
		d.Candidates = c
	}
	return d
}

// textWidth is the column at which tidyText wraps prose lines.
const textWidth = 76

// tidyText trims trailing blanks on every line, collapses runs of blank lines
// into one, wraps long lines at word boundaries (keeping an indent, a list
// marker's hanging indent and a "> " quote prefix) and ends the text with
// exactly one newline. "-- " (the signature separator) is kept as it is.
func tidyText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := true // drop leading blank lines
	for _, l := range lines {
		if l != "-- " {
			l = strings.TrimRight(l, " \t")
		}
		if l == "" {
			if blank {
				continue
			}
			blank = true
			out = append(out, l)
			continue
		}
		blank = false
		out = append(out, wrap(l, textWidth)...)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n") + "\n"
}

// wrap breaks l at ASCII spaces into lines of at most width runes where it
// can; a single word longer than width (a link) stays whole, and a no-break
// space (as in dates) never breaks.
func wrap(l string, width int) []string {
	if utf8.RuneCountInString(l) <= width {
		return []string{l}
	}
	first, cont := hangingPrefix(l)
	words := strings.FieldsFunc(l[len(first):], func(r rune) bool { return r == ' ' || r == '\t' })
	if len(words) == 0 {
		return []string{l}
	}
	var out []string
	cur := first + words[0]
	curLen := utf8.RuneCountInString(cur)
	for _, w := range words[1:] {
		wl := utf8.RuneCountInString(w)
		if curLen+1+wl > width {
			out = append(out, cur)
			cur, curLen = cont+w, utf8.RuneCountInString(cont)+wl
			continue
		}
		cur += " " + w
		curLen += 1 + wl
	}
	return append(out, cur)
}

// hangingPrefix returns the part of l before its first word (indent, quote
// marks, list marker) and the prefix for continuation lines.
func hangingPrefix(l string) (first, cont string) {
	i := 0
	for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		i++
	}
	indent := l[:i]
	if strings.HasPrefix(l[i:], ">") {
		j := i
		for j < len(l) && (l[j] == '>' || l[j] == ' ') {
			j++
		}
		return l[:j], l[:j]
	}
	rest := l[i:]
	marker := 0
	switch {
	case strings.HasPrefix(rest, "- "), strings.HasPrefix(rest, "* "):
		marker = 2
	default:
		d := 0
		for d < len(rest) && d < 3 && rest[d] >= '0' && rest[d] <= '9' {
			d++
		}
		if d > 0 && strings.HasPrefix(rest[d:], ". ") {
			marker = d + 2
		}
	}
	return l[:i+marker], indent + strings.Repeat(" ", marker)
}

var (
	monthsEN = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	monthsDE = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}
)

// funcs returns the template functions, with dates formatted for loc.
func funcs(loc string) template.FuncMap {
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		t = t.UTC()
		if loc == "de" {
			return fmt.Sprintf("%d.\u00a0%s\u00a0%d", t.Day(), monthsDE[t.Month()-1], t.Year())
		}
		return fmt.Sprintf("%d\u00a0%s\u00a0%d", t.Day(), monthsEN[t.Month()-1], t.Year())
	}
	date := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		if loc == "de" {
			return day(t) + ", " + t.UTC().Format("15:04") + "\u00a0Uhr\u00a0(UTC)"
		}
		return day(t) + ", " + t.UTC().Format("15:04") + "\u00a0UTC"
	}
	return template.FuncMap{
		"date": date,
		"day":  day,
		"join": func(elems []string, sep string) string { return strings.Join(elems, sep) },
		"lines": func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, "\n")
		},
		"quote": func(s string) string {
			if s == "" {
				return ""
			}
			return "> " + strings.ReplaceAll(s, "\n", "\n> ")
		},
	}
}

// samples returns the data Load test-renders every template with: every
// audience, reason code and problem, a full value set and an empty one.
func samples() []Data {
	full := Data{
		Reference:         "REQ-000123",
		ThreadSubject:     "Re: Please establish reseller connection to customer Example GmbH [REQ-000123]",
		PartnerName:       "Example Partner AG",
		PartnerRef:        "MPN-1234567",
		RecipientName:     "Alex Example",
		CustomerName:      "Example GmbH",
		OrganizationID:    "3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53",
		OrganizationName:  "Example GmbH",
		AdminName:         "Kim Admin",
		AdminEmail:        "kim.admin@example.com",
		Reason:            "Sample reason.\nSecond line.",
		ExistingReference: "REQ-000100",
		Candidates:        []string{"3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53", "0b8e1f7c-2a3d-4c5e-9f6a-7b8c9d0e1f2a"},
		Message:           "Sample message.\nSecond line.",
		Note:              "Sample note.",
		InviteURL:         "https://onboarder.example.com/invitations/sample-token",
		ExpiresAt:         time.Date(2026, time.March, 14, 10, 0, 0, 0, time.UTC),
		Mailbox:           "partners@example.com",
	}
	var out []Data
	for _, aud := range []string{AudiencePartner, AudienceAdmin} {
		for _, code := range []string{"unknown_organization", "organization_inactive", "ops", "other"} {
			for _, problem := range []string{"missing", "ambiguous", "malformed", "other"} {
				d := full
				d.Audience, d.ReasonCode, d.Problem = aud, code, problem
				out = append(out, d)
			}
		}
		out = append(out, Data{Audience: aud, Reference: "REQ-000001"})
	}
	return out
}

// allowedNames collects every field and method name reachable from view, so
// that a misspelt field is found even in a branch the samples never execute.
func allowedNames() map[string]bool {
	names := map[string]bool{}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		if t == nil || seen[t] || depth > 4 {
			return
		}
		seen[t] = true
		for _, tt := range []reflect.Type{t, reflect.PointerTo(t)} {
			for i := 0; i < tt.NumMethod(); i++ {
				m := tt.Method(i)
				names[m.Name] = true
				for j := 0; j < m.Type.NumOut(); j++ {
					walk(m.Type.Out(j), depth+1)
				}
			}
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(t.Elem(), depth+1)
		case reflect.Struct:
			for _, f := range reflect.VisibleFields(t) {
				if f.IsExported() {
					names[f.Name] = true
					walk(f.Type, depth+1)
				}
			}
		}
	}
	walk(reflect.TypeOf(view{}), 0)
	return names
}

// checkFields reports the first field name in tree that no reachable type has.
func checkFields(tree *parse.Tree, allowed map[string]bool) error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	var bad parse.Node
	var badName string
	check := func(n parse.Node, idents []string) {
		if bad != nil {
			return
		}
		for _, id := range idents {
			if !allowed[id] {
				bad, badName = n, id
				return
			}
		}
	}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		if n == nil || bad != nil {
			return
		}
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			check(n, n.Ident)
		case *parse.ChainNode:
			walk(n.Node)
			check(n, n.Field)
		case *parse.VariableNode:
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				check(n, n.Ident[1:])
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	walk(tree.Root)
	if bad != nil {
		loc, _ := tree.ErrorContext(bad)
		return fmt.Errorf("template: %s: unknown field %q (known fields: %s)", loc, badName, strings.Join(dataFields(), ", "))
	}
	return nil
}

func dataFields() []string {
	var out []string
	for _, f := range reflect.VisibleFields(reflect.TypeOf(view{})) {
		if f.IsExported() && !f.Anonymous {
			out = append(out, f.Name)
		}
	}
	sort.Strings(out)
	return out
}
