package record

// NumberLen returns the length of the JSON number at the start of p, or 0 if
// p does not start with one. It follows the JSON grammar strictly (no "+1",
// "01", "1.", ".5" or "1e"), which strconv.ParseFloat alone does not; the
// agent's fast decoders check number tokens with it.
func NumberLen(p []byte) int {
	i := 0
	if i < len(p) && p[i] == '-' {
		i++
	}
	switch {
	case i < len(p) && p[i] == '0':
		i++
	case i < len(p) && p[i] >= '1' && p[i] <= '9':
		i = digits(p, i)
	default:
		return 0
	}
	if i < len(p) && p[i] == '.' {
		d := digits(p, i+1)
		if d == i+1 {
			return 0
		}
		i = d
	}
	if i < len(p) && (p[i] == 'e' || p[i] == 'E') {
		i++
		if i < len(p) && (p[i] == '+' || p[i] == '-') {
			i++
		}
		d := digits(p, i)
		if d == i {
			return 0
		}
		i = d
	}
	return i
}

// digits returns the index after the run of ASCII digits starting at i.
func digits(p []byte, i int) int {
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	return i
}
