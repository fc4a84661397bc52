package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
	"github.com/budare/budare/internal/window"
)

// machineDays is how many days the machine page covers.
const machineDays = 30

// maxWindow bounds one window read for the machine page (a kitchen-day of
// records compresses to well under this).
const maxWindow = 64 << 20

// MachineView is the machine page: its risk, events and named metrics over
// the last machineDays days, and its actions.
type MachineView struct {
	Kitchen, Machine string
	From, To         string
	Risk             *chart
	Trends           []*chart
	TrendNote        string
	Actions          []Action // newest first
	Events           []machineEvent
	Release          int64
}

type machineEvent struct {
	Day, Time, Kind, Code, Note string
}

// machineDay is what the machine page needs of one window: the day's mean
// of each cook metric and the events.
type machineDay struct {
	Means  map[string]float64
	Events []record.Record
}

// parseMachineDay reads the machine's records of one window. Lines of other
// machines are skipped before decoding.
func parseMachineDay(machine string) func([]byte) (machineDay, error) {
	needle := []byte(`"machine":` + mustQuote(machine))
	return func(b []byte) (machineDay, error) {
		lines, err := window.Decode(b, "")
		if err != nil {
			return machineDay{}, err
		}
		sums, ns := map[string]float64{}, map[string]int{}
		var d machineDay
		for _, l := range lines {
			if !bytes.Contains(l, needle) {
				continue
			}
			var r record.Record
			if json.Unmarshal(l, &r) != nil || r.Machine != machine {
				continue
			}
			switch r.Type {
			case record.TypeCook:
				for k, v := range r.Metrics {
					sums[k] += v
					ns[k]++
				}
			case record.TypeEvent:
				d.Events = append(d.Events, r)
			}
		}
		d.Means = make(map[string]float64, len(sums))
		for k, s := range sums {
			d.Means[k] = s / float64(ns[k])
		}
		return d, nil
	}
}

func mustQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (s *Server) handleMachine(w http.ResponseWriter, r *http.Request) {
	kitchen, machine := r.PathValue("kitchen"), r.PathValue("machine")
	p := &page{Title: "Machine " + machine, Nav: "kitchens"}
	if !validName(kitchen) || !validName(machine) {
		p.Error = fmt.Sprintf("bad kitchen or machine name %q/%q", oneLine(kitchen), oneLine(machine))
		s.render(w, http.StatusBadRequest, "machine", p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.StoreTimeout)
	defer cancel()
	v, err := s.machineView(ctx, kitchen, machine, p)
	if err != nil {
		p.Error = oneLine(err.Error())
		s.render(w, storeStatus(err), "machine", p)
		return
	}
	p.Data = v
	s.render(w, http.StatusOK, "machine", p)
}

func (s *Server) machineView(ctx context.Context, kitchen, machine string, p *page) (*MachineView, error) {
	v := &MachineView{Kitchen: kitchen, Machine: machine}
	acts, err := s.listing(ctx, action.Prefix(""))
	if err != nil {
		return nil, err
	}
	prefix := action.Prefix(kitchen)
	byDate := map[string]objstore.Info{}
	for _, o := range under(acts, prefix) {
		if d, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, prefix), ".json"); ok && isDate(d) {
			byDate[d] = o
			v.To = max(v.To, d)
		}
	}
	if v.To == "" {
		v.To = s.opt.Now().UTC().Format(time.DateOnly)
	}
	end, _ := time.Parse(time.DateOnly, v.To)
	days := make([]string, machineDays)
	for i := range days {
		days[i] = end.AddDate(0, 0, i-machineDays+1).Format(time.DateOnly)
	}
	v.From = days[0]

	wins, werr := s.listing(ctx, "windows/")
	if werr != nil {
		p.Notices = append(p.Notices, "windows: "+oneLine(werr.Error()))
	}
	winBy := map[string]objstore.Info{}
	for _, o := range under(wins, "windows/"+kitchen+"/") {
		winBy[o.Key] = o
	}

	dayActs := make([]*Action, len(days))
	dayData := make([]*machineDay, len(days))
	errs := make([]error, 2*len(days))
	s.parallel(2*len(days), func(j int) {
		i, day := j/2, days[j/2]
		if j%2 == 0 {
			o, ok := byDate[day]
			if !ok {
				return
			}
			list, err := cachedRead(ctx, s, "actions", o, maxActionsFile, ParseActions)
			if err != nil {
				errs[j] = err
				return
			}
			for k := range list {
				if list[k].Machine == machine {
					a := list[k]
					dayActs[i] = &a
				}
			}
			return
		}
		o, ok := winBy[window.Key(kitchen, day)]
		if !ok {
			return
		}
		md, err := cachedRead(ctx, s, "machine\x00"+machine, o, maxWindow, parseMachineDay(machine))
		if err != nil {
			errs[j] = err
			return
		}
		dayData[i] = &md
	})
	for _, err := range errs {
		if err != nil {
			p.Notices = append(p.Notices, oneLine(err.Error()))
		}
	}

	xt := dayTicks(days)
	v.Risk = &chart{ID: "risk", Title: fmt.Sprintf("Risk of %s, %s to %s", machine, days[0], v.To),
		Empty: "No actions for this machine in these 30 days", XMin: -0.5, XMax: float64(len(days)) - 0.5,
		YMin: 0, YMax: 1, XTicks: xt, YTicks: []tick{{0, "0"}, {0.25, ".25"}, {0.5, ".5"}, {0.75, ".75"}, {1, "1"}}}
	risk := chartSeries{Name: "risk", Class: "line", Dots: true}
	for i, a := range dayActs {
		if a == nil {
			continue
		}
		v.Actions = append(v.Actions, *a)
		y, label := 0.0, fmt.Sprintf("%s: %s, no risk figure", days[i], a.Level)
		if hasRisk(*a) {
			y, label = min(max(a.Risk, 0), 1), fmt.Sprintf("%s: %s, risk %.2f", days[i], a.Level, a.Risk)
		}
		risk.Points = append(risk.Points, chartPoint{X: float64(i), Y: y, Class: countKey(a.Level), Label: label, Day: days[i]})
		v.Release = max(v.Release, a.ModelRelease)
	}
	v.Risk.Series = []chartSeries{risk}
	slices.Reverse(v.Actions)
	if lv := s.levels(ctx, v.Release); lv != nil {
		v.Risk.HLines = []chartLine{{lv.Inspect, action.LevelInspect, action.LevelInspect}, {lv.Service, action.LevelService, action.LevelService}, {lv.Stop, action.LevelStop, action.LevelStop}}
		v.Risk.HLines = slices.DeleteFunc(v.Risk.HLines, func(l chartLine) bool { return l.Y > 1 })
	}
	for i, d := range dayData {
		if d == nil {
			continue
		}
		for _, e := range d.Events {
			frac := float64(e.TS.Hour()*60+e.TS.Minute()) / (24 * 60)
			label := fmt.Sprintf("%s %s %s", e.TS.UTC().Format("2006-01-02 15:04"), e.Kind, e.Code)
			v.Risk.Marks = append(v.Risk.Marks, chartMark{X: float64(i) - 0.5 + frac, Label: label, Class: e.Kind})
			v.Events = append(v.Events, machineEvent{Day: days[i], Time: e.TS.UTC().Format("15:04"), Kind: e.Kind, Code: e.Code, Note: truncate(e.Note, 200)})
		}
	}
	slices.Reverse(v.Events)

	named := namedMetrics(v.Actions, dayData)
	if len(named) == 0 {
		v.TrendNote = "This machine's reasons name no metric, so there is no trend to show."
	}
	for _, m := range named {
		c := &chart{ID: "trend-" + m, Title: m + ", daily mean", Empty: "No " + m + " readings in these 30 days",
			H: 160, XMin: -0.5, XMax: float64(len(days)) - 0.5, XTicks: xt}
		sr := chartSeries{Name: m, Class: "line2", Dots: true}
		lo, hi := 0.0, 0.0
		for i, d := range dayData {
			if d == nil {
				continue
			}
			if x, ok := d.Means[m]; ok {
				if len(sr.Points) == 0 {
					lo, hi = x, x
				}
				lo, hi = min(lo, x), max(hi, x)
				sr.Points = append(sr.Points, chartPoint{X: float64(i), Y: x, Label: fmt.Sprintf("%s: %.3g", days[i], x), Day: days[i]})
			}
		}
		c.Series = []chartSeries{sr}
		c.YTicks, c.YMin, c.YMax = niceTicks(lo, hi, 3)
		v.Trends = append(v.Trends, c)
	}
	return v, nil
}

// dayTicks labels about five of the days, so they fit on a phone.
func dayTicks(days []string) []tick {
	var ts []tick
	step := max(1, len(days)/4)
	for i := len(days) - 1; i >= 0; i -= step {
		ts = append(ts, tick{At: float64(i), Label: days[i][5:]})
	}
	return ts
}

var wordRE = regexp.MustCompile(`[A-Za-z0-9_]+`)

// namedMetrics are the cook metrics the machine's reasons name, newest
// reasons first, at most six.
func namedMetrics(acts []Action, days []*machineDay) []string {
	known := map[string]bool{}
	for _, d := range days {
		if d != nil {
			for k := range maps.Keys(d.Means) {
				known[k] = true
			}
		}
	}
	var out []string
	for _, a := range acts {
		for _, r := range a.Reasons {
			for _, w := range wordRE.FindAllString(r, -1) {
				if known[w] && !slices.Contains(out, w) && len(out) < 6 {
					out = append(out, w)
				}
			}
		}
	}
	return out
}

// levels returns the level thresholds of a release (the current one when
// rel is 0), or nil.
func (s *Server) levels(ctx context.Context, rel int64) *release.Levels {
	if rel == 0 {
		var err error
		if rel, err = s.currentRelease(ctx); err != nil || rel == 0 {
			return nil
		}
	}
	m, err := s.manifest(ctx, rel)
	if err != nil {
		return nil
	}
	return m.Levels
}

// manifest reads a release's manifest, cached by its number (a published
// manifest never changes).
func (s *Server) manifest(ctx context.Context, rel int64) (*release.Manifest, error) {
	key := release.ManifestKey(rel)
	open := func(raw []byte) (*release.Manifest, error) { return release.Policy{Release: rel}.Open(raw, nil) }
	return cachedRead(ctx, s, "manifest", objstore.Info{Key: key, ETag: "immutable"}, maxManifest, open)
}
