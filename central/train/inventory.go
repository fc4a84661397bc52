package train

import "github.com/budare/budare/internal/inventory"

// Kitchen is one kitchen of the inventory (internal/inventory owns the format).
type Kitchen = inventory.Kitchen
