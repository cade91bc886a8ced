package api

import (
	"os"
	"syscall"
)

// childSysProcAttr puts the child in a process group of its own (the server signals
// the group) and has the kernel send it SIGTERM should the server die without
// stopping it.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// signalGroup signals the child's process group, or the child alone when the
// group is gone.
func signalGroup(p *os.Process, sig syscall.Signal) {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		_ = p.Signal(sig)
	}
}
