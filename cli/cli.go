// Package cli is onboarder's command table and its one composition root:
// it reads the configuration, builds and wires every part (store, workflow,
// mailbox poller, outbox dispatcher, web server), runs the cron schedule with
// the lease-guarded poll, and the demo. The intake is the mailbox poller
// with the workflow as its handler (worker.go: intakeHandler).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"

	"github.com/onboarder/onboarder/config"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// usageError is a command-line mistake (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	stdin  io.Reader
	getenv func(string) string
	cfg    config.Config
	log    *slog.Logger
	args   []string // the command's own arguments (config flags removed)

	st  *store.Store
	wf  *workflow.Service
	tpl *templates.Set
	// onQueued is called after a transaction queued mail (wakes the dispatcher).
	onQueued func()
	// onWebhook is called after a transaction wrote webhook events.
	onWebhook func()
	// integ: OAuth tokens, directory API (integrations.go).
	integ integrations
}

type command struct {
	words []string
	args  string
	help  string
	run   func(e *env) error
}

var commands []command

func init() {
	commands = []command{
		{[]string{"migrate"}, "", "create or upgrade the schema", cmdMigrate},
		{[]string{"run"}, "", "long-running worker: scheduled polls (+ IDLE), outbox dispatcher, invitation expiry, link reminders and end dates, web server", cmdRun},
		{[]string{"poll"}, "--once", "one intake pass over all new mail, then exit", cmdPoll},
		{[]string{"outbox", "flush"}, "", "try every due outbox mail once now", cmdOutboxFlush},
		{[]string{"outbox", "list"}, "[--status S] [--json]", "outbox mails", cmdOutboxList},
		{[]string{"outbox", "retry"}, "ID [--by WHO]", "put a failed or held outbox mail back in the queue", cmdOutboxRetry},
		{[]string{"messages", "list"}, "[--json]", "every received mail and what became of it", cmdMessagesList},
		{[]string{"messages", "show"}, "ID [--raw] [--json]", "one received mail (its raw source with --raw)", cmdMessagesShow},
		{[]string{"messages", "reprocess"}, "ID", "handle a mail again after a fix", cmdMessagesReprocess},
		{[]string{"requests", "list"}, "[--state S] [--json]", "requests, newest first", cmdRequestsList},
		{[]string{"requests", "show"}, "ID [--json]", "one request with findings, mails and audit trail", cmdRequestsShow},
		{[]string{"requests", "approve"}, "ID --by WHO [--note TEXT] [--invite-contact EMAIL]", "approve a pending_approval request (--invite-contact: the contact the partner suggested, when the directory has no administrator address)", cmdRequestsApprove},
		{[]string{"requests", "reject"}, "ID --by WHO --reason TEXT", "reject an open request", cmdRequestsReject},
		{[]string{"partners", "add"}, "--name N [--email A]... [--domain D]... [--ref R] [--locale en|de] [--trusted]", "register a partner; prints its id", cmdPartnersAdd},
		{[]string{"partners", "list"}, "[--json]", "partners", cmdPartnersList},
		{[]string{"partners", "show"}, "ID [--json]", "one partner with its rules, links and recent requests", cmdPartnersShow},
		{[]string{"partners", "update"}, "ID [--name N] [--email A]... [--domain D]... [--ref R] [--locale L] [--trusted=BOOL] [--parent ID|--no-parent] --by WHO", "change a partner (the given lists replace the old ones); audited", cmdPartnersUpdate},
		{[]string{"partners", "suspend"}, "ID --by WHO --reason TEXT", "suspend a partner: its mail is unknown_sender; audited", cmdPartnersSuspend},
		{[]string{"partners", "activate"}, "ID --by WHO", "re-activate a suspended partner; audited", cmdPartnersActivate},
		{[]string{"orgs", "import"}, "FILE.csv", "upsert organizations (header id,name,status,admin_name,admin_email,country,locale)", cmdOrgsImport},
		{[]string{"orgs", "list"}, "[--json]", "organizations", cmdOrgsList},
		{[]string{"orgs", "add"}, "--id UUID --name N --country CC --admin-name N --admin-email A [--locale L] [--vat-id V] --by WHO", "add an organization to the database directory; audited", cmdOrgsAdd},
		{[]string{"orgs", "update"}, "ID [--name N] [--country CC] [--admin-name N] [--admin-email A] [--locale L] [--vat-id V] --by WHO", "change an organization; a new administrator is flagged on its open requests; audited", cmdOrgsUpdate},
		{[]string{"orgs", "suspend"}, "ID --by WHO", "suspend an organization; audited", cmdOrgsSuspend},
		{[]string{"orgs", "refresh"}, "ID [--by WHO]", "ask the HTTP directory about an organization again", cmdOrgsRefresh},
		{[]string{"orgs", "clear-fraud"}, "ORG_ID --by WHO --reason TEXT", "clear the organization's open fraud reports (audited)", cmdOrgsClearFraud},
		{[]string{"links", "list"}, "[--json]", "links", cmdLinksList},
		{[]string{"links", "revoke"}, "ID --by WHO", "revoke a link", cmdLinksRevoke},
		{[]string{"links", "end"}, "ID --by WHO --reason TEXT", "end an active link (ended); both sides are told", cmdLinksEnd},
		{[]string{"links", "set-end"}, "ID --at DATE|--none --by WHO", "set (YYYY-MM-DD or RFC 3339, in the future) or clear a link's end date; audited", cmdLinksSetEnd},
		{[]string{"invites", "resend"}, "ID [--by WHO]", "send a new invitation for a request (the old link stops working)", cmdInvitesResend},
		{[]string{"ops-users", "add"}, "--email E [--role viewer|approver|admin]", "create an ops console user (role viewer unless --role); the password is read from stdin", cmdOpsUsersAdd},
		{[]string{"ops-users", "list"}, "[--json]", "the console's users: role, disabled or not, last login", cmdOpsUsersList},
		{[]string{"ops-users", "disable"}, "EMAIL [--by WHO]", "stop a console user from logging in; their sessions end at once", cmdOpsUsersDisable},
		{[]string{"ops-users", "enable"}, "EMAIL [--by WHO]", "let a disabled console user log in again", cmdOpsUsersEnable},
		{[]string{"ops-users", "passwd"}, "EMAIL [--by WHO]", "give a console user a new password, read from stdin; their sessions end", cmdOpsUsersPasswd},
		{[]string{"ops-users", "role"}, "EMAIL viewer|approver|admin [--by WHO]", "give a console user a role: viewer reads, approver acts on requests, admin also changes registry, directory and users", cmdOpsUsersRole},
		{[]string{"audit", "list"}, "[--request ID] [--actor A] [--since T] [--json]", "every audit entry, newest first", cmdAuditList},
		{[]string{"config", "check"}, "", "print the effective configuration (secrets redacted) and try every connection", cmdConfigCheck},
		{[]string{"demo"}, "[--no-serve]", "the zero-setup tour: in-process mail servers, sample data, the real pipeline, the web console", cmdDemo},
	}
}

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, os.Stdin, stdout, stderr, os.Getenv)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		fmt.Fprintf(stderr, "onboarder: unknown command %q: run 'onboarder help' for the list\n", strings.Join(leadingWords(args), " "))
		return exitUsage
	}
	for _, a := range rest {
		if a == "-h" || a == "--help" {
			fmt.Fprintf(stdout, "usage: onboarder %s %s\n  %s\n\n%s", strings.Join(cmd.words, " "), cmd.args, cmd.help, config.Usage())
			return exitOK
		}
	}
	cfg, rest, err := config.Load(rest, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "onboarder: %v\n", err)
		var fe *config.FlagError
		if errors.As(err, &fe) {
			return exitUsage
		}
		return exitFail
	}
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, stdin: stdin, getenv: getenv, cfg: cfg, args: rest,
		log: newLogger(cfg, stderr)}
	defer e.close()
	err = cmd.run(e)
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "onboarder %s: %v (usage: onboarder %s %s)\n", strings.Join(cmd.words, " "), ue.msg, strings.Join(cmd.words, " "), cmd.args)
		return exitUsage
	}
	fmt.Fprintf(stderr, "onboarder %s: %s\n", strings.Join(cmd.words, " "), oneLine(err.Error()))
	return exitFail
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func leadingWords(args []string) []string {
	var w []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		w = append(w, a)
		if len(w) == 2 {
			break
		}
	}
	return w
}

func findCommand(args []string) (*command, []string) {
	var best *command
	for i := range commands {
		c := &commands[i]
		if len(args) < len(c.words) {
			continue
		}
		ok := true
		for j, w := range c.words {
			if args[j] != w {
				ok = false
			}
		}
		if ok && (best == nil || len(c.words) > len(best.words)) {
			best = c
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[len(best.words):]
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "onboarder: the worker behind the partners@ mailbox (reseller connection requests).")
	fmt.Fprintln(w, "\nusage: onboarder COMMAND [flags]")
	lines := make([]string, 0, len(commands))
	for _, c := range commands {
		lines = append(lines, fmt.Sprintf("  %-22s %s\n      %s", strings.Join(c.words, " "), c.args, c.help))
	}
	sort.Strings(lines)
	fmt.Fprintln(w, strings.Join(lines, "\n"))
	fmt.Fprintln(w, "\nExit codes: 0 success, 1 failure (one line on stderr), 2 usage error.")
	fmt.Fprintln(w, "Run 'onboarder COMMAND --help' for the configuration variables.")
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// open connects and migrates the database, loads the templates and builds
// the workflow service.
func (e *env) open() error {
	if e.wf != nil {
		return nil
	}
	st, err := store.Open(e.ctx, e.cfg.DatabaseURL, store.Options{Logger: e.log})
	if err != nil {
		return fmt.Errorf("%w: check ONBOARDER_DATABASE_URL and that the database is running", err)
	}
	e.st = st
	if err := st.Migrate(e.ctx); err != nil {
		return fmt.Errorf("%w: check the database user's rights", err)
	}
	tpl, err := templates.Load(e.cfg.TemplatesDir)
	if err != nil {
		return fmt.Errorf("loading mail templates: %w: fix the file or unset ONBOARDER_TEMPLATES_DIR", err)
	}
	e.tpl = tpl
	dir, err := e.workflowDirectory(st)
	if err != nil {
		return err
	}
	wf, err := workflow.New(st, workflowOptions(e.cfg, e, tpl, dir))
	if err != nil {
		return err
	}
	e.wf = wf
	return nil
}

// workflowOptions is the workflow's part of the configuration: every setting
// the workflow uses is passed here (the workflow's own fallbacks are for tests).
func workflowOptions(cfg config.Config, e *env, tpl *templates.Set, dir workflow.Directory) workflow.Options {
	o := workflow.Options{
		Directory: dir,
		Webhooks:  cfg.WebhookURL != "",
		WebhookQueued: func() {
			if e.onWebhook != nil {
				e.onWebhook()
			}
		},
		From:               cfg.MailFrom,
		ReplyTo:            cfg.ReplyTo,
		PublicURL:          cfg.PublicURL,
		TrustedAuthServID:  cfg.TrustedAuthServID,
		AutoApproveTrusted: cfg.AutoApproveTrusted,
		InviteTTL:          cfg.InviteTTL,
		FourEyesFindings:   cfg.FourEyesFindings,
		Templates:          tpl,
		Logger:             e.log,
		VerifyDKIM:         cfg.VerifyDKIM,
		LookupTXT:          net.DefaultResolver.LookupTXT,
		AnswerLimitSender:  cfg.AnswerLimitSender,
		AnswerLimitPartner: cfg.AnswerLimitPartner,
		RawRetention:       cfg.RawRetention,
		MaxMessageBytes:    cfg.MaxMessageBytes,
		SessionMaxAge:      cfg.SessionMaxAge,
		Queued: func() {
			if e.onQueued != nil {
				e.onQueued()
			}
		},
	}
	// The timers (workflow.RunTimers).
	o.InviteReminderBefore, o.NeedsInfoChaseAfter, o.NeedsInfoExpireAfter = cfg.InviteReminderBefore, cfg.NeedsInfoChaseAfter, cfg.NeedsInfoExpireAfter
	o.ConsentTTL = cfg.ConsentTTL
	o.DigestTo, o.DigestSchedule = cfg.OpsDigestTo, digestSchedule(cfg)
	return o
}

func (e *env) close() {
	if e.st != nil {
		e.st.Close()
	}
}

// flags parses a command's flags, allowing positional arguments between
// them ("approve 42 --by ops" as well as "approve --by ops 42").
func (e *env) flags(fs *flag.FlagSet) ([]string, error) {
	fs.SetOutput(io.Discard)
	args := e.args
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagsAndOpen parses the flags of a command that reads the database, then
// opens it.
func (e *env) flagsAndOpen(fs *flag.FlagSet) ([]string, error) {
	pos, err := e.flags(fs)
	if err != nil {
		return nil, err
	}
	return pos, e.open()
}

// byReason parses the command line of a change an ops user answers for:
// it declares --by (who, for the audit trail) and, when why is not empty,
// --reason on fs, parses with e.flags, requires each flag it declared and
// returns by trimmed.
func (e *env) byReason(fs *flag.FlagSet, who, why string) (pos []string, by, reason string, err error) {
	byFlag := fs.String("by", "", who)
	var reasonFlag *string
	if why != "" {
		reasonFlag = fs.String("reason", "", why)
	}
	if pos, err = e.flags(fs); err != nil {
		return nil, "", "", err
	}
	by = strings.TrimSpace(*byFlag)
	if reasonFlag != nil {
		reason = *reasonFlag
	}
	switch noReason := reasonFlag != nil && strings.TrimSpace(reason) == ""; {
	case by == "" && noReason:
		return nil, "", "", usagef("--by and --reason are required")
	case by == "":
		return nil, "", "", usagef("--by is required")
	case noReason:
		return nil, "", "", usagef("--reason is required")
	}
	return pos, by, reason, nil
}

// record reads the command line of a command on one record: the flags of
// fs, then the record's ID with arg; then it opens the database.
func record[ID any](e *env, fs *flag.FlagSet, arg func([]string) (ID, error)) (ID, error) {
	pos, err := e.flags(fs)
	if err != nil {
		var none ID
		return none, err
	}
	return openRecord(e, pos, arg)
}

// recordByReason is record for a change an ops user answers for, with
// byReason's --by and --reason.
func recordByReason[ID any](e *env, fs *flag.FlagSet, arg func([]string) (ID, error), who, why string) (id ID, by, reason string, err error) {
	pos, by, reason, err := e.byReason(fs, who, why)
	if err != nil {
		return id, "", "", err
	}
	id, err = openRecord(e, pos, arg)
	return id, by, reason, err
}

// openRecord reads a record's ID from the arguments with arg, then opens
// the database.
func openRecord[ID any](e *env, pos []string, arg func([]string) (ID, error)) (ID, error) {
	id, err := arg(pos)
	if err != nil {
		return id, err
	}
	return id, e.open()
}

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// requestArg reads a request number or reference.
func requestArg(pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usagef("expected one request ID (42 or REQ-000042)")
	}
	id, ok := store.ParseReference(pos[0])
	if !ok {
		return 0, usagef("%q is not a request ID: use a number like 42 or a reference like REQ-000042", pos[0])
	}
	return id, nil
}

// explain turns domain errors into one line with what to do.
func explain(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s: %v: check the ID with the list command", what, err)
	case errors.Is(err, workflow.ErrState), errors.Is(err, store.ErrConflict), errors.Is(err, workflow.ErrContactRefused):
		return fmt.Errorf("%s: refused: %v", what, err)
	case errors.Is(err, workflow.ErrTooSoon):
		return fmt.Errorf("%s: refused: %v", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func cmdMigrate(e *env) error {
	if _, err := e.flags(flag.NewFlagSet("migrate", flag.ContinueOnError)); err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	v, err := e.st.SchemaVersion(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema at version %d (%s)\n", v, e.st.Dialect())
	return nil
}
