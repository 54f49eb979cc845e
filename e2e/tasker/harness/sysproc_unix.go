//go:build unix && !linux

package harness

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group (no Pdeathsig outside
// Linux: Stop must run).
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

func kill(p *os.Process) error {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		return p.Kill()
	}
	return nil
}
