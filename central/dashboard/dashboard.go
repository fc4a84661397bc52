// Package dashboard serves budare's read-only web dashboard: each kitchen's
// maintenance actions for the latest day, each machine's recent levels, and
// the current model release with every arepa type's holdout metrics and the
// candidates the trainer compared.
//
// The overview, kitchen and models pages are static HTML, CSS and vanilla
// JavaScript embedded in the binary; the JavaScript renders JSON from /api/*
// with textContent only, so data from the object store is never interpreted
// as markup. The machine, fleet, coverage and quality pages are rendered on
// the server by html/template with their charts as inline SVG drawn in Go
// (charts.go). Every store failure becomes a one-line message on the page,
// never a blank page, and every chart without data says so.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/budare/budare/internal/objstore"
)

// Store is what the dashboard reads from the object store; objstore.Bucket
// satisfies it. Get returns an error wrapping objstore.ErrNotFound for a
// missing key.
type Store interface {
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
	List(ctx context.Context, prefix string) ([]string, error)
	ListInfo(ctx context.Context, prefix string) ([]objstore.Info, error)
}

// Options configure a Server. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// Now is the clock (tests inject one); default time.Now.
	Now func() time.Time
	// CacheTTL is how long the overview, which reads every kitchen, is
	// reused; default 15 s, negative disables the cache.
	CacheTTL time.Duration
	// ListTTL is how long a listing of a bucket prefix (every kitchen's
	// actions, windows or status objects) is reused; default CacheTTL,
	// negative disables it.
	ListTTL time.Duration
	// StoreTimeout bounds the store calls of one request; default 20 s.
	StoreTimeout time.Duration
	// Concurrency bounds parallel store reads in one request; default 8.
	Concurrency int
	// StaleAfter is how old an agent's status object may be before the
	// fleet page calls the agent offline; default 1 h (four polls at the
	// agent's default 15 min).
	StaleAfter time.Duration
	// LateAfter is how long after its day ends a window may arrive before
	// the coverage page calls it late; default 6 h.
	LateAfter time.Duration
}

// Server serves the dashboard from a Store.
type Server struct {
	store Store
	opt   Options
	log   *slog.Logger
	mux   *http.ServeMux
	tmpl  *template.Template

	mu       sync.Mutex
	cached   *Overview
	cachedAt time.Time

	cache listCache
}

//go:embed static
var staticFS embed.FS

// New returns a Server reading from st.
func New(st Store, opt Options) *Server {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.CacheTTL == 0 {
		opt.CacheTTL = 15 * time.Second
	}
	if opt.ListTTL == 0 {
		opt.ListTTL = opt.CacheTTL
	}
	if opt.StoreTimeout <= 0 {
		opt.StoreTimeout = 20 * time.Second
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 8
	}
	if opt.StaleAfter <= 0 {
		opt.StaleAfter = time.Hour
	}
	if opt.LateAfter <= 0 {
		opt.LateAfter = 6 * time.Hour
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: st, opt: opt, log: log, mux: http.NewServeMux(), tmpl: parseTemplates()}
	s.routes()
	return s
}

func (s *Server) routes() {
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		// The embedded tree is fixed at build time; this cannot happen.
		panic(err)
	}
	page := func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "index.html")
	}
	s.mux.HandleFunc("GET /{$}", page)
	s.mux.HandleFunc("GET /kitchen/{kitchen}", page)
	s.mux.HandleFunc("GET /models", page)
	s.mux.HandleFunc("GET /kitchen/{kitchen}/machine/{machine}", s.handleMachine)
	s.mux.HandleFunc("GET /fleet", s.handleFleet)
	s.mux.HandleFunc("GET /coverage", s.handleCoverage)
	s.mux.HandleFunc("GET /quality", s.handleQuality)
	s.mux.HandleFunc("GET /spark.svg", s.handleSpark)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	// No icon: an empty answer keeps browsers from logging a failed load.
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /api/overview", s.handleOverview)
	s.mux.HandleFunc("GET /api/kitchen/{kitchen}", s.handleKitchen)
	s.mux.HandleFunc("GET /api/models", s.handleModels)
}

// ServeHTTP adds the security headers every response carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// HTTPServer wraps h in an http.Server with timeouts that keep slow or idle
// clients from holding connections open.
func HTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// apiError is the body of every failed API call: one line for the page.
type apiError struct {
	Error string `json:"error"`
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("dashboard: encode response", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error encoding the response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status >= 500 {
		s.log.Warn("dashboard: request failed", "path", r.URL.Path, "err", err)
	}
	s.writeJSON(w, status, apiError{Error: oneLine(err.Error())})
}

// oneLine keeps an error message to a single line of bounded length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func isNotFound(err error) bool { return errors.Is(err, objstore.ErrNotFound) }

// storeStatus is the HTTP status for a store error: the store, not the
// dashboard, is at fault.
func storeStatus(err error) int {
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}
