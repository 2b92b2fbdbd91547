package web

import (
	"encoding/csv"
	"net/http"
	"strings"
	"time"
)

// CSV exports of the console's lists: the whole filtered list, streamed
// page by page, as an attachment (RFC 4180).

// wantsCSV says whether a list was asked for as CSV (?format=csv).
func wantsCSV(r *http.Request) bool { return r.URL.Query().Get("format") == "csv" }

// csvExport writes one CSV attachment.
type csvExport struct {
	w   http.ResponseWriter
	cw  *csv.Writer
	row []string
}

// startCSV sends the headers of an attachment name-DATE.csv and its header
// row. The write deadline is lifted: a long list takes longer than a page.
// The header row and the codes in the cells stay English in every console
// language: exports are read by scripts and spreadsheets, which need the
// same names whoever downloaded them.
func startCSV(w http.ResponseWriter, name string, now time.Time, header ...string) *csvExport {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+"-"+now.UTC().Format("20060102-1504")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	e := &csvExport{w: w, cw: csv.NewWriter(w)}
	e.cw.UseCRLF = true // RFC 4180
	e.write(header...)
	return e
}

// write writes one row, each cell made safe for spreadsheets.
func (e *csvExport) write(cells ...string) {
	e.row = e.row[:0]
	for _, c := range cells {
		e.row = append(e.row, csvCell(c))
	}
	_ = e.cw.Write(e.row) // a failed write shows in flush
}

// flush sends what is buffered (after each page); false when the client is
// gone.
func (e *csvExport) flush() bool {
	e.cw.Flush()
	if e.cw.Error() != nil {
		return false
	}
	if f, ok := e.w.(http.Flusher); ok {
		f.Flush()
	}
	return true
}

// csvCell keeps a spreadsheet from reading a cell as a formula (CSV
// injection): a cell that begins with =, +, -, @, a tab or a carriage
// return gets a leading apostrophe.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvTime writes a time as RFC 3339 UTC ("" for none).
func csvTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
