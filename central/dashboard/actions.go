package dashboard

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/record"
)

// Levels a display shows, from most to least severe. "unknown" (too little
// data or no model) sorts before "none" because it needs a person to look.
var levels = []string{"stop", "service", "inspect", "unknown", "none"}

// severity ranks a level for sorting: higher is worse. A level outside the
// contract ranks with "unknown".
func severity(level string) int {
	switch level {
	case "stop":
		return 4
	case "service":
		return 3
	case "inspect":
		return 2
	case "none":
		return 0
	}
	return 1
}

// countKey is the overview bucket an action's level is counted in; a level
// outside the contract is counted as unknown rather than dropped.
func countKey(level string) string {
	if slices.Contains(levels, level) {
		return level
	}
	return "unknown"
}

// Action is one machine's maintenance action for a day, as the agent
// publishes it on MQTT and uploads it in actions/<kitchen>/<day>.json: the
// contract's type. Its Risk is 0 when the level is unknown; the pages show
// no risk figure then (hasRisk).
type Action = action.Action

// hasRisk reports whether an action carries a risk figure: the agent writes
// risk 0 for "unknown", which is no figure, and showing 0.00 would read as
// "healthy".
func hasRisk(a Action) bool { return countKey(a.Level) != "unknown" }

// maxActionsFile bounds how much of one day's actions file is read: 200
// machines take about 100 KiB, so this leaves room without trusting the store.
const maxActionsFile = 16 << 20

// ParseActions decodes a day's actions file: either a JSON array of action
// payloads or an object with an "actions" array (and optional date and
// kitchen that fill actions lacking them). Actions come back sorted worst
// first. Any problem is one line naming what is wrong.
func ParseActions(b []byte) ([]Action, error) {
	// A UTF-8 byte order mark, as some editors write, is not content.
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	if len(b) == 0 {
		return nil, errors.New("actions file is empty")
	}
	var list []Action
	switch b[0] {
	case '[':
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("actions file: %w", err)
		}
	case '{':
		var obj struct {
			Date    string    `json:"date"`
			Kitchen string    `json:"kitchen"`
			Actions *[]Action `json:"actions"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return nil, fmt.Errorf("actions file: %w", err)
		}
		if obj.Actions == nil {
			return nil, errors.New("actions file: object has no \"actions\" array")
		}
		list = *obj.Actions
		for i := range list {
			if list[i].Date == "" {
				list[i].Date = obj.Date
			}
			if list[i].Kitchen == "" {
				list[i].Kitchen = obj.Kitchen
			}
		}
	default:
		return nil, errors.New("actions file is neither a JSON array nor an object")
	}
	for i := range list {
		a := &list[i]
		if a.Machine == "" {
			return nil, fmt.Errorf("actions file: action %d has no machine", i)
		}
		a.Level = strings.ToLower(strings.TrimSpace(a.Level))
		if a.Level == "" {
			a.Level = "unknown"
		}
	}
	sortActions(list)
	return list, nil
}

func sortActions(list []Action) {
	slices.SortStableFunc(list, func(a, b Action) int {
		return cmp.Or(
			cmp.Compare(severity(b.Level), severity(a.Level)),
			cmp.Compare(riskOf(b), riskOf(a)),
			strings.Compare(a.Machine, b.Machine))
	})
}

func riskOf(a Action) float64 {
	if !hasRisk(a) {
		return -1
	}
	return a.Risk
}

// countLevels returns the number of actions per level, every level present.
func countLevels(list []Action) map[string]int {
	c := make(map[string]int, len(levels))
	for _, l := range levels {
		c[l] = 0
	}
	for _, a := range list {
		c[countKey(a.Level)]++
	}
	return c
}

// Names of kitchens, machines and arepa types become object keys and URL
// paths: the one grammar of internal/record.
func validName(s string) bool { return record.ValidName(s) == nil }

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// actionsKey is the object key of a kitchen's actions for a day.
func actionsKey(kitchen, date string) string { return "actions/" + kitchen + "/" + date + ".json" }

// actionDates returns the dates of the keys under actions/<kitchen>/ that
// name a day's actions file, newest first.
func actionDates(kitchen string, keys []string) []string {
	prefix := "actions/" + kitchen + "/"
	var out []string
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		d, ok := strings.CutSuffix(rest, ".json")
		if ok && dateRE.MatchString(d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return slices.Compact(out)
}
