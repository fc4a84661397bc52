package score

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
)

// WriteTable writes r for people: the chain and every kitchen's machine-day
// figures, both thresholds, and the chain's failure recall per code and
// group. An undefined figure is "-".
func WriteTable(w io.Writer, r Report) error {
	kitchens := slices.Sorted(maps.Keys(r.Kitchens))
	type scope struct {
		name string
		s    Summary
	}
	scopes := []scope{{"chain", r.Chain}}
	for _, k := range kitchens {
		scopes = append(scopes, scope{k, r.Kitchens[k]})
	}
	c := r.Chain
	fmt.Fprintf(w, "scorecard %s..%s: %d machine-days (%d unknown, %d positive), horizon %d days, %d failures (%d outside the period)\n",
		r.From, r.To, c.MachineDays, c.Unknown, c.Positive, r.HorizonDays, c.Failures, c.FailuresOutside)
	if s := r.Sources; s != nil {
		fmt.Fprintf(w, "read %d day files (%d damaged, skipped) and %d windows (%d missing) of %s\n",
			s.DayFiles, len(s.Damaged), s.Windows, s.WindowsMissing, s.Bucket)
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KITCHEN\tFROM\tTO\tMACHINE-DAYS\tUNKNOWN\tPOSITIVE\tPR-AUC\tROC-AUC\tFAILURES\tOUTSIDE")
	for _, sc := range scopes {
		s := sc.s
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%d\t%d\n", sc.name, s.From, s.To, s.MachineDays, s.Unknown,
			s.Positive, num(s.PRAUC, 3), num(s.ROCAUC, 3), s.Failures, s.FailuresOutside)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "KITCHEN\tLEVEL\tALARMS\tTRUE\tFALSE\tPRECISION\tRECALL\tF1\tFALSE/100\tWARNED\tFAIL-RECALL\tLEAD-MEDIAN\tLEAD-MEAN")
	for _, sc := range scopes {
		for _, l := range []struct {
			name string
			t    Threshold
		}{{"service+", sc.s.Service}, {"inspect+", sc.s.Inspect}} {
			t := l.t
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", sc.name, l.name, t.Alarms,
				t.TrueAlarms, t.FalseAlarms, num(t.Precision, 3), num(t.Recall, 3), num(t.F1, 3),
				num(t.FalseAlarmsPer100, 1), t.Warned, sc.s.Failures, num(t.FailureRecall, 3),
				num(t.LeadMedianDays, 1), num(t.LeadMeanDays, 1))
		}
	}
	for _, g := range []struct {
		head string
		rs   []Recall
	}{{"CODE", c.ByCode}, {"GROUP", c.ByGroup}} {
		if len(g.rs) == 0 {
			continue
		}
		fmt.Fprintln(tw)
		fmt.Fprintf(tw, "%s\tFAILURES\tWARNED-SERVICE+\tRECALL-SERVICE+\tWARNED-INSPECT+\tRECALL-INSPECT+\n", g.head)
		for _, x := range g.rs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%s\n", x.Name, x.Failures, x.WarnedService, num(x.RecallService, 3),
				x.WarnedInspect, num(x.RecallInspect, 3))
		}
	}
	return tw.Flush()
}

// num formats x with prec decimals, or "-" when it is undefined.
func num(x float64, prec int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}
