package score

import (
	"encoding/json"

	"github.com/budare/budare/internal/model"
)

// JSON has no NaN: an undefined figure is written as null and read back as
// NaN, as model.Metrics does. Each type shadows its float fields with
// pointers in an outer struct, whose fields win over the embedded ones.

type summaryPlain Summary

type summaryJSON struct {
	summaryPlain
	PRAUC  *float64 `json:"pr_auc"`
	ROCAUC *float64 `json:"roc_auc"`
}

// MarshalJSON writes null for an undefined AUC.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(summaryJSON{summaryPlain(s), model.Nullable(s.PRAUC), model.Nullable(s.ROCAUC)})
}

// UnmarshalJSON reads what MarshalJSON writes; null becomes NaN.
func (s *Summary) UnmarshalJSON(b []byte) error {
	var j summaryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Summary(j.summaryPlain)
	s.PRAUC, s.ROCAUC = model.FromNullable(j.PRAUC), model.FromNullable(j.ROCAUC)
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
	return json.Marshal(thresholdJSON{thresholdPlain(t), model.Nullable(t.Precision), model.Nullable(t.Recall), model.Nullable(t.F1),
		model.Nullable(t.FalseAlarmsPer100), model.Nullable(t.FailureRecall), model.Nullable(t.LeadMedianDays), model.Nullable(t.LeadMeanDays)})
}

// UnmarshalJSON reads what MarshalJSON writes; null becomes NaN.
func (t *Threshold) UnmarshalJSON(b []byte) error {
	var j thresholdJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Threshold(j.thresholdPlain)
	t.Precision, t.Recall, t.F1 = model.FromNullable(j.Precision), model.FromNullable(j.Recall), model.FromNullable(j.F1)
	t.FalseAlarmsPer100, t.FailureRecall = model.FromNullable(j.FalseAlarmsPer100), model.FromNullable(j.FailureRecall)
	t.LeadMedianDays, t.LeadMeanDays = model.FromNullable(j.LeadMedianDays), model.FromNullable(j.LeadMeanDays)
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
	return json.Marshal(recallJSON{recallPlain(r), model.Nullable(r.RecallService), model.Nullable(r.RecallInspect)})
}

// UnmarshalJSON reads what MarshalJSON writes; null becomes NaN.
func (r *Recall) UnmarshalJSON(b []byte) error {
	var j recallJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Recall(j.recallPlain)
	r.RecallService, r.RecallInspect = model.FromNullable(j.RecallService), model.FromNullable(j.RecallInspect)
	return nil
}
