package dashboard

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/window"
)

// getPage fetches a server-rendered page, returning its status and body.
func getPage(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServerPages(t *testing.T) {
	srv, _, _ := newTestServer(t, true)
	tests := []struct {
		path   string
		status int
		want   []string
		count  map[string]int
	}{
		{"/kitchen/k-001/machine/m-01", 200,
			[]string{`data-state="ready"`, `id="machine-name">m-01<`, `data-chart="risk"`, `data-chart="trend-vibration_mm_s"`,
				`data-kind="fault"`, `data-kind="maintenance"`, `data-line="service"`, "HEATER_OPEN", `href="/kitchen/k-001"`},
			map[string]int{`<circle class="pt" data-day="`: 7 + 7, `<tr class="row level-`: 7}},
		{"/kitchen/k-001/machine/m-04", 200, []string{`id="no-trends"`}, map[string]int{`data-kind="fault"`: 0}},
		{"/kitchen/k-001/machine/nope", 200, []string{"No actions for this machine in these 30 days", "No actions for nope"}, nil},
		{"/kitchen/k-001/machine/m%3Cb%3E", 400, []string{"bad kitchen or machine name"}, nil},
		{"/fleet", 200, []string{`data-kitchen="k-002" data-state="stale"`, `data-kitchen="k-001" data-state="online"`,
			`data-kitchen="k-003" data-state="none"`, "0.9.1", "48.0 MiB", `<b>1</b> stale`}, nil},
		{"/coverage", 200, []string{`data-kitchen="k-003"`, `<td class="num">14</td>`}, map[string]int{`data-state="missing"`: 7 + 10 + 14, `data-state="ok"`: 1}},
		{"/coverage?days=0", 400, []string{"bad days"}, nil},
		{"/quality", 200, []string{`data-chart="pr-domino"`, `data-chart="quality-reina-pepiada"`, "chosen threshold 0.350",
			"inspect 0.300, service 0.600, stop 0.850", "_weekly.json", "0.41"}, nil},
		{"/spark.svg?a=0,1,-1,3", 200, []string{"<svg", "<rect"}, nil},
		{"/spark.svg?a=x", 400, []string{"bad count"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := getPage(t, srv.URL+tt.path)
			if code != tt.status {
				t.Fatalf("status %d, want %d\n%.2000s", code, tt.status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q\n%.4000s", w, body)
				}
			}
			for sub, n := range tt.count {
				if got := strings.Count(body, sub); got != n {
					t.Errorf("%d × %q, want %d", got, sub, n)
				}
			}
		})
	}
}

func TestServerPagesEmptyBucket(t *testing.T) {
	srv, _, _ := newTestServer(t, false)
	for path, want := range map[string]string{
		"/fleet":                   "No agents yet",
		"/coverage":                "No kitchens yet",
		"/quality":                 "No model release yet",
		"/kitchen/k-1/machine/m-1": "No actions for this machine in these 30 days",
	} {
		code, body := getPage(t, srv.URL+path)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want 200 with %q\n%.2000s", path, code, want, body)
		}
	}
}

// TestCoverageLate classifies windows by their stored time against the end
// of their day in the kitchen's time zone plus LateAfter.
func TestCoverageLate(t *testing.T) {
	srv, st, _ := newTestServer(t, true)
	day := seedNow.AddDate(0, 0, -1) // 2026-11-25; k-003 is on UTC
	end := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, time.UTC)
	st.putAt(window.Key("k-003", day.Format(time.DateOnly)), []byte("x"), end.Add(7*time.Hour))
	st.putAt(window.Key("k-003", day.AddDate(0, 0, -1).Format(time.DateOnly)), []byte("x"), end.Add(-20*time.Hour)) // 4 h after its day
	_, body := getPage(t, srv.URL+"/coverage")
	row := body[strings.Index(body, `<tr data-kitchen="k-003"`):]
	row = row[:strings.Index(row, "</tr>")]
	for _, want := range []string{`data-day="2026-11-25" data-state="late"`, `data-day="2026-11-24" data-state="ok"`, `data-day="2026-11-23" data-state="missing"`} {
		if !strings.Contains(row, want) {
			t.Errorf("k-003 row lacks %s:\n%s", want, row)
		}
	}
}
