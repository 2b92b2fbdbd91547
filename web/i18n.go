package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// lang is one language of the pages: the public ones and the console.
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
	return acceptLang(r)
}

// acceptLang is the first of English and German in Accept-Language, else
// English.
func acceptLang(r *http.Request) lang {
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
	},
}

// Date formats a time (shown in UTC) the way the language writes dates.
func (l lang) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(l.T("date.layout"))
}

// Ago says how long before now t was, in the language ("3h ago").
func (l lang) Ago(now, t time.Time) string {
	if now.Sub(t) < time.Minute {
		return l.T("ago.now")
	}
	return l.F("req.ago", ago(now, t))
}

// The console's strings, merged into catalog: kept apart from the public
// pages' so each part stays readable. Flash lines are "flash." + the
// ?done= value of the page an action redirects to.
func init() {
	for code, m := range consoleCatalog {
		for k, v := range m {
			catalog[code][k] = v
		}
	}
}

var consoleCatalog = map[string]map[string]string{
	"en": {
		"date.layout":       "2006-01-02 15:04 UTC",
		"skip":              "Skip to content",
		"ops.site":          "onboarder ops",
		"lang.title":        "Show the console in German",
		"nav.label":         "Console",
		"nav.queue":         "Queue",
		"nav.partners":      "Partners",
		"nav.organizations": "Organizations",
		"nav.links":         "Links",
		"nav.messages":      "Mails in",
		"nav.outbox":        "Outbox",
		"nav.team":          "Team",
		"logout":            "Log out",
		"back.queue":        "Back to the queue",
		"yes":               "yes",
		"no":                "no",
		"none":              "None.",
		"none.short":        "none",
		"role.none":         "none",
		"edit":              "Edit",
		"save":              "Save",
		"f.name":            "Name",

		"login.title":     "Log in",
		"login.sso":       "Sign in with %s",
		"login.email":     "E-mail address",
		"login.password":  "Password",
		"login.submit":    "Log in",
		"login.accounts":  "Admins add accounts on the Team page, or on the command line (the password is read from stdin):",
		"login.off":       "Password login is switched off; use single sign-on.",
		"login.throttled": "Too many failed logins. Try again in %s.",
		"login.bad":       "Wrong e-mail address or password.",
		"login.failed":    "The login could not be checked; try again.",

		"err.title":          "Something went wrong",
		"err.load":           "The page could not be loaded; the log has the details.",
		"err.session":        "The session could not be checked; try again.",
		"err.notfound":       "Not found",
		"err.nopage":         "There is no such page in the console.",
		"err.norequest":      "No request %s.",
		"err.nopartner":      "No partner %s.",
		"err.noorg":          "No organization %s in the directory.",
		"err.nouser":         "No such ops user.",
		"err.noaction":       "No such action.",
		"err.forbidden":      "Not allowed",
		"err.forbidden.body": "Nothing was done: this needs the role %s or more, and you are %s. Ask an admin (Team page, or onboarder ops-users role).",
		"err.changed":        "Nothing was done: this request changed since you opened the page (%s). Check the page below and act again if still needed.",
		"err.nothing":        "Nothing was done: %s.",
		"err.reason":         "Nothing was done: give a reason; it goes to the partner.",
		"err.clearreason":    "Nothing was done: give a reason for clearing the fraud report; it is kept in the audit trail.",
		"err.action":         "The action failed: %s",
		"err.notsaved":       "Nothing was saved: %s.",
		"err.notchanged":     "Nothing was changed: %s.",
		"err.self":           "Nothing was done: you cannot disable yourself or change your own role; ask another admin.",

		"flash.approve":           "Approved: the link is recorded as invited, the invitation and the partner's mail are queued.",
		"flash.approve1":          "Approved 1 of 2: the findings need a second ops user's approval; nothing is sent until then.",
		"flash.reject":            "Rejected: the partner is told the reason.",
		"flash.resend":            "A new invitation is queued; the previous link stopped working.",
		"flash.revoke":            "The link is revoked.",
		"flash.reprocess":         "The mail was handled again.",
		"flash.retry":             "The mail is queued to be sent again.",
		"flash.clear-fraud":       "The fraud report is cleared: later requests for the organization or from the partner are no longer flagged fraud_reported.",
		"flash.partner-added":     "The partner is registered.",
		"flash.partner-updated":   "The partner is saved; the change is in its audit trail.",
		"flash.partner-suspended": "The partner is suspended: its mail is answered as from an unknown sender until it is activated.",
		"flash.partner-activated": "The partner is active again.",
		"flash.org-added":         "The organization is added to the directory.",
		"flash.org-updated":       "The organization is saved; a new administrator is flagged on its open requests.",
		"flash.org-suspended":     "The organization is suspended: requests for it are refused.",
		"flash.org-refreshed":     "The organization was asked for again in the directory.",
		"flash.team-added":        "The ops user is added and can log in.",
		"flash.team-disable":      "The ops user is disabled; their sessions ended.",
		"flash.team-enable":       "The ops user can log in again.",
		"flash.team-password":     "The password is changed; the user's sessions ended.",
		"flash.team-role":         "The role is changed; it counts from the user's next page.",

		"col.when":      "When",
		"col.who":       "Who",
		"col.why":       "Why",
		"col.change":    "Change",
		"col.fromstate": "From",
		"col.tostate":   "To",
		"col.from":      "From",
		"col.to":        "To",
		"col.party":     "From / to",
		"col.subject":   "Subject",
		"col.kind":      "Kind",
		"col.status":    "Status",
		"col.state":     "State",
		"col.sent":      "Sent",
		"col.expires":   "Expires",
		"col.used":      "Used",
		"col.started":   "Started",
		"col.request":   "Request",
		"col.customer":  "Customer",
		"col.received":  "Received",
		"audit.title":   "Audit trail",
		"audit.none":    "no changes recorded",

		"req.nopartner":      "no partner matched",
		"req.sender":         "Sender",
		"req.customer":       "Customer (subject)",
		"req.differs":        "differs from the directory",
		"req.directory":      "Directory",
		"req.admin":          "admin",
		"req.notindir":       "not in the directory",
		"req.inviteto":       "Invitation to",
		"req.src.suggested":  "(the contact the partner suggested, picked by ops)",
		"req.src.directory":  "(the directory's administrator)",
		"req.nobody":         "nobody: the directory has no administrator address",
		"req.suggested":      "Contact suggested by the partner",
		"req.suggested.note": "(from the partner's mail: invited only if you pick it below)",
		"req.note":           "Note (mail)",
		"req.subject":        "Subject",
		"req.received":       "Received",
		"req.ago":            "%s ago",
		"ago.now":            "just now",
		"req.link":           "Link",
		"req.linksince":      "link %d, since %s",
		"req.linkended":      ", ended %s",
		"req.findings":       "Findings",
		"req.actions":        "Actions",
		"req.thread":         "Mails in and out",
		"req.original":       "Original mail",
		"req.original.note":  "As text; its HTML is never rendered.",
		"req.headers":        "Headers",
		"req.invitations":    "Invitations",
		"thread.in":          "in",
		"thread.out":         "out",
		"fraud.title":        "Fraud reported.",
		"fraud.body1":        "An organization's administrator said a request was not asked for by them. Until ops clear the report, every request for that organization or from that partner is flagged",
		"fraud.body2":        "and never approved automatically.",
		"fraud.from":         "from %s for",
		"fraud.org":          "organization",
		"fraud.reported":     "reported %s",
		"fraud.this":         "this is the reported request",
		"fraud.matches":      "matches this request by %s",
		"fraud.clear.label":  "Clear the report on this organization, with a reason (kept in the audit trail)",
		"fraud.clear":        "Clear fraud report",
		"fraud.closed":       "This request was flagged (see the findings); no report on its organization or partner is open any more. The audit trail of the reported request says who cleared it and why.",
		"foureyes.title":     "Four eyes:",
		"foureyes.need":      "need approvals by two different ops users.",
		"foureyes.one":       "approved 1 of 2 by %s",
		"foureyes.waiting":   "Waiting for another ops user's approval; nothing is sent until then.",
		"foureyes.by":        "Approved by %s.",
		"approve.label":      "Approve, with an optional note to the partner",
		"approve.to1":        "The invitation goes to",
		"approve.to2":        ", the directory's administrator.",
		"approve.noadmin":    "The directory has no administrator address for this organization.",
		"approve.contact":    "Invite %s, the contact the partner suggested (recorded in the audit trail)",
		"approve.nobody":     "Nobody to invite: add the administrator's address to the directory first.",
		"approve.button":     "Approve and invite",
		"reject.label":       "Reject, with a reason (sent to the partner)",
		"reject.button":      "Reject",
		"resend.text":        "Send a new invitation; the old link stops working. At most one per organization per hour.",
		"resend.button":      "Resend invitation",
		"revoke.text":        "End the link.",
		"revoke.invited":     "End the link; the invitation stops working and the request is rejected.",
		"revoke.button":      "Revoke link",

		"message.title":       "Mail %d",
		"message.from":        "From",
		"message.subject":     "Subject",
		"message.received":    "Received",
		"message.size":        "Size",
		"message.bytes":       "%d bytes",
		"message.disposition": "Disposition",
		"message.lasterror":   "Last error",
		"message.attempts":    "%d attempts",
		"message.request":     "Request",
		"message.reprocess":   "Reprocess this mail",
		"message.text":        "Text",
		"message.raw":         "Raw source",
		"message.truncated":   "(first 256 KiB)",

		"partner.ref":           "Reference",
		"partner.locale":        "Language",
		"partner.trusted":       "Trusted",
		"partner.trusted_badge": "trusted",
		"partner.parent":        "Parent distributor",
		"partner.children":      "Sell through it",
		"partner.rules":         "Sender rules",
		"partner.wholedomain":   "(whole domain)",
		"partner.links":         "Links",
		"partner.nolinks":       "no links",
		"partner.requests":      "Recent requests",
		"partner.norequests":    "no requests",
		"partner.allrequests":   "All requests of this partner",
		"partner.suspend.label": "Suspend, with a reason (kept in the audit trail); its mail is then answered as from an unknown sender",
		"partner.suspend":       "Suspend partner",
		"partner.activate":      "Activate partner",
		"partner.ref.label":     "Reference (e.g. MPN ID)",
		"partner.locale.label":  "Language of our mails",
		"partner.trusted.label": "Trusted: clean requests may be approved automatically",
		"partner.emails.label":  "Sender addresses, one a line",
		"partner.domains.label": "Whole sender domains, one a line (never a public mail provider's such as gmail.com)",

		"org.admin":            "Administrator",
		"org.country":          "Country",
		"org.locale":           "Language",
		"org.vat":              "VAT ID",
		"org.updated":          "Updated",
		"org.readonly":         "This organization comes from the HTTP directory and is read-only here; change it there.",
		"org.refresh":          "Ask the directory again",
		"org.requests":         "Requests",
		"org.edit.note":        "A new administrator address is flagged on this organization's open requests.",
		"org.suspend.note":     "A suspended organization's requests are refused as organization_inactive.",
		"org.suspend":          "Suspend organization",
		"org.country.label":    "Country (ISO 3166-1 alpha-2, e.g. DE)",
		"org.adminname.label":  "Administrator's name",
		"org.adminemail.label": "Administrator's address (invitations go there)",
		"org.locale.label":     "Language",

		"team.title":        "Team",
		"team.intro":        "The console's users. Every change is in the audit trail under ops_user:ADDRESS, with who made it.",
		"team.email":        "E-mail address",
		"team.role":         "Role",
		"team.lastlogin":    "Last login",
		"team.change":       "Change",
		"team.you":          "(you)",
		"team.active":       "active",
		"team.disabled":     "disabled",
		"team.never":        "never",
		"team.role.for":     "Role of %s",
		"team.setrole":      "Set role",
		"team.enable":       "Enable %s",
		"team.disable":      "Disable %s",
		"team.password.for": "New password for %s (at least 12 characters)",
		"team.setpassword":  "Set password",
		"team.add":          "Add an ops user",
		"team.password":     "Password (at least 12 characters; tell it to them on another channel)",
		"team.addbutton":    "Add ops user",
		"team.roles":        "viewer reads; approver also acts on requests and mails; admin also changes partners, organizations and the team.",
	},
	"de": {
		"date.layout":       "02.01.2006 15:04 UTC",
		"skip":              "Zum Inhalt springen",
		"ops.site":          "onboarder Betrieb",
		"lang.title":        "Konsole auf Englisch anzeigen",
		"nav.label":         "Konsole",
		"nav.queue":         "Warteschlange",
		"nav.partners":      "Partner",
		"nav.organizations": "Organisationen",
		"nav.links":         "Verbindungen",
		"nav.messages":      "Eingang",
		"nav.outbox":        "Ausgang",
		"nav.team":          "Team",
		"logout":            "Abmelden",
		"back.queue":        "Zurück zur Warteschlange",
		"yes":               "ja",
		"no":                "nein",
		"none":              "Keine.",
		"none.short":        "keiner",
		"role.none":         "keine",
		"edit":              "Bearbeiten",
		"save":              "Speichern",
		"f.name":            "Name",

		"login.title":     "Anmelden",
		"login.sso":       "Mit %s anmelden",
		"login.email":     "E-Mail-Adresse",
		"login.password":  "Passwort",
		"login.submit":    "Anmelden",
		"login.accounts":  "Konten legen Admins auf der Seite Team an oder auf der Kommandozeile (das Passwort kommt von stdin):",
		"login.off":       "Die Anmeldung mit Passwort ist abgeschaltet; bitte Single Sign-on verwenden.",
		"login.throttled": "Zu viele fehlgeschlagene Anmeldungen. Bitte in %s erneut versuchen.",
		"login.bad":       "E-Mail-Adresse oder Passwort falsch.",
		"login.failed":    "Die Anmeldung konnte nicht geprüft werden; bitte erneut versuchen.",

		"err.title":          "Etwas ist schiefgegangen",
		"err.load":           "Die Seite konnte nicht geladen werden; Einzelheiten stehen im Log.",
		"err.session":        "Die Sitzung konnte nicht geprüft werden; bitte erneut versuchen.",
		"err.notfound":       "Nicht gefunden",
		"err.nopage":         "Diese Seite gibt es in der Konsole nicht.",
		"err.norequest":      "Keine Anfrage %s.",
		"err.nopartner":      "Kein Partner %s.",
		"err.noorg":          "Keine Organisation %s im Verzeichnis.",
		"err.nouser":         "Diesen Konsolenbenutzer gibt es nicht.",
		"err.noaction":       "Diese Aktion gibt es nicht.",
		"err.forbidden":      "Nicht erlaubt",
		"err.forbidden.body": "Nichts wurde getan: Dafür braucht es mindestens die Rolle %s, Ihre ist %s. Bitte wenden Sie sich an einen Admin (Seite Team oder onboarder ops-users role).",
		"err.changed":        "Nichts wurde getan: Die Anfrage hat sich geändert, seit Sie die Seite geöffnet haben (%s). Bitte prüfen Sie die Seite unten und handeln Sie erneut, falls noch nötig.",
		"err.nothing":        "Nichts wurde getan: %s.",
		"err.reason":         "Nichts wurde getan: Bitte geben Sie einen Grund an; er geht an den Partner.",
		"err.clearreason":    "Nichts wurde getan: Bitte begründen Sie das Aufheben der Betrugsmeldung; die Begründung steht im Prüfprotokoll.",
		"err.action":         "Die Aktion ist fehlgeschlagen: %s",
		"err.notsaved":       "Nichts wurde gespeichert: %s.",
		"err.notchanged":     "Nichts wurde geändert: %s.",
		"err.self":           "Nichts wurde getan: Sie können sich nicht selbst deaktivieren oder Ihre eigene Rolle ändern; bitten Sie einen anderen Admin.",

		"flash.approve":           "Genehmigt: Die Verbindung ist als eingeladen eingetragen, die Einladung und die Mail an den Partner sind in der Warteschlange.",
		"flash.approve1":          "1 von 2 Genehmigungen: Die Befunde brauchen die Genehmigung eines zweiten Konsolenbenutzers; bis dahin wird nichts verschickt.",
		"flash.reject":            "Abgelehnt: Der Partner erfährt den Grund.",
		"flash.resend":            "Eine neue Einladung ist in der Warteschlange; der vorige Link gilt nicht mehr.",
		"flash.revoke":            "Die Verbindung ist widerrufen.",
		"flash.reprocess":         "Die Mail wurde erneut verarbeitet.",
		"flash.retry":             "Die Mail wird erneut verschickt.",
		"flash.clear-fraud":       "Die Betrugsmeldung ist aufgehoben: Spätere Anfragen für die Organisation oder vom Partner werden nicht mehr als fraud_reported markiert.",
		"flash.partner-added":     "Der Partner ist eingetragen.",
		"flash.partner-updated":   "Der Partner ist gespeichert; die Änderung steht im Prüfprotokoll.",
		"flash.partner-suspended": "Der Partner ist gesperrt: Seine Mails werden bis zur Aktivierung wie die eines unbekannten Absenders beantwortet.",
		"flash.partner-activated": "Der Partner ist wieder aktiv.",
		"flash.org-added":         "Die Organisation ist im Verzeichnis eingetragen.",
		"flash.org-updated":       "Die Organisation ist gespeichert; eine neue Administratoradresse wird bei ihren offenen Anfragen markiert.",
		"flash.org-suspended":     "Die Organisation ist gesperrt: Anfragen für sie werden abgewiesen.",
		"flash.org-refreshed":     "Die Organisation wurde im Verzeichnis neu abgefragt.",
		"flash.team-added":        "Der Konsolenbenutzer ist angelegt und kann sich anmelden.",
		"flash.team-disable":      "Der Konsolenbenutzer ist deaktiviert; seine Sitzungen sind beendet.",
		"flash.team-enable":       "Der Konsolenbenutzer kann sich wieder anmelden.",
		"flash.team-password":     "Das Passwort ist geändert; die Sitzungen des Benutzers sind beendet.",
		"flash.team-role":         "Die Rolle ist geändert; sie gilt ab der nächsten Seite des Benutzers.",

		"col.when":      "Wann",
		"col.who":       "Wer",
		"col.why":       "Warum",
		"col.change":    "Änderung",
		"col.fromstate": "Von",
		"col.tostate":   "Nach",
		"col.from":      "Von",
		"col.to":        "An",
		"col.party":     "Von / an",
		"col.subject":   "Betreff",
		"col.kind":      "Art",
		"col.status":    "Status",
		"col.state":     "Zustand",
		"col.sent":      "Gesendet",
		"col.expires":   "Läuft ab",
		"col.used":      "Benutzt",
		"col.started":   "Begonnen",
		"col.request":   "Anfrage",
		"col.customer":  "Kunde",
		"col.received":  "Eingegangen",
		"audit.title":   "Prüfprotokoll",
		"audit.none":    "keine Änderungen verzeichnet",

		"req.nopartner":      "kein Partner erkannt",
		"req.sender":         "Absender",
		"req.customer":       "Kunde (Betreff)",
		"req.differs":        "weicht vom Verzeichnis ab",
		"req.directory":      "Verzeichnis",
		"req.admin":          "Admin",
		"req.notindir":       "nicht im Verzeichnis",
		"req.inviteto":       "Einladung an",
		"req.src.suggested":  "(vom Partner vorgeschlagener Kontakt, von Ops gewählt)",
		"req.src.directory":  "(Administrator laut Verzeichnis)",
		"req.nobody":         "niemanden: Das Verzeichnis hat keine Administratoradresse",
		"req.suggested":      "Vom Partner vorgeschlagener Kontakt",
		"req.suggested.note": "(aus der Mail des Partners: wird nur eingeladen, wenn Sie ihn unten wählen)",
		"req.note":           "Notiz (Mail)",
		"req.subject":        "Betreff",
		"req.received":       "Eingegangen",
		"req.ago":            "vor %s",
		"ago.now":            "gerade eben",
		"req.link":           "Verbindung",
		"req.linksince":      "Verbindung %d, seit %s",
		"req.linkended":      ", beendet %s",
		"req.findings":       "Befunde",
		"req.actions":        "Aktionen",
		"req.thread":         "Mails ein und aus",
		"req.original":       "Ursprüngliche Mail",
		"req.original.note":  "Als Text; ihr HTML wird nie dargestellt.",
		"req.headers":        "Kopfzeilen",
		"req.invitations":    "Einladungen",
		"thread.in":          "ein",
		"thread.out":         "aus",
		"fraud.title":        "Betrug gemeldet.",
		"fraud.body1":        "Der Administrator einer Organisation hat erklärt, eine Anfrage nicht beauftragt zu haben. Bis Ops die Meldung aufheben, wird jede Anfrage für diese Organisation oder von diesem Partner markiert als",
		"fraud.body2":        "und nie automatisch genehmigt.",
		"fraud.from":         "von %s für",
		"fraud.org":          "Organisation",
		"fraud.reported":     "gemeldet %s",
		"fraud.this":         "dies ist die gemeldete Anfrage",
		"fraud.matches":      "passt zu dieser Anfrage über %s",
		"fraud.clear.label":  "Meldung zu dieser Organisation aufheben, mit Begründung (steht im Prüfprotokoll)",
		"fraud.clear":        "Betrugsmeldung aufheben",
		"fraud.closed":       "Diese Anfrage wurde markiert (siehe Befunde); zu ihrer Organisation oder ihrem Partner ist keine Meldung mehr offen. Das Prüfprotokoll der gemeldeten Anfrage sagt, wer sie aufgehoben hat und warum.",
		"foureyes.title":     "Vier Augen:",
		"foureyes.need":      "brauchen Genehmigungen von zwei verschiedenen Konsolenbenutzern.",
		"foureyes.one":       "1 von 2 genehmigt von %s",
		"foureyes.waiting":   "Wartet auf die Genehmigung eines weiteren Konsolenbenutzers; bis dahin wird nichts verschickt.",
		"foureyes.by":        "Genehmigt von %s.",
		"approve.label":      "Genehmigen, mit einer freiwilligen Notiz an den Partner",
		"approve.to1":        "Die Einladung geht an",
		"approve.to2":        ", den Administrator laut Verzeichnis.",
		"approve.noadmin":    "Das Verzeichnis hat keine Administratoradresse für diese Organisation.",
		"approve.contact":    "%s einladen, den vom Partner vorgeschlagenen Kontakt (steht im Prüfprotokoll)",
		"approve.nobody":     "Niemand einzuladen: Tragen Sie zuerst die Administratoradresse im Verzeichnis ein.",
		"approve.button":     "Genehmigen und einladen",
		"reject.label":       "Ablehnen, mit Begründung (geht an den Partner)",
		"reject.button":      "Ablehnen",
		"resend.text":        "Eine neue Einladung senden; der alte Link gilt dann nicht mehr. Höchstens eine je Organisation und Stunde.",
		"resend.button":      "Einladung erneut senden",
		"revoke.text":        "Die Verbindung beenden.",
		"revoke.invited":     "Die Verbindung beenden; die Einladung gilt nicht mehr und die Anfrage wird abgelehnt.",
		"revoke.button":      "Verbindung widerrufen",

		"message.title":       "Mail %d",
		"message.from":        "Von",
		"message.subject":     "Betreff",
		"message.received":    "Eingegangen",
		"message.size":        "Größe",
		"message.bytes":       "%d Byte",
		"message.disposition": "Einordnung",
		"message.lasterror":   "Letzter Fehler",
		"message.attempts":    "%d Versuche",
		"message.request":     "Anfrage",
		"message.reprocess":   "Mail erneut verarbeiten",
		"message.text":        "Text",
		"message.raw":         "Quelltext",
		"message.truncated":   "(erste 256 KiB)",

		"partner.ref":           "Referenz",
		"partner.locale":        "Sprache",
		"partner.trusted":       "Vertrauenswürdig",
		"partner.trusted_badge": "vertrauenswürdig",
		"partner.parent":        "Übergeordneter Distributor",
		"partner.children":      "Verkaufen über ihn",
		"partner.rules":         "Absenderregeln",
		"partner.wholedomain":   "(ganze Domain)",
		"partner.links":         "Verbindungen",
		"partner.nolinks":       "keine Verbindungen",
		"partner.requests":      "Letzte Anfragen",
		"partner.norequests":    "keine Anfragen",
		"partner.allrequests":   "Alle Anfragen dieses Partners",
		"partner.suspend.label": "Sperren, mit Begründung (steht im Prüfprotokoll); seine Mails werden dann wie die eines unbekannten Absenders beantwortet",
		"partner.suspend":       "Partner sperren",
		"partner.activate":      "Partner aktivieren",
		"partner.ref.label":     "Referenz (z. B. MPN-ID)",
		"partner.locale.label":  "Sprache unserer Mails",
		"partner.trusted.label": "Vertrauenswürdig: saubere Anfragen dürfen automatisch genehmigt werden",
		"partner.emails.label":  "Absenderadressen, eine je Zeile",
		"partner.domains.label": "Ganze Absenderdomains, eine je Zeile (nie die eines öffentlichen Mailanbieters wie gmail.com)",

		"org.admin":            "Administrator",
		"org.country":          "Land",
		"org.locale":           "Sprache",
		"org.vat":              "USt-IdNr.",
		"org.updated":          "Geändert",
		"org.readonly":         "Diese Organisation stammt aus dem HTTP-Verzeichnis und ist hier nur lesbar; ändern Sie sie dort.",
		"org.refresh":          "Verzeichnis neu abfragen",
		"org.requests":         "Anfragen",
		"org.edit.note":        "Eine neue Administratoradresse wird bei den offenen Anfragen dieser Organisation markiert.",
		"org.suspend.note":     "Anfragen einer gesperrten Organisation werden als organization_inactive abgewiesen.",
		"org.suspend":          "Organisation sperren",
		"org.country.label":    "Land (ISO 3166-1 alpha-2, z. B. DE)",
		"org.adminname.label":  "Name des Administrators",
		"org.adminemail.label": "Adresse des Administrators (dorthin gehen Einladungen)",
		"org.locale.label":     "Sprache",

		"team.title":        "Team",
		"team.intro":        "Die Benutzer der Konsole. Jede Änderung steht im Prüfprotokoll unter ops_user:ADRESSE, mit dem, der sie gemacht hat.",
		"team.email":        "E-Mail-Adresse",
		"team.role":         "Rolle",
		"team.lastlogin":    "Letzte Anmeldung",
		"team.change":       "Ändern",
		"team.you":          "(Sie)",
		"team.active":       "aktiv",
		"team.disabled":     "deaktiviert",
		"team.never":        "nie",
		"team.role.for":     "Rolle von %s",
		"team.setrole":      "Rolle setzen",
		"team.enable":       "%s aktivieren",
		"team.disable":      "%s deaktivieren",
		"team.password.for": "Neues Passwort für %s (mindestens 12 Zeichen)",
		"team.setpassword":  "Passwort setzen",
		"team.add":          "Konsolenbenutzer anlegen",
		"team.password":     "Passwort (mindestens 12 Zeichen; teilen Sie es auf einem anderen Weg mit)",
		"team.addbutton":    "Benutzer anlegen",
		"team.roles":        "viewer liest; approver bearbeitet auch Anfragen und Mails; admin ändert auch Partner, Organisationen und das Team.",
	},
}
