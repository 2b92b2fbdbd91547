// Package templates renders every mail onboarder sends: one subject, a text
// part and an HTML part per mail kind and locale, from embedded templates that
// an operator can override file by file.
//
// # Files
//
// The built-in files live under mail/ (see [BuiltinFS]); an override directory
// mirrors exactly that layout, and an override file replaces exactly the one
// built-in file with the same relative path:
//
//	mail/layout.txt.tmpl            shared text layout: {{template "body" .}} + {{template "footer" .}}
//	mail/layout.html.tmpl           shared HTML layout (inline-styled, fits a phone)
//	mail/<locale>/common.txt.tmpl   defines "greeting" and "footer" for text
//	mail/<locale>/common.html.tmpl  defines "greeting" and "footer" for HTML
//	mail/<locale>/<kind>.txt.tmpl   defines "subject" and "body" (text/template)
//	mail/<locale>/<kind>.html.tmpl  defines "body" (html/template)
//
// <locale> is one of [Locales], <kind> one of [Kinds]. A file in the override
// directory whose name ends in ".tmpl" but matches none of these paths is an
// error (a misspelt override must not be silently ignored); other files are
// ignored.
//
// For one kind and locale, the layout, the locale's common file and the kind
// file are parsed into one template set per format, in that order, so a kind
// file may also redefine "greeting" or "footer" for itself. Text files use
// text/template; HTML files use html/template, which escapes every value from
// the data by context, so nothing taken from a mail can become markup.
//
// # Data in the templates
//
// Templates see every field of [Data] (".Reference", ".PartnerName", …) plus:
//
//	.Kind      the mail kind being rendered
//	.Locale    the locale actually used ("en" or "de")
//	.Audience  "partner", "admin", "contact" or "ops": fixed by the kind,
//	           except for the mails to both sides (connection_established,
//	           consent_accepted, consent_declined, consent_expired and the link_* mails but
//	           link_end_answer) where the caller chooses "partner" or "admin"
//	.Subject   the final, cleaned subject (set for the text and HTML bodies)
//
// and these functions:
//
//	date .ExpiresAt     date and time in the locale's style, in UTC ("" for the zero time),
//	                    with no-break spaces so that it is never wrapped apart
//	day .ExpiresAt      the date only
//	join .Candidates ", "
//	lines .Message      the text split into lines (for <br> in HTML)
//	quote .Message      every line prefixed with "> " (for text)
//
// # Start-up checks
//
// [Load] parses every kind × locale × format and executes each one with several
// sample [Data] values (every audience, reason code and problem, empty and
// full), and it checks statically that every field name used in a template
// exists, so that a field misspelt in a branch the samples do not reach is
// still found. Any error names the file (for an override, its full path) and
// the line; an HTML snippet that ends inside a tag or attribute is named by
// file (html/template gives no line for it).
//
// # Text layout
//
// The text part is tidied after rendering: trailing blanks go, runs of blank
// lines collapse to one, and prose lines are wrapped at 76 columns (keeping
// indents, list markers and "> " quotes; a long link stays whole), so a
// template can use plain {{if}} blocks without counting newlines.
//
// # Subjects
//
// The subject is whatever the kind's "subject" template produces, made safe by
// [Set.Render]: control characters and line breaks become spaces, runs of
// white space collapse, and the ends are trimmed, so a customer name carrying
// "\r\nBcc: x" can never become a header.
package templates
