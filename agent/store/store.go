// Package store is the agent's local bbolt database: every accepted record
// (exactly once, keyed by machine, timestamp and sequence number), a bounded
// quarantine of rejected payloads, a per-day index, and small JSON state
// documents for the upload, model-sync and decision subsystems.
//
// Layout (bbolt buckets):
//
//	records/<machine>/<ts unix ns, 8 bytes BE><seq, 8 bytes BE> -> record JSON (a window line)
//	machines/<machine>  -> MachineInfo JSON
//	days/<yyyy-mm-dd>   -> DayInfo JSON (local day in the kitchen's time zone)
//	quarantine/<id BE>  -> Quarantined JSON (newest QuarantineMax kept)
//	meta/<counter>      -> uint64 BE
//	state/<name>/<key>  -> JSON documents owned by other packages
//
// Reading one machine's last 7 days is a cursor range scan in its own bucket.
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/budare/budare/internal/record"
)

// QuarantineMax is how many rejected payloads are kept, newest first.
const QuarantineMax = 1000

var (
	bRecords    = []byte("records")
	bMachines   = []byte("machines")
	bDays       = []byte("days")
	bQuarantine = []byte("quarantine")
	bMeta       = []byte("meta")
	bState      = []byte("state")

	kRecords     = []byte("records")
	kDuplicates  = []byte("duplicates")
	kQuarantined = []byte("quarantined")
	kQuarLen     = []byte("quarantine_len")
)

// Options configure Open.
type Options struct {
	// Location is the kitchen's time zone; days are local days in it.
	Location *time.Location
	// ReadOnly opens the database shared, for inspection while the agent runs.
	ReadOnly bool
	// Timeout bounds the wait for the file lock (0 waits forever).
	Timeout time.Duration
	// Verify walks the whole file at open (every page and every record's
	// checksum) and refuses a damaged one with ErrDamaged, instead of
	// letting bbolt panic on the first damaged page it meets later. The
	// agent's run does: 0.7 s for a 208 MiB store of 600,000 records
	// (page cache warm, one run on the 2-core dev machine).
	Verify bool
	// Log reports records that fail their checksum; nil logs nothing.
	Log *slog.Logger
}

// Store is an open database.
type Store struct {
	db  *bolt.DB
	loc *time.Location
	// strict: every line carries a checksum trailer (see checksum.go).
	strict bool
	bad    *badLines
}

// Open opens or creates the database at path. Every error is one line
// naming the cause and what to do; a damaged file gives an error matching
// ErrDamaged.
func Open(path string, opt Options) (*Store, error) {
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	mode := bolt.Options{Timeout: opt.Timeout, ReadOnly: opt.ReadOnly, FreelistType: bolt.FreelistMapType,
		PreLoadFreelist: opt.Verify}
	db, err := openBolt(path, &mode)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, loc: opt.Location, bad: &badLines{log: opt.Log}}
	if opt.Verify {
		rep, err := verify(db, path, false)
		if err != nil {
			db.Close()
			return nil, err
		}
		if rep.BadLines > 0 && opt.Log != nil {
			opt.Log.Error("store holds records failing their checksum; every reader skips them (run `budare-agent store check`)",
				"store", path, "bad_records", rep.BadLines)
		}
	}
	if !opt.ReadOnly {
		err = safely(func() error {
			return db.Update(func(tx *bolt.Tx) error {
				for _, b := range [][]byte{bRecords, bMachines, bDays, bQuarantine, bMeta, bState} {
					if _, err := tx.CreateBucketIfNotExists(b); err != nil {
						return err
					}
				}
				// A store with no records yet holds only checksummed lines
				// from now on: mark it, so a line without one is refused.
				if k, _ := tx.Bucket(bRecords).Cursor().First(); k == nil && tx.Bucket(bMeta).Get(kLineCRC) == nil {
					return setCounter(tx.Bucket(bMeta), kLineCRC, 1)
				}
				return nil
			})
		})
		if err != nil {
			db.Close()
			return nil, damagedError(path, fmt.Errorf("init: %w", err))
		}
	}
	err = safely(func() error {
		return db.View(func(tx *bolt.Tx) error {
			if m := tx.Bucket(bMeta); m != nil {
				s.strict = getCounter(m, kLineCRC) == 1
			}
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, damagedError(path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the bbolt handle for packages that keep their own buckets.
func (s *Store) DB() *bolt.DB { return s.db }

// Key returns the record key inside its machine's bucket: timestamp then
// sequence, so keys sort by time.
func Key(ts time.Time, seq int64) []byte {
	k := make([]byte, 16)
	putKey(k, ts, seq)
	return k
}

func putKey(k []byte, ts time.Time, seq int64) {
	binary.BigEndian.PutUint64(k, uint64(ts.UnixNano()))
	binary.BigEndian.PutUint64(k[8:], uint64(seq))
}

func tsKey(t time.Time) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	return k
}

// MachineInfo summarises one machine's stored records.
type MachineInfo struct {
	Machine string    `json:"machine"`
	Records uint64    `json:"records"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// DayInfo summarises one local day's stored records. Version grows with
// every record added to the day, so a day whose Version is newer than what
// was uploaded needs uploading again.
type DayInfo struct {
	Day     string `json:"day"`
	Records uint64 `json:"records"`
	Version uint64 `json:"version"`
	// Pruned is set when retention deleted the day's records locally.
	Pruned bool `json:"pruned,omitempty"`
}

// Quarantined is a rejected payload kept for inspection.
type Quarantined struct {
	ID       uint64    `json:"id"`
	Topic    string    `json:"topic"`
	Reason   string    `json:"reason"`
	Detail   string    `json:"detail"`
	Received time.Time `json:"received"`
	Payload  []byte    `json:"payload"` // raw bytes, base64 in JSON
}

// Batch is what one transaction commits. Records and Lines are both
// stored; Lines are records their producer has already encoded (the
// ingester does so while the previous batch commits).
type Batch struct {
	Records    []record.Record
	Lines      []Line
	Quarantine []Quarantined
}

// Line is a record already encoded as its window line (what record.AppendLine
// writes for it), with the fields the store files it under.
type Line struct {
	Machine string
	TS      time.Time
	Seq     int64
	JSON    []byte
}

// Result is what a commit did.
type Result struct {
	Added      int
	Duplicates int
	// Days are the local days that got new records.
	Days []string
}

// AppendRecord appends r's line (record.AppendLine) to arena and returns the grown
// arena and r's Line, whose JSON is cut from it.
func AppendRecord(arena []byte, r *record.Record) ([]byte, Line) {
	start := len(arena)
	arena = record.AppendLine(arena, r)
	return arena, Line{Machine: r.Machine, TS: r.TS, Seq: r.Seq, JSON: arena[start:len(arena):len(arena)]}
}

// Commit stores a batch in one transaction: new records are added, records
// already stored (redeliveries) are counted as duplicates, and quarantined
// payloads are appended with the oldest beyond QuarantineMax dropped. When
// Commit returns nil the batch is durable (fsynced).
func (s *Store) Commit(b *Batch) (Result, error) {
	lines := batchLines(b)
	// bbolt keeps key and value slices until the commit, so they are cut
	// from one arena each instead of one allocation each.
	keys := make([]byte, 16*len(lines))
	n := 0
	for i := range lines {
		n += len(lines[i].JSON) + trailerLen
	}
	vals := make([]byte, 0, n) // each value is the line and its checksum trailer
	var res Result
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := s.newCommit(tx, vals)
		for i := range lines {
			if err := c.put(&lines[i], keys[16*i:16*i+16:16*i+16]); err != nil {
				return err
			}
		}
		if err := c.saveInfo(); err != nil {
			return err
		}
		if len(b.Quarantine) > 0 {
			if err := s.quarantine(tx, b.Quarantine); err != nil {
				return err
			}
		}
		res = c.res
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("commit batch: %w", err)
	}
	return res, nil
}

// batchLines returns all of b's lines: its Lines, then its Records encoded.
// The lines of Records are cut from one arena instead of one allocation
// each; when the arena grows, earlier lines keep pointing into the old
// array, which is never written again.
func batchLines(b *Batch) []Line {
	if len(b.Records) == 0 {
		return b.Lines
	}
	arena := make([]byte, 0, 300*len(b.Records))
	lines := make([]Line, 0, len(b.Lines)+len(b.Records))
	lines = append(lines, b.Lines...)
	for i := range b.Records {
		var l Line
		arena, l = AppendRecord(arena, &b.Records[i])
		lines = append(lines, l)
	}
	return lines
}

// commit is the state of one Commit transaction.
type commit struct {
	s    *Store
	tx   *bolt.Tx
	recs *bolt.Bucket
	// buckets holds each machine's bucket and greatest key. A machine's
	// records arrive in time order, so a key beyond the greatest is new
	// without a lookup; only older keys (redeliveries, late records) are
	// looked up.
	buckets  map[string]*machineBucket
	machines map[string]*MachineInfo
	days     map[string]*DayInfo
	// The local day last formatted, and its bounds: most of a batch falls
	// on one local day, formatted once.
	day            string
	dayFrom, dayTo time.Time
	vals           []byte // the values' arena
	res            Result
}

type machineBucket struct {
	b    *bolt.Bucket
	last []byte
}

func (s *Store) newCommit(tx *bolt.Tx, vals []byte) *commit {
	return &commit{s: s, tx: tx, recs: tx.Bucket(bRecords), vals: vals,
		buckets: map[string]*machineBucket{}, machines: map[string]*MachineInfo{}, days: map[string]*DayInfo{}}
}

// put stores l under key k (its 16 bytes, filled here) unless it is stored
// already, and counts it in the machine's and the day's info.
func (c *commit) put(l *Line, k []byte) error {
	mb, err := c.bucket(l.Machine)
	if err != nil {
		return err
	}
	putKey(k, l.TS, l.Seq)
	if bytes.Compare(k, mb.last) <= 0 && mb.b.Get(k) != nil {
		c.res.Duplicates++
		return nil
	}
	start := len(c.vals)
	c.vals = append(c.vals, l.JSON...)
	c.vals = appendTrailer(c.vals, l.JSON)
	if err := mb.b.Put(k, c.vals[start:len(c.vals):len(c.vals)]); err != nil {
		return fmt.Errorf("put record: %w", err)
	}
	if bytes.Compare(k, mb.last) > 0 {
		mb.last = k
	}
	c.res.Added++
	c.machineGot(l)
	c.dayGot(l.TS)
	return nil
}

// bucket returns machine's bucket, created if new.
func (c *commit) bucket(machine string) (*machineBucket, error) {
	if mb := c.buckets[machine]; mb != nil {
		return mb, nil
	}
	b, err := c.recs.CreateBucketIfNotExists([]byte(machine))
	if err != nil {
		return nil, fmt.Errorf("machine bucket %q: %w", machine, err)
	}
	// Keys are mostly appended: fill pages instead of splitting them
	// half-empty (measured: 40% smaller file, less written per commit).
	// FillPercent lasts for this transaction only.
	b.FillPercent = 0.95
	last, _ := b.Cursor().Last()
	mb := &machineBucket{b: b, last: last}
	c.buckets[machine] = mb
	return mb, nil
}

// machineGot counts a new record of l's machine.
func (c *commit) machineGot(l *Line) {
	mi := loadInfo(c.tx.Bucket(bMachines), c.machines, l.Machine, func(m string) *MachineInfo { return &MachineInfo{Machine: m} })
	mi.Records++
	if mi.First.IsZero() || l.TS.Before(mi.First) {
		mi.First = l.TS
	}
	if l.TS.After(mi.Last) {
		mi.Last = l.TS
	}
}

// dayGot counts a new record at ts in its local day.
func (c *commit) dayGot(ts time.Time) {
	if ts.Before(c.dayFrom) || !ts.Before(c.dayTo) {
		c.day = record.LocalDay(ts, c.s.loc)
		c.dayFrom, c.dayTo, _ = c.s.DayBounds(c.day)
	}
	di := loadInfo(c.tx.Bucket(bDays), c.days, c.day, func(d string) *DayInfo { return &DayInfo{Day: d} })
	di.Records++
	di.Version++
}

// loadInfo returns the info of key (a machine's, a day's): the one in
// loaded, or else the one stored in b, or else fresh(key), kept in loaded
// for saveInfo.
func loadInfo[T any](b *bolt.Bucket, loaded map[string]*T, key string, fresh func(string) *T) *T {
	if v := loaded[key]; v != nil {
		return v
	}
	v := fresh(key)
	getJSON(b, []byte(key), v)
	loaded[key] = v
	return v
}

// saveInfo writes the machines' and days' info and the counters the
// transaction changed; c.res.Days gets the days.
func (c *commit) saveInfo() error {
	if err := saveInfo(c.tx.Bucket(bMachines), c.machines); err != nil {
		return err
	}
	if err := saveInfo(c.tx.Bucket(bDays), c.days); err != nil {
		return err
	}
	for d := range c.days {
		c.res.Days = append(c.res.Days, d)
	}
	meta := c.tx.Bucket(bMeta)
	if err := addCounter(meta, kRecords, uint64(c.res.Added)); err != nil {
		return err
	}
	return addCounter(meta, kDuplicates, uint64(c.res.Duplicates))
}

// saveInfo stores each info in b under its key.
func saveInfo[T any](b *bolt.Bucket, infos map[string]*T) error {
	for k, v := range infos {
		if err := putJSON(b, []byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) quarantine(tx *bolt.Tx, qs []Quarantined) error {
	qb := tx.Bucket(bQuarantine)
	meta := tx.Bucket(bMeta)
	n := getCounter(meta, kQuarLen)
	for i := range qs {
		id, err := qb.NextSequence()
		if err != nil {
			return err
		}
		q := qs[i]
		q.ID = id
		if err := putJSON(qb, beUint(id), &q); err != nil {
			return err
		}
		n++
	}
	// Drop the oldest beyond the bound; keys are increasing ids.
	c := qb.Cursor()
	for k, _ := c.First(); k != nil && n > QuarantineMax; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
		n--
	}
	if err := setCounter(meta, kQuarLen, n); err != nil {
		return err
	}
	return addCounter(meta, kQuarantined, uint64(len(qs)))
}

// Scan calls fn for each of machine's records with from <= ts < to, in time
// order. It is a range scan of the machine's bucket.
func (s *Store) Scan(machine string, from, to time.Time, fn func(record.Record) error) error {
	var names record.Names // one machine's names recur on every line
	return s.db.View(func(tx *bolt.Tx) error {
		return s.scanMachine(tx.Bucket(bRecords), machine, from, to, func(k, v []byte) error {
			r, err := record.DecodeLine(v, &names)
			if err != nil {
				return fmt.Errorf("decode stored record %s/%x: %w", machine, k, err)
			}
			return fn(r)
		})
	})
}

// ScanLines is Scan handing over the stored lines (record.AppendLine's JSON) for a
// reader with its own decoder. A line is valid only until fn returns.
func (s *Store) ScanLines(machine string, from, to time.Time, fn func(line []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return s.scanMachine(tx.Bucket(bRecords), machine, from, to, func(_, v []byte) error { return fn(v) })
	})
}

// scanMachine calls fn with the key and line of each of machine's records
// with from <= ts < to, in key (time) order. Lines failing their checksum
// are counted and skipped.
func (s *Store) scanMachine(recs *bolt.Bucket, machine string, from, to time.Time, fn func(k, line []byte) error) error {
	mb := recs.Bucket([]byte(machine))
	if mb == nil {
		return nil
	}
	end := tsKey(to)
	c := mb.Cursor()
	for k, v := c.Seek(tsKey(from)); k != nil && string(k[:8]) < string(end); k, v = c.Next() {
		line, err := checkLine(v, s.strict)
		if err != nil {
			s.bad.seen(machine, k)
			continue
		}
		if err := fn(k, line); err != nil {
			return err
		}
	}
	return nil
}

// DayBounds returns the UTC instants at which local day (yyyy-mm-dd) starts
// and ends; a DST day is 23 or 25 hours long.
func (s *Store) DayBounds(day string) (from, to time.Time, err error) {
	// record.DayStart, not time.Date: a midnight in a DST gap (Havana)
	// would otherwise start the day an hour early, on the day before.
	from, err = record.DayStart(day, 0, s.loc)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	to, _ = record.DayStart(day, 1, s.loc)
	return from, to, nil
}

// RawDay calls fn with each stored record's JSON (a window line) of local
// day, machine by machine in name order, each machine in time order. The
// bytes are only valid during the call.
func (s *Store) RawDay(day string, fn func(machine string, line []byte) error) error {
	from, to, err := s.DayBounds(day)
	if err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error {
		recs := tx.Bucket(bRecords)
		return recs.ForEachBucket(func(m []byte) error {
			machine := string(m)
			return s.scanMachine(recs, machine, from, to, func(_, line []byte) error { return fn(machine, line) })
		})
	})
}

// Machines returns every machine's summary, sorted by name.
func (s *Store) Machines() ([]MachineInfo, error) {
	return listJSON[MachineInfo](s, bMachines, "machine")
}

// Days returns every local day's summary, oldest first.
func (s *Store) Days() ([]DayInfo, error) { return listJSON[DayInfo](s, bDays, "day") }

// listJSON decodes every document of bucket in key order; what names one in
// errors.
func listJSON[T any](s *Store, bucket []byte, what string) ([]T, error) {
	var out []T
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			var x T
			if err := json.Unmarshal(v, &x); err != nil {
				return fmt.Errorf("decode %s %q: %w", what, k, err)
			}
			out = append(out, x)
			return nil
		})
	})
	return out, err
}

// Day returns one day's summary; ok is false if nothing was ever stored for it.
func (s *Store) Day(day string) (di DayInfo, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		ok = getJSON(tx.Bucket(bDays), []byte(day), &di)
		return nil
	})
	return di, ok, err
}

// PruneDay deletes a local day's records (retention). The day's entry stays,
// marked Pruned, so late records for it are recognised. The caller must have
// verified the day's upload first; PruneDayIfVersion also checks that no
// record arrived since.
func (s *Store) PruneDay(day string) (deleted int, err error) {
	deleted, _, err = s.prune(day, nil)
	return deleted, err
}

// Stats are the store's totals.
type Stats struct {
	Records       uint64 `json:"records"`
	Duplicates    uint64 `json:"duplicates"`
	Quarantined   uint64 `json:"quarantined"`
	QuarantineLen uint64 `json:"quarantine_kept"`
	// BadLines are stored records this process found failing their
	// checksum (skipped by every reader).
	BadLines uint64 `json:"bad_lines,omitempty"`
}

// Stats returns the store's totals.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if m == nil {
			return nil
		}
		st = Stats{
			Records:       getCounter(m, kRecords),
			Duplicates:    getCounter(m, kDuplicates),
			Quarantined:   getCounter(m, kQuarantined),
			QuarantineLen: getCounter(m, kQuarLen),
			BadLines:      s.bad.n.Load(),
		}
		return nil
	})
	return st, err
}

// Quarantine returns up to limit kept payloads, newest first.
func (s *Store) Quarantine(limit int) ([]Quarantined, error) {
	var out []Quarantined
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bQuarantine).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var q Quarantined
			if err := json.Unmarshal(v, &q); err != nil {
				return fmt.Errorf("decode quarantine entry: %w", err)
			}
			out = append(out, q)
		}
		return nil
	})
	return out, err
}

// GetState reads the JSON document name/key into v; ok is false if absent.
func (s *Store) GetState(name, key string, v any) (ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bState).Bucket([]byte(name))
		if b == nil {
			return nil
		}
		raw := b.Get([]byte(key))
		if raw == nil {
			return nil
		}
		ok = true
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("decode state %s/%s: %w", name, key, err)
		}
		return nil
	})
	return ok, err
}

// PutState writes v as the JSON document name/key, durably.
func (s *Store) PutState(name, key string, v any) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bState).CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return err
		}
		return putJSON(b, []byte(key), v)
	})
}

// DeleteState removes name/key.
func (s *Store) DeleteState(name, key string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bState).Bucket([]byte(name))
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
}

// ListState calls fn for each document of name in key order.
func (s *Store) ListState(name string, fn func(key string, raw []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bState).Bucket([]byte(name))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
}

func getJSON(b *bolt.Bucket, k []byte, v any) bool {
	raw := b.Get(k)
	if raw == nil {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", k, err)
	}
	return b.Put(k, raw)
}

func beUint(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getCounter(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func setCounter(b *bolt.Bucket, k []byte, v uint64) error { return b.Put(k, beUint(v)) }

func addCounter(b *bolt.Bucket, k []byte, d uint64) error {
	if d == 0 {
		return nil
	}
	return setCounter(b, k, getCounter(b, k)+d)
}
