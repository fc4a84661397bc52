package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged matches the error of a store whose file is damaged: pages
// bbolt cannot read, a truncated file, or both meta pages invalid.
var ErrDamaged = errors.New("store file damaged")

type damaged struct {
	path string
	err  error
}

func (d *damaged) Error() string {
	return fmt.Sprintf("store %s is damaged (%v): stop the agent, then run `budare-agent store check` to see what is readable and `budare-agent store salvage` to copy it into a new store", d.path, d.err)
}
func (d *damaged) Is(target error) bool { return target == ErrDamaged }
func (d *damaged) Unwrap() error        { return d.err }

func damagedError(path string, err error) error { return &damaged{path: path, err: err} }

// safely runs fn turning a panic, or a memory fault, into an error. bbolt
// trusts its file completely: a damaged page panics inside it, and a page
// number pointing past the mapping faults. Both are recoverable only in
// the goroutine that meets them, so every first touch of an unverified
// file goes through safely.
func safely(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unreadable page: %v", r)
		}
	}()
	return fn()
}

// openBolt opens path, turning bbolt's errors and panics into one line
// each, and refuses a file shorter than its pages (truncated).
func openBolt(path string, mode *bolt.Options) (*bolt.DB, error) {
	return openBoltShort(path, mode, false)
}

// openBoltShort is openBolt; with allowShort a truncated file is opened
// anyway (salvage reads what is left of it through safely).
func openBoltShort(path string, mode *bolt.Options, allowShort bool) (*bolt.DB, error) {
	if !allowShort {
		if err := checkFile(path); err != nil {
			return nil, err
		}
	}
	var db *bolt.DB
	err := safely(func() (err error) {
		db, err = bolt.Open(path, 0o600, mode)
		return err
	})
	switch {
	case err == nil:
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store %s is locked by another process: another budare-agent (or `store salvage`) is using this data_dir; stop it (systemctl stop budare-agent) or give this one its own data_dir", path)
	case errors.Is(err, os.ErrPermission):
		return nil, fmt.Errorf("store %s: permission denied: the agent's user must own data_dir and the store (chown -R budare: %s)", path, path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, damagedError(path, fmt.Errorf("not a readable bbolt file: %w", err))
	case db == nil && !errors.Is(err, os.ErrNotExist):
		// A panic (recovered by safely) or an I/O error reading the file.
		return nil, damagedError(path, err)
	default:
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	var need int64
	err = safely(func() error { return db.View(func(tx *bolt.Tx) error { need = tx.Size(); return nil }) })
	if err == nil && fi.Size() < need && !allowShort {
		err = fmt.Errorf("file is %d bytes but its pages need %d: truncated", fi.Size(), need)
	}
	if err != nil {
		db.Close()
		return nil, damagedError(path, err)
	}
	return db, nil
}

// Report is what Check found.
type Report struct {
	Path string `json:"path"`
	// Problems are damaged or unreachable pages, first maxProblems.
	Problems []string `json:"problems,omitempty"`
	Machines int      `json:"machines"`
	// Records are the readable records (lines whose checksum matches, and
	// lines of older stores written before checksums).
	Records int `json:"records"`
	// Unchecked are readable lines without a checksum (older stores).
	Unchecked int `json:"unchecked,omitempty"`
	// BadLines are records failing their checksum, per machine.
	BadLines     int            `json:"bad_lines"`
	BadByMachine map[string]int `json:"bad_by_machine,omitempty"`
	// Unreadable are machines whose bucket could not be walked to the end
	// (records behind a damaged page).
	Unreadable []string `json:"unreadable_machines,omitempty"`
	// Newest is the newest readable record's time.
	Newest time.Time `json:"newest,omitzero"`
}

// OK reports a store without any problem.
func (r *Report) OK() bool {
	return len(r.Problems) == 0 && r.BadLines == 0 && len(r.Unreadable) == 0
}

// Damaged reports damage beyond single bad records: the store must not be
// written to until salvaged.
func (r *Report) Damaged() bool { return len(r.Problems) > 0 || len(r.Unreadable) > 0 }

const maxProblems = 20

// Check opens the store at path read-only and walks all of it: every page
// bbolt can reach, and every record's checksum. It does not change the
// file. An error means the file could not be opened at all (and is
// ErrDamaged when that is because of damage).
func Check(path string, lockTimeout time.Duration) (*Report, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: lockTimeout, PreLoadFreelist: true,
		FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return verify(db, path, true)
}

// verify walks db. With all, it reports every problem found; without, it
// returns a damaged error as soon as the file cannot be trusted (bad pages
// or unreachable records), and logs nothing about single bad records,
// which the readers skip.
func verify(db *bolt.DB, path string, all bool) (*Report, error) {
	r := &Report{Path: path, BadByMachine: map[string]int{}}
	var strict bool
	var machines [][]byte
	err := safely(func() error {
		return db.View(func(tx *bolt.Tx) error {
			// The small buckets: touching every value walks their pages.
			for _, name := range [][]byte{bMachines, bDays, bQuarantine, bMeta} {
				if b := tx.Bucket(name); b != nil {
					if err := b.ForEach(func(_, _ []byte) error { return nil }); err != nil {
						return err
					}
				}
			}
			if st := tx.Bucket(bState); st != nil {
				if err := st.ForEachBucket(func(k []byte) error {
					return st.Bucket(k).ForEach(func(_, _ []byte) error { return nil })
				}); err != nil {
					return err
				}
			}
			if m := tx.Bucket(bMeta); m != nil {
				strict = getCounter(m, kLineCRC) == 1
			}
			if recs := tx.Bucket(bRecords); recs != nil {
				return recs.ForEachBucket(func(k []byte) error {
					machines = append(machines, bytes.Clone(k))
					return nil
				})
			}
			return nil
		})
	})
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		if !all {
			return r, damagedError(path, err)
		}
	}
	r.Machines = len(machines)
	for _, m := range machines {
		err := safely(func() error {
			return db.View(func(tx *bolt.Tx) error {
				c := tx.Bucket(bRecords).Bucket(m).Cursor()
				for k, v := c.First(); k != nil; k, v = c.Next() {
					line, err := checkLine(v, strict)
					if err != nil || len(k) != 16 {
						r.BadLines++
						r.BadByMachine[string(m)]++
						continue
					}
					r.Records++
					if len(line) == len(v) {
						r.Unchecked++
					}
					if ts := keyTime(k); ts.After(r.Newest) {
						r.Newest = ts
					}
				}
				return nil
			})
		})
		if err != nil {
			r.Unreadable = append(r.Unreadable, string(m))
			r.Problems = append(r.Problems, fmt.Sprintf("machine %s: %v", m, err))
			if !all {
				return r, damagedError(path, fmt.Errorf("machine %s: %w", m, err))
			}
		}
	}
	if len(r.Problems) == 0 {
		// bbolt's own structural check (free list, pages reachable twice or
		// not at all). It runs in a goroutine of its own, where a fault
		// cannot be recovered, so only on a file the walk above read whole.
		err := safely(func() error {
			return db.View(func(tx *bolt.Tx) error {
				for cerr := range tx.Check() {
					if len(r.Problems) < maxProblems {
						r.Problems = append(r.Problems, cerr.Error())
					}
				}
				return nil
			})
		})
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
		}
		if len(r.Problems) > 0 && !all {
			return r, damagedError(path, errors.New(r.Problems[0]))
		}
	}
	if len(r.BadByMachine) == 0 {
		r.BadByMachine = nil
	}
	sort.Strings(r.Unreadable)
	return r, nil
}

func keyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC()
}
