package train

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/budare/budare/internal/record"
)

// ParseTypes decodes an arepa-types file: one type per line, '#' starts a
// comment, blank lines are ignored and whitespace is trimmed. An empty list,
// a duplicate type or a type name that cannot be an object-key segment is an
// error naming the line. The result keeps the file's order.
func ParseTypes(b []byte) ([]string, error) {
	var out []string
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if err := ValidType(t); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if prev, dup := seen[t]; dup {
			return nil, fmt.Errorf("line %d: type %q repeats line %d", n, t, prev)
		}
		seen[t] = n
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read types: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("no arepa types listed")
	}
	return out, nil
}

// ValidType reports whether t can name an arepa type: it becomes a segment of
// object keys (models/<type>/...) and an MQTT payload field, so it follows
// the one name grammar of internal/record.
func ValidType(t string) error {
	if err := record.ValidName(t); err != nil {
		return fmt.Errorf("bad arepa type: %w", err)
	}
	return nil
}

// LoadTypes returns the types to train: from the file when path is given
// (it wins), else from the config list, checked the same way.
func LoadTypes(path string, fromConfig []string) ([]string, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("types file: %w", err)
		}
		ts, err := ParseTypes(b)
		if err != nil {
			return nil, fmt.Errorf("types file %s: %w", path, err)
		}
		return ts, nil
	}
	if len(fromConfig) == 0 {
		return nil, errors.New("no arepa types: give --types FILE or types = [...] in the config")
	}
	ts, err := ParseTypes([]byte(strings.Join(fromConfig, "\n")))
	if err != nil {
		return nil, fmt.Errorf("config types: %w", err)
	}
	return ts, nil
}

// Shard is "i/n": this worker trains the i-th (0-based) of n deterministic
// parts of the sorted types.
type Shard struct{ I, N int }

// ParseShard decodes "i/n" with 0 <= i < n.
func ParseShard(s string) (Shard, error) {
	var sh Shard
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return sh, fmt.Errorf("shard %q: want i/n, e.g. 0/4", s)
	}
	if _, err := fmt.Sscanf(a+" "+b, "%d %d", &sh.I, &sh.N); err != nil || fmt.Sprint(sh.I) != a || fmt.Sprint(sh.N) != b {
		return sh, fmt.Errorf("shard %q: want i/n, e.g. 0/4", s)
	}
	if sh.N < 1 || sh.I < 0 || sh.I >= sh.N {
		return sh, fmt.Errorf("shard %q: want 0 <= i < n", s)
	}
	return sh, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// Pick returns this shard's types: every n-th of the sorted types starting at
// the i-th, so the split depends only on the set of types, not on file order.
func (s Shard) Pick(types []string) []string {
	sorted := slices.Clone(types)
	slices.Sort(sorted)
	if s.N <= 1 {
		return sorted
	}
	var out []string
	for k, t := range sorted {
		if k%s.N == s.I {
			out = append(out, t)
		}
	}
	return out
}
