package dashboard

import (
	"strconv"

	"github.com/budare/budare/internal/inventory"
)

// Kitchen is a kitchen as the dashboard shows it: from the inventory, or
// only a name when the kitchen is known from its uploads alone.
type Kitchen struct {
	Kitchen  string `json:"kitchen"`
	Phase    string `json:"phase,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// parseInventory reads inventory/kitchens.csv with the one grammar of
// internal/inventory (the trainer's): a kitchen the trainer would refuse
// is not shown as if it were trained on.
func parseInventory(b []byte) ([]Kitchen, error) {
	ks, err := inventory.Decode(b)
	if err != nil {
		return nil, err
	}
	out := make([]Kitchen, len(ks))
	for i, k := range ks {
		out[i] = Kitchen{Kitchen: k.Name, Phase: strconv.Itoa(k.Phase), Timezone: k.Timezone}
	}
	return out, nil
}
