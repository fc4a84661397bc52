package dashboard

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkOverview measures /api/overview's own cost (listing, reading and
// parsing every kitchen's latest day) for a chain of 500 kitchens with 200
// machines each, on an in-memory store: the part the dashboard controls.
func BenchmarkOverview(b *testing.B) {
	st := newFakeStore()
	var inv strings.Builder
	inv.WriteString("kitchen,phase,timezone\n")
	levels := []string{"none", "none", "none", "inspect", "service", "stop", "unknown"}
	for k := range 500 {
		name := fmt.Sprintf("k-%03d", k)
		fmt.Fprintf(&inv, "%s,1,UTC\n", name)
		for d := range 30 {
			day := seedNow.AddDate(0, 0, -d).Format(time.DateOnly)
			var sb strings.Builder
			sb.WriteString(`{"v":1,"date":"` + day + `","kitchen":"` + name + `","actions":[`)
			if d == 0 {
				for m := range 200 {
					if m > 0 {
						sb.WriteByte(',')
					}
					fmt.Fprintf(&sb, `{"v":1,"machine":"m-%03d","level":%q,"risk":0.%02d,"by_arepa":{"reina-pepiada":0.5,"domino":0.2},"reasons":["vibration_mm_s trend +38%% over 7 days"],"model_release":12,"data_days":7}`,
						m, levels[m%len(levels)], m%100)
				}
			}
			sb.WriteString("]}")
			st.put(actionsKey(name, day), []byte(sb.String()))
		}
	}
	st.put(InventoryKey, []byte(inv.String()))
	s := New(st, Options{Now: func() time.Time { return seedNow }, CacheTTL: -1})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ov, err := s.overview(context.Background())
		if err != nil || len(ov.Kitchens) != 500 || ov.Totals["stop"] == 0 {
			b.Fatalf("overview: %v", err)
		}
	}
}
