package sdnotify

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeSystemd listens where NOTIFY_SOCKET points, as systemd does for a
// Type=notify service, and hands every datagram to the test.
func fakeSystemd(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listening on %s: %v", path, err)
	}
	t.Setenv("NOTIFY_SOCKET", path)
	msgs := make(chan string, 1024)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(msgs)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		wg.Wait()
	})
	return msgs
}

func next(t *testing.T, msgs <-chan string) string {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no notification arrived within 10s")
		return ""
	}
}

func TestReadyStatusStopping(t *testing.T) {
	msgs := fakeSystemd(t)
	t.Setenv("WATCHDOG_USEC", "")
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		send func() error
		want string
	}{
		{n.Ready, "READY=1"},
		{func() error { return n.Status("ingesting\n3 machines") }, "STATUS=ingesting 3 machines"},
		{n.Ping, "WATCHDOG=1"},
		{n.Stopping, "STOPPING=1"},
	}
	for _, s := range steps {
		if err := s.send(); err != nil {
			t.Fatalf("sending %s: %v", s.want, err)
		}
		if got := next(t, msgs); got != s.want {
			t.Errorf("received %q, want %q", got, s.want)
		}
	}
}

func TestWatchdogPingsWhileAlive(t *testing.T) {
	msgs := fakeSystemd(t)
	t.Setenv("WATCHDOG_USEC", "40000") // 40ms: pings every 20ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if got := n.WatchdogInterval(); got != 40*time.Millisecond {
		t.Fatalf("WatchdogInterval = %v, want 40ms", got)
	}
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := next(t, msgs); got != "READY=1" {
		t.Fatalf("first notification %q, want READY=1", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.RunWatchdog(ctx, func() bool { return true }) }()
	for i := 0; i < 3; i++ {
		if got := next(t, msgs); got != "WATCHDOG=1" {
			t.Fatalf("notification %d: %q, want WATCHDOG=1", i, got)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunWatchdog: %v", err)
	}
}

func TestWatchdogSilentWhenNotAlive(t *testing.T) {
	msgs := fakeSystemd(t)
	t.Setenv("WATCHDOG_USEC", "10000")
	t.Setenv("WATCHDOG_PID", "")
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	asked := 0
	done := make(chan error, 1)
	go func() {
		done <- n.RunWatchdog(ctx, func() bool {
			mu.Lock()
			defer mu.Unlock()
			asked++
			return false
		})
	}()
	// Wait until the loop has asked several times, then prove nothing was sent.
	for {
		mu.Lock()
		a := asked
		mu.Unlock()
		if a >= 5 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := next(t, msgs); got != "READY=1" {
		t.Errorf("a ping was sent while not alive: first datagram %q", got)
	}
}

func TestWatchdogSettings(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		name, usec, pid string
		want            time.Duration
		wantErr         bool
	}{
		{"no watchdog", "", "", 0, false},
		{"thirty seconds", "30000000", "", 30 * time.Second, false},
		{"for this process", "15000000", self, 15 * time.Second, false},
		{"for another process", "15000000", "1", 0, false},
		{"not a number", "30s", "", 0, true},
		{"negative", "-5", "", 0, true},
		{"zero", "0", "", 0, true},
		{"bad pid", "1000", "me", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", tc.usec)
			t.Setenv("WATCHDOG_PID", tc.pid)
			n, err := New()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("New() accepted WATCHDOG_USEC=%q WATCHDOG_PID=%q", tc.usec, tc.pid)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := n.WatchdogInterval(); got != tc.want {
				t.Errorf("WatchdogInterval = %v, want %v", got, tc.want)
			}
			// Without a watchdog RunWatchdog must return at once, not block.
			if tc.want == 0 {
				if err := n.RunWatchdog(context.Background(), func() bool { return true }); err != nil {
					t.Errorf("RunWatchdog without watchdog: %v", err)
				}
			}
		})
	}
}

func TestOutsideSystemdIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func() error{n.Ready, n.Stopping, n.Ping} {
		if err := f(); err != nil {
			t.Errorf("without NOTIFY_SOCKET: %v", err)
		}
	}
}

func TestDeadSocketIsAnError(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "gone.sock"))
	t.Setenv("WATCHDOG_USEC", "")
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	err = n.Ready()
	if err == nil {
		t.Fatal("Ready to a missing socket returned nil")
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("error %v does not wrap the socket error", err)
	}
}
