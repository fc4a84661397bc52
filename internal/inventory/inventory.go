// Package inventory is the operator's list of kitchens,
// inventory/kitchens.csv: a header naming the columns kitchen, phase and
// timezone (in any order, other columns ignored), then one row per kitchen.
// `budare-central init` checks and uploads it, the simulator writes it, and
// the trainer, backtest, scorecard and dashboard read it, all through this
// package, so there is one grammar.
package inventory

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

// Key is the object key of the inventory.
const Key = "inventory/kitchens.csv"

// MaxBytes bounds an inventory read from the bucket (about 100,000 kitchens).
const MaxBytes = 4 << 20

// Kitchen is one row of the inventory.
type Kitchen struct {
	Name     string
	Phase    int
	Timezone string
	Loc      *time.Location // Timezone loaded
}

// header is the header Encode writes; Decode wants these columns.
var header = []string{"kitchen", "phase", "timezone"}

// Decode reads an inventory. Every bad row is an error naming its line,
// since training on a wrong set of kitchens is worse than not training:
// a kitchen name that is not a valid name, one listed twice, a phase that
// is not a non-negative integer, an empty or unknown time zone. `#` starts
// a comment line; blank lines are skipped; a UTF-8 byte order mark and the
// case of the header are ignored.
func Decode(b []byte) ([]Kitchen, error) {
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
	for _, c := range header {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("kitchens.csv: header %q lacks column %q (want %s)", strings.Join(head, ","), c, strings.Join(header, ","))
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

// Encode writes ks as an inventory: the header, then one row per kitchen in
// the given order.
func Encode(ks []Kitchen) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(header) // a bytes.Buffer does not fail
	for _, k := range ks {
		_ = w.Write([]string{k.Name, strconv.Itoa(k.Phase), k.Timezone})
	}
	w.Flush()
	return b.Bytes()
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
