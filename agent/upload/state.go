package upload

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/budare/budare/agent/store"
)

// StateName is the store state namespace holding one DayState per day.
const StateName = "upload"

// Day upload states.
const (
	StateOpen     = "open"     // the local day has not closed yet
	StatePending  = "pending"  // closed, not uploaded yet (or has late records)
	StateUploaded = "uploaded" // uploaded and verified at Version
	StateFailed   = "failed"   // the last attempt failed; retried with backoff
)

// DayState is the persisted upload state of one local day. It lives in the
// agent's bbolt store so it survives restarts.
type DayState struct {
	Day    string `json:"day"`
	Status string `json:"status"`
	// Version is the store's DayInfo.Version that the uploaded object holds.
	Version uint64 `json:"version"`
	// SHA256 is the hex SHA-256 of the uploaded object's (gzip) bytes.
	SHA256        string    `json:"sha256,omitempty"`
	ContentSHA256 string    `json:"ndjson_sha256,omitempty"`
	Records       int       `json:"records"` // records in the uploaded object
	Bytes         int       `json:"bytes"`
	ETag          string    `json:"etag,omitempty"`
	Verified      string    `json:"verified,omitempty"` // "etag" or "readback"
	Merged        bool      `json:"merged,omitempty"`   // last upload merged with the remote object
	UploadedAt    time.Time `json:"uploaded_at,omitzero"`
	Uploads       int       `json:"uploads"`  // successful uploads of this day
	Attempts      int       `json:"attempts"` // failed attempts since the last success
	LastError     string    `json:"last_error,omitempty"`
	LastAttempt   time.Time `json:"last_attempt,omitzero"`
	// RetryAt holds back a day whose own content failed (an unreadable
	// remote window) without holding back the other days.
	RetryAt time.Time `json:"retry_at,omitzero"`
}

// DayStatus is what `budare-agent inspect` shows for one day.
type DayStatus struct {
	Day          string `json:"day"`
	State        string `json:"state"`
	LocalRecords uint64 `json:"local_records"`
	LocalVersion uint64 `json:"local_version"`
	Pruned       bool   `json:"pruned,omitempty"`
	DayState
}

// Status is the upload subsystem's state, for inspect and /status.
type Status struct {
	Kitchen        string      `json:"kitchen,omitempty"`
	Days           []DayStatus `json:"days"`
	Pending        int         `json:"pending"`
	OldestPending  string      `json:"oldest_pending,omitempty"`
	DiskFreeBytes  uint64      `json:"disk_free_bytes,omitempty"`
	DiskLow        bool        `json:"disk_low,omitempty"`
	DiskError      string      `json:"disk_error,omitempty"`
	NextAttempt    time.Time   `json:"next_attempt,omitzero"`
	LastError      string      `json:"last_error,omitempty"`
	LastUploadedAt time.Time   `json:"last_uploaded_at,omitzero"`
}

// StateStore is the part of the local store that status reads need; a
// read-only store opened by `inspect` satisfies it.
type StateStore interface {
	Days() ([]store.DayInfo, error)
	ListState(name string, fn func(key string, raw []byte) error) error
}

// ReadStatus combines the store's day index with the persisted upload states.
// closed reports whether a local day has closed (see Service.closed); nil
// treats every day as closed.
func ReadStatus(st StateStore, closed func(day string) bool) (Status, error) {
	days, err := st.Days()
	if err != nil {
		return Status{}, fmt.Errorf("upload status: %w", err)
	}
	states := map[string]DayState{}
	err = st.ListState(StateName, func(key string, raw []byte) error {
		var ds DayState
		if err := json.Unmarshal(raw, &ds); err != nil {
			return fmt.Errorf("decode upload state %s: %w", key, err)
		}
		states[key] = ds
		return nil
	})
	if err != nil {
		return Status{}, fmt.Errorf("upload status: %w", err)
	}
	var out Status
	for _, di := range days {
		ds := states[di.Day]
		s := DayStatus{Day: di.Day, LocalRecords: di.Records, LocalVersion: di.Version, Pruned: di.Pruned, DayState: ds}
		s.DayState.Day = di.Day
		s.State = dayState(di, ds, closed == nil || closed(di.Day))
		if s.State == StatePending || s.State == StateFailed {
			out.Pending++
			if out.OldestPending == "" {
				out.OldestPending = di.Day
			}
		}
		if ds.UploadedAt.After(out.LastUploadedAt) {
			out.LastUploadedAt = ds.UploadedAt
		}
		out.Days = append(out.Days, s)
	}
	return out, nil
}

// dayState derives a day's state from the store's index and its upload state.
func dayState(di store.DayInfo, ds DayState, closed bool) string {
	switch {
	case !closed:
		return StateOpen
	case ds.Status == StateUploaded && ds.Version >= di.Version:
		return StateUploaded
	case ds.Status == StateFailed || ds.Attempts > 0:
		return StateFailed
	default:
		return StatePending
	}
}
