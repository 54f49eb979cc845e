//go:build !linux

package jaegerbin

import (
	"os"
	"syscall"
)

// sysProcAttr: outside Linux there is no Pdeathsig; a Jaeger process may outlive
// a test binary that is killed outright. The e2e suite targets Linux.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup signals Jaeger process itself (no process group here).
func signalGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}
