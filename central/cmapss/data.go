// Package cmapss evaluates budare's trainer on the public NASA C-MAPSS
// turbofan run-to-failure benchmark: engine cycles stand in for days, each
// cycle is one cook record whose metrics are the sensors, engines are the
// machines, and the task is "fails within 30 cycles", judged at each test
// engine's last cycle. Features, techniques, threshold choice and metrics are
// budare's own (internal/features, internal/model); nothing is tuned per
// subset.
package cmapss

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Columns of a C-MAPSS row after unit and cycle.
const (
	NumSettings = 3
	NumSensors  = 21
	numCols     = 2 + NumSettings + NumSensors
	maxLine     = 4096
)

// Row is one engine cycle.
type Row struct {
	Unit     int
	Cycle    int
	Settings [NumSettings]float64
	Sensors  [NumSensors]float64
}

// Unit is one engine's cycles in order.
type Unit struct {
	ID   int
	Rows []Row
	// RUL is the remaining cycles after the last row: 0 for training units
	// (they run to failure), from RUL_FDxxx.txt for test units.
	RUL int
}

// Parse reads the space-separated C-MAPSS text (no header; trailing spaces
// allowed; blank lines skipped). Every line must hold 26 finite numbers with
// integer unit and cycle >= 1. Errors name the line.
func Parse(r io.Reader) ([]Row, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxLine)
	var rows []Row
	var fields [numCols]float64
	for line := 1; sc.Scan(); line++ {
		rest := sc.Bytes()
		n := 0
		for {
			for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r') {
				rest = rest[1:]
			}
			if len(rest) == 0 {
				break
			}
			end := 0
			for end < len(rest) && rest[end] != ' ' && rest[end] != '\t' && rest[end] != '\r' {
				end++
			}
			if n == numCols {
				return nil, fmt.Errorf("cmapss: line %d: more than %d columns", line, numCols)
			}
			v, err := parseNumber(rest[:end])
			if err != nil {
				return nil, fmt.Errorf("cmapss: line %d column %d: %q is not a finite number", line, n+1, rest[:end])
			}
			fields[n] = v
			n++
			rest = rest[end:]
		}
		if n == 0 {
			continue
		}
		if n != numCols {
			return nil, fmt.Errorf("cmapss: line %d: %d columns, want %d", line, n, numCols)
		}
		unit, cycle := fields[0], fields[1]
		if unit != math.Trunc(unit) || cycle != math.Trunc(cycle) || unit < 1 || cycle < 1 || unit > 1e6 || cycle > 1e6 {
			return nil, fmt.Errorf("cmapss: line %d: unit %v and cycle %v must be integers in 1..1e6", line, unit, cycle)
		}
		row := Row{Unit: int(unit), Cycle: int(cycle)}
		copy(row.Settings[:], fields[2:2+NumSettings])
		copy(row.Sensors[:], fields[2+NumSettings:])
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cmapss: %w", err)
	}
	return rows, nil
}

// pow10 holds the exactly representable powers of ten.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber parses a finite decimal. Plain "-123.4567" forms with at most
// 15 digits take a fast path that is exact: an integer below 2^53 divided by
// an exactly representable power of ten rounds correctly, like strconv.
// Anything else (exponents, long mantissas) goes to strconv.ParseFloat.
func parseNumber(b []byte) (float64, error) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			digits = 99 // not the simple form
		}
		if digits > 15 {
			break
		}
	}
	if digits == 0 || digits > 15 {
		v, err := strconv.ParseFloat(string(b), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("not a finite number")
		}
		return v, nil
	}
	v := float64(mant) / pow10[frac]
	if neg {
		v = -v
	}
	return v, nil
}

// ParseRUL reads RUL_FDxxx.txt: one non-negative integer per line.
func ParseRUL(r io.Reader) ([]int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxLine)
	var out []int
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		v, err := strconv.Atoi(t)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("cmapss: RUL line %d: %q is not a non-negative integer", line, t)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cmapss: RUL: %w", err)
	}
	return out, nil
}

// Group splits rows into units, in order of first appearance, checking that
// each unit's cycles run 1, 2, 3, ... without gaps.
func Group(rows []Row) ([]Unit, error) {
	var units []Unit
	index := map[int]int{}
	for _, r := range rows {
		i, ok := index[r.Unit]
		if !ok {
			i = len(units)
			index[r.Unit] = i
			units = append(units, Unit{ID: r.Unit})
		}
		u := &units[i]
		if r.Cycle != len(u.Rows)+1 {
			return nil, fmt.Errorf("cmapss: unit %d: cycle %d follows cycle %d", r.Unit, r.Cycle, len(u.Rows))
		}
		u.Rows = append(u.Rows, r)
	}
	return units, nil
}

// Subset is one C-MAPSS subset loaded from disk.
type Subset struct {
	Name  string
	Train []Unit
	Test  []Unit // RUL set
}

// Load reads train_<name>.txt, test_<name>.txt and RUL_<name>.txt from dir,
// each either plain or gzipped (".gz").
func Load(dir, name string) (*Subset, error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("cmapss: bad subset name %q", name)
	}
	s := &Subset{Name: name}
	// The three files parse concurrently: parsing dominates loading.
	var wg sync.WaitGroup
	var trainErr, testErr, rulErr error
	var rul []int
	wg.Add(3)
	go func() { defer wg.Done(); s.Train, trainErr = loadUnits(dir, "train_"+name+".txt") }()
	go func() { defer wg.Done(); s.Test, testErr = loadUnits(dir, "test_"+name+".txt") }()
	go func() {
		defer wg.Done()
		rulErr = openMaybeGzip(dir, "RUL_"+name+".txt", func(r io.Reader) error {
			var err error
			rul, err = ParseRUL(r)
			return err
		})
	}()
	wg.Wait()
	// The first problem is reported alone: errors stay one line.
	for _, err := range []error{trainErr, testErr, rulErr} {
		if err != nil {
			return nil, err
		}
	}
	if len(rul) != len(s.Test) {
		return nil, fmt.Errorf("cmapss: %s: %d RUL values for %d test units", name, len(rul), len(s.Test))
	}
	for i := range s.Test {
		s.Test[i].RUL = rul[i]
	}
	if len(s.Train) == 0 || len(s.Test) == 0 {
		return nil, fmt.Errorf("cmapss: %s: no train or test units", name)
	}
	return s, nil
}

func loadUnits(dir, file string) ([]Unit, error) {
	var units []Unit
	err := openMaybeGzip(dir, file, func(r io.Reader) error {
		rows, err := Parse(r)
		if err == nil {
			units, err = Group(rows)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		return nil
	})
	return units, err
}

func openMaybeGzip(dir, file string, fn func(io.Reader) error) error {
	f, err := os.Open(filepath.Join(dir, file+".gz"))
	gz := err == nil
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.Open(filepath.Join(dir, file))
	}
	if err != nil {
		return fmt.Errorf("cmapss: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 64<<10)
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("cmapss: %s.gz: %w", file, err)
		}
		defer zr.Close()
		r = zr
	}
	return fn(r)
}
