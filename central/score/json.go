package score

import (
	"encoding/json"
	"math"
)

// JSON has no NaN: an undefined figure is written as null and read back as
// NaN, as model.Metrics does. Each type shadows its float fields with
// pointers in an outer struct, whose fields win over the embedded ones.

func nullable(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func fromNullable(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

type summaryPlain Summary

type summaryJSON struct {
	summaryPlain
	PRAUC  *float64 `json:"pr_auc"`
	ROCAUC *float64 `json:"roc_auc"`
}

// MarshalJSON writes null for an undefined AUC.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(summaryJSON{summaryPlain(s), nullable(s.PRAUC), nullable(s.ROCAUC)})
}

// UnmarshalJSON reads what MarshalJSON writes; null becomes NaN.
func (s *Summary) UnmarshalJSON(b []byte) error {
	var j summaryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Summary(j.summaryPlain)
	s.PRAUC, s.ROCAUC = fromNullable(j.PRAUC), fromNullable(j.ROCAUC)
	return nil
}

type thresholdPlain Threshold

type thresholdJSON struct {
	thresholdPlain
	Precision         *float64 `json:"precision"`
	Recall            *float64 `json:"recall"`
	F1                *float64 `json:"f1"`
	FalseAlarmsPer100 *float64 `json:"false_alarms_per_100"`
	FailureRecall     *float64 `json:"failure_recall"`
	LeadMedianDays    *float64 `json:"lead_median_days"`
	LeadMeanDays      *float64 `json:"lead_mean_days"`
}

// MarshalJSON writes null for an undefined ratio or lead time.
func (t Threshold) MarshalJSON() ([]byte, error) {
	return json.Marshal(thresholdJSON{thresholdPlain(t), nullable(t.Precision), nullable(t.Recall), nullable(t.F1),
		nullable(t.FalseAlarmsPer100), nullable(t.FailureRecall), nullable(t.LeadMedianDays), nullable(t.LeadMeanDays)})
}

// UnmarshalJSON reads what MarshalJSON writes; null becomes NaN.
func (t *Threshold) UnmarshalJSON(b []byte) error {
	var j thresholdJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Threshold(j.thresholdPlain)
	t.Precision, t.Recall, t.F1 = fromNullable(j.Precision), fromNullable(j.Recall), fromNullable(j.F1)
	t.FalseAlarmsPer100, t.FailureRecall = fromNullable(j.FalseAlarmsPer100), fromNullable(j.FailureRecall)
	t.LeadMedianDays, t.LeadMeanDays = fromNullable(j.LeadMedianDays), fromNullable(j.LeadMeanDays)
	return nil
}

type recallPlain Recall

type recallJSON struct {
	recallPlain
	RecallService *float64 `json:"recall_service"`
	RecallInspect *float64 `json:"recall_inspect"`
}

// MarshalJSON writes null for an undefined recall.
func (r Recall) MarshalJSON() ([]byte, error) {
	return json.Marshal(recallJSON{recallPlain(r), nullable(r.RecallService), nullable(r.RecallInspect)})
}

// UnmarshalJSON reads what MarshalJSON writes; null becomes NaN.
func (r *Recall) UnmarshalJSON(b []byte) error {
	var j recallJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Recall(j.recallPlain)
	r.RecallService, r.RecallInspect = fromNullable(j.RecallService), fromNullable(j.RecallInspect)
	return nil
}
