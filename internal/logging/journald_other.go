//go:build !unix

package logging

import "io"

// UnderJournald is always false where there is no journald.
func UnderJournald(string, io.Writer) bool { return false }
