//go:build unix

package harness

import (
	"errors"
	"syscall"
)

// alive reports whether a process (or process group, for negative pids)
// still exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
