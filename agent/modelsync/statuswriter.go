package modelsync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/budare/budare/internal/agentstatus"
)

// StatusWriter writes the agent's status object (agentstatus.Key) to the
// central store after every model poll (Options.AfterPoll), so central can
// tell which agents are alive. The parts it does not own come from the
// optional funcs; a nil func leaves its fields empty.
type StatusWriter struct {
	Put     func(ctx context.Context, key string, data []byte) error
	Kitchen string
	Version string
	Now     func() time.Time
	// Uploads returns the newest uploaded window's day, when the last upload
	// finished and how many closed days wait for upload.
	Uploads func() (lastWindow string, lastUploadAt time.Time, pending int, err error)
	// Decisions returns the newest decided day and when it was decided.
	Decisions func() (day string, at time.Time)
	// StoreBytes returns the size of the local store.
	StoreBytes func() (int64, error)
}

// Build returns the status object for the syncer status st. Problems reading
// the optional parts leave those fields empty: a partial status is better
// than none, since its only promise is "this agent is alive".
func (w *StatusWriter) Build(st Status) agentstatus.Status {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	out := agentstatus.Status{V: agentstatus.Version, Kitchen: w.Kitchen, Agent: w.Version, At: now().UTC(),
		Release: st.Release, ModelError: st.LastError}
	if w.Uploads != nil {
		if day, at, pending, err := w.Uploads(); err == nil {
			out.LastWindow, out.LastUploadAt, out.PendingWindows = day, at.UTC(), pending
		}
	}
	if w.Decisions != nil {
		day, at := w.Decisions()
		out.LastDecision, out.LastDecidedAt = day, at.UTC()
	}
	if w.StoreBytes != nil {
		if n, err := w.StoreBytes(); err == nil {
			out.StoreBytes = n
		}
	}
	return out
}

// Write puts the status object for st.
func (w *StatusWriter) Write(ctx context.Context, st Status) error {
	b, err := json.Marshal(w.Build(st))
	if err != nil {
		return fmt.Errorf("encode agent status: %w", err)
	}
	key := agentstatus.Key(w.Kitchen)
	if err := w.Put(ctx, key, b); err != nil {
		return fmt.Errorf("write agent status %s: %w", key, err)
	}
	return nil
}
