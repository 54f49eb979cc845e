package store

import (
	"errors"
	"strings"

	"modernc.org/sqlite"
)

// ErrNotFound is returned when a task does not exist.
var ErrNotFound = errors.New("not found")

// ErrNotClaimed is returned when a step is completed or failed by an instance
// that does not hold its claim (it is not InProgress under that instance).
var ErrNotClaimed = errors.New("step is not claimed by this instance")

// sqlite primary result codes used for retry decisions.
const (
	codeBusy   = 5
	codeLocked = 6
)

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED (including the
// extended codes), the errors worth retrying after busy_timeout ran out.
func isBusy(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == codeBusy || c == codeLocked
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}
