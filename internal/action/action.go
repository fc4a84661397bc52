// Package action is the contract of a morning decision: the per-machine
// action payload a display reads, the kitchen's day document (the summary on
// MQTT and actions/<kitchen>/<day>.json in the bucket) and the levels. The
// agent writes them; the dashboard, backtest and scorecard read them.
package action

import (
	"encoding/json"
	"errors"
	"fmt"
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

// DecodeDay reads a day file: the agent's object with an "actions" array, or
// a bare JSON array of action payloads.
func DecodeDay(b []byte) (*Day, error) {
	if len(b) > MaxDayJSON {
		return nil, fmt.Errorf("actions file larger than %d bytes", MaxDayJSON)
	}
	var d Day
	if err := json.Unmarshal(b, &d); err == nil {
		if d.Actions == nil {
			return nil, errors.New("actions file: no \"actions\" array")
		}
		return &d, nil
	}
	var list []Action
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("actions file: %w", err)
	}
	d = Day{V: Version, Actions: list}
	if len(list) > 0 {
		d.Date, d.Kitchen = list[0].Date, list[0].Kitchen
	}
	return &d, nil
}
