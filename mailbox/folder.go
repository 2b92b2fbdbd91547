package mailbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Folder names. The processed folder is configured in the user's terms,
// "/" between levels ("Onboarder/Processed"), because a server's own
// spelling differs: Dovecot's default is "Onboarder/Processed", Cyrus's
// and Courier's (personal namespace "INBOX.", "." between levels) is
// "INBOX.Onboarder.Processed", and they refuse the other one. The first
// pass asks the server (NAMESPACE, RFC 2342; LIST "" "" without it) and
// keeps the answer for the Poller's life.

// serverFolder maps name ("/" between levels) to the server's name: the
// personal namespace prefix, then the levels joined with delim. A name
// that already starts with the prefix, or whose first level is the prefix
// without its delimiter ("INBOX/Onboarder" under "INBOX."), is taken as
// rooted there, so that a setting written in the server's terms keeps
// working. delim 0 means a flat server: only the prefix is added.
func serverFolder(name, prefix string, delim rune) string {
	if prefix != "" && len(name) >= len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
		return name
	}
	if delim == 0 {
		return prefix + name
	}
	sep := string(delim)
	if root := strings.TrimSuffix(prefix, sep); root != "" {
		first, rest, _ := strings.Cut(name, "/")
		if strings.EqualFold(first, root) && rest != "" {
			return root + sep + strings.ReplaceAll(rest, "/", sep)
		}
	}
	return prefix + strings.ReplaceAll(name, "/", sep)
}

// folderNaming is what the server said about its personal folders.
type folderNaming struct {
	prefix string
	delim  rune
}

func (n folderNaming) String() string {
	if n.delim == 0 {
		return fmt.Sprintf("personal folders under %q, no hierarchy", n.prefix)
	}
	return fmt.Sprintf("personal folders under %q with %q between levels", n.prefix, string(n.delim))
}

// processedFolder returns the processed folder as the server names it,
// asking the server on first use.
func (p *Poller) processedFolder(ctx context.Context, s *session) (string, folderNaming, error) {
	p.folderMu.Lock()
	defer p.folderMu.Unlock()
	if p.folder != "" {
		return p.folder, p.naming, nil
	}
	naming, err := p.askNaming(ctx, s)
	if err != nil {
		return "", naming, err
	}
	p.folder, p.naming = serverFolder(p.cfg.ProcessedFolder, naming.prefix, naming.delim), naming
	if p.folder != p.cfg.ProcessedFolder {
		p.log.Info("processed folder named as the server wants it", "folder", p.folder,
			"setting", p.cfg.ProcessedFolder, "namespace_prefix", naming.prefix, "delimiter", string(naming.delim))
	}
	return p.folder, p.naming, nil
}

// askNaming reads the first personal namespace, or (without NAMESPACE, or
// when it fails) the hierarchy delimiter of LIST "" "" and no prefix.
func (p *Poller) askNaming(ctx context.Context, s *session) (folderNaming, error) {
	caps, err := s.caps(ctx)
	if err != nil {
		return folderNaming{}, err
	}
	if caps.Has(imap.CapNamespace) || caps.Has(imap.CapIMAP4rev2) {
		var ns *imap.NamespaceData
		err := s.do(ctx, "NAMESPACE", func() error {
			var err error
			ns, err = s.c.Namespace().Wait()
			return err
		})
		var imapErr *imap.Error
		switch {
		case err == nil && len(ns.Personal) > 0:
			return folderNaming{prefix: ns.Personal[0].Prefix, delim: ns.Personal[0].Delim}, nil
		case err != nil && !errors.As(err, &imapErr):
			return folderNaming{}, err // the connection failed
		}
		p.log.Debug("no personal namespace, asking LIST for the delimiter", "err", err)
	}
	var delim rune
	err = s.do(ctx, `LIST "" ""`, func() error {
		list, err := s.c.List("", "", nil).Collect()
		if err == nil && len(list) > 0 {
			delim = list[0].Delim
		}
		return err
	})
	return folderNaming{delim: delim}, err
}

// FolderError says that the processed folder could not be created or used:
// the folder's name, the setting it came from and the server's naming, and
// the server's answer. It is about the folder setting, not the connection.
type FolderError struct {
	Folder  string // as sent to the server
	Setting string // as configured ("/" between levels)
	Naming  string // what the server said about its folder names
	Err     error
}

func (e *FolderError) Error() string {
	from := ""
	if e.Setting != e.Folder {
		from = fmt.Sprintf(" (the setting %q on a server with %s)", e.Setting, e.Naming)
	} else if e.Naming != "" {
		from = fmt.Sprintf(" (the server has %s)", e.Naming)
	}
	return fmt.Sprintf("processed folder %q%s cannot be created: %v", e.Folder, from, e.Err)
}

func (e *FolderError) Unwrap() error { return e.Err }
