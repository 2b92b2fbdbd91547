package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

// The console's users: add, list, disable, enable, passwd. Every change
// goes through the workflow, which audits it.

type jsonOpsUser struct {
	Email       string  `json:"email"`
	Disabled    bool    `json:"disabled"`
	DisabledAt  *string `json:"disabled_at"`
	CreatedAt   string  `json:"created_at"`
	LastLoginAt *string `json:"last_login_at"`
	Role        string  `json:"role"`
}

func cmdOpsUsersList(e *env) error {
	fs := flag.NewFlagSet("ops-users list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	us, err := e.st.Q(e.ctx).OpsUsers()
	if err != nil {
		return err
	}
	toJSON := func(u store.OpsUser) jsonOpsUser {
		return jsonOpsUser{Email: u.Email, Disabled: u.DisabledAt != nil, DisabledAt: tsp(u.DisabledAt),
			CreatedAt: ts(u.CreatedAt), LastLoginAt: tsp(u.LastLoginAt), Role: u.Role}
	}
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return ts(*t)
	}
	return printList(e, *asJSON, us, toJSON, "EMAIL\tROLE\tSTATUS\tCREATED\tLAST LOGIN", func(u store.OpsUser) string {
		status := "active"
		if u.DisabledAt != nil {
			status = "disabled since " + ts(*u.DisabledAt)
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", u.Email, u.Role, status, ts(u.CreatedAt), when(u.LastLoginAt))
	})
}

// opsUserArgs parses EMAIL [--by WHO] and opens the database.
func opsUserArgs(e *env, name string) (email, by string, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	byFlag := fs.String("by", "cli", "who makes the change (the audit's actor)")
	pos, err := e.flags(fs)
	if err != nil {
		return "", "", err
	}
	if len(pos) != 1 || !strings.Contains(pos[0], "@") {
		return "", "", usagef("expected the user's e-mail address")
	}
	return pos[0], *byFlag, nil
}

func cmdOpsUsersDisable(e *env) error {
	email, by, err := opsUserArgs(e, "ops-users disable")
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.DisableOpsUser(e.ctx, email, by); err != nil {
		return opsExplain(err, "disabling ops user "+email)
	}
	fmt.Fprintf(e.stdout, "ops user %s disabled; their sessions ended\n", email)
	return nil
}

func cmdOpsUsersEnable(e *env) error {
	email, by, err := opsUserArgs(e, "ops-users enable")
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.EnableOpsUser(e.ctx, email, by); err != nil {
		return opsExplain(err, "enabling ops user "+email)
	}
	fmt.Fprintf(e.stdout, "ops user %s enabled\n", email)
	return nil
}

func cmdOpsUsersPasswd(e *env) error {
	email, by, err := opsUserArgs(e, "ops-users passwd")
	if err != nil {
		return err
	}
	pw, err := readPassword(e)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.SetOpsPassword(e.ctx, email, pw, by, 12); err != nil {
		return opsExplain(err, "changing the password of ops user "+email)
	}
	fmt.Fprintf(e.stdout, "ops user %s has a new password; their sessions ended\n", email)
	return nil
}

// readPassword reads one line from stdin and checks it against the
// workflow's password rule before anything is opened.
func readPassword(e *env) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if err := workflow.CheckOpsPassword(pw); err != nil {
		return "", fmt.Errorf("%v: give it on stdin, one line", err)
	}
	return pw, nil
}

// opsExplain is explain with the list command to look names up.
func opsExplain(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: no such user: check the address with onboarder ops-users list", what)
	}
	return explain(err, what)
}

func cmdOpsUsersAdd(e *env) error {
	fs := flag.NewFlagSet("ops-users add", flag.ContinueOnError)
	email := fs.String("email", "", "the user's e-mail address (login name)")
	role := fs.String("role", workflow.RoleViewer, "viewer (reads), approver (acts on requests) or admin (also registry, directory, users)")
	if _, err := e.flags(fs); err != nil {
		return err
	}
	if !strings.Contains(*email, "@") {
		return usagef("--email is required")
	}
	r, err := workflow.CheckRole(*role)
	if err != nil {
		return usagef("--role: %v", err)
	}
	pw, err := readPassword(e)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	u, err := e.wf.AddOpsUserAs(e.ctx, *email, pw, r, 12)
	if err != nil {
		return explain(err, "adding ops user")
	}
	fmt.Fprintf(e.stdout, "ops user %s created (id %d, role %s)\n", u.Email, u.ID, u.Role)
	return nil
}

// cmdOpsUsersRole gives a user a role: ops-users role EMAIL ROLE [--by WHO].
func cmdOpsUsersRole(e *env) error {
	fs := flag.NewFlagSet("ops-users role", flag.ContinueOnError)
	by := fs.String("by", "cli", "who makes the change (the audit's actor)")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	if len(pos) != 2 || !strings.Contains(pos[0], "@") {
		return usagef("expected the user's e-mail address and a role: viewer, approver or admin")
	}
	role, err := workflow.CheckRole(pos[1])
	if err != nil {
		return usagef("%v", err)
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.SetOpsUserRole(e.ctx, pos[0], role, *by); err != nil {
		return opsExplain(err, "changing the role of ops user "+pos[0])
	}
	fmt.Fprintf(e.stdout, "ops user %s is now %s\n", pos[0], role)
	return nil
}
