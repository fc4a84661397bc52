// Package sdnotify tells systemd about a service's state over the sd_notify
// protocol: readiness (Type=notify), shutdown, a status line, and watchdog
// pings (WatchdogSec=). Outside systemd (NOTIFY_SOCKET unset) every call is a
// no-op, so the same binary runs under a shell, a container or a test.
package sdnotify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends notifications to the socket systemd names in NOTIFY_SOCKET.
type Notifier struct {
	watchdog time.Duration
}

// New reads the watchdog settings systemd passes (WATCHDOG_USEC, and
// WATCHDOG_PID when set, which must be this process). A malformed value is an
// error rather than a silently disabled watchdog: systemd would then kill a
// service that believed it need not ping.
func New() (*Notifier, error) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return nil, fmt.Errorf("sdnotify: reading the watchdog settings: %w", err)
	}
	return &Notifier{watchdog: d}, nil
}

// WatchdogInterval is the WatchdogSec= systemd enforces, or 0 when there is no
// watchdog for this process.
func (n *Notifier) WatchdogInterval() time.Duration { return n.watchdog }

// Ready says start-up is complete; systemd holds back units ordered after this
// one, and marks the start as done, until it arrives.
func (n *Notifier) Ready() error { return n.send(daemon.SdNotifyReady) }

// Stopping says a clean shutdown has begun, so a slow drain is not mistaken for
// a hang.
func (n *Notifier) Stopping() error { return n.send(daemon.SdNotifyStopping) }

// Status sets the one-line status `systemctl status` shows. Newlines would end
// the field early, so they are replaced.
func (n *Notifier) Status(line string) error {
	return n.send("STATUS=" + strings.ReplaceAll(line, "\n", " "))
}

// Ping resets the watchdog timer.
func (n *Notifier) Ping() error { return n.send(daemon.SdNotifyWatchdog) }

// RunWatchdog pings at half the watchdog interval, as sd_watchdog_enabled(3)
// recommends, for as long as alive reports true, and returns when ctx ends.
// alive should say whether the service's main loop is still turning, not
// whether its dependencies are up: a missed ping makes systemd kill and
// restart the service, which cures a deadlock but not a broker outage.
// A failed ping is retried on the next tick; the first failure is returned
// when ctx ends, for the caller to log. Without a watchdog it returns nil at
// once.
func (n *Notifier) RunWatchdog(ctx context.Context, alive func() bool) error {
	if n.watchdog <= 0 {
		return nil
	}
	t := time.NewTicker(n.watchdog / 2)
	defer t.Stop()
	var first error
	for {
		if alive() {
			if err := n.Ping(); err != nil && first == nil {
				first = err
			}
		}
		select {
		case <-ctx.Done():
			return first
		case <-t.C:
		}
	}
}

func (n *Notifier) send(state string) error {
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("sdnotify: sending %q: %w", state, err)
	}
	return nil
}
