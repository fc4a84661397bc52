package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// metricNames are the holdout metrics the models page shows, in order.
var metricNames = []string{"roc_auc", "pr_auc", "f1", "precision", "recall", "brier", "threshold"}

// Candidate is one technique the trainer compared for an arepa type.
type Candidate struct {
	Technique string              `json:"technique"`
	Role      string              `json:"role,omitempty"` // e.g. champion, challenger
	Chosen    bool                `json:"chosen"`
	Metrics   map[string]*float64 `json:"metrics"`
}

// Fact is one scalar line of a model card (data span, rows, class balance).
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Card is the part of a model card the dashboard shows.
type Card struct {
	Facts      []Fact      `json:"facts"`
	Candidates []Candidate `json:"candidates"`
}

const (
	maxCard = 4 << 20
	// maxFacts keeps a card with many scalar fields from flooding the page.
	maxFacts = 24
)

// ParseCard reads the trainer's card.json. The trainer owns its exact shape,
// so this accepts what a card plausibly holds: "candidates" as an array of
// objects (technique or name, role, chosen/winner/selected, metrics under
// holdout or metrics or flat) or as an object keyed by technique; every
// other scalar field, one level deep, becomes a fact.
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
	for _, k := range sortedKeys(raw) {
		if k == "candidates" {
			continue
		}
		switch v := raw[k].(type) {
		case map[string]any:
			for _, k2 := range sortedKeys(v) {
				if s, ok := scalar(v[k2]); ok {
					c.Facts = append(c.Facts, Fact{k + "." + k2, s})
				}
			}
		case []any:
			if s, ok := scalarList(v); ok {
				c.Facts = append(c.Facts, Fact{k, s})
			}
		default:
			if s, ok := scalar(v); ok {
				c.Facts = append(c.Facts, Fact{k, s})
			}
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
				c.Candidates = append(c.Candidates, candidate(fmt.Sprintf("#%d", i+1), m))
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(cs) {
			if m, ok := cs[k].(map[string]any); ok {
				c.Candidates = append(c.Candidates, candidate(k, m))
			}
		}
	}
	return c, nil
}

func candidate(fallbackName string, m map[string]any) Candidate {
	c := Candidate{Technique: fallbackName, Metrics: map[string]*float64{}}
	for _, k := range []string{"technique", "name"} {
		if s, ok := m[k].(string); ok && s != "" {
			c.Technique = s
			break
		}
	}
	if s, ok := m["role"].(string); ok {
		c.Role = s
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
		return x.String(), true
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

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
