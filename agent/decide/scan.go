package decide

import (
	"fmt"
	"time"

	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
)

// The decision reads every machine's last 8 days, ~150,000 records in a
// busy kitchen. encoding/json would spend most of the decision's time
// decoding them, so stored lines are decoded with record.DecodeLine, whose
// fast path gives exactly what encoding/json gives, several times cheaper.

// rawScanner is implemented by stores that can hand out the stored lines.
type rawScanner interface {
	scanRaw(machine string, from, to time.Time, fn func(line []byte) error) error
}

// StoreRecords adapts *store.Store to Records with the fast record reader.
type StoreRecords struct{ *store.Store }

func (s StoreRecords) scanRaw(machine string, from, to time.Time, fn func([]byte) error) error {
	return s.ScanLines(machine, from, to, fn)
}

// scanRecords reads machine's records with from <= ts < to, in time order.
func scanRecords(src Records, machine string, from, to time.Time, fn func(record.Record) error) error {
	rs, ok := src.(rawScanner)
	if !ok {
		return src.Scan(machine, from, to, fn)
	}
	// One machine's names (its own, its arepa types, metric names, kinds)
	// are shared by all its lines.
	var names record.Names
	return rs.scanRaw(machine, from, to, func(line []byte) error {
		r, err := record.DecodeLine(line, &names)
		if err != nil {
			return fmt.Errorf("decode stored record of %s: %w", machine, err)
		}
		return fn(r)
	})
}
