package dashboard

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Kitchen is one row of inventory/kitchens.csv.
type Kitchen struct {
	Kitchen  string `json:"kitchen"`
	Phase    string `json:"phase,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// InventoryKey is the operator's list of kitchens.
const InventoryKey = "inventory/kitchens.csv"

const maxInventory = 4 << 20

// ParseInventory reads kitchens.csv (`kitchen,phase,timezone`, an optional
// header row, `#` comments). The dashboard only shows the inventory, so it
// is lenient: phase and time zone are kept as text. A duplicate or badly
// named kitchen is an error naming the line.
func ParseInventory(b []byte) ([]Kitchen, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	seen := map[string]bool{}
	var out []Kitchen
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", InventoryKey, err)
		}
		line, _ := r.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if first && strings.EqualFold(rec[0], "kitchen") {
			continue
		}
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		if !validName(rec[0]) {
			return nil, fmt.Errorf("%s line %d: bad kitchen name %q", InventoryKey, line, rec[0])
		}
		if seen[rec[0]] {
			return nil, fmt.Errorf("%s line %d: kitchen %q listed twice", InventoryKey, line, rec[0])
		}
		seen[rec[0]] = true
		k := Kitchen{Kitchen: rec[0]}
		if len(rec) > 1 {
			k.Phase = rec[1]
		}
		if len(rec) > 2 {
			k.Timezone = rec[2]
		}
		out = append(out, k)
	}
	return out, nil
}
