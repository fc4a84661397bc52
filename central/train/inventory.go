package train

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/budare/budare/internal/record"
)

// InventoryKey is the object key of the kitchen inventory.
const InventoryKey = "inventory/kitchens.csv"

// Kitchen is one row of inventory/kitchens.csv.
type Kitchen struct {
	Name     string
	Phase    int
	Timezone string
	Loc      *time.Location
}

// ParseKitchens decodes inventory/kitchens.csv: a header "kitchen,phase,timezone"
// (column order free, extra columns ignored) and one row per kitchen. Every
// bad row is an error naming its line, since training on a wrong set of
// kitchens is worse than not training.
func ParseKitchens(b []byte) ([]Kitchen, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("kitchens.csv is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("kitchens.csv: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, c := range []string{"kitchen", "phase", "timezone"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("kitchens.csv: header %q lacks column %q (want kitchen,phase,timezone)", strings.Join(head, ","), c)
		}
	}
	var out []Kitchen
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("kitchens.csv: %w", err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		k := Kitchen{Name: get("kitchen"), Timezone: get("timezone")}
		if err := record.ValidName(k.Name); err != nil {
			return nil, fmt.Errorf("kitchens.csv line %d: kitchen name: %w", line, err)
		}
		if prev, dup := seen[k.Name]; dup {
			return nil, fmt.Errorf("kitchens.csv line %d: kitchen %q repeats line %d", line, k.Name, prev)
		}
		seen[k.Name] = line
		p, err := strconv.Atoi(get("phase"))
		if err != nil || p < 0 {
			return nil, fmt.Errorf("kitchens.csv line %d: phase %q is not a non-negative integer", line, get("phase"))
		}
		k.Phase = p
		if k.Timezone == "" {
			return nil, fmt.Errorf("kitchens.csv line %d: timezone is empty", line)
		}
		if k.Loc, err = time.LoadLocation(k.Timezone); err != nil {
			return nil, fmt.Errorf("kitchens.csv line %d: timezone %q: %v", line, k.Timezone, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// FilterPhase returns the kitchens of one phase, in input order.
func FilterPhase(ks []Kitchen, phase int) []Kitchen {
	var out []Kitchen
	for _, k := range ks {
		if k.Phase == phase {
			out = append(out, k)
		}
	}
	return out
}
