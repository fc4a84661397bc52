package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The fleet, coverage, quality and machine pages are rendered on the
// server with html/template (which escapes every value from the store) and
// carry their charts as inline SVG: they need no script at all.

//go:embed templates
var templateFS embed.FS

// page is what every server-rendered page gets.
type page struct {
	Title   string
	Nav     string // the active navigation entry
	Error   string // one line when the page could not be built
	Notices []string
	Data    any
}

// State is the body's data-state, as on the script-rendered pages.
func (p *page) State() string {
	if p.Error != "" {
		return "error"
	}
	return "ready"
}

var funcs = template.FuncMap{
	"actionRisk": func(a Action) string {
		if !hasRisk(a) {
			return "–"
		}
		return strconv.FormatFloat(a.Risk, 'f', 2, 64)
	},
	"risk": func(r *float64) string {
		if r == nil {
			return "–"
		}
		return strconv.FormatFloat(*r, 'f', 2, 64)
	},
	"f3": func(x float64) string {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "–"
		}
		return strconv.FormatFloat(x, 'f', 3, 64)
	},
	"pct": func(x float64) string {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "–"
		}
		return strconv.FormatFloat(100*x, 'f', 0, 64) + "%"
	},
	"bytes": humanBytes,
	"dur":   shortDuration,
	"ago":   ago,
	"level": countKey,
}

func parseTemplates() *template.Template {
	return template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
}

// render executes a page template into a buffer first, so a template
// error is a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, p *page) {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, name, p); err != nil {
		s.log.Error("dashboard: render page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func humanBytes(n int64) string {
	switch {
	case n <= 0:
		return "–"
	case n < 1<<20:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// ago says how long ago d was, coarsely.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "just now"
	case d < 2*time.Minute:
		return fmt.Sprintf("%.0f s ago", d.Seconds())
	case d < 2*time.Hour:
		return fmt.Sprintf("%.0f min ago", d.Minutes())
	case d < 48*time.Hour:
		return fmt.Sprintf("%.0f h ago", d.Hours())
	}
	return fmt.Sprintf("%.0f days ago", d.Hours()/24)
}

// handleSpark draws the overview's alarm sparkline from its query, so the
// overview's one store pass also serves its images: a=comma-separated
// counts, -1 for a day without actions.
func (s *Server) handleSpark(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(r.URL.Query().Get("a"), ",")
	if len(parts) > 31 {
		http.Error(w, "at most 31 days", http.StatusBadRequest)
		return
	}
	vals := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < -1 || n > 1_000_000 {
			http.Error(w, fmt.Sprintf("bad count %q", oneLine(p)), http.StatusBadRequest)
			return
		}
		vals[i] = n
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write(sparkSVG(vals))
}

// shortDuration shows a setting such as 1h0m0s as "1 h".
func shortDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}
