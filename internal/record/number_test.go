package record

import "testing"

func TestNumberLen(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"0", 1}, {"-0", 2}, {"231.5", 5}, {"412,", 3}, {"1e9}", 3}, {"-1.5E+3 ", 7}, {"2.0e-2", 6},
		{"01", 1}, // a number "0" followed by something else: the caller rejects the rest
		{"", 0}, {"-", 0}, {"+1", 0}, {".5", 0}, {"1.", 0}, {"1.e3", 0}, {"1e", 0}, {"1e+", 0},
		{"NaN", 0}, {"Infinity", 0}, {"\"1\"", 0},
	}
	for _, tt := range tests {
		if got := NumberLen([]byte(tt.in)); got != tt.want {
			t.Errorf("NumberLen(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
