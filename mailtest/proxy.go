package mailtest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a TCP proxy on 127.0.0.1 in front of a server, for fault
// injection: Stall makes the server silent while connections stay open,
// CutAll drops every connection.
type Proxy struct {
	target string
	ln     net.Listener

	mu      sync.Mutex
	resume  chan struct{} // closed while forwarding; open while stalled
	stalled bool
	pairs   map[*proxyPair]struct{}
	closed  bool

	done chan struct{} // closed by Close
	wg   sync.WaitGroup

	toClient, toServer atomic.Int64

	stallOn  atomic.Pointer[string] // client bytes that make the proxy stall
	stallHit chan struct{}          // closed when stallOn was seen
}

type proxyPair struct {
	client, server net.Conn
	cut            chan struct{}
	once           sync.Once
}

func (p *proxyPair) close() {
	p.once.Do(func() {
		close(p.cut)
		p.client.Close()
		p.server.Close()
	})
}

// proxyDialTimeout bounds the dial to the target.
const proxyDialTimeout = 10 * time.Second

// StartProxy listens on 127.0.0.1:0 and forwards every connection to target.
func StartProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for proxy to %s: %w", target, err)
	}
	resume := make(chan struct{})
	close(resume)
	p := &Proxy{
		target: target,
		ln:     ln,
		resume: resume,
		pairs:  make(map[*proxyPair]struct{}),
		done:   make(chan struct{}),
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// BytesToClient returns how many bytes went from the server to clients.
func (p *Proxy) BytesToClient() int64 { return p.toClient.Load() }

// BytesToServer returns how many bytes went from clients to the server.
func (p *Proxy) BytesToServer() int64 { return p.toServer.Load() }

// Stall stops forwarding in both directions; connections stay open and
// new ones are accepted, but nothing passes until Resume.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stalled {
		p.stalled = true
		p.resume = make(chan struct{})
	}
}

// StallOn makes the proxy stall (as Stall) as soon as a client sends data
// containing s, before that data reaches the server: a server that goes
// silent at a chosen command. The returned channel is closed when it
// happens.
func (p *Proxy) StallOn(s string) <-chan struct{} {
	hit := make(chan struct{})
	p.mu.Lock()
	p.stallHit = hit
	p.mu.Unlock()
	p.stallOn.Store(&s)
	return hit
}

func (p *Proxy) checkStallOn(b []byte) {
	pat := p.stallOn.Load()
	if pat == nil || !strings.Contains(string(b), *pat) {
		return
	}
	if p.stallOn.CompareAndSwap(pat, nil) {
		p.Stall()
		p.mu.Lock()
		close(p.stallHit)
		p.mu.Unlock()
	}
}

// Resume forwards again, including what was held back while stalled.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		p.stalled = false
		close(p.resume)
	}
}

// CutAll closes every current connection on both sides.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	pairs := make([]*proxyPair, 0, len(p.pairs))
	for pp := range p.pairs {
		pairs = append(pairs, pp)
	}
	p.mu.Unlock()
	for _, pp := range pairs {
		pp.close()
	}
}

// Close stops the proxy, closes every connection and waits for its
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()

	err := p.ln.Close()
	p.CutAll()
	p.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("closing proxy: %w", err)
	}
	return nil
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	d := net.Dialer{Timeout: proxyDialTimeout}
	server, err := d.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	pair := &proxyPair{client: client, server: server, cut: make(chan struct{})}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pair.close()
		return
	}
	p.pairs[pair] = struct{}{}
	p.mu.Unlock()

	var inner sync.WaitGroup
	inner.Add(2)
	go func() { defer inner.Done(); p.pump(pair, server, client, &p.toServer) }()
	go func() { defer inner.Done(); p.pump(pair, client, server, &p.toClient) }()
	inner.Wait()

	p.mu.Lock()
	delete(p.pairs, pair)
	p.mu.Unlock()
}

// pump copies src to dst, waiting at the gate while the proxy is stalled.
// Either side ending closes both.
func (p *Proxy) pump(pair *proxyPair, dst, src net.Conn, counter *atomic.Int64) {
	defer pair.close()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if counter == &p.toServer {
				p.checkStallOn(buf[:n])
			}
			if !p.gate(pair) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			counter.Add(int64(n))
		}
		if err != nil {
			return // EOF or closed
		}
	}
}

// gate blocks while the proxy is stalled; false when the pair was cut or
// the proxy closed meanwhile.
func (p *Proxy) gate(pair *proxyPair) bool {
	p.mu.Lock()
	resume := p.resume
	p.mu.Unlock()
	select {
	case <-resume:
		return true
	case <-pair.cut:
		return false
	case <-p.done:
		return false
	}
}
