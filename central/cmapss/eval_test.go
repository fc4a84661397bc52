package cmapss

import (
	"context"
	"testing"
)

func TestEvalFD001(t *testing.T) {
	res, err := Run(context.Background(), Options{Dir: "testdata", Subset: "FD001"})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Summary())
	if res.F1 < 0.90 || res.AUC < 0.98 {
		t.Errorf("FD001 f1 %.3f auc %.3f, want >= 0.90 and >= 0.98", res.F1, res.AUC)
	}
}
