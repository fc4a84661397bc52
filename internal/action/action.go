// Package action is the contract of a morning decision: the per-machine
// action payload a display reads, the kitchen's day document (the summary on
// MQTT and actions/<kitchen>/<day>.json in the bucket) and the levels. The
// agent writes them; the dashboard, backtest and scorecard read them.
package action

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Levels, in increasing severity. Unknown is not a severity: the machine
// could not be judged and someone should look at why.
const (
	LevelUnknown = "unknown"
	LevelNone    = "none"
	LevelInspect = "inspect"
	LevelService = "service"
	LevelStop    = "stop"
)

// Levels lists every level, for counters and summaries.
var Levels = []string{LevelNone, LevelInspect, LevelService, LevelStop, LevelUnknown}

// Severity orders levels: none and unknown 0, inspect 1, service 2, stop 3.
func Severity(l string) int {
	switch l {
	case LevelInspect:
		return 1
	case LevelService:
		return 2
	case LevelStop:
		return 3
	}
	return 0
}

// Version is the action payload version (field "v").
const Version = 1

// Action is one machine's decision for one day: the payload of
// budare/<kitchen>/<machine>/action.
type Action struct {
	V       int     `json:"v"`
	Date    string  `json:"date"`
	Kitchen string  `json:"kitchen"`
	Machine string  `json:"machine"`
	Level   string  `json:"level"`
	Risk    float64 `json:"risk"` // 0 when level is unknown
	// ByArepa holds the risk of every arepa type that could be scored.
	ByArepa      map[string]float64 `json:"by_arepa"`
	Reasons      []string           `json:"reasons"`
	ModelRelease int64              `json:"model_release"`
	DataDays     int                `json:"data_days"` // days of D-7..D-1 with cook records
	DecidedAt    time.Time          `json:"decided_at"`
}

// Day is the kitchen's decision for one day: the payload of
// budare/<kitchen>/actions and of actions/<kitchen>/<day>.json.
type Day struct {
	V            int            `json:"v"`
	Date         string         `json:"date"`
	Kitchen      string         `json:"kitchen"`
	ModelRelease int64          `json:"model_release"`
	DecidedAt    time.Time      `json:"decided_at"`
	Counts       map[string]int `json:"counts"` // machines per level
	Actions      []Action       `json:"actions"`
}

// Key is the object key of a kitchen's day file.
func Key(kitchen, day string) string { return "actions/" + kitchen + "/" + day + ".json" }

// Prefix is the key prefix of every day file of a kitchen ("" for all).
func Prefix(kitchen string) string {
	if kitchen == "" {
		return "actions/"
	}
	return "actions/" + kitchen + "/"
}

// MaxDayJSON is the largest day file DecodeDay accepts.
const MaxDayJSON = 16 << 20

// Known reports whether l is one of the contract's levels.
func Known(l string) bool {
	switch l {
	case LevelUnknown, LevelNone, LevelInspect, LevelService, LevelStop:
		return true
	}
	return false
}

// Urgency orders levels for people: stop 3, service 2, inspect 1, unknown
// (and any level outside the contract) 0, none -1. Unknown comes before none
// because someone should look at why the machine could not be judged.
func Urgency(l string) int {
	if l == LevelNone {
		return -1
	}
	return Severity(l)
}

// Encode is the payload of one machine's action, as the agent publishes it
// on ActionTopic.
func Encode(a *Action) ([]byte, error) { return json.Marshal(a) }

// EncodeDay is the day file the agent uploads to Key(d.Kitchen, d.Date).
func EncodeDay(d *Day) ([]byte, error) { return json.MarshalIndent(d, "", " ") }

// DecodeDay reads a day file: the agent's object with an "actions" array, or
// a bare JSON array of action payloads (a UTF-8 byte order mark and
// surrounding space are ignored). It returns what the file says, levels and
// risks as written.
func DecodeDay(b []byte) (*Day, error) {
	var d Day
	bare, err := decodeDay(b, &d, func(d *Day) *[]Action { return &d.Actions })
	if err != nil {
		return nil, err
	}
	if bare {
		d.V = Version
		if len(d.Actions) > 0 {
			d.Date, d.Kitchen = d.Actions[0].Date, d.Actions[0].Kitchen
		}
	}
	return &d, nil
}

// Brief is the part of an action an overview of a large fleet needs:
// decoding only it is several times cheaper than the whole action.
type Brief struct {
	Machine      string `json:"machine"`
	Level        string `json:"level"`
	ModelRelease int64  `json:"model_release"`
}

// DecodeBriefs reads the actions of a day file as DecodeDay does (it
// accepts every file DecodeDay accepts), keeping only their Brief.
func DecodeBriefs(b []byte) ([]Brief, error) {
	var doc briefDay
	if _, err := decodeDay(b, &doc, func(d *briefDay) *[]Brief { return &d.Actions }); err != nil {
		return nil, err
	}
	return doc.Actions, nil
}

// briefDay is a day file with only the actions' briefs decoded.
type briefDay struct {
	Actions []Brief `json:"actions"`
}

// decodeDay is the one grammar of a day file, decoded into doc, whose
// actions are at actions(doc), for any shape of action. bare says the file
// was a bare array (only the actions are then set).
func decodeDay[D, A any](b []byte, doc *D, actions func(*D) *[]A) (bare bool, err error) {
	if len(b) > MaxDayJSON {
		return false, fmt.Errorf("actions file larger than %d bytes", MaxDayJSON)
	}
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	switch {
	case len(b) == 0:
		return false, errors.New("actions file is empty")
	case b[0] == '{':
		if err := json.Unmarshal(b, doc); err != nil {
			return false, fmt.Errorf("actions file: %w", err)
		}
		if *actions(doc) == nil {
			return false, errors.New("actions file: object has no \"actions\" array")
		}
		return false, nil
	case b[0] == '[':
		if err := json.Unmarshal(b, actions(doc)); err != nil {
			return true, fmt.Errorf("actions file: %w", err)
		}
		return true, nil
	}
	return false, errors.New("actions file is neither a JSON array nor an object")
}

// SummaryVersion is the version (field "v") of the kitchen summary published
// on budare/<kitchen>/actions. Version 1 was the whole day document, which
// outgrows a broker's max_packet_size with a large kitchen (1,500 machines
// are ~700 KB); version 2 holds what a display needs and names the full
// document in the bucket.
const SummaryVersion = 2

// SummaryEntry is one machine's line in the summary.
type SummaryEntry struct {
	Machine string  `json:"machine"`
	Level   string  `json:"level"`
	Risk    float64 `json:"risk"`
	// Reason is the action's first reason, for levels other than none.
	Reason string `json:"reason,omitempty"`
}

// Summary is the payload of budare/<kitchen>/actions: the day's counts and
// one short entry per machine, most severe first. When every entry does not
// fit the broker's packet limit, the least severe are left out (Omitted
// says how many): each machine's own retained action and the full document
// at Full carry them all.
type Summary struct {
	V            int            `json:"v"`
	Date         string         `json:"date"`
	Kitchen      string         `json:"kitchen"`
	ModelRelease int64          `json:"model_release"`
	DecidedAt    time.Time      `json:"decided_at"`
	Counts       map[string]int `json:"counts"`
	Machines     int            `json:"machines"` // machines decided
	Omitted      int            `json:"omitted"`  // machines decided but not listed
	Full         string         `json:"full"`     // object key of the full day document
	Actions      []SummaryEntry `json:"actions"`
}

// MarshalSummary builds the summary of d and encodes it in at most maxBytes
// (no limit when maxBytes <= 0). Entries are ordered by severity (stop,
// service, inspect, unknown, none), then risk, then machine, and cut from
// the end until the document fits. It fails only when not even the counts
// fit.
func MarshalSummary(d *Day, maxBytes int) ([]byte, *Summary, error) {
	s := &Summary{V: SummaryVersion, Date: d.Date, Kitchen: d.Kitchen, ModelRelease: d.ModelRelease,
		DecidedAt: d.DecidedAt, Counts: d.Counts, Machines: len(d.Actions), Full: Key(d.Kitchen, d.Date),
		Actions: make([]SummaryEntry, 0, len(d.Actions))}
	for _, a := range d.Actions {
		e := SummaryEntry{Machine: a.Machine, Level: a.Level, Risk: a.Risk}
		if a.Level != LevelNone && len(a.Reasons) > 0 {
			e.Reason = a.Reasons[0]
		}
		s.Actions = append(s.Actions, e)
	}
	sort.SliceStable(s.Actions, func(i, j int) bool {
		a, b := s.Actions[i], s.Actions[j]
		if ra, rb := Urgency(a.Level), Urgency(b.Level); ra != rb {
			return ra > rb
		}
		if a.Risk != b.Risk {
			return a.Risk > b.Risk
		}
		return a.Machine < b.Machine
	})
	b, err := json.Marshal(s)
	if err != nil {
		return nil, nil, fmt.Errorf("encode summary: %w", err)
	}
	if maxBytes <= 0 || len(b) <= maxBytes {
		return b, s, nil
	}
	// Too big: keep the longest prefix of entries that fits. Each entry
	// costs its encoding plus a comma; the omitted count grows by at most
	// a few digits, which the slack covers.
	all := s.Actions
	s.Actions, s.Omitted = []SummaryEntry{}, len(all)
	head, err := json.Marshal(s)
	if err != nil {
		return nil, nil, fmt.Errorf("encode summary: %w", err)
	}
	budget := maxBytes - len(head)
	n := 0
	for _, e := range all {
		eb, err := json.Marshal(e)
		if err != nil {
			return nil, nil, fmt.Errorf("encode summary: %w", err)
		}
		if budget-len(eb)-1 < 0 {
			break
		}
		budget -= len(eb) + 1
		n++
	}
	for ; n >= 0; n-- {
		s.Actions, s.Omitted = all[:n], len(all)-n
		if b, err = json.Marshal(s); err != nil {
			return nil, nil, fmt.Errorf("encode summary: %w", err)
		}
		if len(b) <= maxBytes {
			return b, s, nil
		}
	}
	return nil, nil, fmt.Errorf("summary of %s: even without entries it is %d bytes, limit %d", d.Date, len(b), maxBytes)
}
