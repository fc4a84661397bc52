//go:build unix

package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/testenv"
)

// TestDashboardInChromium is the end-to-end check: a real MinIO holding what
// the agents and the trainer write, the dashboard on loopback, and a real
// headless Chromium driven over the DevTools protocol. Every page must load
// with no console error, exception or CSP violation; following links from
// the overview must reach a machine page whose risk chart has one point per
// day; the fleet page must show an agent going offline when its status
// stops. Screenshots of every page go to $BUDARE_SCREENSHOT_DIR when set
// (`make screenshots`).
func TestDashboardInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ms := testenv.MinIO(t)
	bin, err := testenv.FindChromium()
	if err != nil {
		t.Fatalf("chromium: %v (run `make test-deps`)", err)
	}
	shot := func(name string) string {
		if dir := os.Getenv("BUDARE_SCREENSHOT_DIR"); dir != "" {
			return filepath.Join(dir, "dashboard-"+name)
		}
		return ""
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

	// The seeded days end today; the clock can be moved forward to let
	// agents' statuses age. Windows are stored now, so days before
	// yesterday read as late unless LateAfter covers them: 36 h keeps the
	// grid's three states.
	now := time.Now().UTC()
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := HTTPServer(ln.Addr().String(), New(st, Options{Now: clock, CacheTTL: -1, LateAfter: 36 * time.Hour}), nil)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + ln.Addr().String()

	br := newBrowser(t, bin)

	// An empty bucket says so instead of showing a blank page.
	p := br.open(base+"/", "")
	p.mustContain("empty overview", `data-state="empty"`, "No data yet")
	p.close()

	seedAt(t, func(key string, b []byte) {
		if err := st.Put(ctx, key, b, nil); err != nil {
			t.Fatalf("seed %s: %v", key, err)
		}
	}, now)
	today := now.Format(time.DateOnly)

	// Every page: no console errors, and what it shows.
	pages := []struct{ path, shot string }{
		{"/", "overview.png"}, {"/kitchen/k-001", "kitchen.png"}, {"/models", "models.png"},
		{"/fleet", "fleet.png"}, {"/coverage", "coverage.png"}, {"/quality", "quality.png"},
	}
	doms := make([]*tab, len(pages))
	for i, pg := range pages {
		doms[i] = br.open(base+pg.path, shot(pg.shot))
		doms[i].close()
	}
	if t.Failed() {
		t.FailNow()
	}

	d := doms[0]
	d.mustContain("overview", `data-state="ready"`, "model release 12")
	k1 := rowOf(t, d.dom, `data-kitchen="k-001"`)
	mustContain(t, "k-001 row", k1, `href="/kitchen/k-001"`, today,
		`data-level="stop">1<`, `data-level="service">1<`, `data-level="inspect">1<`,
		`data-level="unknown">1<`, `data-level="none">2<`, `class="spark"`, `src="/spark.svg?a=0,0,`)
	mustContain(t, "k-002 row", rowOf(t, d.dom, `data-kitchen="k-002"`), `data-level="inspect">1<`, `data-level="stop">0<`)
	mustContain(t, "k-003 row", rowOf(t, d.dom, `data-kitchen="k-003"`), "no actions yet")

	d = doms[1]
	d.mustContain("kitchen", `data-state="ready"`, `id="kitchen-name">k-001<`)
	for _, m := range seedK001 {
		if strings.ContainsRune(m.machine, '<') {
			continue // checked as escaped text below
		}
		row := rowOf(t, d.dom, `data-machine="`+m.machine+`"`)
		today := m.levels[len(m.levels)-1]
		mustContain(t, m.machine, row, `class="pill level-`+today+`" data-level="`+today+`">`+today+`<`,
			`href="/kitchen/k-001/machine/`+m.machine+`"`)
		for _, r := range m.reasons {
			mustContain(t, m.machine, row, r)
		}
		if m.risk >= 0 {
			mustContain(t, m.machine, row, ">"+strconv.FormatFloat(m.risk, 'f', 2, 64)+"<", `class="sq level-`+m.levels[0])
		}
	}
	// Store data is text, never markup.
	d.mustContain("escaping", `>m-&lt;b&gt;x&lt;/b&gt;</a></td>`, "&lt;img src=x onerror=alert(1)&gt;")
	if strings.Contains(d.dom, "<img src=x") || strings.Contains(d.dom, "<b>x</b>") {
		t.Errorf("data from the store became markup")
	}

	d = doms[2]
	d.mustContain("models", `data-state="ready"`, `id="release-number">12<`, "current")
	mustContain(t, "domino", rowOf(t, d.dom, `<tr data-arepa="domino"`), "logistic",
		`data-metric="roc_auc">0.971<`, `data-metric="pr_auc">0.812<`, `data-metric="f1">0.786<`)

	d = doms[3]
	d.mustContain("fleet", `data-state="ready"`, `data-kitchen="k-001" data-state="online"`,
		`data-kitchen="k-002" data-state="stale"`, `data-kitchen="k-003" data-state="none"`, "0.9.1")

	d = doms[4]
	d.mustContain("coverage", `data-state="ready"`, `data-state="ok"`, `data-state="late"`, `data-state="missing"`)

	d = doms[5]
	d.mustContain("quality", `data-state="ready"`, `data-chart="pr-domino"`, `data-chart="quality-domino"`, "_weekly.json")
	if n := strings.Count(d.dom, `data-series="chosen threshold"`); n != 2 {
		t.Errorf("quality page marks %d chosen thresholds, want 2", n)
	}

	// Overview → kitchen → machine by clicking, as a person would.
	p = br.open(base+"/", "")
	p.do(chromedp.Click(chromedp.CSS(`tr[data-kitchen="k-001"] a`)),
		chromedp.WaitReady(chromedp.CSS(`body[data-state="ready"] #kitchen-name`)),
		chromedp.Click(chromedp.CSS(`tr[data-machine="m-01"] td.machine a`)),
		chromedp.WaitReady(chromedp.CSS(`svg[data-chart="risk"]`)))
	loc := p.eval(`location.pathname`)
	days := p.eval(`[...document.querySelectorAll('svg[data-chart="risk"] circle.pt')].map(c => c.dataset.day).join(",")`)
	if f := shot("machine.png"); f != "" {
		p.snapshot(f)
		// And as a phone shows it.
		p.do(chromedp.EmulateViewport(390, 1500, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("phone screenshot: %v", err)
		}
		if err := os.WriteFile(shot("machine-phone.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.close()
	if loc != "/kitchen/k-001/machine/m-01" {
		t.Errorf("links led to %s", loc)
	}
	want := make([]string, 7)
	for i := range want {
		want[i] = now.AddDate(0, 0, i-6).Format(time.DateOnly)
	}
	if days != strings.Join(want, ",") {
		t.Errorf("risk chart points on days %s, want one per day %s", days, strings.Join(want, ","))
	}

	// The console watch itself works: a failed load is reported.
	p = br.open(base+"/kitchen/k-001/machine/bad%20name", "")
	p.cancel()
	p.mu.Lock()
	if len(p.problems) == 0 {
		t.Errorf("a page answered 400 left no console problem: the console watch sees nothing")
	}
	p.mu.Unlock()

	// An agent going offline: k-001's agent stops writing its status; two
	// hours later the fleet page calls it stale.
	skew.Store(int64(2 * time.Hour))
	p = br.open(base+"/fleet", "")
	p.mustContain("fleet after 2 h", `data-kitchen="k-001" data-state="stale"`, `<b>0</b> online`, `<b>2</b> stale`)
	p.close()
}

// browser is one headless Chromium for a test; each page opens in a tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("hide-scrollbars", true),
		// Keep Chromium's config, cache and crash dumps out of the real home.
		chromedp.Env("HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })
	// The first Run starts the browser; it lives as long as bctx.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: bctx}
}

// tab is one loaded page and the problems its console reported.
type tab struct {
	t      *testing.T
	url    string
	ctx    context.Context
	cancel context.CancelFunc
	dom    string

	mu       sync.Mutex
	problems []string
}

// open loads url in a new tab, waits until the page has rendered (its body
// leaves data-state="loading"), screenshots it when shot names a file in a
// directory, and keeps its DOM.
func (b *browser) open(url, shot string) *tab {
	b.t.Helper()
	tctx, cancel := chromedp.NewContext(b.ctx)
	p := &tab{t: b.t, url: url, ctx: tctx, cancel: cancel}
	if err := chromedp.Listen(tctx, p.watch); err != nil {
		b.t.Fatalf("%s: listen: %v", url, err)
	}
	t0 := time.Now()
	p.do(chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS(`body:not([data-state="loading"])`)))
	if shot != "" {
		p.snapshot(shot)
	}
	b.t.Logf("loaded %s in %v", url, time.Since(t0).Round(time.Millisecond))
	return p
}

func (p *tab) watch(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, cmp.Or(a.Description, string(a.Value)))
			}
			msg = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
		}
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *log.EventEntryAdded:
		// Failed loads, CSP violations and the like.
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			msg = fmt.Sprintf("log %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL)
		}
	}
	if msg != "" {
		p.mu.Lock()
		p.problems = append(p.problems, msg)
		p.mu.Unlock()
	}
}

// do runs actions in the tab, each within 30 s.
func (p *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	for _, s := range steps {
		ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
		err := chromedp.Do(ctx, s)
		cancel()
		if err != nil {
			p.t.Fatalf("%s: %v", p.url, err)
		}
	}
	var err error
	p.dom, err = chromedp.Run(p.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		p.t.Fatalf("%s: read DOM: %v", p.url, err)
	}
}

func (p *tab) eval(js string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.url, js, err)
	}
	return v
}

// snapshot writes a PNG of the whole page.
func (p *tab) snapshot(path string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", p.url, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// close ends the tab, failing the test for any console problem it saw.
func (p *tab) close() {
	p.t.Helper()
	p.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.problems {
		p.t.Errorf("%s: %s", p.url, m)
	}
}

func (p *tab) mustContain(what string, subs ...string) {
	p.t.Helper()
	mustContain(p.t, what, p.dom, subs...)
}

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
