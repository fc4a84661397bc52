package dashboard

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

const (
	qualityReleases = 30 // releases on the quality chart
	maxReports      = 12 // backtest reports listed
	maxReport       = 16 << 20
	backtestPrefix  = "reports/backtest/"
)

// ArepaQuality is one arepa type on the quality page.
type ArepaQuality struct {
	Arepa     string
	History   *chart // holdout PR-AUC and ROC-AUC across releases
	PR        *chart // the current model's precision-recall curve
	Threshold float64
	Chosen    string
	CardError string
}

// ReportRow is one backtest report.
type ReportRow struct {
	Key      string
	From, To string
	Retrain  string
	Kitchens int
	Releases int
	Chain    reportSummary
	Error    string
}

type reportThreshold struct {
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
	Alarms    int      `json:"alarms"`
	FA100     *float64 `json:"false_alarms_per_100"`
}

type reportSummary struct {
	MachineDays int             `json:"machine_days"`
	Positive    int             `json:"positive"`
	PRAUC       *float64        `json:"pr_auc"`
	ROCAUC      *float64        `json:"roc_auc"`
	Service     reportThreshold `json:"service"`
	Inspect     reportThreshold `json:"inspect"`
	Failures    int             `json:"failures"`
}

type backtestReport struct {
	From     string            `json:"from"`
	To       string            `json:"to"`
	Retrain  string            `json:"retrain"`
	Kitchens []string          `json:"kitchens"`
	Releases []json.RawMessage `json:"releases"`
	Report   struct {
		Chain reportSummary `json:"chain"`
	} `json:"report"`
}

// QualityView is the model quality page.
type QualityView struct {
	Current int64
	Levels  *release.Levels
	Arepas  []ArepaQuality
	Reports []ReportRow
}

func (s *Server) handleQuality(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Model quality", Nav: "quality"}
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.StoreTimeout)
	defer cancel()
	v, err := s.qualityView(ctx, p)
	if err != nil {
		p.Error = oneLine(err.Error())
		s.render(w, storeStatus(err), "quality", p)
		return
	}
	p.Data = v
	s.render(w, http.StatusOK, "quality", p)
}

// cardCurve is the part of a model card the quality page draws.
type cardCurve struct {
	Chosen    string          `json:"chosen"`
	Threshold float64         `json:"threshold"`
	PRCurve   []model.PRPoint `json:"pr_curve"`
}

func (s *Server) qualityView(ctx context.Context, p *page) (*QualityView, error) {
	v := &QualityView{}
	infos, err := s.listing(ctx, release.ReleasesPrefix)
	if err != nil {
		return nil, err
	}
	var rels []int64
	for _, o := range infos {
		if n, ok := release.ParseManifestKey(o.Key); ok {
			rels = append(rels, n)
		}
	}
	slices.Sort(rels)
	rels = rels[max(0, len(rels)-qualityReleases):]
	if v.Current, err = s.currentRelease(ctx); err != nil {
		p.Notices = append(p.Notices, oneLine(err.Error()))
	}
	if v.Current == 0 && len(rels) > 0 {
		v.Current = rels[len(rels)-1]
	}
	mans := make([]*release.Manifest, len(rels))
	errs := make([]error, len(rels))
	s.parallel(len(rels), func(i int) { mans[i], errs[i] = s.manifest(ctx, rels[i]) })
	for _, err := range errs {
		if err != nil {
			p.Notices = append(p.Notices, oneLine(err.Error()))
		}
	}
	var cur *release.Manifest
	arepas := map[string]bool{}
	for i, m := range mans {
		if m == nil {
			continue
		}
		if rels[i] == v.Current {
			cur = m
		}
		for a := range m.Models {
			arepas[a] = true
		}
	}
	if cur != nil {
		v.Levels = cur.Levels
	}
	xt := make([]tick, 0, len(rels))
	step := max(1, len(rels)/8)
	for i := len(rels) - 1; i >= 0; i -= step {
		xt = append(xt, tick{At: float64(i), Label: strconv.FormatInt(rels[i], 10)})
	}
	names := make([]string, 0, len(arepas))
	for a := range arepas {
		names = append(names, a)
	}
	slices.Sort(names)
	v.Arepas = make([]ArepaQuality, len(names))
	s.parallel(len(names), func(j int) {
		a := names[j]
		aq := ArepaQuality{Arepa: a}
		aq.History = &chart{ID: "quality-" + a, Title: "Holdout quality of " + a + " by release", H: 180,
			Empty: "No release has holdout figures for " + a, XMin: -0.5, XMax: float64(len(rels)) - 0.5,
			YMin: 0, YMax: 1, XTicks: xt, YTicks: []tick{{0, "0"}, {0.5, ".5"}, {1, "1"}}}
		for _, metric := range []string{"pr_auc", "roc_auc"} {
			sr := chartSeries{Name: metric, Class: map[string]string{"pr_auc": "line", "roc_auc": "line2"}[metric], Dots: true}
			for i, m := range mans {
				if m == nil {
					continue
				}
				if x, ok := m.Models[a].Holdout[metric]; ok && !math.IsNaN(x) {
					sr.Points = append(sr.Points, chartPoint{X: float64(i), Y: x, Label: fmt.Sprintf("release %d %s %.3f", rels[i], metric, x)})
				}
			}
			aq.History.Series = append(aq.History.Series, sr)
		}
		aq.PR = &chart{ID: "pr-" + a, Title: "Precision-recall on the holdout, " + a, H: 200,
			Empty: "This model's card has no precision-recall curve (trained before cards stored one)",
			XMin:  0, XMax: 1, YMin: 0, YMax: 1,
			XTicks: []tick{{0, "0"}, {0.5, "recall .5"}, {1, "1"}}, YTicks: []tick{{0, "0"}, {0.5, ".5"}, {1, "1"}}}
		if cur != nil {
			if e, ok := cur.Models[a]; ok {
				s.prCurve(ctx, &aq, e)
			}
		}
		v.Arepas[j] = aq
	})
	v.Reports = s.reports(ctx, p)
	return v, nil
}

func (s *Server) prCurve(ctx context.Context, aq *ArepaQuality, e release.Entry) {
	key := cmp.Or(e.Card, path.Dir(e.Key)+"/card.json")
	if !strings.HasPrefix(key, "models/") || strings.Contains(key, "..") {
		aq.CardError = fmt.Sprintf("card key %q is outside models/", oneLine(key))
		return
	}
	c, err := cachedRead(ctx, s, "curve", objstore.Info{Key: key, ETag: "immutable"}, maxCard, func(b []byte) (cardCurve, error) {
		var c cardCurve
		err := json.Unmarshal(b, &c)
		return c, err
	})
	if err != nil {
		aq.CardError = oneLine(err.Error())
		return
	}
	aq.Threshold, aq.Chosen = c.Threshold, c.Chosen
	curve := chartSeries{Name: "precision-recall", Class: "line"}
	best := -1
	for i, pt := range c.PRCurve {
		if math.IsNaN(pt.Precision) || math.IsNaN(pt.Recall) {
			continue
		}
		curve.Points = append(curve.Points, chartPoint{X: pt.Recall, Y: pt.Precision,
			Label: fmt.Sprintf("threshold %.3f: precision %.2f, recall %.2f", pt.Threshold, pt.Precision, pt.Recall)})
		if pt.Threshold >= c.Threshold {
			best = i
		}
	}
	aq.PR.Series = []chartSeries{curve}
	if best >= 0 && len(curve.Points) > 0 {
		pt := c.PRCurve[best]
		aq.PR.Series = append(aq.PR.Series, chartSeries{Name: "chosen threshold", Class: "thr", Dots: true,
			Points: []chartPoint{{X: pt.Recall, Y: pt.Precision, Class: "thr",
				Label: fmt.Sprintf("chosen threshold %.3f: precision %.2f, recall %.2f", c.Threshold, pt.Precision, pt.Recall)}}})
	}
}

// reports reads the newest backtest reports.
func (s *Server) reports(ctx context.Context, p *page) []ReportRow {
	infos, err := s.listing(ctx, backtestPrefix)
	if err != nil {
		p.Notices = append(p.Notices, oneLine(err.Error()))
		return nil
	}
	infos = slices.Clone(infos)
	slices.SortFunc(infos, func(a, b objstore.Info) int { return b.Modified.Compare(a.Modified) })
	infos = infos[:min(len(infos), maxReports)]
	rows := make([]ReportRow, len(infos))
	s.parallel(len(infos), func(i int) {
		row := ReportRow{Key: infos[i].Key}
		rep, err := cachedRead(ctx, s, "report", infos[i], maxReport, func(b []byte) (backtestReport, error) {
			var r backtestReport
			err := json.Unmarshal(b, &r)
			return r, err
		})
		if err != nil {
			row.Error = oneLine(err.Error())
		} else {
			row.From, row.To, row.Retrain = rep.From, rep.To, rep.Retrain
			row.Kitchens, row.Releases, row.Chain = len(rep.Kitchens), len(rep.Releases), rep.Report.Chain
		}
		rows[i] = row
	})
	return rows
}
