package templates

// Loading: the built-in files, the override directory, parsing and the
// start-up test render (check.go).

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"text/template"
	"unicode/utf8"
)

//go:embed mail
var builtin embed.FS

// BuiltinFS returns the built-in template files, laid out as an override
// directory must be (mail/…), e.g. for exporting them as a starting point.
func BuiltinFS() fs.FS { return builtin }

// maxFileSize bounds one template file.
const maxFileSize = 1 << 20

// The shared layouts.
const (
	layoutText = "mail/layout.txt.tmpl"
	layoutHTML = "mail/layout.html.tmpl"
)

// commonFile is the path of a locale's shared definitions (greeting, footer).
func commonFile(locale, ext string) string { return "mail/" + locale + "/common." + ext + ".tmpl" }

// kindFile is the path of one kind's template for a locale and format.
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
	name     string // relative path for built-ins, full path for overrides
	text     string
	override bool // from ONBOARDER_TEMPLATES_DIR
}

// Load parses the built-in templates, replaced file by file by those found in
// overrideDir ("" means built-ins only), and test-renders with sample data
// every kind and locale an override takes part in. Errors name the file and
// line. The built-in templates are test-rendered by the package's tests
// (TestBuiltinTemplatesRenderEverySample) instead of at every start, which
// cost every command about a third of a second.
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
			if overridden(srcs, loc, kind) {
				if err := s.renderSamples(m, kind, loc); err != nil {
					return nil, err
				}
			}
			s.mails[kind+"/"+loc] = m
		}
	}
	return s, nil
}

// overridden says whether a file kind in locale is built from comes from
// the override directory.
func overridden(srcs map[string]source, loc, kind string) bool {
	for _, f := range []string{layoutText, layoutHTML, commonFile(loc, "txt"), commonFile(loc, "html"),
		kindFile(loc, kind, "txt"), kindFile(loc, kind, "html")} {
		if srcs[f].override {
			return true
		}
	}
	return false
}

// renderSamples test-renders m with every sample: a template that fails on
// some data fails here, at start, not when the mail is due.
func (s *Set) renderSamples(m *mail, kind, loc string) error {
	for _, d := range samples() {
		if _, err := s.render(m, kind, loc, d); err != nil {
			return fmt.Errorf("test-rendering %s/%s with sample data: %w", kind, loc, err)
		}
	}
	return nil
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
		srcs[p] = source{name: full, text: string(b), override: true}
		return nil
	})
}

// readLimited reads a template file of at most maxFileSize bytes.
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
		v := view{Data: fullSample(), Kind: kind, Locale: loc, Subject: "sample"}
		if err := c.ExecuteTemplate(io.Discard, name, v); err != nil {
			diag = append(diag, fmt.Errorf("template %s, in %q: %w", def.Tree.ParseName, name, err))
		}
	}
	return &mail{text: tt, html: ht, textRoot: tl.name, htmlRoot: hl.name, textKind: tk.name, htmlDiag: errors.Join(diag...)}, nil
}
