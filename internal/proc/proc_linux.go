package proc

import "syscall"

// SysProcAttr puts a child in its own process group, so a terminal's
// Ctrl-C reaches the test binary (which then stops the child in order)
// rather than both at once, and asks the kernel to SIGKILL it when the test
// binary dies, so a crashed or killed test never leaves a child process holding
// ports.
//
// Pdeathsig is tied to the OS thread that started the child, not the
// process; the Go runtime only retires a thread when a goroutine exits while
// locked to it, which this package never does.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// SignalGroup sends sig to a child's process group (see SysProcAttr).
func SignalGroup(pid int, sig syscall.Signal) error {
	return syscall.Kill(-pid, sig)
}
