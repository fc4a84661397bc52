package record

import "testing"

func TestTopics(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Topic("k1", Record{Machine: "m-01", Type: TypeCook}), "budare/k1/m-01/cook"},
		{ActionTopic("k1", "m-01"), "budare/k1/m-01/action"},
		{ActionFilter("k1"), "budare/k1/+/action"},
		{SummaryTopic("k1"), "budare/k1/actions"},
		{StatusTopic("k1"), "budare/k1/agent/status"},
	} {
		if tc.got != tc.want {
			t.Errorf("topic %q, want %q", tc.got, tc.want)
		}
	}
	f := InputFilters("k1")
	if len(f) != 2 || f["budare/k1/+/cook"] != 1 || f["budare/k1/+/event"] != 1 {
		t.Errorf("InputFilters = %v", f)
	}
	// Every input topic the agent subscribes to must parse back.
	for _, typ := range []string{TypeCook, TypeEvent} {
		m, ty, err := ParseTopic("k1", Topic("k1", Record{Machine: "m-01", Type: typ}))
		if err != nil || m != "m-01" || ty != typ {
			t.Errorf("ParseTopic(Topic(%s)) = %q %q %v", typ, m, ty, err)
		}
	}
}
