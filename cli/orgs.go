package cli

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

func cmdOrgsImport(e *env) error {
	pos, err := e.flags(flag.NewFlagSet("orgs import", flag.ContinueOnError))
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("expected one CSV file")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("reading %s: %w", pos[0], err)
	}
	defer f.Close()
	orgs, err := readOrgsCSV(f, pos[0])
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.ImportOrganizations(e.ctx, orgs, "cli"); err != nil {
		return fmt.Errorf("importing %s: %w (nothing was imported)", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "imported %d organizations\n", len(orgs))
	return nil
}

var orgColumns = []string{"id", "name", "status", "admin_name", "admin_email", "country", "locale"}

// readOrgsCSV reads and checks the whole file before anything is written.
func readOrgsCSV(r io.Reader, name string) ([]store.Organization, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the header: %w: the first line must be %s", name, err, strings.Join(orgColumns, ","))
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, c := range orgColumns {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("%s: column %q missing: the first line must be %s", name, c, strings.Join(orgColumns, ","))
		}
	}
	var out []store.Organization
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		id, ok := parser.CanonicalUUID(get("id"))
		if !ok {
			return nil, fmt.Errorf("%s line %d: id %q is not a UUID: fix the line, nothing was imported", name, line, get("id"))
		}
		status := strings.ToLower(get("status"))
		if status == "" {
			status = store.OrgActive
		}
		if status != store.OrgActive && status != store.OrgSuspended && status != store.OrgDeleted {
			return nil, fmt.Errorf("%s line %d: status %q: use active, suspended or deleted", name, line, status)
		}
		locale := strings.ToLower(get("locale"))
		if locale == "" {
			locale = "en"
		}
		admin := get("admin_email")
		if admin != "" {
			if err := workflow.CheckAddress(admin); err != nil {
				return nil, fmt.Errorf("%s line %d: admin_email %v: fix the line, nothing was imported", name, line, err)
			}
		}
		out = append(out, store.Organization{ID: id, Name: parser.SanitizeText(get("name"), 300), Status: status,
			AdminName: parser.SanitizeText(get("admin_name"), 200), AdminEmail: strings.ToLower(admin),
			Country: strings.ToUpper(get("country")), Locale: locale})
	}
	return out, nil
}

func cmdOrgsList(e *env) error {
	fs := flag.NewFlagSet("orgs list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	orgs, err := e.st.Q(e.ctx).Organizations()
	if err != nil {
		return err
	}
	toJSON := orgJSON
	return printList(e, *asJSON, orgs, toJSON, "ID\tNAME\tSTATUS\tADMIN\tCOUNTRY\tLOCALE", func(o store.Organization) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", o.ID, o.Name, o.Status, orDash(o.AdminEmail), orDash(o.Country), o.Locale)
	})
}

// cmdOrgsClearFraud clears the open fraud reports on an organization
// (declined as not requested by its administrator), audited with who and why.
func cmdOrgsClearFraud(e *env) error {
	fs := flag.NewFlagSet("orgs clear-fraud", flag.ContinueOnError)
	org, by, reason, err := recordByReason(e, fs, orgArg, "who clears it (recorded in the audit trail)", "why (recorded in the audit trail)")
	if err != nil {
		return err
	}
	n, err := e.wf.ClearFraud(e.ctx, org, by, reason, 0)
	if errors.Is(err, workflow.ErrClearReasonRequired) {
		return usagef("--reason must say why")
	}
	if err != nil {
		return explain(err, "clearing the fraud report on organization "+org)
	}
	fmt.Fprintf(e.stdout, "organization %s: %d fraud report(s) cleared; later requests are no longer flagged\n",
		strings.ToLower(strings.TrimSpace(org)), n)
	return nil
}

func orgJSON(o store.Organization) jsonOrg {
	return jsonOrg{ID: o.ID, Name: o.Name, Status: o.Status, AdminName: nullable(o.AdminName),
		AdminEmail: nullable(o.AdminEmail), Country: nullable(o.Country), Locale: o.Locale, VatID: nullable(o.VatID)}
}

// orgFlags are the fields of orgs add and orgs update.
type orgFlags struct {
	fs                                               *flag.FlagSet
	id, name, country, adminName, adminEmail, locale *string
	vatID, by                                        *string
}

func newOrgFlags(name string, withID bool) orgFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	f := orgFlags{fs: fs,
		name:       fs.String("name", "", "the organization's name"),
		country:    fs.String("country", "", "ISO 3166-1 alpha-2 country code, e.g. DE"),
		adminName:  fs.String("admin-name", "", "the administrator's name"),
		adminEmail: fs.String("admin-email", "", "the administrator's address (invitations go there)"),
		locale:     fs.String("locale", "", "en or de (default en)"),
		vatID:      fs.String("vat-id", "", "VAT ID"),
		by:         fs.String("by", "", "who changes it (recorded in the audit trail)"),
	}
	if withID {
		f.id = fs.String("id", "", "the organization's UUID")
	}
	return f
}

func cmdOrgsAdd(e *env) error {
	f := newOrgFlags("orgs add", true)
	pos, err := e.flags(f.fs)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	for _, req := range []struct{ flag, v string }{{"--id", *f.id}, {"--name", *f.name}, {"--country", *f.country},
		{"--admin-name", *f.adminName}, {"--admin-email", *f.adminEmail}, {"--by", *f.by}} {
		if strings.TrimSpace(req.v) == "" {
			return usagef("%s is required", req.flag)
		}
	}
	if err := e.open(); err != nil {
		return err
	}
	o, err := e.wf.AddOrganization(e.ctx, workflow.OrganizationInput{ID: *f.id, Name: *f.name, Country: *f.country,
		AdminName: *f.adminName, AdminEmail: *f.adminEmail, Locale: *f.locale, VatID: *f.vatID}, strings.TrimSpace(*f.by))
	if err != nil {
		return orgsErr(err, "adding organization "+strings.TrimSpace(*f.id))
	}
	fmt.Fprintln(e.stdout, o.ID)
	return nil
}

// orgsErr explains a refused directory change; with the HTTP directory
// every change is refused.
func orgsErr(err error, what string) error {
	if errors.Is(err, workflow.ErrReadOnly) {
		return fmt.Errorf("%s: %v", what, err)
	}
	return invalid(err, what)
}

func cmdOrgsUpdate(e *env) error {
	f := newOrgFlags("orgs update", false)
	pos, err := e.flags(f.fs)
	if err != nil {
		return err
	}
	if _, err := orgArg(pos); err != nil {
		return err
	}
	if strings.TrimSpace(*f.by) == "" {
		return usagef("--by is required: the acting ops user's address, for the audit trail")
	}
	var c workflow.OrganizationChange
	n := 0
	f.fs.Visit(func(fl *flag.Flag) {
		n++
		switch fl.Name {
		case "name":
			c.Name = f.name
		case "country":
			c.Country = f.country
		case "admin-name":
			c.AdminName = f.adminName
		case "admin-email":
			c.AdminEmail = f.adminEmail
		case "locale":
			c.Locale = f.locale
		case "vat-id":
			c.VatID = f.vatID
		default:
			n--
		}
	})
	if n == 0 {
		return usagef("nothing to change: give --name, --country, --admin-name, --admin-email, --locale or --vat-id")
	}
	if err := e.open(); err != nil {
		return err
	}
	o, err := e.wf.UpdateOrganization(e.ctx, pos[0], c, strings.TrimSpace(*f.by))
	if err != nil {
		return orgsErr(err, "updating organization "+pos[0])
	}
	fmt.Fprintf(e.stdout, "organization %s (%s) updated\n", o.ID, o.Name)
	return nil
}

func cmdOrgsSuspend(e *env) error {
	fs := flag.NewFlagSet("orgs suspend", flag.ContinueOnError)
	org, by, _, err := recordByReason(e, fs, orgArg, "who suspends (recorded in the audit trail)", "")
	if err != nil {
		return err
	}
	if err := e.wf.SuspendOrganization(e.ctx, org, by); err != nil {
		return orgsErr(err, "suspending organization "+org)
	}
	fmt.Fprintf(e.stdout, "organization %s suspended: requests for it are refused as organization_inactive\n",
		strings.ToLower(strings.TrimSpace(org)))
	return nil
}

func cmdOrgsRefresh(e *env) error {
	fs := flag.NewFlagSet("orgs refresh", flag.ContinueOnError)
	by := fs.String("by", "", "who asks (recorded in the audit trail when the organization changed)")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	if _, err := orgArg(pos); err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	o, err := e.wf.RefreshOrganizationFromDirectory(e.ctx, pos[0], orText(strings.TrimSpace(*by), "cli"))
	if err != nil {
		return explain(err, "refreshing organization "+pos[0])
	}
	fmt.Fprintf(e.stdout, "organization %s (%s) refreshed from the directory: %s\n", o.ID, o.Name, o.Status)
	return nil
}

// orgArg reads one organization ID, as given.
func orgArg(pos []string) (string, error) {
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return "", usagef("expected one organization ID")
	}
	return pos[0], nil
}
