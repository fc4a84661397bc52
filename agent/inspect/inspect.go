// Package inspect builds the report `budare-agent inspect` prints: what the
// local store holds (records, redeliveries dropped, quarantine, per machine
// and per day), plus one named section per subsystem (upload state, model
// release, decisions...). The running agent serves it on /inspect; when the
// agent is not running the command builds it itself from a read-only open of
// the store, with the same sections, so both paths print the same document.
//
// Extension point: a subsystem adds a Section (a name and a function that
// reads what it needs from the store or data_dir). The agent lists its
// sections in one place (agent/daemon/http.go, sections); each
// section's value appears in the JSON under its name, at the top level.
package inspect

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/budare/budare/agent/store"
)

// Section is one subsystem's part of the report.
type Section struct {
	// Name is the top-level JSON key; it must not be one of the base keys.
	Name string
	// Fill returns the section's value (anything json.Marshal accepts). It
	// must only read: the store may be a read-only open. An error is shown
	// as {"error": "..."} under Name; it does not fail the whole report.
	Fill func(ctx context.Context, st *store.Store) (any, error)
}

// Report is the inspection document.
type Report struct {
	Kitchen string `json:"kitchen"`
	// Source says where the figures come from: "agent" (the running agent's
	// /inspect) or "store" (a read-only open while the agent was stopped).
	Source      string    `json:"source"`
	GeneratedAt time.Time `json:"generated_at"`

	Records        uint64 `json:"records"`         // records stored, exactly once each
	Duplicates     uint64 `json:"duplicates"`      // redeliveries recognised and dropped
	Quarantined    uint64 `json:"quarantined"`     // rejected payloads, ever
	QuarantineKept uint64 `json:"quarantine_kept"` // of which still kept (newest store.QuarantineMax)

	Machines []store.MachineInfo `json:"machines"`
	Days     []store.DayInfo     `json:"days"`
	// Quarantine holds the newest kept rejected payloads when asked for.
	Quarantine []store.Quarantined `json:"quarantine,omitempty"`

	// Sections are the subsystems' parts, keyed by Section.Name; they are
	// marshalled at the top level next to the fields above.
	Sections map[string]any `json:"-"`
}

// Options tune Build.
type Options struct {
	Kitchen string
	Source  string
	// Quarantine is how many of the newest quarantined payloads to include.
	Quarantine int
	Sections   []Section
}

var baseKeys = map[string]bool{"kitchen": true, "source": true, "generated_at": true, "records": true,
	"duplicates": true, "quarantined": true, "quarantine_kept": true, "machines": true, "days": true, "quarantine": true}

// Build reads the report from st.
func Build(ctx context.Context, st *store.Store, opt Options) (*Report, error) {
	s, err := st.Stats()
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	r := &Report{Kitchen: opt.Kitchen, Source: opt.Source, GeneratedAt: time.Now().UTC(),
		Records: s.Records, Duplicates: s.Duplicates, Quarantined: s.Quarantined, QuarantineKept: s.QuarantineLen,
		Sections: map[string]any{}}
	if r.Machines, err = st.Machines(); err != nil {
		return nil, fmt.Errorf("inspect machines: %w", err)
	}
	if r.Days, err = st.Days(); err != nil {
		return nil, fmt.Errorf("inspect days: %w", err)
	}
	if r.Machines == nil {
		r.Machines = []store.MachineInfo{}
	}
	if r.Days == nil {
		r.Days = []store.DayInfo{}
	}
	if opt.Quarantine > 0 {
		if r.Quarantine, err = st.Quarantine(opt.Quarantine); err != nil {
			return nil, fmt.Errorf("inspect quarantine: %w", err)
		}
	}
	for _, sec := range opt.Sections {
		if baseKeys[sec.Name] || sec.Name == "" {
			return nil, fmt.Errorf("inspect: section name %q is empty or clashes with a base field", sec.Name)
		}
		if _, dup := r.Sections[sec.Name]; dup {
			return nil, fmt.Errorf("inspect: section %q is listed twice", sec.Name)
		}
		v, err := sec.Fill(ctx, st)
		if err != nil {
			v = map[string]string{"error": err.Error()}
		}
		r.Sections[sec.Name] = v
	}
	return r, nil
}

// MarshalJSON writes the base fields and then the sections, at the top level.
func (r *Report) MarshalJSON() ([]byte, error) {
	type base Report
	b, err := json.Marshal((*base)(r))
	if err != nil {
		return nil, err
	}
	if len(r.Sections) == 0 {
		return b, nil
	}
	names := make([]string, 0, len(r.Sections))
	for n := range r.Sections {
		names = append(names, n)
	}
	sort.Strings(names)
	out := b[:len(b)-1] // drop the closing brace
	for _, n := range names {
		k, _ := json.Marshal(n)
		v, err := json.Marshal(r.Sections[n])
		if err != nil {
			return nil, fmt.Errorf("inspect section %q: %w", n, err)
		}
		out = append(out, ',')
		out = append(out, k...)
		out = append(out, ':')
		out = append(out, v...)
	}
	return append(out, '}'), nil
}

// UnmarshalJSON reads a report back, keeping unknown keys as sections (raw
// JSON), so a report fetched from a running agent prints unchanged.
func (r *Report) UnmarshalJSON(b []byte) error {
	type base Report
	if err := json.Unmarshal(b, (*base)(r)); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	r.Sections = map[string]any{}
	for k, v := range all {
		if !baseKeys[k] {
			r.Sections[k] = v
		}
	}
	return nil
}
