//go:build unix

package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/inventory"

	"github.com/budare/budare/internal/agentstatus"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

// Fleet-scale benchmarks on an in-memory bucket: 2,000 kitchens of 20
// machines, 30 days of actions each, every agent's status, and 30 days of
// windows for the kitchen whose machine page is measured. Listings are
// cached (ListTTL) as in a running server; the overview's own cache is off,
// so every iteration builds it. .ci/bench.d/70-dashboard.sh runs them.
const (
	benchKitchens = 2000
	benchMachines = 20
	benchDays     = 30
)

func benchStore(b *testing.B) *fakeStore {
	b.Helper()
	st := newFakeStore()
	var inv strings.Builder
	inv.WriteString("kitchen,phase,timezone\n")
	levels := []string{"none", "none", "none", "none", "inspect", "service", "stop", "unknown"}
	for k := range benchKitchens {
		name := fmt.Sprintf("k-%04d", k)
		fmt.Fprintf(&inv, "%s,1,UTC\n", name)
		for d := range benchDays {
			day := seedNow.AddDate(0, 0, -d).Format(time.DateOnly)
			var sb strings.Builder
			sb.WriteString(`{"v":1,"date":"` + day + `","kitchen":"` + name + `","model_release":12,"actions":[`)
			for m := range benchMachines {
				if m > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"v":1,"date":%q,"kitchen":%q,"machine":"m-%02d","level":%q,"risk":0.%02d,"by_arepa":{"reina-pepiada":0.5,"domino":0.2},"reasons":["vibration_mm_s trend +38%% over 7 days"],"model_release":12,"data_days":7}`,
					day, name, m, levels[(m+d+k)%len(levels)], (m*7+d)%100)
			}
			sb.WriteString("]}")
			st.put(action.Key(name, day), []byte(sb.String()))
		}
		sj, err := json.Marshal(agentstatus.Status{V: 1, Kitchen: name, Agent: "1.0.0", At: seedNow.Add(-time.Duration(k) * time.Second),
			Release: 12, LastWindow: seedNow.AddDate(0, 0, -1).Format(time.DateOnly), LastDecision: seedNow.Format(time.DateOnly), StoreBytes: 40 << 20})
		if err != nil {
			b.Fatal(err)
		}
		st.put(agentstatus.Key(name), sj)
	}
	st.put(inventory.Key, []byte(inv.String()))
	// A kitchen-day of cooks: 20 machines × 48 cooks, plus an event.
	for d := range benchDays {
		day := seedNow.AddDate(0, 0, -d-1)
		enc, err := window.NewEncoder(1)
		if err != nil {
			b.Fatal(err)
		}
		for m := range benchMachines {
			for c := range 48 {
				r := record.Record{Machine: fmt.Sprintf("m-%02d", m), Type: record.TypeCook, TS: day.Add(time.Duration(c) * 20 * time.Minute), Seq: int64(c),
					Arepa: "domino", Metrics: map[string]float64{"vibration_mm_s": 2 + float64(c%7), "plate_temp_c": 180 + float64(c%11), "motor_current_a": 4, "energy_wh": 120, "cook_seconds": 95}}
				line, _ := json.Marshal(r)
				if err := enc.Line(line); err != nil {
					b.Fatal(err)
				}
			}
		}
		line, _ := json.Marshal(record.Record{Machine: "m-00", Type: record.TypeEvent, TS: day.Add(5 * time.Hour), Kind: record.KindFault, Code: "HEATER_OPEN"})
		_ = enc.Line(line)
		w, err := enc.Finish()
		if err != nil {
			b.Fatal(err)
		}
		st.put(window.Key("k-0000", day.Format(time.DateOnly)), w.Data)
	}
	return st
}

// serve runs one request against the handler and checks its status.
func serve(b *testing.B, h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d %.300s", path, rec.Code, rec.Body.String())
	}
	return rec
}

func BenchmarkPages(b *testing.B) {
	st := benchStore(b)
	newServer := func() *Server {
		return New(st, Options{Now: func() time.Time { return seedNow }, CacheTTL: -1, ListTTL: time.Hour})
	}
	// The floor any overview pays without caches: decoding every kitchen's
	// latest day file once.
	b.Run("baseline-decode-latest-days", func(b *testing.B) {
		files := make([][]byte, benchKitchens)
		for k := range files {
			files[k], _ = st.Get(context.Background(), action.Key(fmt.Sprintf("k-%04d", k), seedNow.Format(time.DateOnly)), 0)
		}
		b.ResetTimer()
		cpu0 := cpuTime(b)
		defer func() { b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op") }()
		for b.Loop() {
			for _, f := range files {
				if _, err := ParseActions(f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	for _, tc := range []struct {
		name, path string
		cold       bool // parsed-object cache emptied before each request
		want       string
	}{
		{"overview", "/api/overview", false, `"kitchen":"k-1999"`},
		{"overview-cold", "/api/overview", true, `"kitchen":"k-1999"`},
		{"fleet", "/fleet", false, `data-kitchen="k-1999"`},
		{"fleet-cold", "/fleet", true, `data-kitchen="k-1999"`},
		{"machine", "/kitchen/k-0000/machine/m-00", false, `data-chart="trend-vibration_mm_s"`},
		{"machine-cold", "/kitchen/k-0000/machine/m-00", true, `data-chart="trend-vibration_mm_s"`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := newServer()
			if body := serve(b, s, tc.path).Body.String(); !strings.Contains(body, tc.want) {
				b.Fatalf("GET %s lacks %q", tc.path, tc.want)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime(b)
			for b.Loop() {
				if tc.cold {
					s.cache.mu.Lock()
					s.cache.objs = nil
					s.cache.mu.Unlock()
				}
				serve(b, s, tc.path)
			}
			// Wall time suffers when other jobs share the cores; the
			// process's CPU time per request shows the page's own cost.
			b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
