// Package status is what the running agent tells the outside about itself on
// its local HTTP listener: Prometheus metrics (/metrics), a health verdict
// for monitoring and systemd (/healthz), and the inspection report
// `budare-agent inspect` reads while the agent holds the store's lock
// (/inspect). Every subsystem registers its own metrics in Registry and
// reports its own health under its own name.
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the Go runtime and process collectors,
// so /metrics shows the agent's memory and file descriptors next to its own
// figures.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Health collects the verdicts of the agent's subsystems. A subsystem calls
// Set with a nil error when it is well and with the reason when it is not;
// the agent is healthy when every subsystem is.
type Health struct {
	mu     sync.Mutex
	checks map[string]check
}

type check struct {
	err   error
	since time.Time
}

// NewHealth returns a Health with no subsystems (healthy).
func NewHealth() *Health { return &Health{checks: map[string]check{}} }

// Set records subsystem name's state. The time it turned unhealthy is kept
// across repeated failures so /healthz says how long it has been failing.
func (h *Health) Set(name string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old, had := h.checks[name]
	if had && (old.err == nil) == (err == nil) {
		old.err = err
		h.checks[name] = old
		return
	}
	h.checks[name] = check{err: err, since: time.Now()}
}

// Report returns whether every subsystem is healthy and one line per
// subsystem, sorted by name.
func (h *Health) Report() (ok bool, lines []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ok = true
	for name, c := range h.checks {
		if c.err == nil {
			lines = append(lines, name+": ok")
			continue
		}
		ok = false
		lines = append(lines, fmt.Sprintf("%s: unhealthy since %s: %v", name, c.since.UTC().Format(time.RFC3339), c.err))
	}
	sort.Strings(lines)
	return ok, lines
}

// Err returns nil when healthy, else an error listing the unhealthy subsystems.
func (h *Health) Err() error {
	ok, lines := h.Report()
	if ok {
		return nil
	}
	var bad []string
	for _, l := range lines {
		if !strings.HasSuffix(l, ": ok") {
			bad = append(bad, l)
		}
	}
	return errors.New(strings.Join(bad, "; "))
}

// InspectFunc produces the /inspect document. The query parameters are passed
// through (e.g. quarantine=N).
type InspectFunc func(ctx context.Context, query map[string][]string) (any, error)

// Server is the agent's local HTTP endpoint.
type Server struct {
	mux *http.ServeMux
	log *slog.Logger
}

// NewServer serves /metrics from reg, /healthz from h and /inspect from
// inspect. Other subsystems may add their own paths with Handle.
func NewServer(reg *prometheus.Registry, h *Health, inspect InspectFunc, log *slog.Logger) *Server {
	s := &Server{mux: http.NewServeMux(), log: log}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		ok, lines := h.Report()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "unhealthy")
		} else {
			fmt.Fprintln(w, "ok")
		}
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	})
	s.mux.HandleFunc("GET /inspect", func(w http.ResponseWriter, r *http.Request) {
		doc, err := inspect(r.Context(), r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := writeJSON(w, doc); err != nil {
			log.Warn("write /inspect response", "err", err)
		}
	})
	return s
}

// Handle adds a handler, e.g. "GET /debug/upload".
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// LoopbackOnly refuses (403) requests that do not come from the machine
// itself. The endpoint may listen beyond loopback for Prometheus; what makes
// the agent act (upload now, sync now) is for the operator's shell only. A
// connection whose peer has the listener's own address (listen set to the
// gateway's LAN address) is the machine itself too.
func LoopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromThisMachine(r) {
			http.Error(w, "only from the agent's own machine (loopback)", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func fromThisMachine(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	if err != nil || ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	lhost, _, err := net.SplitHostPort(local.String())
	return err == nil && ip.Equal(net.ParseIP(lhost))
}

// Handler is the server's mux, for tests.
func (s *Server) Handler() http.Handler { return s.mux }

// Listen binds addr now, so a port already in use is a start-up error rather
// than a silent background failure.
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen %s (the listen key): address already in use by another process (another budare-agent?); stop it or set listen to a free port", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("listen %s (the listen key): %w", addr, err)
	}
	return l, nil
}

// Serve serves on l until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server on %s: %w", l.Addr(), err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
