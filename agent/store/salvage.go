package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/budare/budare/internal/record"
)

// SalvageReport says what Salvage copied and what it could not.
type SalvageReport struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Copied are the records now in the new store.
	Copied int `json:"copied"`
	// BadLines are records skipped because they failed their checksum.
	BadLines int `json:"bad_lines"`
	// Lost are the records the damaged store counted but Salvage could not
	// copy (bad lines and records behind damaged pages), per local day.
	Lost      int            `json:"lost"`
	LostByDay map[string]int `json:"lost_by_day,omitempty"`
	// LostUnknown is set when the old day index was unreadable, so what
	// was lost cannot be counted.
	LostUnknown bool `json:"lost_unknown,omitempty"`
	// Unreadable are machines whose records could be read only in part.
	Unreadable []string `json:"unreadable_machines,omitempty"`
	// StateDocs and Quarantined are the small documents copied.
	StateDocs   int `json:"state_docs"`
	Quarantined int `json:"quarantined"`
	// Problems are what stopped a part of the copy, one line each.
	Problems []string `json:"problems,omitempty"`
}

// salvageBatch is how many records go into one commit of the new store.
const salvageBatch = 5000

// Salvage copies every readable record, state document and quarantined
// payload of the store at src into a new store at dst (which must not
// exist). It never writes to src. Days get a new version, so the upload
// loop merges each day's local lines into its uploaded window again (the
// merge keeps whatever the window already had).
func Salvage(src, dst string, opt Options) (*SalvageReport, error) {
	if _, err := os.Stat(dst); err == nil {
		return nil, fmt.Errorf("salvage: %s already exists; give a new file", dst)
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	sdb, err := openBoltShort(src, &bolt.Options{ReadOnly: true, Timeout: opt.Timeout}, true)
	if err != nil {
		return nil, fmt.Errorf("salvage: %w", err)
	}
	defer sdb.Close()
	out, err := Open(dst, Options{Location: opt.Location})
	if err != nil {
		return nil, fmt.Errorf("salvage: %w", err)
	}
	rep := &SalvageReport{From: src, To: dst, LostByDay: map[string]int{}}
	problem := func(what string, err error) {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v", what, err))
	}

	var (
		machines          [][]byte
		oldDays           = map[string]DayInfo{}
		strict            bool
		dups, quarantined uint64
	)
	if err := safely(func() error {
		return sdb.View(func(tx *bolt.Tx) error {
			if m := tx.Bucket(bMeta); m != nil {
				strict = getCounter(m, kLineCRC) == 1
				dups, quarantined = getCounter(m, kDuplicates), getCounter(m, kQuarantined)
			}
			recs := tx.Bucket(bRecords)
			if recs == nil {
				return errors.New("no records bucket")
			}
			return recs.ForEachBucket(func(k []byte) error {
				machines = append(machines, bytes.Clone(k))
				return nil
			})
		})
	}); err != nil {
		problem("list machines", err)
	}
	if err := safely(func() error {
		return sdb.View(func(tx *bolt.Tx) error {
			return eachJSON(tx.Bucket(bDays), func(k []byte, di DayInfo) { oldDays[string(k)] = di })
		})
	}); err != nil {
		problem("day index", err)
		rep.LostUnknown = true
	}

	var batch Batch
	flush := func() error {
		if len(batch.Lines) == 0 {
			return nil
		}
		res, err := out.Commit(&batch)
		rep.Copied += res.Added
		batch.Lines = batch.Lines[:0]
		if err != nil {
			return fmt.Errorf("%w: %w", errCommit, err)
		}
		return nil
	}
	for _, m := range machines {
		// Forward until the first damaged page, then backward from the end
		// to it: records on both sides of a damaged page are kept.
		var last []byte
		walk := func(backward bool) error {
			return sdb.View(func(tx *bolt.Tx) error {
				c := tx.Bucket(bRecords).Bucket(m).Cursor()
				k, v := c.First()
				if backward {
					k, v = c.Last()
				}
				for ; k != nil; k, v = step(c, backward) {
					if backward && last != nil && bytes.Compare(k, last) <= 0 {
						return nil
					}
					line, err := checkLine(v, strict)
					if err != nil || len(k) != 16 {
						rep.BadLines++
						continue
					}
					if !backward {
						last = bytes.Clone(k)
					}
					ts := keyTime(k)
					batch.Lines = append(batch.Lines, Line{Machine: string(m), TS: ts,
						Seq: int64(binary.BigEndian.Uint64(k[8:])), JSON: bytes.Clone(line)})
					if len(batch.Lines) >= salvageBatch {
						if err := flush(); err != nil {
							return err
						}
					}
				}
				return nil
			})
		}
		if err := safely(func() error { return walk(false) }); err != nil {
			if errors.Is(err, errCommit) {
				out.Close()
				return rep, fmt.Errorf("salvage: %s: %w", dst, err)
			}
			rep.Unreadable = append(rep.Unreadable, string(m))
			problem("machine "+string(m), err)
			if err := safely(func() error { return walk(true) }); err != nil {
				problem("machine "+string(m)+" (from the end)", err)
			}
		}
		if err := flush(); err != nil {
			out.Close()
			return rep, fmt.Errorf("salvage: %s: %w", dst, err)
		}
	}

	// Records the tree could not reach (damaged branch pages, a truncated
	// file): read the leaf pages as plain bytes.
	if len(rep.Problems) > 0 {
		if err := salvageRaw(src, sdb.Info().PageSize, opt.Location, oldDays, &batch, flush, rep); err != nil {
			out.Close()
			return rep, fmt.Errorf("salvage: %w", err)
		}
	}

	// Small documents: state of the other subsystems, quarantine.
	if err := safely(func() error {
		return sdb.View(func(tx *bolt.Tx) error {
			st := tx.Bucket(bState)
			if st == nil {
				return nil
			}
			return st.ForEachBucket(func(name []byte) error {
				return st.Bucket(name).ForEach(func(k, v []byte) error {
					if !json.Valid(v) {
						return nil
					}
					rep.StateDocs++
					return out.PutState(string(name), string(k), json.RawMessage(v))
				})
			})
		})
	}); err != nil {
		problem("state documents", err)
	}
	var qs []Quarantined
	if err := safely(func() error {
		return sdb.View(func(tx *bolt.Tx) error {
			return eachJSON(tx.Bucket(bQuarantine), func(_ []byte, q Quarantined) { qs = append(qs, q) })
		})
	}); err != nil {
		problem("quarantine", err)
	}
	rep.Quarantined = len(qs)

	// Days: each gets a version above the old one (so uploads merge it
	// again); what the old store counted and the new one lacks was lost.
	err = out.db.Update(func(tx *bolt.Tx) error {
		if len(qs) > 0 {
			if err := out.quarantine(tx, qs); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		if err := setCounter(meta, kDuplicates, dups); err != nil {
			return err
		}
		if err := setCounter(meta, kQuarantined, max(quarantined, uint64(len(qs)))); err != nil {
			return err
		}
		days := tx.Bucket(bDays)
		for day, old := range oldDays {
			var di DayInfo
			getJSON(days, []byte(day), &di)
			if old.Records > di.Records {
				rep.LostByDay[day] = int(old.Records - di.Records)
				rep.Lost += int(old.Records - di.Records)
			}
			di.Day = day
			di.Version = max(di.Version, old.Version) + 1
			di.Pruned = old.Pruned && di.Records == 0
			if err := putJSON(days, []byte(day), &di); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		out.Close()
		return rep, fmt.Errorf("salvage: write %s: %w", dst, err)
	}
	if len(rep.LostByDay) == 0 {
		rep.LostByDay = nil
	}
	// Records behind damaged pages that no day index counted (or a lost
	// day index) still show as bad lines or unreadable machines.
	if rep.Lost < rep.BadLines {
		rep.Lost = rep.BadLines
	}
	sort.Strings(rep.Unreadable)
	if err := out.Close(); err != nil {
		return rep, fmt.Errorf("salvage: close %s: %w", dst, err)
	}
	return rep, nil
}

// errCommit marks a failure to write the new store (not a damaged source).
var errCommit = errors.New("write the new store")

func step(c *bolt.Cursor, backward bool) ([]byte, []byte) {
	if backward {
		return c.Prev()
	}
	return c.Next()
}

// salvageRaw adds the records found by rawLines that decode to a record
// whose key they match, skipping days the old index marks pruned (the
// index's days are the store's local days, in loc).
func salvageRaw(src string, pageSize int, loc *time.Location, oldDays map[string]DayInfo, batch *Batch, flush func() error, rep *SalvageReport) error {
	seen := 0
	err := rawLines(src, pageSize, func(k, v []byte) error {
		line, err := checkLine(v, true)
		if err != nil {
			return nil
		}
		var r record.Record
		if json.Unmarshal(line, &r) != nil || r.Machine == "" || !bytes.Equal(k, Key(r.TS, r.Seq)) {
			return nil
		}
		if di, ok := oldDays[record.LocalDay(r.TS, loc)]; ok && di.Pruned {
			return nil
		}
		seen++
		batch.Lines = append(batch.Lines, Line{Machine: r.Machine, TS: r.TS, Seq: r.Seq, JSON: bytes.Clone(line)})
		if len(batch.Lines) >= salvageBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	rep.Problems = append(rep.Problems, fmt.Sprintf("read the leaf pages directly: %d record copies found", seen))
	return nil
}

// eachJSON calls fn with each value of b (nil: none) that decodes as a T;
// salvage keeps what it can read and passes over the rest.
func eachJSON[T any](b *bolt.Bucket, fn func(k []byte, v T)) error {
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		var x T
		if json.Unmarshal(v, &x) == nil {
			fn(k, x)
		}
		return nil
	})
}
