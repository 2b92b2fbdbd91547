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

		"manage.title":           "Manage your partners",
		"manage.heading":         "Reseller partners of %s",
		"manage.intro":           "These partners are connected as resellers of your organization. You can end a connection here; the partner is told, with your reason.",
		"manage.since":           "Connected since",
		"manage.ends_at":         "Ends on",
		"manage.reason":          "Why do you end the connection to %s? (required; the partner is told)",
		"manage.ended":           "The reseller connection to %s has ended. The partner has been told.",
		"manage.none":            "Your organization has no active reseller connections.",
		"manage.reason_required": "Nothing was changed: please give a reason for ending the connection.",
		"manage.not_active":      "Nothing was changed: this connection is no longer active.",
		"manage.gone.title":      "This link is no longer valid",
		"manage.gone.body":       "It was withdrawn by the provider. Use the link in a newer mail from us, or reply to one of our mails to ask for a new one.",
		"manage.notfound.title":  "Link not found",
		"manage.notfound.body":   "This link is not known. Check that you opened the whole link from the mail.",
		"btn.end":                "End connection",
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

		"manage.title":           "Ihre Partner verwalten",
		"manage.heading":         "Reseller-Partner von %s",
		"manage.intro":           "Diese Partner sind als Reseller Ihrer Organisation verbunden. Hier können Sie eine Verbindung beenden; der Partner wird mit Ihrer Begründung informiert.",
		"manage.since":           "Verbunden seit",
		"manage.ends_at":         "Endet am",
		"manage.reason":          "Warum beenden Sie die Verbindung zu %s? (erforderlich; der Partner wird informiert)",
		"manage.ended":           "Die Reseller-Verbindung zu %s ist beendet. Der Partner wurde informiert.",
		"manage.none":            "Ihre Organisation hat keine aktiven Reseller-Verbindungen.",
		"manage.reason_required": "Es wurde nichts geändert: Bitte geben Sie einen Grund für das Beenden an.",
		"manage.not_active":      "Es wurde nichts geändert: Diese Verbindung ist nicht mehr aktiv.",
		"manage.gone.title":      "Dieser Link ist nicht mehr gültig",
		"manage.gone.body":       "Er wurde vom Anbieter zurückgezogen. Verwenden Sie den Link aus einer neueren E-Mail von uns, oder antworten Sie auf eine unserer E-Mails, um einen neuen anzufordern.",
		"manage.notfound.title":  "Link nicht gefunden",
		"manage.notfound.body":   "Dieser Link ist nicht bekannt. Bitte prüfen Sie, ob Sie den vollständigen Link aus der E-Mail geöffnet haben.",
		"btn.end":                "Verbindung beenden",
	},
}
