package dashboard

import (
	"testing"

	"github.com/budare/budare/internal/action"
)

func TestHasRisk(t *testing.T) {
	for _, tc := range []struct {
		level string
		want  bool
	}{
		{action.LevelNone, true}, {action.LevelInspect, true}, {action.LevelService, true}, {action.LevelStop, true},
		{action.LevelUnknown, false}, {"", false},
		{"drain", true}, // outside the contract: the risk the agent wrote is shown
	} {
		if got := hasRisk(Action{Level: tc.level, Risk: 0.3}); got != tc.want {
			t.Errorf("hasRisk(level %q) = %v, want %v", tc.level, got, tc.want)
		}
	}
}
