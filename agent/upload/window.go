package upload

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// lineKey identifies a record: (machine, ts, seq), as in the store.
type lineKey struct {
	Machine string
	TS      int64 // unix ns
	Seq     int64
}

func compareKeys(a, b lineKey) int {
	return cmp.Or(cmp.Compare(a.Machine, b.Machine), cmp.Compare(a.TS, b.TS), cmp.Compare(a.Seq, b.Seq))
}

func keyOf(line []byte) (lineKey, error) {
	var r struct {
		Machine string    `json:"machine"`
		TS      time.Time `json:"ts"`
		Seq     *int64    `json:"seq"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return lineKey{}, fmt.Errorf("window line is not a record: %w", err)
	}
	if r.Machine == "" || r.TS.IsZero() || r.Seq == nil {
		return lineKey{}, errors.New("window line lacks machine, ts or seq")
	}
	return lineKey{r.Machine, r.TS.UnixNano(), *r.Seq}, nil
}

// mergeLines returns the union of two sets of window lines, one line per
// (machine, ts, seq), in the store's order (machine name, then time, then
// seq), so a merged window is byte-identical to the one an unpruned store
// would have produced.
func mergeLines(remote, local [][]byte) ([][]byte, error) {
	type kl struct {
		k lineKey
		l []byte
	}
	seen := make(map[lineKey]bool, len(remote)+len(local))
	all := make([]kl, 0, len(remote)+len(local))
	for _, set := range [][][]byte{local, remote} {
		for _, l := range set {
			k, err := keyOf(l)
			if err != nil {
				return nil, err
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			all = append(all, kl{k, l})
		}
	}
	slices.SortFunc(all, func(a, b kl) int { return compareKeys(a.k, b.k) })
	out := make([][]byte, len(all))
	for i := range all {
		out[i] = all[i].l
	}
	return out, nil
}
