//go:build unix

package dashboard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/testenv"
)

// TestDashboardInChromium is the end-to-end check: a real MinIO holding what
// the agent and trainer write, the dashboard on loopback, and a real
// headless Chromium whose rendered DOM proves the JavaScript fetched the API
// and drew machines, levels and metrics. Screenshots go to t.TempDir(), or to
// $BUDARE_SCREENSHOT_DIR to look at them.
func TestDashboardInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ms := testenv.MinIO(t)
	cr := testenv.NewChromium(t)
	cr.Timeout = 60 * time.Second // a loaded CI machine starts Chromium slowly
	shots := os.Getenv("BUDARE_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}

	ak, sk, err := ms.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	off := false
	st, err := objstore.New(objstore.Config{Endpoint: ms.Endpoint, AccessKeyFile: ak, SecretKeyFile: sk, TLS: &off}, "")
	if err != nil {
		t.Fatal(err)
	}
	// /minio/health/live, which testenv waits for, answers before MinIO
	// serves S3 requests ("Server not initialized yet"): retry briefly.
	for {
		err := st.EnsureBucket(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("minio never became ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := HTTPServer(ln.Addr().String(), New(st, Options{Now: func() time.Time { return seedNow }, CacheTTL: -1}), nil)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + ln.Addr().String()

	// render loads a page (and screenshots it when name is set).
	render := func(path, name string) string {
		t.Helper()
		shot := ""
		if name != "" {
			shot = filepath.Join(shots, name)
		}
		t0 := time.Now()
		d, err := cr.Render(ctx, base+path, shot)
		if err != nil {
			t.Errorf("load %s: %v", path, err)
			return ""
		}
		t.Logf("loaded %s in %v; screenshot %s", path, time.Since(t0).Round(time.Millisecond), shot)
		return d
	}

	// An empty bucket says so instead of showing a blank page.
	d := render("/", "")
	mustContain(t, "empty overview", d, `data-state="empty"`, "No data yet")

	seed(t, func(key string, b []byte) {
		if err := st.Put(ctx, key, b, nil); err != nil {
			t.Fatalf("seed %s: %v", key, err)
		}
	})

	// Starting Chromium dominates; the three pages load in parallel.
	pages := []struct{ path, shot, dom string }{
		{"/", "overview.png", ""}, {"/kitchen/k-001", "kitchen.png", ""}, {"/models", "models.png", ""},
	}
	var wg sync.WaitGroup
	for i := range pages {
		wg.Go(func() { pages[i].dom = render(pages[i].path, pages[i].shot) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	d = pages[0].dom
	mustContain(t, "overview", d, `data-state="ready"`, "model release 12")
	k1 := rowOf(t, d, `data-kitchen="k-001"`)
	mustContain(t, "k-001 row", k1, `href="/kitchen/k-001"`, "2026-11-26",
		`data-level="stop">1<`, `data-level="service">1<`, `data-level="inspect">1<`,
		`data-level="unknown">1<`, `data-level="none">2<`)
	mustContain(t, "k-002 row", rowOf(t, d, `data-kitchen="k-002"`), `data-level="inspect">1<`, `data-level="stop">0<`)
	mustContain(t, "k-003 row", rowOf(t, d, `data-kitchen="k-003"`), "no actions yet")

	d = pages[1].dom
	mustContain(t, "kitchen", d, `data-state="ready"`, `id="kitchen-name">k-001<`, `id="decided-at">decided at 2026-11-26T06:00:00Z<`)
	for _, m := range seedK001 {
		if strings.ContainsRune(m.machine, '<') {
			continue // checked as escaped text below
		}
		row := rowOf(t, d, `data-machine="`+m.machine+`"`)
		today := m.levels[len(m.levels)-1]
		mustContain(t, m.machine, row, `class="pill level-`+today+`" data-level="`+today+`">`+today+`<`)
		for _, r := range m.reasons {
			mustContain(t, m.machine, row, r)
		}
		if m.risk >= 0 {
			mustContain(t, m.machine, row, ">"+formatRisk(m.risk)+"<", `class="sq level-`+m.levels[0])
		}
	}
	// Store data is text, never markup.
	mustContain(t, "escaping", d, `<td class="machine">m-&lt;b&gt;x&lt;/b&gt;</td>`, "&lt;img src=x onerror=alert(1)&gt;")
	if strings.Contains(d, "<img") || strings.Contains(d, "<b>x</b>") {
		t.Errorf("data from the store became markup")
	}

	d = pages[2].dom
	mustContain(t, "models", d, `data-state="ready"`, `id="release-number">12<`, "current")
	mustContain(t, "domino", rowOf(t, d, `<tr data-arepa="domino"`), "logistic",
		`data-metric="roc_auc">0.971<`, `data-metric="pr_auc">0.812<`, `data-metric="f1">0.786<`)
	mustContain(t, "reina-pepiada", rowOf(t, d, `<tr data-arepa="reina-pepiada"`), "gaussian", `data-metric="roc_auc">0.961<`, `<td class="num">11</td>`)
	if n := strings.Count(d, "✓ in this release"); n != 2 {
		t.Errorf("models page marks %d published candidates, want 2", n)
	}
	mustContain(t, "candidates", d, "Candidates for", "Decision: ", "does not beat the current 0.8200",
		`data-technique="gaussian" data-role="champion"`, "current (release 11)", "best challenger",
		"too few positives to boost", "slices.holdout", "2026-10-15")

	// A store that stops answering shows one visible line, not a blank page.
	ms.Stop()
	d = render("/", "error.png")
	mustContain(t, "store down", d, `data-state="error"`, `role="alert">`, "unreachable")
	if strings.Contains(d, `id="error" class="error" role="alert" hidden`) {
		t.Errorf("error box still hidden")
	}
}

func formatRisk(r float64) string { return strconv.FormatFloat(r, 'f', 2, 64) }

// rowOf returns the markup from the first occurrence of marker to the end of
// its table row.
func rowOf(t *testing.T, dom, marker string) string {
	t.Helper()
	i := strings.Index(dom, marker)
	if i < 0 {
		t.Fatalf("page has no %s", marker)
	}
	j := strings.Index(dom[i:], "</tr>")
	if j < 0 {
		return dom[i:]
	}
	return dom[i : i+j]
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s: rendered DOM lacks %q\n%.3000s", what, sub, s)
		}
	}
}
