package mailtest

import (
	"bytes"
	"net"
	"strconv"
	"sync"

	"github.com/emersion/go-imap/v2"
)

// capFilterListener hands out connections whose server-side writes have the
// disabled capabilities removed from every capability list (greeting,
// CAPABILITY response, LOGIN's OK [CAPABILITY ...]).
type capFilterListener struct {
	net.Listener
	drop map[imap.Cap]bool
}

func (l *capFilterListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &capFilterConn{Conn: c, f: &capFilter{drop: l.drop}}, nil
}

type capFilterConn struct {
	net.Conn
	mu sync.Mutex
	f  *capFilter
}

func (c *capFilterConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.f.filter(p)
	if len(out) == 0 {
		return len(p), nil
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// capFilter rewrites the server's output stream line by line. It follows
// literals ({N}) so that mail contents are never touched, and holds back a
// line that is split across writes until its end arrives.
type capFilter struct {
	drop    map[imap.Cap]bool
	litLeft int64  // bytes of literal data still to pass through
	partial []byte // start of a line whose CRLF has not arrived yet
}

func (f *capFilter) filter(p []byte) []byte {
	out := make([]byte, 0, len(p)+len(f.partial))
	for len(p) > 0 {
		if f.litLeft > 0 {
			n := int64(len(p))
			if n > f.litLeft {
				n = f.litLeft
			}
			out = append(out, p[:n]...)
			p = p[n:]
			f.litLeft -= n
			continue
		}
		i := bytes.Index(p, []byte("\r\n"))
		if i < 0 {
			f.partial = append(f.partial, p...)
			if len(f.partial) > 64*1024 {
				// Not a capability line; stop holding it back.
				out = append(out, f.partial...)
				f.partial = nil
			}
			break
		}
		line := append(f.partial, p[:i]...)
		f.partial = nil
		p = p[i+2:]
		out = append(out, f.rewrite(line)...)
		out = append(out, '\r', '\n')
		f.litLeft = literalSize(line)
	}
	return out
}

// literalSize returns N when line ends with {N} or {N+}, else 0.
func literalSize(line []byte) int64 {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return 0
	}
	num := bytes.TrimSuffix(line[open+1:len(line)-1], []byte("+"))
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// rewrite drops disabled capabilities from "* CAPABILITY ..." and from a
// "[CAPABILITY ...]" response code of an untagged or tagged status line.
func (f *capFilter) rewrite(line []byte) []byte {
	if rest, ok := bytes.CutPrefix(line, []byte("* CAPABILITY ")); ok {
		return append([]byte("* CAPABILITY "), f.dropCaps(rest)...)
	}
	start := bytes.Index(line, []byte("[CAPABILITY "))
	if start < 0 {
		return line
	}
	// Only in the response code right after "<tag> OK|PREAUTH ".
	fields := bytes.SplitN(line[:start], []byte(" "), 3)
	if len(fields) != 3 || len(fields[2]) != 0 {
		return line
	}
	end := bytes.IndexByte(line[start:], ']')
	if end < 0 {
		return line
	}
	end += start
	out := append([]byte{}, line[:start+len("[CAPABILITY ")]...)
	out = append(out, f.dropCaps(line[start+len("[CAPABILITY "):end])...)
	return append(out, line[end:]...)
}

func (f *capFilter) dropCaps(list []byte) []byte {
	var kept [][]byte
	for _, c := range bytes.Fields(list) {
		if !f.drop[imap.Cap(bytes.ToUpper(c))] {
			kept = append(kept, c)
		}
	}
	return bytes.Join(kept, []byte(" "))
}
