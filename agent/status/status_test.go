package status

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHealthzReflectsSubsystems(t *testing.T) {
	h := NewHealth()
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "budare_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	srv := NewServer(reg, h, func(context.Context, map[string][]string) (any, error) {
		return map[string]int{"records": 7}, nil
	}, slog.New(slog.DiscardHandler))
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	h.Set("ingest", nil)
	h.Set("mqtt", nil)
	if code, body := get("/healthz"); code != 200 || !strings.HasPrefix(body, "ok\n") || !strings.Contains(body, "ingest: ok") {
		t.Errorf("healthy: %d %q", code, body)
	}
	h.Set("ingest", errors.New("store commit failing: no space left on device"))
	code, body := get("/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "ingest: unhealthy since") || !strings.Contains(body, "no space left") || !strings.Contains(body, "mqtt: ok") {
		t.Errorf("unhealthy: %d %q", code, body)
	}
	if err := h.Err(); err == nil || strings.Contains(err.Error(), "mqtt") {
		t.Errorf("Err() = %v, want only the unhealthy subsystem", err)
	}
	h.Set("ingest", nil)
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("recovered: %d", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "budare_test_total 3") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics: %d %q", code, body)
	}
	if code, body := get("/inspect"); code != 200 || !strings.Contains(body, `"records": 7`) {
		t.Errorf("/inspect: %d %q", code, body)
	}
}

func TestHealthKeepsSinceWhileFailing(t *testing.T) {
	h := NewHealth()
	h.Set("x", errors.New("a"))
	_, l1 := h.Report()
	h.Set("x", errors.New("b"))
	_, l2 := h.Report()
	since := func(l string) string { return strings.SplitN(strings.TrimPrefix(l, "x: unhealthy since "), ":", 2)[0] }
	if since(l1[0]) != since(l2[0]) || !strings.HasSuffix(l2[0], "b") {
		t.Errorf("%q then %q: want the same since and the newest reason", l1[0], l2[0])
	}
}

func TestLoopbackOnly(t *testing.T) {
	h := LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	local := &net.TCPAddr{IP: net.ParseIP("192.168.1.5"), Port: 9464}
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"127.0.0.1:40000", http.StatusNoContent},
		{"[::1]:40000", http.StatusNoContent},
		{"192.168.1.5:40000", http.StatusNoContent}, // the gateway to its own LAN address
		{"192.168.1.20:40000", http.StatusForbidden},
		{"[2001:db8::1]:40000", http.StatusForbidden},
		{"garbage", http.StatusForbidden},
	} {
		r := httptest.NewRequest(http.MethodPost, "/upload", nil)
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
		r.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("from %s: status %d, want %d", tc.remote, w.Code, tc.want)
		}
	}
}
