package mqttconn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

func TestExplainAuthNamesTheKeys(t *testing.T) {
	for _, err := range []error{packets.ErrorRefusedNotAuthorised, packets.ErrorRefusedBadUsernameOrPassword,
		fmt.Errorf("connect: %w", packets.ErrorRefusedNotAuthorised), errors.New("network Error : not Authorized")} {
		got := Explain(context.Background(), "tcp://127.0.0.1:1883", err)
		if !strings.Contains(got.Error(), "check mqtt.username and the password in mqtt.password_file") {
			t.Errorf("%v explained as %v", err, got)
		}
	}
	other := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	if got := Explain(context.Background(), "tcp://127.0.0.1:1", other); got != other {
		t.Errorf("connection refused changed to %v", got)
	}
}

func TestIsTLS(t *testing.T) {
	for broker, want := range map[string]bool{"ssl://b:8883": true, "MQTTS://b:8883": true, "wss://b": true,
		"tcp://b:1883": false, "ws://b": false, "::bad": false} {
		if got := IsTLS(broker); got != want {
			t.Errorf("IsTLS(%q) = %v, want %v", broker, got, want)
		}
	}
}
