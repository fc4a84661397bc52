package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

const (
	defaultCoverageDays = 14
	maxCoverageDays     = 62
)

// CoverageRow is one kitchen's windows on the coverage page.
type CoverageRow struct {
	Kitchen string
	Cells   []CoverageCell
	Missing int
	Late    int
}

// CoverageCell is one kitchen-day: "ok" (uploaded in time), "late" or
// "missing".
type CoverageCell struct {
	Day   string
	State string
	Title string
}

// CoverageView is the coverage page: kitchens × the last days.
type CoverageView struct {
	Days      []string
	Rows      []CoverageRow
	OK        int
	Late      int
	Missing   int
	LateAfter time.Duration
}

func (s *Server) handleCoverage(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Data coverage", Nav: "coverage"}
	n := defaultCoverageDays
	if q := r.URL.Query().Get("days"); q != "" {
		d, err := strconv.Atoi(q)
		if err != nil || d < 1 || d > maxCoverageDays {
			p.Error = fmt.Sprintf("bad days %q (want 1..%d)", oneLine(q), maxCoverageDays)
			s.render(w, http.StatusBadRequest, "coverage", p)
			return
		}
		n = d
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.StoreTimeout)
	defer cancel()
	v, err := s.coverageView(ctx, n, p)
	if err != nil {
		p.Error = oneLine(err.Error())
		s.render(w, storeStatus(err), "coverage", p)
		return
	}
	p.Data = v
	s.render(w, http.StatusOK, "coverage", p)
}

// coverageView classifies each kitchen's closed days from the windows
// listing alone: a window is late when its object is newer than the end of
// its day (in the kitchen's time zone) plus Options.LateAfter.
func (s *Server) coverageView(ctx context.Context, n int, p *page) (*CoverageView, error) {
	now := s.opt.Now()
	kitchens, notes, err := s.kitchens(ctx)
	if err != nil {
		return nil, err
	}
	p.Notices = append(p.Notices, notes...)
	infos, err := s.listing(ctx, "windows/")
	if err != nil {
		return nil, err
	}
	v := &CoverageView{LateAfter: s.opt.LateAfter}
	yesterday := now.UTC().AddDate(0, 0, -1)
	for i := range n {
		v.Days = append(v.Days, yesterday.AddDate(0, 0, i-n+1).Format(time.DateOnly))
	}
	for _, k := range kitchens {
		loc := kitchenLoc(k.Timezone)
		got := map[string]objstore.Info{}
		for _, o := range under(infos, "windows/"+k.Kitchen+"/") {
			got[o.Key] = o
		}
		row := CoverageRow{Kitchen: k.Kitchen, Cells: make([]CoverageCell, len(v.Days))}
		for i, day := range v.Days {
			c := CoverageCell{Day: day, State: "missing", Title: day + ": no window"}
			if o, ok := got[window.Key(k.Kitchen, day)]; ok {
				end, _ := record.DayStart(day, 1, loc)
				due := end.Add(s.opt.LateAfter)
				c.State, c.Title = "ok", fmt.Sprintf("%s: uploaded %s", day, o.Modified.UTC().Format("2006-01-02 15:04Z"))
				if o.Modified.After(due) {
					c.State = "late"
					c.Title += fmt.Sprintf(", %s after the day ended", o.Modified.Sub(end).Round(time.Minute))
				}
			}
			switch c.State {
			case "ok":
				v.OK++
			case "late":
				v.Late++
				row.Late++
			default:
				v.Missing++
				row.Missing++
			}
			row.Cells[i] = c
		}
		v.Rows = append(v.Rows, row)
	}
	slices.SortStableFunc(v.Rows, func(a, b CoverageRow) int {
		return cmp.Or(cmp.Compare(b.Missing, a.Missing), cmp.Compare(b.Late, a.Late), strings.Compare(a.Kitchen, b.Kitchen))
	})
	return v, nil
}
