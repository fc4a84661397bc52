package dashboard

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/budare/budare/internal/agentstatus"
	"github.com/budare/budare/internal/objstore"
)

// FleetRow is one kitchen's agent on the fleet page.
type FleetRow struct {
	Kitchen string
	// State is "online", "stale" (the agent stopped writing its status)
	// or "none" (no status object yet).
	State  string
	Status *agentstatus.Status
	Age    time.Duration // since the status was written
	// LagDays is how many days the last uploaded window lies behind
	// yesterday (0: up to date); -1 when no window was uploaded.
	LagDays int
	Error   string
}

// FleetView is the fleet page.
type FleetView struct {
	Rows       []FleetRow
	Online     int
	Stale      int
	None       int
	Current    int64
	StaleAfter time.Duration
}

func (s *Server) handleFleet(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Fleet", Nav: "fleet"}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.StoreTimeout)
	defer cancel()
	v, err := s.fleetView(ctx, p)
	if err != nil {
		p.Error = oneLine(err.Error())
		s.render(w, storeStatus(err), "fleet", p)
		return
	}
	p.Data = v
	s.render(w, http.StatusOK, "fleet", p)
}

func (s *Server) fleetView(ctx context.Context, p *page) (*FleetView, error) {
	now := s.opt.Now()
	kitchens, notes, err := s.kitchens(ctx)
	if err != nil {
		return nil, err
	}
	p.Notices = append(p.Notices, notes...)
	infos, err := s.listing(ctx, agentstatus.Prefix)
	if err != nil {
		return nil, err
	}
	v := &FleetView{StaleAfter: s.opt.StaleAfter}
	if v.Current, err = s.currentRelease(ctx); err != nil {
		p.Notices = append(p.Notices, oneLine(err.Error()))
	}
	tz := map[string]string{}
	for _, k := range kitchens {
		tz[k.Kitchen] = k.Timezone
	}
	byKitchen := map[string]objstore.Info{}
	for _, o := range infos {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, agentstatus.Prefix), ".json")
		if !ok || !validName(name) {
			continue
		}
		byKitchen[name] = o
		if _, listed := tz[name]; !listed {
			kitchens = append(kitchens, Kitchen{Kitchen: name})
			tz[name] = ""
		}
	}
	v.Rows = make([]FleetRow, len(kitchens))
	s.parallel(len(kitchens), func(i int) {
		k := kitchens[i].Kitchen
		row := FleetRow{Kitchen: k, State: "none", LagDays: -1}
		if o, ok := byKitchen[k]; ok {
			st, err := cachedRead(ctx, s, "status", o, agentstatus.MaxBytes, agentstatus.Decode)
			if err != nil {
				row.Error = oneLine(err.Error())
			} else {
				row.Status = st
				row.Age = now.Sub(st.At)
				row.State = "online"
				if row.Age > s.opt.StaleAfter {
					row.State = "stale"
				}
				if st.LastWindow != "" {
					row.LagDays = max(0, ageDays(st.LastWindow, tz[k], now)-1)
				}
			}
		}
		v.Rows[i] = row
	})
	for _, r := range v.Rows {
		switch r.State {
		case "online":
			v.Online++
		case "stale":
			v.Stale++
		default:
			v.None++
		}
	}
	// The agents that need a person first: stopped, then never seen.
	rank := map[string]int{"stale": 0, "none": 1, "online": 2}
	slices.SortStableFunc(v.Rows, func(a, b FleetRow) int {
		return cmp.Or(cmp.Compare(rank[a.State], rank[b.State]), cmp.Compare(b.LagDays, a.LagDays), strings.Compare(a.Kitchen, b.Kitchen))
	})
	return v, nil
}
