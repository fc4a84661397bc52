package dashboard

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/inventory"
)

// newTestServer serves a seeded (or empty) fake store at a fixed clock.
func newTestServer(t *testing.T, seeded bool) (*httptest.Server, *fakeStore, *time.Time) {
	t.Helper()
	st := newFakeStore()
	if seeded {
		seed(t, st.put)
	}
	now := seedNow
	srv := httptest.NewServer(New(st, Options{Now: func() time.Time { return now }, CacheTTL: -1}))
	t.Cleanup(srv.Close)
	return srv, st, &now
}

// getJSON fetches path and decodes its JSON body into v, returning the status.
func getJSON(t *testing.T, srv *httptest.Server, path string, v any) int {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: content type %q", path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
	return resp.StatusCode
}

func TestOverview(t *testing.T) {
	srv, _, _ := newTestServer(t, true)
	var ov Overview
	if code := getJSON(t, srv, "/api/overview", &ov); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if ov.CurrentRelease != 12 {
		t.Errorf("current release %d, want 12", ov.CurrentRelease)
	}
	if len(ov.Kitchens) != 3 {
		t.Fatalf("kitchens %+v, want 3", ov.Kitchens)
	}
	// Worst first: k-001 has a stop today.
	if got := []string{ov.Kitchens[0].Kitchen, ov.Kitchens[1].Kitchen, ov.Kitchens[2].Kitchen}; strings.Join(got, ",") != "k-001,k-002,k-003" {
		t.Errorf("order %v", got)
	}
	k1 := ov.Kitchens[0]
	want := map[string]int{"stop": 1, "service": 1, "inspect": 1, "unknown": 1, "none": 2}
	for l, n := range want {
		if k1.Counts[l] != n {
			t.Errorf("k-001 %s = %d, want %d (counts %v)", l, k1.Counts[l], n, k1.Counts)
		}
	}
	if k1.Date != "2026-11-26" || k1.Machines != 6 || k1.Phase != "1" || k1.Release != 12 {
		t.Errorf("k-001 summary %+v", k1)
	}
	if k1.Stale {
		t.Errorf("k-001 is today's, not stale")
	}
	if k2 := ov.Kitchens[1]; k2.Counts["inspect"] != 1 || k2.Counts["none"] != 1 || k2.Machines != 2 {
		t.Errorf("k-002 summary %+v", k2)
	}
	if k3 := ov.Kitchens[2]; k3.Date != "" || k3.Machines != 0 || k3.Error != "" {
		t.Errorf("k-003 has no actions: %+v", k3)
	}
	if ov.Totals["inspect"] != 2 || ov.Totals["stop"] != 1 || ov.Totals["none"] != 3 {
		t.Errorf("totals %v", ov.Totals)
	}
	if len(ov.Notices) != 0 {
		t.Errorf("notices %v", ov.Notices)
	}
}

func TestOverviewEmptyBucket(t *testing.T) {
	srv, _, _ := newTestServer(t, false)
	var ov Overview
	if code := getJSON(t, srv, "/api/overview", &ov); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if len(ov.Kitchens) != 0 || ov.CurrentRelease != 0 {
		t.Errorf("empty bucket gave %+v", ov)
	}
	if len(ov.Notices) != 1 || !strings.Contains(ov.Notices[0], "kitchens.csv is missing") {
		t.Errorf("notices %v", ov.Notices)
	}
	var mv ModelsView
	if code := getJSON(t, srv, "/api/models", &mv); code != http.StatusOK || mv.Release != 0 || len(mv.Arepas) != 0 {
		t.Errorf("models on empty bucket: %d %+v", code, mv)
	}
}

func TestOverviewWithoutInventory(t *testing.T) {
	srv, st, _ := newTestServer(t, true)
	st.del(inventory.Key)
	var ov Overview
	getJSON(t, srv, "/api/overview", &ov)
	var names []string
	for _, k := range ov.Kitchens {
		names = append(names, k.Kitchen)
	}
	if strings.Join(names, ",") != "k-001,k-002" {
		t.Errorf("kitchens from actions/: %v", names)
	}

	st.put(inventory.Key, []byte("kitchen,phase,timezone\nk-001,1,UTC\nk-001,1,UTC\n"))
	getJSON(t, srv, "/api/overview", &ov)
	if len(ov.Kitchens) != 2 || len(ov.Notices) != 1 || !strings.Contains(ov.Notices[0], "repeats line 2") {
		t.Errorf("bad inventory: kitchens %d notices %v", len(ov.Kitchens), ov.Notices)
	}
}

func TestOverviewBadKitchenFile(t *testing.T) {
	srv, st, _ := newTestServer(t, true)
	st.put(action.Key("k-002", "2026-11-26"), []byte("{not json"))
	var ov Overview
	if code := getJSON(t, srv, "/api/overview", &ov); code != http.StatusOK {
		t.Fatalf("one bad kitchen must not fail the page: %d", code)
	}
	var k2 KitchenSummary
	for _, k := range ov.Kitchens {
		if k.Kitchen == "k-002" {
			k2 = k
		}
	}
	if !strings.Contains(k2.Error, "actions/k-002/2026-11-26.json") || strings.Contains(k2.Error, "\n") {
		t.Errorf("k-002 error %q", k2.Error)
	}
	if ov.Kitchens[0].Kitchen != "k-001" || ov.Kitchens[0].Machines != 6 {
		t.Errorf("k-001 still shown: %+v", ov.Kitchens[0])
	}
}

func TestStoreErrorIsOneLine(t *testing.T) {
	srv, st, _ := newTestServer(t, true)
	st.setErr(errors.New("s3 127.0.0.1:9 is unreachable:\ndial tcp: connection refused"))
	for _, p := range []string{"/api/overview", "/api/kitchen/k-001", "/api/models"} {
		var e apiError
		code := getJSON(t, srv, p, &e)
		if code != http.StatusBadGateway {
			t.Errorf("%s: status %d, want 502", p, code)
		}
		if !strings.Contains(e.Error, "unreachable") || strings.Contains(e.Error, "\n") {
			t.Errorf("%s: error %q", p, e.Error)
		}
	}
}

func TestStaleKitchen(t *testing.T) {
	srv, _, now := newTestServer(t, true)
	*now = seedNow.AddDate(0, 0, 3)
	var ov Overview
	getJSON(t, srv, "/api/overview", &ov)
	for _, k := range ov.Kitchens {
		if k.Date != "" && (!k.Stale || k.AgeDays != 3) {
			t.Errorf("%s: 3 days old, got stale=%v age=%d", k.Kitchen, k.Stale, k.AgeDays)
		}
	}
}

func TestOverviewCache(t *testing.T) {
	st := newFakeStore()
	seed(t, st.put)
	now := seedNow
	srv := httptest.NewServer(New(st, Options{Now: func() time.Time { return now }, CacheTTL: time.Minute}))
	defer srv.Close()
	var ov Overview
	getJSON(t, srv, "/api/overview", &ov)
	calls := st.callCount()
	getJSON(t, srv, "/api/overview", &ov)
	if st.callCount() != calls {
		t.Errorf("second overview within the TTL read the store (%d -> %d calls)", calls, st.callCount())
	}
	now = now.Add(2 * time.Minute)
	getJSON(t, srv, "/api/overview", &ov)
	if st.callCount() == calls {
		t.Errorf("overview after the TTL did not read the store")
	}
}

func TestKitchen(t *testing.T) {
	srv, _, _ := newTestServer(t, true)
	var v KitchenView
	if code := getJSON(t, srv, "/api/kitchen/k-001", &v); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if v.Date != "2026-11-26" || len(v.Days) != 7 || v.Days[0] != "2026-11-26" || v.Current != 12 {
		t.Errorf("date %s days %v current %d", v.Date, v.Days, v.Current)
	}
	var machines, lvls []string
	for _, a := range v.Actions {
		machines = append(machines, a.Machine)
		lvls = append(lvls, a.Level)
	}
	if got := strings.Join(machines, ","); got != "m-01,m-02,m-03,m-05,m-04,m-<b>x</b>" {
		t.Errorf("machines worst first: %s", got)
	}
	if got := strings.Join(lvls, ","); got != "stop,service,inspect,unknown,none,none" {
		t.Errorf("levels %s", got)
	}
	if v.Actions[3].Risk != 0 || hasRisk(v.Actions[3]) {
		t.Errorf("unknown level: risk %v as the agent wrote 0, and no risk figure shown", v.Actions[3].Risk)
	}
	if c := v.History["m-05"][len(v.HistoryDays)-1]; c == nil || c.Risk != nil {
		t.Errorf("unknown level's history cell %+v, want no risk", c)
	}
	if len(v.HistoryDays) != 7 || v.HistoryDays[0] != "2026-11-20" || v.HistoryDays[6] != "2026-11-26" {
		t.Errorf("history days %v", v.HistoryDays)
	}
	for _, m := range seedK001 {
		cells := v.History[m.machine]
		if len(cells) != 7 {
			t.Fatalf("%s: %d history cells", m.machine, len(cells))
		}
		for i, c := range cells {
			switch {
			case m.levels[i] == "" && c != nil:
				t.Errorf("%s day %d: cell %+v, want none", m.machine, i, c)
			case m.levels[i] != "" && (c == nil || c.Level != m.levels[i]):
				t.Errorf("%s day %d: cell %+v, want %s", m.machine, i, c, m.levels[i])
			}
		}
	}

	if code := getJSON(t, srv, "/api/kitchen/k-001?date=2026-11-23", &v); code != http.StatusOK || v.Date != "2026-11-23" ||
		len(v.HistoryDays) != 4 || v.Counts["service"] != 1 {
		t.Errorf("older day: %d date %s history %v counts %v", code, v.Date, v.HistoryDays, v.Counts)
	}
	var e apiError
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/api/kitchen/k-001?date=2026-01-01", http.StatusNotFound},
		{"/api/kitchen/k-001?date=yesterday", http.StatusBadRequest},
		{"/api/kitchen/.hidden", http.StatusBadRequest},
		{"/api/kitchen/k%2F001", http.StatusBadRequest},
	} {
		if code := getJSON(t, srv, tc.path, &e); code != tc.code || e.Error == "" {
			t.Errorf("%s: %d %q, want %d", tc.path, code, e.Error, tc.code)
		}
	}
	var none KitchenView
	if code := getJSON(t, srv, "/api/kitchen/k-003", &none); code != http.StatusOK || none.Date != "" || len(none.Actions) != 0 {
		t.Errorf("kitchen without actions: %d %+v", code, none)
	}
}

func TestModels(t *testing.T) {
	srv, st, _ := newTestServer(t, true)
	var v ModelsView
	if code := getJSON(t, srv, "/api/models", &v); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if v.Current != 12 || v.Release != 12 || len(v.Releases) != 2 || v.Releases[0] != 12 || v.Expired {
		t.Errorf("release view %+v", v)
	}
	if len(v.Arepas) != 2 || v.Arepas[0].Arepa != "domino" || v.Arepas[1].Technique != "gaussian" {
		t.Fatalf("arepas %+v", v.Arepas)
	}
	d, r := v.Arepas[0], v.Arepas[1]
	if d.Holdout["roc_auc"] == nil || *d.Holdout["roc_auc"] != 0.9712 || d.Trained != 12 || d.Card == nil || len(d.Card.Candidates) != 4 {
		t.Fatalf("domino %+v", d)
	}
	if !strings.HasPrefix(d.Card.Decision, "challenger logistic pr_auc 0.8123 beats") {
		t.Errorf("domino decision %q", d.Card.Decision)
	}
	// Domino's new model is the best challenger; reina-pepiada kept release
	// 11's model, so its current model is what the release ships.
	published := func(a ArepaModel) string {
		var out []string
		for _, c := range a.Card.Candidates {
			if c.Published {
				out = append(out, c.Technique+"/"+c.Role)
			}
		}
		return strings.Join(out, ",")
	}
	if got := published(d); got != "logistic/challenger" {
		t.Errorf("domino published %q", got)
	}
	if r.Trained != 11 || r.Card == nil {
		t.Fatalf("reina-pepiada %+v", r)
	}
	if got := published(r); got != "gaussian/current (release 11)" {
		t.Errorf("reina-pepiada published %q", got)
	}
	c := d.Card.Candidates
	if !c[0].Chosen || c[1].Chosen || c[2].Error == "" || !c[3].Champion || *c[1].Metrics["pr_auc"] != 0.7345 || *c[3].Metrics["pr_auc"] != 0.7001 {
		t.Errorf("candidates %+v", c)
	}
	facts := map[string]string{}
	for _, f := range d.Card.Facts {
		facts[f.Name] = f.Value
	}
	if facts["span_first"] != "2026-10-15" || facts["kitchens"] != "k-001, k-002" ||
		facts["slices.holdout"] != "from 2026-11-18, positive_share 0.013, positives 42, rows 3234, to 2026-11-22" {
		t.Errorf("facts %v", facts)
	}

	v = ModelsView{}
	if code := getJSON(t, srv, "/api/models?release=11", &v); code != http.StatusOK || v.Release != 11 || v.Current != 12 {
		t.Errorf("release 11: %d %+v", code, v)
	}
	var e apiError
	if code := getJSON(t, srv, "/api/models?release=99", &e); code != http.StatusNotFound {
		t.Errorf("missing release: %d %q", code, e.Error)
	}
	if code := getJSON(t, srv, "/api/models?release=-1", &e); code != http.StatusBadRequest {
		t.Errorf("bad release: %d %q", code, e.Error)
	}

	st.del("models/domino/12/card.json")
	st.put("models/reina-pepiada/12/card.json", []byte("[1,2]"))
	v = ModelsView{}
	getJSON(t, srv, "/api/models", &v)
	if v.Arepas[0].Card != nil || !strings.Contains(v.Arepas[0].CardError, "missing") {
		t.Errorf("missing card: %+v", v.Arepas[0])
	}
	if v.Arepas[1].Card != nil || v.Arepas[1].CardError == "" {
		t.Errorf("bad card: %+v", v.Arepas[1])
	}

	st.del("models/current")
	v = ModelsView{}
	getJSON(t, srv, "/api/models", &v)
	if v.Current != 0 || v.Release != 12 || len(v.Notices) != 1 {
		t.Errorf("no current: %+v", v)
	}
}

func TestPagesAndHeaders(t *testing.T) {
	srv, _, _ := newTestServer(t, true)
	for _, tc := range []struct {
		method, path string
		code         int
		ctype, body  string
	}{
		{"GET", "/", 200, "text/html", `src="/static/app.js"`},
		{"GET", "/kitchen/k-001", 200, "text/html", `id="view"`},
		{"GET", "/models", 200, "text/html", `id="view"`},
		{"GET", "/static/app.js", 200, "javascript", "textContent"},
		{"GET", "/static/style.css", 200, "text/css", ".pill"},
		{"GET", "/healthz", 200, "text/plain", "ok"},
		{"GET", "/nope", 404, "", ""},
		{"POST", "/api/overview", 405, "", ""},
		{"DELETE", "/", 405, "", ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.code)
			continue
		}
		if !strings.Contains(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(body), tc.body) {
			t.Errorf("%s %s: content type %q, body %.80q", tc.method, tc.path, resp.Header.Get("Content-Type"), string(body))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s %s: CSP %q", tc.method, tc.path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no nosniff", tc.method, tc.path)
		}
	}
}

func TestHTTPServerTimeouts(t *testing.T) {
	s := HTTPServer("127.0.0.1:0", http.NotFoundHandler(), nil)
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Errorf("timeouts not all set: %+v", s)
	}
}
