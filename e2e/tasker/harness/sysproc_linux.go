//go:build linux

package harness

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group and has the kernel
// SIGKILL it if the test binary dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// kill SIGKILLs the child's whole process group.
func kill(p *os.Process) error {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		return p.Kill()
	}
	return nil
}
