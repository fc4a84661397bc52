// Command benchingest measures the agent's ingest rate against mosquitto_sub
// on the same real Mosquitto broker, and the agent's peak memory.
//
// Method, identical for both consumers: a persistent QoS 1 session is created
// for the consumer's client id and left offline; the same stream of
// messages (realistic ~250-byte cook payloads from several machines) is
// published and queued by the broker; then the consumer is started and timed
// until it has everything: for the agent, until the last commit of the
// batches that /inspect reports hold every record (its
// budare_agent_ingest_last_commit_timestamp_seconds); for mosquitto_sub, until it
// exits after receiving the last message (-C N). In each round (5 by
// default) both
// drain the same published stream back to back, the order alternating
// between rounds; the medians over rounds of the rates and of the per-round
// ratio are reported. The broker is configured as
// packaging/mosquitto/budare.conf (persistence, max_inflight_messages 1000)
// except for its save policy (see below).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/budare/budare/internal/mqttpub"
	"github.com/budare/budare/internal/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchingest:", err)
		os.Exit(1)
	}
}

func run() error {
	agentBin := flag.String("agent", "bin/budare-agent", "budare-agent binary")
	subBin := flag.String("mosquitto-sub", "mosquitto_sub", "mosquitto_sub binary")
	n := flag.Int("n", 100000, "messages per round")
	machines := flag.Int("machines", 20, "machines publishing")
	rounds := flag.Int("rounds", 5, "rounds per consumer (medians are reported)")
	brokerExtra := flag.String("broker-extra", "", "extra mosquitto.conf lines, separated by ';' (experiments)")
	extra := flag.String("agent-mqtt", "", "extra [mqtt] lines for the agent's config, e.g. batch_max = 500")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "budare-bench-ingest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	brokerDir := filepath.Join(dir, "broker")
	if err := os.Mkdir(brokerDir, 0o700); err != nil {
		return err
	}
	// Unlike packaging/mosquitto/budare.conf (autosave_on_changes, so that a
	// power cut loses no acknowledged message), the broker saves every 30 s:
	// the figure is the agent's rate against mosquitto_sub's on the same
	// broker, and a save per change would make the broker, not the
	// consumers, what is measured.
	broker, err := testenv.StartMosquitto(ctx, brokerDir, testenv.MosquittoOptions{
		Extra: append([]string{"autosave_interval 30", "autosave_on_changes false"}, splitNonEmpty(*brokerExtra)...)})
	if err != nil {
		return err
	}
	defer broker.Stop()

	const kitchen = "k-bench"
	msgs := mqttpub.Stream(kitchen, *machines, *n, time.Now().Add(-48*time.Hour).Truncate(time.Second))
	bytes := 0
	for _, m := range msgs {
		bytes += len(m.Payload)
	}
	fmt.Printf("ingest_messages=%d\ningest_payload_bytes_avg=%d\n", *n, bytes / *n)

	var agentRates, subRates []float64
	peakRSS := 0.0
	for r := range *rounds {
		// Both consumers' sessions get the same published stream; the
		// broker queues it for each. Then each drains its queue in turn,
		// the order alternating between rounds.
		agentDir := filepath.Join(dir, fmt.Sprintf("agent-%d", r))
		agentID, subID := fmt.Sprintf("budare-agent-bench-%d", r), fmt.Sprintf("bench-sub-%d", r)
		if err := queue(ctx, broker, kitchen, []string{agentID, subID}, msgs); err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		drainAgent := func() error {
			rate, rss, err := agentRound(ctx, *agentBin, broker, agentDir, agentID, kitchen, *extra, len(msgs))
			if err != nil {
				return fmt.Errorf("agent round %d: %w", r, err)
			}
			agentRates = append(agentRates, rate)
			peakRSS = max(peakRSS, rss)
			fmt.Fprintf(os.Stderr, "round %d: agent %.0f msg/s, peak RSS %.1f MiB\n", r, rate, rss)
			return nil
		}
		drainSub := func() error {
			rate, err := subRound(ctx, *subBin, broker, kitchen, subID, len(msgs))
			if err != nil {
				return fmt.Errorf("mosquitto_sub round %d: %w", r, err)
			}
			subRates = append(subRates, rate)
			fmt.Fprintf(os.Stderr, "round %d: mosquitto_sub %.0f msg/s\n", r, rate)
			return nil
		}
		order := []func() error{drainAgent, drainSub}
		if r%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, f := range order {
			if err := f(); err != nil {
				return err
			}
		}
	}
	// The machine's load drifts; the two consumers of one round ran back to
	// back under the same load, so the ratio is taken per round and the
	// median reported.
	ratios := make([]float64, len(agentRates))
	for i := range agentRates {
		ratios[i] = agentRates[i] / subRates[i]
	}
	fmt.Printf("ingest_agent_msgs_per_s=%.0f\n", median(agentRates))
	fmt.Printf("ingest_mosquitto_sub_msgs_per_s=%.0f\n", median(subRates))
	fmt.Printf("ingest_ratio=%.2f\n", median(ratios))
	fmt.Printf("ingest_agent_peak_rss_mib=%.1f\n", peakRSS)
	return nil
}

func median(xs []float64) float64 {
	xs = append([]float64(nil), xs...)
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// queue creates the clients' offline sessions and has the broker queue msgs
// for each.
func queue(ctx context.Context, broker *testenv.MosquittoServer, kitchen string, clientIDs []string, msgs []mqttpub.Msg) error {
	for _, id := range clientIDs {
		if err := mqttpub.Subscribe(ctx, broker.URL, id, kitchen); err != nil {
			return err
		}
	}
	p, err := mqttpub.NewPublisher(ctx, broker.URL, clientIDs[0]+"-pub", 1000)
	if err != nil {
		return err
	}
	defer p.Close()
	return p.Publish(ctx, msgs)
}

func agentRound(ctx context.Context, bin string, broker *testenv.MosquittoServer, dir, clientID, kitchen, extra string, n int) (rate, rssMiB float64, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, 0, err
	}
	port, err := testenv.FreePort()
	if err != nil {
		return 0, 0, err
	}
	cfg := fmt.Sprintf("kitchen = %q\ndata_dir = %q\nlisten = \"127.0.0.1:%d\"\n[mqtt]\nbroker = %q\nclient_id = %q\n%s\n",
		kitchen, filepath.Join(dir, "data"), port, broker.URL, clientID, strings.ReplaceAll(extra, ";", "\n"))
	cfgPath := filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return 0, 0, err
	}
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return 0, 0, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, bin, "run", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d/inspect", port)
	for {
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		if os.Getenv("BENCH_DEBUG") != "" {
			rssParts(cmd.Process.Pid)
		}
		if rec, err := records(url); err == nil && rec >= uint64(n) {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	// The drain ended at the last commit, not at the poll that noticed it
	// (up to 25 ms later).
	last, err := lastCommit(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return 0, 0, err
	}
	took := last.Sub(start)
	if os.Getenv("BENCH_DEBUG") != "" {
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port)); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "budare_agent_ingest_commit_duration_seconds_sum") || strings.HasPrefix(l, "budare_agent_ingest_commit_duration_seconds_count") ||
					strings.HasPrefix(l, "budare_agent_ingest_batch_messages_sum") || strings.HasPrefix(l, "process_cpu_seconds_total") || strings.HasPrefix(l, "budare_agent_ingest_messages_total") {
					fmt.Fprintln(os.Stderr, l)
				}
			}
		}
	}
	rss, err := vmHWM(cmd.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	return float64(n) / took.Seconds(), rss, nil
}

// lastCommit reads the agent's budare_agent_ingest_last_commit_timestamp_seconds.
func lastCommit(url string) (time.Time, error) {
	resp, err := http.Get(url)
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return time.Time{}, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "budare_agent_ingest_last_commit_timestamp_seconds "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("last commit %q: %w", v, err)
			}
			return time.Unix(0, int64(f*1e9)), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s: no budare_agent_ingest_last_commit_timestamp_seconds", url)
}

func records(url string) (uint64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Records uint64 `json:"records"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	return r.Records, nil
}

// vmHWM is the process's peak resident set size in MiB.
func vmHWM(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Rss") || strings.HasPrefix(l, "VmHWM") {
			fmt.Fprintln(os.Stderr, "agent", strings.Join(strings.Fields(l), " "))
		}
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

func subRound(ctx context.Context, bin string, broker *testenv.MosquittoServer, kitchen, clientID string, n int) (float64, error) {
	cmd := exec.CommandContext(ctx, bin, "-h", "127.0.0.1", "-p", strconv.Itoa(broker.Port), "-q", "1", "-c", "-i", clientID,
		"-t", "budare/"+kitchen+"/+/cook", "-t", "budare/"+kitchen+"/+/event", "-C", strconv.Itoa(n))
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	cmd.Stdout = devnull
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s: %w: %s", bin, err, stderr.String())
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

var maxAnon, maxFile float64

func rssParts(pid int) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "RssAnon:":
			if v > maxAnon {
				maxAnon = v
				fmt.Fprintf(os.Stderr, "max anon %.1f MiB\n", v/1024)
			}
		case "RssFile:":
			if v > maxFile {
				maxFile = v
				fmt.Fprintf(os.Stderr, "max file %.1f MiB\n", v/1024)
			}
		}
	}
}

func splitNonEmpty(s string) []string {
	var out []string
	for _, l := range strings.Split(s, ";") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
