package web

import "strings"

// The strings of the console's list pages (queue, links, mails in and out,
// partners, organizations, audit) and the names of the codes they show
// (request states, findings, statuses). Kept apart from consoleCatalog so
// each part stays readable; merged into catalog like it.
func init() {
	for code, m := range listCatalog {
		for k, v := range m {
			catalog[code][k] = v
		}
	}
}

// Name names a code in the language: the catalog's prefix+code (e.g.
// "state.needs_info"), else the code itself, so a code added later shows
// as it is rather than as a key.
func (l lang) Name(prefix, code string) string {
	if _, ok := catalog["en"][prefix+code]; ok {
		return l.T(prefix + code)
	}
	return code
}

// Status names a status of any record: a request's state, else a link's,
// mail's, partner's or organization's status. The audit trail's From and
// To hold either.
func (l lang) Status(code string) string {
	if _, ok := catalog["en"]["state."+code]; ok {
		return l.T("state." + code)
	}
	return l.Name("status.", code)
}

// tabLabel names a list tab's value ("" is every value).
func tabLabel(l lang, prefix, v string) string {
	if v == "" {
		v = "all"
	}
	if _, ok := catalog["en"]["tab."+v]; ok {
		return l.T("tab." + v)
	}
	if s := l.Name(prefix, v); s != v {
		return s
	}
	return strings.ReplaceAll(v, "_", " ")
}

var listCatalog = map[string]map[string]string{
	"en": {
		"list.newest":        "Newest first.",
		"list.empty":         "Nothing here.",
		"list.empty.for":     "Nothing here for “%s”.",
		"list.requests":      "requests",
		"list.error":         "error: %s",
		"list.actions":       "Actions",
		"pager.label":        "Pages",
		"pager.prev":         "← Previous page",
		"pager.next":         "Next page →",
		"csv.download":       "Download CSV",
		"csv.requests":       "(every request of this filter)",
		"csv.links":          "(every link of this filter)",
		"csv.audit":          "(every entry of this filter)",
		"filter.submit":      "Filter",
		"filter.search":      "Search",
		"filter.allpartners": "All partners",
		"filter.allkinds":    "All kinds",
		"filter.finding":     "Finding",
		"filter.anyfinding":  "Any finding",
		"tab.all":            "all",
		"tab.open":           "open",
		"col.id":             "ID",
		"col.age":            "Age",
		"col.type":           "Type",
		"col.ended":          "Ended",
		"col.created":        "Created",
		"col.attempts":       "Attempts",
		"col.disposition":    "Disposition",
		"col.senders":        "Senders",
		"col.reason":         "Reason",

		"queue.title":           "Queue",
		"queue.placeholder":     "REQ-000042, Organization ID or name",
		"queue.fraud.body1":     "Requests for these organizations or from these partners are flagged",
		"queue.fraud.body2":     "until ops clear the report on the reported request's page:",
		"queue.fraud.by":        "asked for by %s:",
		"queue.fraud.mark":      "⚠ fraud",
		"queue.fraud.marktitle": "fraud reported",
		"queue.overdue.note":    "Open requests older than the target (%s, Monday to Friday) are marked",
		"queue.overdue":         "overdue",
		"queue.unknown":         "unknown: %s",
		"queue.target.days":     "%d business day(s)",
		"queue.target.time":     "%s of business time",

		"links.title": "Links",
		"links.order": "The latest started first.",

		"messages.title":     "Mails received",
		"messages.reprocess": "Reprocess",

		"outbox.title": "Outbox",
		"outbox.kind":  "Kind:",
		"outbox.retry": "Retry",

		"partners.title":  "Partners",
		"partners.add":    "Register a partner",
		"partners.button": "Register partner",

		"orgs.title":    "Organizations",
		"orgs.filter":   "Name or Organization ID",
		"orgs.readonly": "The organizations come from the HTTP directory: they are read-only here. Open one to ask the directory again.",
		"orgs.add":      "Add an organization",
		"orgs.id":       "Organization ID (UUID)",
		"orgs.button":   "Add organization",
		"orgs.import":   "Many at once:",

		"auditlog.title":        "Audit",
		"auditlog.actor":        "Actor",
		"auditlog.subject":      "Subject",
		"auditlog.from":         "From",
		"auditlog.to":           "To",
		"auditlog.empty":        "No audit entries.",
		"auditlog.empty.for":    "No audit entries for this filter.",
		"err.audit.actor":       "The actor is too long.",
		"err.audit.subject":     "Unknown subject: use request:42 (or request:REQ-000042), partner:3, link:7, organization:UUID or ops_user:EMAIL.",
		"err.audit.from":        "The start date is not a date (YYYY-MM-DD).",
		"err.audit.to":          "The end date is not a date (YYYY-MM-DD).",
		"err.badpage":           "Bad page link",
		"err.badpage.body":      "This page link is not valid (it was changed or cut short). Open the list again from its first page.",
		"err.nomail":            "No such mail.",
		"err.notreprocessed":    "Not reprocessed",
		"err.notretried":        "Not retried",
		"state.needs_info":      "needs info",
		"state.pending_partner": "pending partner",

		"state.pending_reseller":            "pending reseller",
		"state.pending_approval":            "pending approval",
		"state.invited":                     "invited",
		"state.completed":                   "completed",
		"state.declined":                    "declined",
		"state.expired":                     "expired",
		"state.rejected":                    "rejected",
		"state.cancelled":                   "cancelled",
		"state.duplicate":                   "duplicate",
		"finding.directory_unavailable":     "directory unavailable",
		"finding.fraud_reported":            "fraud reported",
		"finding.admin_changed":             "administrator changed",
		"finding.no_admin_contact":          "no administrator address",
		"finding.answer_held":               "answer held",
		"finding.unknown_sender":            "unknown sender",
		"finding.sender_auth_failed":        "sender authentication failed",
		"finding.sender_auth_unchecked":     "sender authentication unchecked",
		"finding.organization_id_missing":   "Organization ID missing",
		"finding.organization_id_ambiguous": "Organization ID ambiguous",
		"finding.organization_id_malformed": "Organization ID malformed",
		"finding.unknown_organization":      "unknown organization",
		"finding.organization_inactive":     "organization inactive",
		"finding.duplicate_request":         "duplicate request",
		"finding.name_mismatch":             "name mismatch",
		"finding.org_has_other_reseller":    "has another reseller",
		"finding.invitation_bounced":        "invitation bounced",
		"finding.answer_bounced":            "answer bounced",
		"finding.partner_suspended":         "partner suspended",
		"finding.possibly_fraudulent":       "possibly fraudulent",
		"status.active":                     "active",
		"status.suspended":                  "suspended",
		"status.initializing":               "initializing",
		"status.deleted":                    "deleted",
		"status.invited":                    "invited",
		"status.declined":                   "declined",
		"status.expired":                    "expired",
		"status.revoked":                    "revoked",
		"status.ended":                      "ended",
		"status.pending":                    "pending",
		"status.sent":                       "sent",
		"status.failed":                     "failed",
		"status.bounced":                    "bounced",
		"status.held":                       "held",
		"status.accepted":                   "accepted",
		"status.replaced":                   "replaced",
		"disp.request":                      "request",
		"disp.reply":                        "reply",
		"disp.auto_reply":                   "auto-reply",
		"disp.bounce":                       "bounce",
		"disp.ignored":                      "ignored",
		"disp.too_large":                    "too large",
		"disp.duplicate":                    "duplicate",
		"disp.end_link":                     "asks to end a link",
		"disp.unparseable":                  "unparseable",
		"disp.pending":                      "pending",
		"kind.connect":                      "connect",
		"kind.new_organization":             "new organization",
		"kind.customer_first":               "customer first",
		"linktype.reseller":                 "reseller",
	},
	"de": {
		"list.newest":        "Neueste zuerst.",
		"list.empty":         "Hier ist nichts.",
		"list.empty.for":     "Nichts gefunden für „%s“.",
		"list.requests":      "Anfragen",
		"list.error":         "Fehler: %s",
		"list.actions":       "Aktionen",
		"pager.label":        "Seiten",
		"pager.prev":         "← Vorherige Seite",
		"pager.next":         "Nächste Seite →",
		"csv.download":       "CSV herunterladen",
		"csv.requests":       "(alle Anfragen dieses Filters)",
		"csv.links":          "(alle Verbindungen dieses Filters)",
		"csv.audit":          "(alle Einträge dieses Filters)",
		"filter.submit":      "Filtern",
		"filter.search":      "Suche",
		"filter.allpartners": "Alle Partner",
		"filter.allkinds":    "Alle Arten",
		"filter.finding":     "Befund",
		"filter.anyfinding":  "Beliebiger Befund",
		"tab.all":            "alle",
		"tab.open":           "offen",
		"col.id":             "ID",
		"col.age":            "Alter",
		"col.type":           "Typ",
		"col.ended":          "Beendet",
		"col.created":        "Erstellt",
		"col.attempts":       "Versuche",
		"col.disposition":    "Einordnung",
		"col.senders":        "Absender",
		"col.reason":         "Grund",

		"queue.title":           "Warteschlange",
		"queue.placeholder":     "REQ-000042, Organisations-ID oder Name",
		"queue.fraud.body1":     "Anfragen für diese Organisationen oder von diesen Partnern werden markiert als",
		"queue.fraud.body2":     "bis Ops die Meldung auf der Seite der gemeldeten Anfrage aufheben:",
		"queue.fraud.by":        "angefragt von %s:",
		"queue.fraud.mark":      "⚠ Betrug",
		"queue.fraud.marktitle": "Betrug gemeldet",
		"queue.overdue.note":    "Offene Anfragen, die älter als die Zielzeit sind (%s, Montag bis Freitag), sind markiert als",
		"queue.overdue":         "überfällig",
		"queue.unknown":         "unbekannt: %s",
		"queue.target.days":     "%d Werktag(e)",
		"queue.target.time":     "%s Arbeitszeit",

		"links.title": "Verbindungen",
		"links.order": "Zuletzt begonnene zuerst.",

		"messages.title":     "Eingegangene Mails",
		"messages.reprocess": "Erneut verarbeiten",

		"outbox.title": "Postausgang",
		"outbox.kind":  "Art:",
		"outbox.retry": "Erneut senden",

		"partners.title":  "Partner",
		"partners.add":    "Partner eintragen",
		"partners.button": "Partner eintragen",

		"orgs.title":    "Organisationen",
		"orgs.filter":   "Name oder Organisations-ID",
		"orgs.readonly": "Die Organisationen stammen aus dem HTTP-Verzeichnis und sind hier nur lesbar. Öffnen Sie eine, um das Verzeichnis neu abzufragen.",
		"orgs.add":      "Organisation hinzufügen",
		"orgs.id":       "Organisations-ID (UUID)",
		"orgs.button":   "Organisation hinzufügen",
		"orgs.import":   "Viele auf einmal:",

		"auditlog.title":        "Prüfprotokoll",
		"auditlog.actor":        "Ausgeführt von",
		"auditlog.subject":      "Objekt",
		"auditlog.from":         "Von",
		"auditlog.to":           "Bis",
		"auditlog.empty":        "Keine Protokolleinträge.",
		"auditlog.empty.for":    "Keine Protokolleinträge für diesen Filter.",
		"err.audit.actor":       "Der Eintrag „Ausgeführt von“ ist zu lang.",
		"err.audit.subject":     "Unbekanntes Objekt: Verwenden Sie request:42 (oder request:REQ-000042), partner:3, link:7, organization:UUID oder ops_user:ADRESSE.",
		"err.audit.from":        "Das Anfangsdatum ist kein Datum (JJJJ-MM-TT).",
		"err.audit.to":          "Das Enddatum ist kein Datum (JJJJ-MM-TT).",
		"err.badpage":           "Ungültiger Seitenlink",
		"err.badpage.body":      "Dieser Seitenlink ist ungültig (er wurde verändert oder gekürzt). Öffnen Sie die Liste erneut ab der ersten Seite.",
		"err.nomail":            "Diese Mail gibt es nicht.",
		"err.notreprocessed":    "Nicht erneut verarbeitet",
		"err.notretried":        "Nicht erneut gesendet",
		"state.needs_info":      "Rückfrage offen",
		"state.pending_partner": "wartet auf Partner",

		"state.pending_reseller":            "wartet auf Reseller",
		"state.pending_approval":            "zur Genehmigung",
		"state.invited":                     "eingeladen",
		"state.completed":                   "abgeschlossen",
		"state.declined":                    "vom Kunden abgelehnt",
		"state.expired":                     "abgelaufen",
		"state.rejected":                    "abgewiesen",
		"state.cancelled":                   "storniert",
		"state.duplicate":                   "Duplikat",
		"finding.directory_unavailable":     "Verzeichnis nicht erreichbar",
		"finding.fraud_reported":            "Betrug gemeldet",
		"finding.admin_changed":             "Administrator geändert",
		"finding.no_admin_contact":          "keine Administratoradresse",
		"finding.answer_held":               "Antwort zurückgehalten",
		"finding.unknown_sender":            "unbekannter Absender",
		"finding.sender_auth_failed":        "Absenderprüfung fehlgeschlagen",
		"finding.sender_auth_unchecked":     "Absender nicht geprüft",
		"finding.organization_id_missing":   "Organisations-ID fehlt",
		"finding.organization_id_ambiguous": "Organisations-ID mehrdeutig",
		"finding.organization_id_malformed": "Organisations-ID ungültig",
		"finding.unknown_organization":      "unbekannte Organisation",
		"finding.organization_inactive":     "Organisation inaktiv",
		"finding.duplicate_request":         "doppelte Anfrage",
		"finding.name_mismatch":             "Name weicht ab",
		"finding.org_has_other_reseller":    "hat anderen Reseller",
		"finding.invitation_bounced":        "Einladung unzustellbar",
		"finding.answer_bounced":            "Antwort unzustellbar",
		"finding.partner_suspended":         "Partner gesperrt",
		"finding.possibly_fraudulent":       "möglicher Betrug",
		"status.active":                     "aktiv",
		"status.suspended":                  "gesperrt",
		"status.initializing":               "wird eingerichtet",
		"status.deleted":                    "gelöscht",
		"status.invited":                    "eingeladen",
		"status.declined":                   "abgelehnt",
		"status.expired":                    "abgelaufen",
		"status.revoked":                    "widerrufen",
		"status.ended":                      "beendet",
		"status.pending":                    "ausstehend",
		"status.sent":                       "gesendet",
		"status.failed":                     "fehlgeschlagen",
		"status.bounced":                    "unzustellbar",
		"status.held":                       "zurückgehalten",
		"status.accepted":                   "angenommen",
		"status.replaced":                   "ersetzt",
		"disp.request":                      "Anfrage",
		"disp.reply":                        "Antwort",
		"disp.auto_reply":                   "automatische Antwort",
		"disp.bounce":                       "Unzustellbarkeit",
		"disp.ignored":                      "ignoriert",
		"disp.too_large":                    "zu groß",
		"disp.duplicate":                    "Duplikat",
		"disp.end_link":                     "bittet um Beenden einer Verbindung",
		"disp.unparseable":                  "nicht lesbar",
		"disp.pending":                      "ausstehend",
		"kind.connect":                      "Verbindungsanfrage",
		"kind.new_organization":             "neue Organisation",
		"kind.customer_first":               "Anfrage des Kunden",
		"linktype.reseller":                 "Reseller",
	},
}
