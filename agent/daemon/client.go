package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/budare/budare/agent/config"
)

// The commands ask the running agent first: it holds the store's lock, so
// they call its local HTTP endpoint (the listen key; status.LoopbackOnly
// refuses other machines). Without a running agent they open the store and
// act themselves.

// agentDown means nothing answers on the listen address.
type agentDown struct{ err error }

func (e *agentDown) Error() string { return e.err.Error() }

// askAgent calls method path (with its query) on the running agent's local
// HTTP endpoint and decodes the JSON answer into v. An *agentDown error
// means no budare agent answers there, so the caller may open the store.
func askAgent(ctx context.Context, cfg *config.Config, method, path string, timeout time.Duration, v any) error {
	if cfg.Listen == "" {
		return &agentDown{errors.New("listen is empty")}
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return &agentDown{err}
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + path
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &agentDown{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return &agentDown{fmt.Errorf("%s: not a budare agent", url)}
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("agent at %s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("agent at %s: bad answer: %w", url, err)
	}
	return nil
}
