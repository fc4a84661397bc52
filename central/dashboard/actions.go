package dashboard

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/record"
)

// countKey is the overview bucket an action's level is counted in; a level
// outside the contract is counted as unknown rather than dropped (the action
// itself keeps the level the agent wrote).
func countKey(level string) string {
	if action.Known(level) {
		return level
	}
	return action.LevelUnknown
}

// Action is one machine's maintenance action for a day, as the agent
// publishes it on MQTT and uploads it in actions/<kitchen>/<day>.json: the
// contract's type. Its Risk is 0 when the level is unknown; the pages show
// no risk figure then (hasRisk).
type Action = action.Action

// hasRisk reports whether an action carries a risk figure: by the contract
// the risk of an unknown level is no figure (the agent writes 0, and
// showing 0.00 would read as "healthy"); any other level shows the risk the
// agent wrote. An action without a level is no judgement either.
func hasRisk(a Action) bool { return a.Level != "" && a.Level != action.LevelUnknown }

// maxActionsFile bounds how much of one day's actions file is read: 200
// machines take about 100 KiB, so this leaves room without trusting the store.
const maxActionsFile = 16 << 20

// ParseActions decodes a day's actions file with action.DecodeDay: either a
// JSON array of action payloads or the agent's object with an "actions"
// array (whose date and kitchen fill actions lacking them). Actions come
// back as the agent wrote them, sorted worst first. Any problem is one line
// naming what is wrong.
func ParseActions(b []byte) ([]Action, error) {
	d, err := action.DecodeDay(b)
	if err != nil {
		return nil, err
	}
	list := d.Actions
	for i := range list {
		a := &list[i]
		if a.Machine == "" {
			return nil, fmt.Errorf("actions file: action %d has no machine", i)
		}
		if a.Date == "" {
			a.Date = d.Date
		}
		if a.Kitchen == "" {
			a.Kitchen = d.Kitchen
		}
	}
	sortActions(list)
	return list, nil
}

func sortActions(list []Action) {
	slices.SortStableFunc(list, func(a, b Action) int {
		return cmp.Or(
			cmp.Compare(action.Urgency(b.Level), action.Urgency(a.Level)),
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
	c := make(map[string]int, len(action.Levels))
	for _, l := range action.Levels {
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

// actionDates returns the dates of the keys under actions/<kitchen>/ that
// name a day's actions file, newest first.
func actionDates(kitchen string, keys []string) []string {
	prefix := action.Prefix(kitchen)
	var out []string
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		d, ok := strings.CutSuffix(rest, ".json")
		if ok && isDate(d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return slices.Compact(out)
}
