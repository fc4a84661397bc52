package train

import (
	"context"
	"fmt"

	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

// ReadWindow reads one kitchen's window of a local day and calls fn for
// every valid cook or event record, in window order. A missing window is not
// an error: found is false. Lines that are not records are counted in bad and
// skipped; a window that is not gzip NDJSON, or whose bytes do not match the
// SHA-256 of its metadata (when the bucket gives metadata), is an error.
func ReadWindow(ctx context.Context, b Bucket, kitchen, day string, fn func(*record.Record)) (found bool, bad int, err error) {
	key := window.Key(kitchen, day)
	data, sum, err := getWindow(ctx, b, key)
	if IsNotFound(err) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	err = eachVerifiedRecord(data, sum, nil, nil, fn, func(int, error) { bad++ })
	if err != nil {
		return true, bad, fmt.Errorf("window %s: %w", key, err)
	}
	return true, bad, nil
}
