package ingest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// paho reads every packet with several small reads straight from the socket
// and writes every PUBACK with its own write: at tens of thousands of
// messages a second those system calls are a large share of the agent's CPU.
// bufConn buffers reads, and coalesces writes issued within flushDelay of
// each other (a batch's acknowledgements go out together, right after its
// commit) into one write.
const (
	flushDelay   = 300 * time.Microsecond
	flushSize    = 32 << 10
	writeTimeout = 10 * time.Second
)

// dialedScheme reports whether dialBuffered opens broker URLs of scheme,
// and whether over TLS; paho dials the others (ws://, wss://) itself.
func dialedScheme(scheme string) (useTLS, dialed bool) {
	switch scheme {
	case "tcp", "mqtt":
		return false, true
	case "ssl", "tls", "mqtts", "tcps":
		return true, true
	}
	return false, false
}

// dialBuffered opens tcp:// and ssl:// broker connections wrapped in bufConn.
func dialBuffered(tlsc *tls.Config) mqtt.OpenConnectionFunc {
	return func(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
		d := &net.Dialer{Timeout: o.ConnectTimeout}
		var c net.Conn
		var err error
		switch useTLS, ok := dialedScheme(uri.Scheme); {
		case !ok:
			return nil, fmt.Errorf("mqtt broker scheme %q: want tcp:// or ssl://", uri.Scheme)
		case useTLS:
			c, err = tls.DialWithDialer(d, "tcp", uri.Host, tlsc)
		default:
			c, err = d.Dial("tcp", uri.Host)
		}
		if err != nil {
			return nil, err
		}
		return newBufConn(c), nil
	}
}

type bufConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	buf     []byte
	pending bool
	err     error // first write error; every later Write returns it
}

func newBufConn(c net.Conn) *bufConn {
	return &bufConn{Conn: c, r: bufio.NewReaderSize(c, 32<<10)}
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Write queues p; it reaches the socket within flushDelay. A write error
// surfaces on a later Write (and the read side sees the broken connection),
// so paho tears the connection down as it would have.
func (c *bufConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= flushSize {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if !c.pending {
		c.pending = true
		time.AfterFunc(flushDelay, c.flush)
	}
	return len(p), nil
}

func (c *bufConn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = false
	_ = c.flushLocked()
}

func (c *bufConn) flushLocked() error {
	if len(c.buf) == 0 || c.err != nil {
		return c.err
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		c.err = err
	}
	return err
}

// Close sends what is queued (the last acknowledgements and DISCONNECT),
// giving up after a short while on a dead connection, then closes.
func (c *bufConn) Close() error {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second)) // unblocks a stuck flush
	c.mu.Lock()
	_ = c.flushLocked()
	c.err = net.ErrClosed
	c.mu.Unlock()
	return c.Conn.Close()
}

// Write deadlines are bufConn's own business (writeTimeout per flush);
// paho's per-packet deadlines would expire before a delayed flush.
func (c *bufConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline applies to reads only, for the same reason.
func (c *bufConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }
