package agentstatus

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	good, err := json.Marshal(Status{V: Version, Kitchen: "k-001", Agent: "1.2.3", At: at, Release: 12, LastWindow: "2026-11-25", StoreBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"round trip", string(good), ""},
		{"not json", "{", "status object"},
		{"no kitchen", `{"v":1,"at":"2026-11-26T06:00:00Z"}`, "no kitchen"},
		{"no time", `{"v":1,"kitchen":"k"}`, "no \"at\""},
		{"too large", `{"kitchen":"` + strings.Repeat("x", MaxBytes) + `"}`, "larger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Kitchen != "k-001" || !s.At.Equal(at) || s.Release != 12 || s.LastWindow != "2026-11-25" || s.StoreBytes != 4096 {
				t.Errorf("decoded %+v", s)
			}
		})
	}
	if Key("k-001") != "status/k-001.json" {
		t.Errorf("key %q", Key("k-001"))
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"kitchen":"k","at":"2026-11-26T06:00:00Z","release":3}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err == nil && (s.Kitchen == "" || s.At.IsZero()) {
			t.Fatalf("accepted %q as %+v", b, s)
		}
	})
}
