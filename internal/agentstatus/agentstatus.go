// Package agentstatus is the contract of the agent's status object,
// status/<kitchen>.json in the bucket: the agent rewrites it on every model
// poll, and the dashboard's fleet page reads it to tell which kitchens'
// agents are alive. An object whose At is older than a few poll intervals
// means the agent stopped (or cannot reach the bucket).
package agentstatus

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the status object's version (field "v").
const Version = 1

// Prefix is where every kitchen's status object lives.
const Prefix = "status/"

// MaxBytes bounds a status object a reader accepts; the agent's are < 1 KiB.
const MaxBytes = 64 << 10

// Key is the object key of a kitchen's status.
func Key(kitchen string) string { return Prefix + kitchen + ".json" }

// Status is one agent's state as of At. Times are UTC; a zero time or empty
// day means "never".
type Status struct {
	V       int       `json:"v"`
	Kitchen string    `json:"kitchen"`
	Agent   string    `json:"agent_version"`
	At      time.Time `json:"at"` // when the agent wrote this object
	// Release is the installed model release (0: none); ModelError is the
	// error of the poll that wrote this object ("" when it reached central).
	Release    int64  `json:"release"`
	ModelError string `json:"model_error,omitempty"`
	// LastWindow is the newest local day whose window is uploaded and
	// verified, LastUploadAt when the last upload finished, PendingWindows
	// the closed days not uploaded yet.
	LastWindow     string    `json:"last_window,omitempty"`
	LastUploadAt   time.Time `json:"last_upload_at,omitzero"`
	PendingWindows int       `json:"pending_windows"`
	// LastDecision is the newest day decided, LastDecidedAt when.
	LastDecision  string    `json:"last_decision,omitempty"`
	LastDecidedAt time.Time `json:"last_decided_at,omitzero"`
	// StoreBytes is the size of the agent's local store file.
	StoreBytes int64 `json:"store_bytes"`
}

// Decode reads a status object; a missing kitchen or write time is an error.
func Decode(b []byte) (*Status, error) {
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("status object larger than %d bytes", MaxBytes)
	}
	var s Status
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("status object: %w", err)
	}
	if s.Kitchen == "" {
		return nil, errors.New("status object: no kitchen")
	}
	if s.At.IsZero() {
		return nil, errors.New("status object: no \"at\" time")
	}
	return &s, nil
}
