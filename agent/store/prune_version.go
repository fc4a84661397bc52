package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/budare/budare/internal/record"
)

// PruneDayIfVersion deletes a local day's records like PruneDay, but only if
// the day's Version still equals version, checked in the same transaction.
// Retention uses it so that a record committed between verifying an upload
// and pruning the day is never deleted unuploaded. pruned is false (and
// nothing is deleted) when the version moved on.
func (s *Store) PruneDayIfVersion(day string, version uint64) (deleted int, pruned bool, err error) {
	return s.prune(day, &version)
}

// prune deletes day's records in one transaction, if version is nil or
// equals the day's current version.
func (s *Store) prune(day string, version *uint64) (deleted int, pruned bool, err error) {
	from, to, err := s.DayBounds(day)
	if err != nil {
		return 0, false, err
	}
	start, end := tsKey(from), tsKey(to)
	err = s.db.Update(func(tx *bolt.Tx) error {
		deleted, pruned = 0, false
		var di DayInfo
		found := getJSON(tx.Bucket(bDays), []byte(day), &di)
		if version != nil && (!found || di.Version != *version) {
			return nil
		}
		recs := tx.Bucket(bRecords)
		err := recs.ForEachBucket(func(m []byte) error {
			mb := recs.Bucket(m)
			c := mb.Cursor()
			n := 0
			for k, _ := c.Seek(start); k != nil && string(k[:8]) < string(end); k, _ = c.Seek(start) {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			if n == 0 {
				return nil
			}
			deleted += n
			var mi MachineInfo
			getJSON(tx.Bucket(bMachines), m, &mi)
			mi.Machine = string(m)
			mi.Records -= min(mi.Records, uint64(n))
			if k, v := mb.Cursor().First(); k != nil {
				var r record.Record
				if line, err := checkLine(v, s.strict); err == nil && json.Unmarshal(line, &r) == nil {
					mi.First = r.TS
				}
			}
			return putJSON(tx.Bucket(bMachines), m, &mi)
		})
		if err != nil {
			return err
		}
		di.Day, di.Records, di.Pruned = day, 0, true
		pruned = true
		return putJSON(tx.Bucket(bDays), []byte(day), &di)
	})
	if err != nil {
		return 0, false, fmt.Errorf("prune day %s: %w", day, err)
	}
	return deleted, pruned, nil
}
