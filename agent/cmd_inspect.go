package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/inspect"
	"github.com/budare/budare/agent/store"
)

// inspectSections is THE place where subsystems add their part of the
// inspect report (upload state per day, model release, decisions...). A
// section reads only (the store may be a read-only open); its value appears
// in `inspect --json` under its name. The running agent serves the same
// sections on /inspect.
func inspectSections(cfg *config.Config) []inspect.Section {
	var s []inspect.Section
	s = append(s, decisionSections()...)  // models, decisions (agent/cmd_decide.go)
	s = append(s, uploadSections(cfg)...) // upload state per day (agent/cmd_upload.go)
	return s
}

// cmdInspect prints what the local store holds. While the agent runs it has
// the store's exclusive lock, so the report comes from the agent's /inspect
// endpoint; otherwise the store is opened read-only.
func cmdInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "agent config file (TOML)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	quar := fs.Int("quarantine", 0, "include the newest `N` quarantined payloads")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the agent or the store's lock")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *quar < 0 {
		fmt.Fprintln(stderr, "inspect: --quarantine must be >= 0")
		return errUsage
	}
	cfg, err := loadConfig(*cfgPath, stderr)
	if err != nil {
		return err
	}
	rep, err := fromAgent(ctx, cfg, *quar, *timeout)
	if err != nil {
		var notRunning *agentDown
		if !errors.As(err, &notRunning) {
			return err
		}
		rep, err = fromStore(ctx, cfg, *quar, *timeout)
		if err != nil {
			return fmt.Errorf("%w (and the agent's endpoint: %v)", err, notRunning.err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printReport(stdout, rep)
}

// agentDown means nothing answers on the listen address.
type agentDown struct{ err error }

func (e *agentDown) Error() string { return e.err.Error() }

// agentGet fetches path (with its query) from the running agent's local
// HTTP endpoint and decodes the JSON answer into v. An *agentDown error
// means no budare agent answers there, so the caller may open the store.
func agentGet(ctx context.Context, cfg *config.Config, path string, timeout time.Duration, v any) error {
	return agentCall(ctx, cfg, http.MethodGet, path, timeout, v)
}

// agentCall is agentGet with any method (POST asks the agent to act).
func agentCall(ctx context.Context, cfg *config.Config, method, path string, timeout time.Duration, v any) error {
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

func fromAgent(ctx context.Context, cfg *config.Config, quar int, timeout time.Duration) (*inspect.Report, error) {
	var rep inspect.Report
	if err := agentGet(ctx, cfg, fmt.Sprintf("/inspect?quarantine=%d", quar), timeout, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

func fromStore(ctx context.Context, cfg *config.Config, quar int, timeout time.Duration) (*inspect.Report, error) {
	path := cfg.StorePath()
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no store at %s (has the agent run yet?): %w", path, err)
	}
	st, err := store.Open(path, store.Options{Location: cfg.Location, ReadOnly: true, Timeout: timeout, Verify: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return inspect.Build(ctx, st, inspect.Options{Kitchen: cfg.Kitchen, Source: "store", Quarantine: quar,
		Sections: inspectSections(cfg)})
}

func printReport(w io.Writer, r *inspect.Report) error {
	src := "from the running agent"
	if r.Source == "store" {
		src = "from the store (agent not running)"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "kitchen %s, %s\n", r.Kitchen, src)
	fmt.Fprintf(tw, "records\t%d\n", r.Records)
	fmt.Fprintf(tw, "duplicates dropped\t%d\n", r.Duplicates)
	fmt.Fprintf(tw, "quarantined\t%d (newest %d kept)\n", r.Quarantined, r.QuarantineKept)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "machine\trecords\tfirst\tlast")
	for _, m := range r.Machines {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Machine, m.Records, m.First.Format(time.RFC3339), m.Last.Format(time.RFC3339))
	}
	if len(r.Quarantine) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "received\treason\ttopic\tdetail")
		for _, q := range r.Quarantine {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", q.Received.Format(time.RFC3339), q.Reason, q.Topic, q.Detail)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(r.Sections)) { // a map: same order on every run
		b, err := json.Marshal(r.Sections[name])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n%s: %s\n", name, b)
	}
	return nil
}
