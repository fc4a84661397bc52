package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// metricNames are the holdout metrics the models page shows, in order.
var metricNames = []string{"roc_auc", "pr_auc", "f1", "precision", "recall", "brier", "threshold"}

// Candidate is one model the trainer compared for an arepa type: a
// challenger technique or the current model (champion), all judged on the
// same holdout.
type Candidate struct {
	Technique string              `json:"technique"`
	Role      string              `json:"role,omitempty"` // "challenger", "current (release N)", …
	Chosen    bool                `json:"chosen"`         // the best challenger
	Champion  bool                `json:"champion"`       // the model that was current at training time
	Published bool                `json:"published"`      // the model this release ships
	Error     string              `json:"error,omitempty"`
	Metrics   map[string]*float64 `json:"metrics"`
}

// Fact is one scalar line of a model card (data span, rows, class balance).
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Card is the part of a model card the dashboard shows.
type Card struct {
	Release    int64       `json:"release,omitempty"`
	Decision   string      `json:"decision,omitempty"`
	Facts      []Fact      `json:"facts"`
	Candidates []Candidate `json:"candidates"`
}

const (
	maxCard = 4 << 20
	// maxFacts keeps a card with many scalar fields from flooding the page.
	maxFacts = 30
)

// factOrder puts the fields that explain a decision first.
var factOrder = []string{"decision", "chosen", "metric", "margin", "threshold", "span_first", "span_last", "horizon_days", "slices"}

// ParseCard reads a model card. central/train writes candidates as an array
// of {technique, validation, holdout, error}, names the best one in
// "chosen", and the current model it was compared with in "champion"; other
// shapes a card plausibly has are accepted too (candidates keyed by
// technique, chosen/winner flags, metrics under "metrics" or flat), because
// the dashboard must show what is there rather than fail. Every other field
// that reads as text, one or two levels deep, becomes a fact.
func ParseCard(b []byte) (*Card, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("card: %w", err)
	}
	if raw == nil {
		return nil, errors.New("card: not a JSON object")
	}
	c := &Card{Facts: []Fact{}, Candidates: []Candidate{}}
	if n, ok := raw["release"].(json.Number); ok {
		c.Release, _ = n.Int64()
	}
	c.Decision, _ = raw["decision"].(string)
	c.Decision = truncate(c.Decision, 300)
	chosen, _ := raw["chosen"].(string)

	keys := slices.Sorted(maps.Keys(raw))
	slices.SortStableFunc(keys, func(a, b string) int { return rank(a) - rank(b) })
	for _, k := range keys {
		switch k {
		case "candidates", "champion", "decision", "v":
			continue
		}
		if m, ok := raw[k].(map[string]any); ok {
			for _, k2 := range slices.Sorted(maps.Keys(m)) {
				if s, ok := factValue(m[k2], true); ok {
					c.Facts = append(c.Facts, Fact{k + "." + k2, s})
				}
			}
			continue
		}
		if s, ok := factValue(raw[k], false); ok {
			c.Facts = append(c.Facts, Fact{k, s})
		}
	}
	if len(c.Facts) > maxFacts {
		c.Facts = c.Facts[:maxFacts]
	}
	for i := range c.Facts {
		c.Facts[i].Name = truncate(c.Facts[i].Name, 80)
		c.Facts[i].Value = truncate(c.Facts[i].Value, 300)
	}

	switch cs := raw["candidates"].(type) {
	case []any:
		for i, e := range cs {
			if m, ok := e.(map[string]any); ok {
				c.Candidates = append(c.Candidates, candidate(fmt.Sprintf("#%d", i+1), "challenger", m))
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(cs)) {
			if m, ok := cs[k].(map[string]any); ok {
				c.Candidates = append(c.Candidates, candidate(k, "challenger", m))
			}
		}
	}
	for i := range c.Candidates {
		if chosen != "" && c.Candidates[i].Technique == chosen && !c.Candidates[i].Champion {
			c.Candidates[i].Chosen = true
		}
	}
	if m, ok := raw["champion"].(map[string]any); ok {
		role := "current"
		if n, ok := m["release"].(json.Number); ok {
			role = "current (release " + n.String() + ")"
		}
		ch := candidate("current", role, m)
		ch.Champion = true
		c.Candidates = append(c.Candidates, ch)
	}
	return c, nil
}

func rank(k string) int {
	if i := slices.Index(factOrder, k); i >= 0 {
		return i
	}
	return len(factOrder)
}

// markPublished flags the candidate this release ships: the best challenger
// when the model was trained for this release, else the kept current model.
func (c *Card) markPublished(newModel bool) {
	for i := range c.Candidates {
		k := &c.Candidates[i]
		k.Published = k.Error == "" && ((newModel && k.Chosen) || (!newModel && k.Champion))
	}
}

func candidate(fallbackName, role string, m map[string]any) Candidate {
	c := Candidate{Technique: fallbackName, Role: role, Metrics: map[string]*float64{}}
	for _, k := range []string{"technique", "name"} {
		if s, ok := m[k].(string); ok && s != "" {
			c.Technique = truncate(s, 80)
			break
		}
	}
	if s, ok := m["role"].(string); ok && s != "" {
		c.Role = truncate(s, 80)
	}
	c.Champion = c.Role == "champion"
	if s, ok := m["error"].(string); ok {
		c.Error = truncate(s, 300)
	}
	for _, k := range []string{"chosen", "winner", "selected", "published"} {
		if b, ok := m[k].(bool); ok && b {
			c.Chosen = true
		}
	}
	src := m
	for _, k := range []string{"holdout", "metrics"} {
		if mm, ok := m[k].(map[string]any); ok {
			src = mm
			break
		}
	}
	for _, name := range metricNames {
		if f, ok := number(src[name]); ok {
			c.Metrics[name] = &f
		} else if f, ok := number(m[name]); ok {
			c.Metrics[name] = &f
		}
	}
	return c
}

// factValue renders a field as text: a scalar, a short list of scalars, or
// (when nested) an object of scalars as "k v, k v".
func factValue(v any, nested bool) (string, bool) {
	switch x := v.(type) {
	case []any:
		return scalarList(x)
	case map[string]any:
		if !nested {
			return "", false
		}
		parts := make([]string, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			s, ok := scalar(x[k])
			if !ok {
				return "", false
			}
			parts = append(parts, k+" "+s)
		}
		return strings.Join(parts, ", "), true
	}
	return scalar(v)
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return truncate(x, 200), true
	case json.Number:
		return shortNumber(x), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// scalarList shows a short list of scalars (e.g. the kitchens trained on).
func scalarList(v []any) (string, bool) {
	parts := make([]string, 0, len(v))
	for _, e := range v {
		s, ok := scalar(e)
		if !ok {
			return "", false
		}
		parts = append(parts, s)
	}
	if len(parts) > 12 {
		parts = append(parts[:12], fmt.Sprintf("… (%d in all)", len(v)))
	}
	return strings.Join(parts, ", "), true
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// shortNumber shows a card's fractions to 4 decimals (0.0454 rather than
// 0.045454545454545456); integers stay as they are.
func shortNumber(n json.Number) string {
	if _, err := n.Int64(); err == nil {
		return n.String()
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.Abs(f) >= 1e9 {
		return n.String()
	}
	return strconv.FormatFloat(math.Round(f*1e4)/1e4, 'f', -1, 64)
}
