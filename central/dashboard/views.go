package dashboard

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/inventory"
	"github.com/budare/budare/internal/record"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

// KitchenSummary is one kitchen's row on the overview.
type KitchenSummary struct {
	Kitchen  string         `json:"kitchen"`
	Phase    string         `json:"phase,omitempty"`
	Timezone string         `json:"timezone,omitempty"`
	Date     string         `json:"date,omitempty"` // latest day with actions
	AgeDays  int            `json:"age_days"`       // days between Date and the kitchen's today
	Stale    bool           `json:"stale"`          // Date is older than yesterday
	Machines int            `json:"machines"`
	Counts   map[string]int `json:"counts"`
	Release  int64          `json:"model_release,omitempty"` // newest release the actions used
	// Alarms are the machines at inspect or worse on each of the last 7
	// days, oldest first; -1 for a day without actions.
	Alarms []int  `json:"alarms"`
	Error  string `json:"error,omitempty"`
}

// Overview is the body of /api/overview.
type Overview struct {
	GeneratedAt    time.Time        `json:"generated_at"`
	CurrentRelease int64            `json:"current_release"`
	Kitchens       []KitchenSummary `json:"kitchens"`
	Totals         map[string]int   `json:"totals"`
	Notices        []string         `json:"notices"`
}

func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	ov, err := s.overview(r.Context())
	if err != nil {
		s.fail(w, r, storeStatus(err), err)
		return
	}
	s.writeJSON(w, http.StatusOK, ov)
}

// overview returns the cached overview while fresh, else loads it.
func (s *Server) overview(ctx context.Context) (*Overview, error) {
	now := s.opt.Now()
	s.mu.Lock()
	if s.cached != nil && s.opt.CacheTTL > 0 && now.Sub(s.cachedAt) < s.opt.CacheTTL {
		ov := s.cached
		s.mu.Unlock()
		return ov, nil
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.opt.StoreTimeout)
	defer cancel()
	ov, err := s.loadOverview(ctx, now)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cached, s.cachedAt = ov, now
	s.mu.Unlock()
	return ov, nil
}

func (s *Server) loadOverview(ctx context.Context, now time.Time) (*Overview, error) {
	ov := &Overview{GeneratedAt: now.UTC(), Kitchens: []KitchenSummary{}, Notices: []string{}, Totals: countLevels(nil)}
	kitchens, notes, err := s.kitchens(ctx)
	if err != nil {
		return nil, err
	}
	ov.Notices = append(ov.Notices, notes...)
	cur, err := s.currentRelease(ctx)
	if err != nil {
		ov.Notices = append(ov.Notices, oneLine(err.Error()))
	}
	ov.CurrentRelease = cur

	all, err := s.listing(ctx, action.Prefix(""))
	if err != nil {
		return nil, err
	}
	ov.Kitchens = make([]KitchenSummary, len(kitchens))
	s.parallel(len(kitchens), func(i int) {
		ov.Kitchens[i] = s.summarize(ctx, kitchens[i], all, now)
	})
	for _, k := range ov.Kitchens {
		for l, n := range k.Counts {
			ov.Totals[l] += n
		}
	}
	// Worst kitchens first: that is where someone has to act today.
	slices.SortStableFunc(ov.Kitchens, func(a, b KitchenSummary) int {
		for _, l := range []string{action.LevelStop, action.LevelService, action.LevelInspect, action.LevelUnknown} {
			if d := b.Counts[l] - a.Counts[l]; d != 0 {
				return d
			}
		}
		return strings.Compare(a.Kitchen, b.Kitchen)
	})
	return ov, nil
}

// kitchens returns the kitchens to show: the inventory's, or, while there is
// no usable inventory, those that uploaded actions.
func (s *Server) kitchens(ctx context.Context) ([]Kitchen, []string, error) {
	var notes []string
	b, err := s.store.Get(ctx, inventory.Key, inventory.MaxBytes)
	switch {
	case err == nil:
		inv, perr := parseInventory(b)
		if perr == nil {
			return inv, nil, nil
		}
		notes = append(notes, oneLine(perr.Error())+"; showing the kitchens that uploaded actions instead")
	case isNotFound(err):
		notes = append(notes, inventory.Key+" is missing; showing the kitchens that uploaded actions")
	default:
		return nil, nil, err // objstore errors name the key
	}
	infos, err := s.listing(ctx, action.Prefix(""))
	if err != nil {
		return nil, nil, err
	}
	var out []Kitchen
	for _, o := range infos {
		parts := strings.Split(o.Key, "/")
		if len(parts) != 3 || !validName(parts[1]) {
			continue
		}
		// The listing is sorted, so a kitchen's keys are adjacent.
		if len(out) == 0 || out[len(out)-1].Kitchen != parts[1] {
			out = append(out, Kitchen{Kitchen: parts[1]})
		}
	}
	return out, notes, nil
}

// currentRelease reads models/current; 0 when there is none yet.
func (s *Server) currentRelease(ctx context.Context) (int64, error) {
	return release.Current(ctx, s.store)
}

// daySummary is what the overview needs of a day's actions file.
type daySummary struct {
	Machines int
	Counts   map[string]int
	Release  int64
}

// parseDaySummary counts a day file's levels, from its actions' briefs
// (action.DecodeBriefs accepts what ParseActions accepts).
func parseDaySummary(b []byte) (daySummary, error) {
	list, err := action.DecodeBriefs(b)
	if err != nil {
		return daySummary{}, err
	}
	d := daySummary{Machines: len(list), Counts: countLevels(nil)}
	for i, a := range list {
		if a.Machine == "" {
			return daySummary{}, fmt.Errorf("actions file: action %d has no machine", i)
		}
		d.Counts[countKey(a.Level)]++
		d.Release = max(d.Release, a.ModelRelease)
	}
	return d, nil
}

// alarms counts the machines at inspect or worse.
func (d daySummary) alarms() int {
	return d.Counts[action.LevelInspect] + d.Counts[action.LevelService] + d.Counts[action.LevelStop]
}

// sparkDays is how many days the overview's alarm sparkline covers.
const sparkDays = 7

func (s *Server) summarize(ctx context.Context, k Kitchen, all []objstore.Info, now time.Time) KitchenSummary {
	sum := KitchenSummary{Kitchen: k.Kitchen, Phase: k.Phase, Timezone: k.Timezone, Counts: countLevels(nil),
		Alarms: make([]int, sparkDays)}
	// The kitchen's day files, oldest first (the listing is sorted).
	prefix := action.Prefix(k.Kitchen)
	files := under(all, prefix)
	var latest objstore.Info
	for _, o := range files {
		if d, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, prefix), ".json"); ok && isDate(d) {
			sum.Date, latest = d, o
		}
	}
	today := kitchenToday(k.Timezone, now)
	for i := range sum.Alarms {
		sum.Alarms[i] = -1
		day := today.AddDate(0, 0, i-sparkDays+1).Format(time.DateOnly)
		if day == sum.Date {
			continue // read below
		}
		j, ok := slices.BinarySearchFunc(files, day, func(o objstore.Info, day string) int {
			return strings.Compare(strings.TrimSuffix(strings.TrimPrefix(o.Key, prefix), ".json"), day)
		})
		if ok {
			if d, err := cachedRead(ctx, s, "summary", files[j], maxActionsFile, parseDaySummary); err == nil {
				sum.Alarms[i] = d.alarms()
			}
		}
	}
	if sum.Date == "" {
		return sum
	}
	sum.AgeDays = ageDays(sum.Date, k.Timezone, now)
	sum.Stale = sum.AgeDays >= 2
	d, err := cachedRead(ctx, s, "summary", latest, maxActionsFile, parseDaySummary)
	if err != nil {
		sum.Error = oneLine(err.Error())
		return sum
	}
	if i := sparkDays - 1 - sum.AgeDays; i >= 0 && i < sparkDays {
		sum.Alarms[i] = d.alarms()
	}
	sum.Machines = d.Machines
	sum.Counts = maps.Clone(d.Counts)
	sum.Release = d.Release
	return sum
}

// isDate is a cheap check for yyyy-mm-dd (no regexp: the overview checks
// every key of the fleet).
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i := range len(s) {
		if i != 4 && i != 7 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// kitchenLoc is a kitchen's time zone, UTC when unknown.
func kitchenLoc(tz string) *time.Location {
	if tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			return l
		}
	}
	return time.UTC
}

// kitchenToday is today's date in the kitchen's time zone (UTC when
// unknown), as midnight UTC.
func kitchenToday(tz string, now time.Time) time.Time {
	d, _ := time.Parse(time.DateOnly, record.LocalDay(now, kitchenLoc(tz)))
	return d
}

// ageDays is how many days date lies before today in the kitchen's time
// zone (UTC when the zone is unknown).
func ageDays(date, tz string, now time.Time) int {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return 0
	}
	return int(kitchenToday(tz, now).Sub(d).Hours() / 24)
}

func (s *Server) readActions(ctx context.Context, kitchen, date string) ([]Action, error) {
	key := action.Key(kitchen, date)
	b, err := s.store.Get(ctx, key, maxActionsFile)
	if err != nil {
		return nil, err
	}
	acts, err := ParseActions(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return acts, nil
}

// HistoryCell is a machine's level on one day of the kitchen's history.
type HistoryCell struct {
	Level string   `json:"level"`
	Risk  *float64 `json:"risk"`
}

// KitchenView is the body of /api/kitchen/{kitchen}.
type KitchenView struct {
	Kitchen string         `json:"kitchen"`
	Current int64          `json:"current_release"` // models/current; 0 if none
	Date    string         `json:"date"`            // "" when the kitchen has no actions yet
	Days    []string       `json:"days"`            // days with actions, newest first
	Counts  map[string]int `json:"counts"`
	Actions []Action       `json:"actions"`
	// HistoryDays are the days of History, oldest first, ending at Date.
	HistoryDays []string `json:"history_days"`
	// History maps each machine to its cells on HistoryDays; null where the
	// machine had no action that day.
	History map[string][]*HistoryCell `json:"history"`
	Notices []string                  `json:"notices"`
}

const (
	historyDays = 7
	maxDayLinks = 60
)

func (s *Server) handleKitchen(w http.ResponseWriter, r *http.Request) {
	kitchen := r.PathValue("kitchen")
	if !validName(kitchen) {
		s.fail(w, r, http.StatusBadRequest, fmt.Errorf("bad kitchen name %q", oneLine(kitchen)))
		return
	}
	date := r.URL.Query().Get("date")
	if date != "" && !isDate(date) {
		s.fail(w, r, http.StatusBadRequest, fmt.Errorf("bad date %q (want yyyy-mm-dd)", oneLine(date)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.StoreTimeout)
	defer cancel()
	v, status, err := s.kitchenView(ctx, kitchen, date)
	if err != nil {
		s.fail(w, r, status, err)
		return
	}
	s.writeJSON(w, http.StatusOK, v)
}

func (s *Server) kitchenView(ctx context.Context, kitchen, date string) (*KitchenView, int, error) {
	v := &KitchenView{Kitchen: kitchen, Days: []string{}, Counts: countLevels(nil), Actions: []Action{},
		HistoryDays: []string{}, History: map[string][]*HistoryCell{}, Notices: []string{}}
	keys, err := s.store.List(ctx, action.Prefix(kitchen))
	if err != nil {
		return nil, storeStatus(err), err
	}
	if v.Current, err = s.currentRelease(ctx); err != nil {
		v.Notices = append(v.Notices, oneLine(err.Error()))
	}
	dates := actionDates(kitchen, keys)
	if len(dates) == 0 {
		return v, 0, nil
	}
	idx := 0
	if date != "" {
		idx = slices.Index(dates, date)
		if idx < 0 {
			return nil, http.StatusNotFound, fmt.Errorf("kitchen %s has no actions for %s", kitchen, date)
		}
	}
	v.Date = dates[idx]
	v.Days = dates[:min(len(dates), maxDayLinks)]

	// History: the selected day and the days with actions before it.
	hist := slices.Clone(dates[idx:min(len(dates), idx+historyDays)])
	slices.Reverse(hist)
	lists := make([][]Action, len(hist))
	errs := make([]error, len(hist))
	s.parallel(len(hist), func(i int) {
		lists[i], errs[i] = s.readActions(ctx, kitchen, hist[i])
	})
	last := len(hist) - 1
	if errs[last] != nil {
		err := errs[last]
		if isNotFound(err) {
			return nil, http.StatusNotFound, err
		}
		return nil, storeStatus(err), err
	}
	v.Actions = lists[last]
	v.Counts = countLevels(v.Actions)
	for _, a := range v.Actions {
		v.History[a.Machine] = make([]*HistoryCell, len(hist))
	}
	for i, d := range hist {
		if errs[i] != nil {
			v.Notices = append(v.Notices, oneLine(errs[i].Error()))
			continue
		}
		col := len(v.HistoryDays)
		v.HistoryDays = append(v.HistoryDays, d)
		for _, a := range lists[i] {
			if cells, ok := v.History[a.Machine]; ok { // else no longer in today's actions
				cell := &HistoryCell{Level: a.Level}
				if hasRisk(a) {
					cell.Risk = &a.Risk
				}
				cells[col] = cell
			}
		}
	}
	// Days that could not be read have no column.
	for m, cells := range v.History {
		v.History[m] = cells[:len(v.HistoryDays)]
	}
	return v, 0, nil
}

// ArepaModel is one arepa type's model in the shown release.
type ArepaModel struct {
	Arepa     string              `json:"arepa"`
	Technique string              `json:"technique"`
	Trained   int64               `json:"trained,omitempty"`
	Threshold float64             `json:"threshold"`
	Key       string              `json:"key"`
	SHA256    string              `json:"sha256"`
	Size      int64               `json:"size"`
	Holdout   map[string]*float64 `json:"holdout"`
	Card      *Card               `json:"card,omitempty"`
	CardError string              `json:"card_error,omitempty"`
}

// ModelsView is the body of /api/models.
type ModelsView struct {
	Current  int64        `json:"current"`  // models/current; 0 if none
	Release  int64        `json:"release"`  // the release shown; 0 if none exists
	Releases []int64      `json:"releases"` // newest first
	Created  *time.Time   `json:"created,omitempty"`
	Expires  *time.Time   `json:"expires,omitempty"`
	Expired  bool         `json:"expired"`
	Phase    int          `json:"phase,omitempty"`
	Note     string       `json:"note,omitempty"`
	Arepas   []ArepaModel `json:"arepas"`
	Notices  []string     `json:"notices"`
}

const (
	maxManifest     = 4 << 20
	maxReleaseLinks = 50
)

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	var want int64
	if q := r.URL.Query().Get("release"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n <= 0 {
			s.fail(w, r, http.StatusBadRequest, fmt.Errorf("bad release %q (want a positive number)", oneLine(q)))
			return
		}
		want = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.StoreTimeout)
	defer cancel()
	v, status, err := s.modelsView(ctx, want)
	if err != nil {
		s.fail(w, r, status, err)
		return
	}
	s.writeJSON(w, http.StatusOK, v)
}

func (s *Server) modelsView(ctx context.Context, want int64) (*ModelsView, int, error) {
	v := &ModelsView{Releases: []int64{}, Arepas: []ArepaModel{}, Notices: []string{}}
	keys, err := s.store.List(ctx, release.ReleasesPrefix)
	if err != nil {
		return nil, storeStatus(err), err
	}
	for _, k := range keys {
		if n, ok := release.ParseManifestKey(k); ok {
			v.Releases = append(v.Releases, n)
		}
	}
	slices.Sort(v.Releases)
	slices.Reverse(v.Releases)
	cur, err := s.currentRelease(ctx)
	if err != nil {
		v.Notices = append(v.Notices, oneLine(err.Error()))
	}
	v.Current = cur
	all := v.Releases
	v.Releases = v.Releases[:min(len(v.Releases), maxReleaseLinks)]

	switch {
	case want > 0:
		if !slices.Contains(all, want) {
			return nil, http.StatusNotFound, fmt.Errorf("release %d does not exist", want)
		}
		v.Release = want
	case cur > 0:
		v.Release = cur
	case len(all) > 0:
		v.Release = all[0]
		v.Notices = append(v.Notices, fmt.Sprintf("%s is missing; showing the newest release, %d", release.CurrentKey, all[0]))
	default:
		return v, 0, nil // no release yet
	}

	// The dashboard shows releases, it does not trust them: no signature
	// or expiry check, and no model file read here.
	key := release.ManifestKey(v.Release)
	l, err := release.Load(ctx, s.store, release.Published(v.Release), release.LoadOptions{
		Policy: release.Policy{Release: v.Release}, Arepas: []string{}, MaxManifestBytes: maxManifest})
	switch {
	case isNotFound(err):
		return nil, http.StatusNotFound, fmt.Errorf("release %d: %s is missing", v.Release, key)
	case release.IsRefusal(err):
		return nil, http.StatusBadGateway, fmt.Errorf("%s: %w", key, err)
	case err != nil:
		return nil, storeStatus(err), err
	}
	m := l.Manifest
	v.Created, v.Expires, v.Phase, v.Note = &m.Created, &m.Expires, m.Phase, m.Note
	v.Expired = !s.opt.Now().Before(m.Expires)

	arepas := m.Arepas()
	v.Arepas = make([]ArepaModel, len(arepas))
	s.parallel(len(arepas), func(i int) {
		v.Arepas[i] = s.arepaModel(ctx, m.Release, arepas[i], m.Models[arepas[i]])
	})
	return v, 0, nil
}

func (s *Server) arepaModel(ctx context.Context, rel int64, arepa string, e release.Entry) ArepaModel {
	am := ArepaModel{Arepa: arepa, Technique: e.Technique, Trained: e.Trained, Threshold: e.Threshold,
		Key: e.Key, SHA256: e.SHA256, Size: e.Size, Holdout: map[string]*float64{}}
	for _, name := range metricNames {
		if x, ok := e.Holdout[name]; ok {
			am.Holdout[name] = &x
		}
	}
	cardKey := e.Card
	if cardKey == "" {
		cardKey = path.Dir(e.Key) + "/card.json"
	}
	if !strings.HasPrefix(cardKey, "models/") || strings.Contains(cardKey, "..") {
		am.CardError = fmt.Sprintf("card key %q is outside models/", oneLine(cardKey))
		return am
	}
	b, err := s.store.Get(ctx, cardKey, maxCard)
	if err != nil {
		if isNotFound(err) {
			am.CardError = cardKey + " is missing"
		} else {
			am.CardError = oneLine(err.Error())
		}
		return am
	}
	c, err := ParseCard(b)
	if err != nil {
		am.CardError = oneLine(fmt.Sprintf("%s: %v", cardKey, err))
		return am
	}
	// A model trained for this release is the card's best challenger; an
	// older one is the current model the card compared against.
	cardRel := c.Release
	if cardRel == 0 {
		cardRel = rel
	}
	c.markPublished(e.Trained == 0 || e.Trained == cardRel)
	am.Card = c
	return am
}

// parallel runs f(0..n-1) with at most Options.Concurrency at once.
func (s *Server) parallel(n int, f func(i int)) {
	sem := make(chan struct{}, s.opt.Concurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}
