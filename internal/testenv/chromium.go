//go:build unix

package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Chromium runs a real headless Chromium for tests of the web dashboard:
// it loads a page, lets its JavaScript run, and returns the rendered DOM or a
// screenshot. Each call is a fresh browser with its own profile directory, so
// calls can run in parallel and leave nothing behind.
type Chromium struct {
	Bin string
	dir string
	// Budget is the virtual time the page gets to run its scripts and
	// fetches before the DOM is taken (default 5 s; virtual time waits for
	// pending network requests, so this is not a sleep).
	Budget time.Duration
	// Timeout bounds one browser run in real time (default 30 s).
	Timeout time.Duration
	// Width and Height are the window size of screenshots (default 1280x900).
	Width, Height int
}

// FindChromium returns the Chromium binary: $BUDARE_CHROMIUM_BIN, then
// /usr/bin/chromium, then chromium or chromium-browser on PATH.
func FindChromium() (string, error) {
	return findBinary("BUDARE_CHROMIUM_BIN", "/usr/bin/chromium", "chromium-browser", "chromium")
}

// NewChromium finds Chromium for the test, failing it with a clear message
// when Chromium is not installed.
func NewChromium(t testing.TB) *Chromium {
	t.Helper()
	bin, err := FindChromium()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return &Chromium{Bin: bin, dir: t.TempDir()}
}

// Render loads url, runs its scripts for the virtual time budget and
// returns the serialised DOM. When screenshot is not empty, the same run
// also writes a PNG of the Width x Height window there (one browser start
// instead of two: starting Chromium is most of the cost).
func (c *Chromium) Render(ctx context.Context, url, screenshot string) (string, error) {
	args := []string{"--dump-dom"}
	if screenshot != "" {
		w, h := c.Width, c.Height
		if w <= 0 || h <= 0 {
			w, h = 1280, 900
		}
		args = append(args, "--screenshot="+screenshot, "--window-size="+strconv.Itoa(w)+","+strconv.Itoa(h), "--hide-scrollbars")
	}
	out, err := c.run(ctx, append(args, url)...)
	if err != nil {
		return "", err
	}
	if screenshot != "" {
		fi, err := os.Stat(screenshot)
		if err != nil {
			return "", fmt.Errorf("chromium wrote no screenshot: %w", err)
		}
		if fi.Size() == 0 {
			return "", fmt.Errorf("chromium wrote an empty screenshot %s", screenshot)
		}
	}
	return string(out), nil
}

// DumpDOM loads url, runs its scripts and returns the serialised DOM.
func (c *Chromium) DumpDOM(ctx context.Context, url string) (string, error) {
	return c.Render(ctx, url, "")
}

// Screenshot loads url and writes a PNG of the window to path.
func (c *Chromium) Screenshot(ctx context.Context, url, path string) error {
	_, err := c.Render(ctx, url, path)
	return err
}

func (c *Chromium) run(ctx context.Context, args ...string) ([]byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	budget := c.Budget
	if budget <= 0 {
		budget = 5 * time.Second
	}
	dir, err := os.MkdirTemp(c.dir, "chromium-")
	if err != nil {
		return nil, fmt.Errorf("chromium profile dir: %w", err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--disable-extensions", "--mute-audio", "--no-default-browser-check",
		"--user-data-dir=" + filepath.Join(dir, "profile"),
		"--virtual-time-budget=" + strconv.FormatInt(budget.Milliseconds(), 10),
	}
	cmd := exec.CommandContext(ctx, c.Bin, append(base, args...)...)
	// Chromium forks zygote and renderer processes; a timeout must kill the
	// whole group, not just the browser process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	// Keep Chromium's config, cache and crash dumps out of the real home.
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("chromium %s: %w; stderr: %s", strings.Join(args, " "), err, lastLines(stderr.String(), 10))
	}
	return stdout.Bytes(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
