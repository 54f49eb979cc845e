package jaegerbin

import "syscall"

// sysProcAttr puts Jaeger in its own process group, so a terminal's
// Ctrl-C reaches the test binary (which then stops Jaeger in order)
// rather than both at once, and asks the kernel to SIGKILL it when the test
// binary dies, so a crashed or killed test never leaves a Jaeger process holding
// ports.
//
// Pdeathsig is tied to the OS thread that started the child, not the
// process; the Go runtime only retires a thread when a goroutine exits while
// locked to it, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to Jaeger's process group (see sysProcAttr).
func signalGroup(pid int, sig syscall.Signal) error {
	return syscall.Kill(-pid, sig)
}
