// Package mqttconn holds what both of the agent's MQTT connections (ingest
// and the action publisher) must agree on: how the [mqtt] section's TLS
// files become a TLS configuration, and how a failed connection is
// explained in one line naming the config keys to fix.
package mqttconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/budare/budare/internal/tlsfiles"
)

// IsTLS reports whether broker's scheme is MQTT over TLS.
func IsTLS(broker string) bool {
	u, err := url.Parse(broker)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "ssl", "tls", "mqtts", "tcps", "wss":
		return true
	}
	return false
}

// Explain turns a connection failure to broker into one line naming the
// cause and what to change. It may probe the broker's port (a TLS
// handshake, nothing sent over it) to tell a plain port from a TLS one.
func Explain(ctx context.Context, broker string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised),
		strings.Contains(msg, packets.ErrorRefusedNotAuthorised.Error()), strings.Contains(msg, packets.ErrorRefusedBadUsernameOrPassword.Error()):
		return fmt.Errorf("broker %s refused the user name or password: check mqtt.username and the password in mqtt.password_file (and the broker's password_file) (%w)", broker, err)
	}
	u, perr := url.Parse(broker)
	if IsTLS(broker) {
		const plainHint = "use a tcp:// URL in mqtt.broker, or the port of the broker's TLS listener"
		// ssl:// to a plain listener: Mosquitto reads the TLS hello as a
		// broken packet and resets the connection.
		if perr == nil && droppedEarly(err) && !speaksTLS(ctx, u.Host) {
			return fmt.Errorf("broker %s does not speak TLS on this port (it dropped the TLS handshake): %s (%w)", broker, plainHint, err)
		}
		return tlsfiles.Explain(err, "mqtt", "broker "+broker, plainHint)
	}
	// tcp:// to a TLS listener: the broker reads CONNECT as a broken TLS
	// hello and drops the connection, which paho reports as EOF or reset.
	if perr == nil && droppedEarly(err) && speaksTLS(ctx, u.Host) {
		return fmt.Errorf("broker %s expects TLS on this port: use ssl://%s in mqtt.broker (and mqtt.ca_file for its CA) (%w)", broker, u.Host, err)
	}
	return err
}

func droppedEarly(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "EOF")
}

// speaksTLS reports whether hostport answers a TLS handshake: completes it,
// or refuses it with a TLS alert (a broker requiring a client certificate).
// Only that matters, so the certificate is not verified here; nothing is
// sent over the connection and it is closed at once.
func speaksTLS(ctx context.Context, hostport string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // probe only
	c, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return strings.Contains(err.Error(), "remote error: tls:")
	}
	c.Close()
	return true
}
