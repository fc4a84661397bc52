package debbuild

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/budare/budare/internal/testenv"
)

// testAgentNotifies runs the agent binary against a real broker with a fake
// NOTIFY_SOCKET and a short watchdog, and checks READY=1, repeated
// WATCHDOG=1 and, on SIGTERM, STOPPING=1 and exit 0.
func testAgentNotifies(t *testing.T, bin string) {
	broker := testenv.Mosquitto(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cfg := filepath.Join(dir, "agent.toml")
	toml := fmt.Sprintf(`kitchen = "k-017"
data_dir = %q
timezone = "America/Caracas"
listen = ""
[mqtt]
broker = %q
client_id = "budare-agent-k-017"
`, filepath.Join(dir, "data"), broker.URL)
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", cfg)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=400000", "WATCHDOG_PID=", "JOURNAL_STREAM=")
	logs, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed when the agent has exited; waitErr is then its result.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	want := []string{"READY=1", "WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"}
	var seen []string
	buf := make([]byte, 4096)
	deadline := time.Now().Add(30 * time.Second)
	for len(want) > 0 {
		if err := conn.SetReadDeadline(deadline); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s (seen %q): %v\n%s", want[0], seen, err, agentLog(logs))
		}
		msg := string(buf[:n])
		seen = append(seen, msg)
		if strings.HasPrefix(msg, "STATUS=") {
			continue
		}
		if msg != want[0] {
			t.Fatalf("notification %q, want %s (seen %q)", msg, want[0], seen)
		}
		want = want[1:]
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopping := false
	for !stopping {
		if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no STOPPING=1 after SIGTERM: %v\n%s", err, agentLog(logs))
		}
		stopping = string(buf[:n]) == "STOPPING=1"
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("agent exited with %v after SIGTERM\n%s", waitErr, agentLog(logs))
		}
	case <-time.After(30 * time.Second):
		state, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		t.Errorf("agent still running 30 s after SIGTERM\n%s\n%s", agentLog(logs), state)
	}
}

func agentLog(f *os.File) string {
	b, _ := os.ReadFile(f.Name())
	return string(b)
}
