package otlpsink

import (
	"net"
	"sync"
)

// connTracker is the gRPC listener of a sink with a rule that drops
// connections: it knows every accepted connection by its peer address (what
// grpc-go's peer.FromContext reports), so that a handler can close the
// transport its request came on. grpc-go offers no way to close one client's
// connection from a handler; closing the socket under it is clean: the
// server transport sees the read fail and ends, and the client sees its
// connection go, with no answer.
type connTracker struct {
	net.Listener
	mu    sync.Mutex
	conns map[string]*trackedConn
}

// track wraps lis when rules need it, and returns lis as it is otherwise.
func (t *connTracker) track(lis net.Listener) net.Listener {
	if t == nil {
		return lis
	}
	t.Listener = lis
	t.conns = map[string]*trackedConn{}
	return t
}

func (t *connTracker) Accept() (net.Conn, error) {
	c, err := t.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: t, addr: c.RemoteAddr().String()}
	t.mu.Lock()
	t.conns[tc.addr] = tc
	t.mu.Unlock()
	return tc, nil
}

// drop closes the connection from addr, and reports whether there was one.
func (t *connTracker) drop(addr string) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	c := t.conns[addr]
	t.mu.Unlock()
	if c == nil {
		return false
	}
	_ = c.Close()
	return true
}

type trackedConn struct {
	net.Conn
	t    *connTracker
	addr string
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		if c.t.conns[c.addr] == c {
			delete(c.t.conns, c.addr)
		}
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}
