package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/budare/budare/agent/inspect"
	"github.com/budare/budare/agent/runner"
)

// The status endpoint (agent/status) serves /metrics from a.registry,
// /healthz from a.health and /inspect; each subsystem adds its own
// endpoints to a.http when it is wired.

// sections are the subsystems' parts of the inspect report, served on
// /inspect and printed by `inspect` from the store. A section reads only
// (the store may be a read-only open); its value appears in `inspect
// --json` under its name.
func sections() []inspect.Section {
	return []inspect.Section{
		{Name: "models", Fill: modelsSection},       // models.go
		{Name: "decisions", Fill: decisionsSection}, // morning.go
		{Name: "upload", Fill: uploadSection},       // upload.go
	}
}

// httpService serves the endpoint on the listener, if there is one.
func (a *Agent) httpService() []runner.Service {
	if a.listener == nil {
		return nil
	}
	return []runner.Service{{Name: "http", Run: func(ctx context.Context) error { return a.http.Serve(ctx, a.listener) }}}
}

// serveInspect is /inspect?quarantine=N, from the live store.
func (a *Agent) serveInspect(ctx context.Context, q map[string][]string) (any, error) {
	n := 0
	if v := q["quarantine"]; len(v) > 0 {
		var err error
		if n, err = strconv.Atoi(v[0]); err != nil || n < 0 {
			return nil, fmt.Errorf("quarantine=%q: want a count", v[0])
		}
	}
	return inspect.Build(ctx, a.store, inspect.Options{Kitchen: a.cfg.Kitchen, Source: "agent",
		Quarantine: n, Sections: sections()})
}

// jsonHandler serves f's value as indented JSON, or its error as a 500.
func jsonHandler(f func() (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		v, err := f()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, v)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// extendWrite lets an answer outlast the server's write timeout: a pass
// through an outage's backlog of days takes as long as it takes.
func extendWrite(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
