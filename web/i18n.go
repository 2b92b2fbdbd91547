package web

import (
	"fmt"
	"net/http"
	"strings"
)

// lang is one language of the public pages. The console speaks English.
type lang struct {
	Code string
	m    map[string]string
}

// T translates a key; an unknown key shows itself, so a gap is visible.
func (l lang) T(key string) string {
	if s, ok := l.m[key]; ok {
		return s
	}
	if s, ok := catalog["en"][key]; ok {
		return s
	}
	return key
}

// F translates a key with fmt arguments (the template escapes the result).
func (l lang) F(key string, args ...any) string { return fmt.Sprintf(l.T(key), args...) }

// Other is the language a page's switch offers.
func (l lang) Other() string {
	if l.Code == "de" {
		return "en"
	}
	return "de"
}

func langOf(code string) lang {
	code = strings.ToLower(strings.TrimSpace(code))
	if len(code) > 2 {
		code = code[:2]
	}
	if m, ok := catalog[code]; ok {
		return lang{Code: code, m: m}
	}
	return lang{Code: "en", m: catalog["en"]}
}

// pickLang chooses the language of a public page: ?lang= (or the form's
// lang field), else the record's locale, else Accept-Language, else English.
func pickLang(r *http.Request, locale string) lang {
	// Never r.FormValue: it would read (and parse) a body, even of a GET.
	// A form's lang counts only when its handler parsed the form already.
	v := r.URL.Query().Get("lang")
	if v == "" && r.PostForm != nil {
		v = r.PostForm.Get("lang")
	}
	if v == "en" || v == "de" {
		return langOf(v)
	}
	if locale == "en" || locale == "de" {
		return langOf(locale)
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		if strings.HasPrefix(tag, "de") {
			return langOf("de")
		}
		if strings.HasPrefix(tag, "en") {
			return langOf("en")
		}
	}
	return langOf("en")
}

var catalog = map[string]map[string]string{
	"en": {
		"site":            "Partner onboarding",
		"lang.name":       "English",
		"lang.switch":     "Deutsch",
		"invite.title":    "Reseller invitation",
		"invite.heading":  "%s asks to become the reseller of %s",
		"invite.intro":    "You receive this invitation as the administrator of the organization. Opening this page changes nothing; only your click on Accept or Decline does.",
		"f.partner":       "Partner",
		"f.partner_ref":   "Partner ID",
		"f.org":           "Organization",
		"f.org_id":        "Organization ID",
		"f.reference":     "Reference",
		"f.valid_until":   "Valid until",
		"invite.means":    "What accepting means",
		"invite.means1":   "%s is recorded as the reseller of %s, and a customer relation between the partner and your organization is established.",
		"invite.means2":   "Your organization, its projects and its users stay as they are.",
		"invite.ignore":   "If you do nothing, nothing happens: the invitation expires.",
		"btn.accept":      "Accept",
		"decline.heading": "Decline",
		"decline.label":   "Message to %s (optional)",
		"decline.fraud":   "We did not ask for this: report it to the provider as possibly fraudulent",
		"btn.decline":     "Decline",
		"accepted.title":  "Connection established",
		"accepted.body":   "%s is now recorded as the reseller of %s (%s).",
		"accepted.next":   "A confirmation goes to you and to the partner by e-mail. There is nothing else to do.",
		"declined.title":  "Invitation declined",
		"declined.body":   "You declined the invitation of %s for %s (%s). No connection is established.",
		"declined.next":   "The partner is told by e-mail, with your message if you wrote one.",
		"declined.fraud":  "You told us that this was not requested by you. Our operations team will look into it.",
		"gone.title":      "This invitation is no longer valid",
		"gone.accepted":   "It has already been accepted: the connection exists. Nothing else to do.",
		"gone.declined":   "It has already been declined.",
		"gone.revoked":    "It was withdrawn by the provider.",
		"gone.replaced":   "A newer invitation was sent for the same request; use the link in the newest mail.",
		"gone.expired":    "It has expired.",
		"gone.closed":     "The request it belongs to is closed.",
		"gone.next":       "If you still want to connect, ask the partner to request a new invitation.",
		"notfound.title":  "Invitation not found",
		"notfound.body":   "This link is not known. Check that you opened the whole link from the mail.",
		"error.title":     "Something went wrong",
		"error.body":      "Please try again in a few minutes.",
		"home.title":      "Partner onboarding",
		"home.body":       "This service handles reseller connection requests. Invitations are answered through the link in the invitation mail.",
		"home.ops":        "Operations console",
		"badreq.title":    "The form could not be read",
		"badreq.body":     "Please go back and try again.",

		// The consent pages (web/consent.go) and the invitation's distributor.
		"f.distributor":            "Distributor",
		"invite.through":           "through its distributor %s",
		"f.customer":               "Customer",
		"f.admin":                  "Administrator",
		"consent.title":            "Reseller request",
		"consent.heading":          "%s asks %s to become its reseller",
		"consent.heading_reseller": "%s names %s as the reseller of record for %s",
		"consent.intro":            "You receive this page as a registered contact of the partner. Opening it changes nothing; only your click on Accept or Decline does.",
		"consent.means":            "If you accept, our team approves the connection; the organization's administrator and you are told by e-mail.",
		"consent.means_reseller":   "If you accept, our team reviews the request and then invites the customer, naming you and your distributor.",
		"consent.message":          "Message (optional), passed on with your answer",
		"consent.accepted":         "Thank you: your consent is recorded",
		"consent.accepted.body":    "Our team now reviews the request %s. You are told by e-mail when it is decided.",
		"consent.declined":         "You declined",
		"consent.declined.body":    "The request %s is closed; whoever asked is told by e-mail, with your message if you wrote one.",
		"consent.gone.title":       "This link is no longer valid",
		"consent.gone":             "It has been used, another contact of your company answered, it expired, or the request is closed.",
	},
	"de": {
		"site":            "Partner-Onboarding",
		"lang.name":       "Deutsch",
		"lang.switch":     "English",
		"invite.title":    "Einladung als Reseller",
		"invite.heading":  "%s möchte Reseller von %s werden",
		"invite.intro":    "Sie erhalten diese Einladung als Administratorin bzw. Administrator der Organisation. Das Öffnen dieser Seite ändert nichts; erst Ihr Klick auf Annehmen oder Ablehnen zählt.",
		"f.partner":       "Partner",
		"f.partner_ref":   "Partner-ID",
		"f.org":           "Organisation",
		"f.org_id":        "Organisations-ID",
		"f.reference":     "Referenz",
		"f.valid_until":   "Gültig bis",
		"invite.means":    "Was die Annahme bedeutet",
		"invite.means1":   "%s wird als Reseller von %s eingetragen, und zwischen dem Partner und Ihrer Organisation entsteht eine Kundenbeziehung.",
		"invite.means2":   "Ihre Organisation, ihre Projekte und ihre Benutzer bleiben unverändert.",
		"invite.ignore":   "Wenn Sie nichts tun, passiert nichts: Die Einladung läuft ab.",
		"btn.accept":      "Annehmen",
		"decline.heading": "Ablehnen",
		"decline.label":   "Nachricht an %s (freiwillig)",
		"decline.fraud":   "Wir haben das nicht beauftragt: dem Anbieter als möglichen Betrug melden",
		"btn.decline":     "Ablehnen",
		"accepted.title":  "Verbindung hergestellt",
		"accepted.body":   "%s ist jetzt als Reseller von %s eingetragen (%s).",
		"accepted.next":   "Sie und der Partner erhalten eine Bestätigung per E-Mail. Sonst ist nichts zu tun.",
		"declined.title":  "Einladung abgelehnt",
		"declined.body":   "Sie haben die Einladung von %s für %s abgelehnt (%s). Es wird keine Verbindung hergestellt.",
		"declined.next":   "Der Partner wird per E-Mail informiert, mit Ihrer Nachricht, falls Sie eine geschrieben haben.",
		"declined.fraud":  "Sie haben uns mitgeteilt, dass Sie dies nicht beauftragt haben. Unser Betriebsteam geht dem nach.",
		"gone.title":      "Diese Einladung ist nicht mehr gültig",
		"gone.accepted":   "Sie wurde bereits angenommen: Die Verbindung besteht. Sonst ist nichts zu tun.",
		"gone.declined":   "Sie wurde bereits abgelehnt.",
		"gone.revoked":    "Sie wurde vom Anbieter zurückgezogen.",
		"gone.replaced":   "Für dieselbe Anfrage wurde eine neuere Einladung verschickt; bitte verwenden Sie den Link aus der neuesten E-Mail.",
		"gone.expired":    "Sie ist abgelaufen.",
		"gone.closed":     "Die zugehörige Anfrage ist abgeschlossen.",
		"gone.next":       "Wenn Sie die Verbindung weiterhin möchten, bitten Sie den Partner, eine neue Einladung anzufordern.",
		"notfound.title":  "Einladung nicht gefunden",
		"notfound.body":   "Dieser Link ist nicht bekannt. Bitte prüfen Sie, ob Sie den vollständigen Link aus der E-Mail geöffnet haben.",
		"error.title":     "Etwas ist schiefgegangen",
		"error.body":      "Bitte versuchen Sie es in einigen Minuten erneut.",
		"home.title":      "Partner-Onboarding",
		"home.body":       "Dieser Dienst bearbeitet Anfragen für Reseller-Verbindungen. Einladungen werden über den Link in der Einladungs-E-Mail beantwortet.",
		"home.ops":        "Betriebskonsole",
		"badreq.title":    "Das Formular konnte nicht gelesen werden",
		"badreq.body":     "Bitte gehen Sie zurück und versuchen Sie es erneut.",

		// The consent pages (web/consent.go) and the invitation's distributor.
		"f.distributor":            "Distributor",
		"invite.through":           "über seinen Distributor %s",
		"f.customer":               "Kunde",
		"f.admin":                  "Administration",
		"consent.title":            "Reseller-Anfrage",
		"consent.heading":          "%s bittet %s, ihr Reseller zu werden",
		"consent.heading_reseller": "%s nennt %s als Reseller für %s",
		"consent.intro":            "Sie sehen diese Seite als eingetragener Kontakt des Partners. Das Öffnen ändert nichts; erst Ihr Klick auf Annehmen oder Ablehnen zählt.",
		"consent.means":            "Wenn Sie annehmen, gibt unser Team die Verbindung frei; die Administration der Organisation und Sie werden per E-Mail informiert.",
		"consent.means_reseller":   "Wenn Sie annehmen, prüft unser Team die Anfrage und lädt dann den Kunden ein, mit Ihnen und Ihrem Distributor.",
		"consent.message":          "Nachricht (freiwillig), wird mit Ihrer Antwort weitergegeben",
		"consent.accepted":         "Vielen Dank: Ihre Zustimmung ist eingetragen",
		"consent.accepted.body":    "Unser Team prüft jetzt die Anfrage %s. Sie erhalten eine E-Mail, sobald sie entschieden ist.",
		"consent.declined":         "Sie haben abgelehnt",
		"consent.declined.body":    "Die Anfrage %s ist abgeschlossen; wer gefragt hat, wird per E-Mail informiert, mit Ihrer Nachricht, falls Sie eine geschrieben haben.",
		"consent.gone.title":       "Dieser Link ist nicht mehr gültig",
		"consent.gone":             "Er wurde bereits verwendet, ein anderer Kontakt Ihrer Firma hat geantwortet, er ist abgelaufen, oder die Anfrage ist abgeschlossen.",
	},
}
