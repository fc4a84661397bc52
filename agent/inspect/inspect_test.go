package inspect

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
)

func TestReportSectionsAtTopLevelAndRoundTrip(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "a.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	b := &store.Batch{Records: []record.Record{
		{Machine: "m-01", Type: record.TypeCook, TS: ts, Seq: 1, Arepa: "a", Metrics: map[string]float64{"x": 1}},
		{Machine: "m-01", Type: record.TypeCook, TS: ts.Add(time.Hour), Seq: 2, Arepa: "a", Metrics: map[string]float64{"x": 2}},
		{Machine: "m-02", Type: record.TypeEvent, TS: ts, Seq: 9, Kind: record.KindFault},
	}, Quarantine: []store.Quarantined{{Topic: "t", Reason: "not_json", Payload: []byte("x")}}}
	if _, err := st.Commit(b); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(b); err != nil { // redelivery
		t.Fatal(err)
	}
	rep, err := Build(context.Background(), st, Options{Kitchen: "k", Source: "store", Quarantine: 5, Sections: []Section{
		{Name: "upload", Fill: func(context.Context, *store.Store) (any, error) { return map[string]int{"pending": 2}, nil }},
		{Name: "models", Fill: func(context.Context, *store.Store) (any, error) { return nil, errors.New("no release yet") }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if m["records"] != 3.0 || m["duplicates"] != 3.0 || m["quarantined"] != 2.0 {
		t.Errorf("totals wrong: %s", raw)
	}
	if up, _ := m["upload"].(map[string]any); up["pending"] != 2.0 {
		t.Errorf("upload section missing at top level: %s", raw)
	}
	if mo, _ := m["models"].(map[string]any); mo["error"] != "no release yet" {
		t.Errorf("a failing section must show its error: %s", raw)
	}
	machines := m["machines"].([]any)
	first := machines[0].(map[string]any)
	if len(machines) != 2 || first["machine"] != "m-01" || first["records"] != 2.0 || first["last"] != "2026-11-26T08:00:00Z" {
		t.Errorf("machines: %v", machines)
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&back)
	var m2 map[string]any
	if err := json.Unmarshal(again, &m2); err != nil || len(m2) != len(m) || m2["upload"] == nil {
		t.Errorf("round trip changed the report:\n%s\n%s", raw, again)
	}

	if _, err := Build(context.Background(), st, Options{Sections: []Section{{Name: "records", Fill: nil}}}); err == nil {
		t.Error("a section named like a base field must be refused")
	}
}
