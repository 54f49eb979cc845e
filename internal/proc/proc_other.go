//go:build !linux

package proc

import (
	"os"
	"syscall"
)

// SysProcAttr: outside Linux there is no Pdeathsig; a child process may outlive
// a test binary that is killed outright. The e2e suite targets Linux.
func SysProcAttr() *syscall.SysProcAttr { return nil }

// SignalGroup signals Jaeger process itself (no process group here).
func SignalGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}
