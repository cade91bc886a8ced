//go:build !linux

package api

import (
	"os"
	"syscall"
)

// childSysProcAttr: outside Linux there is no parent-death signal; the server still
// stops its children on shutdown.
func childSysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup signals the child.
func signalGroup(p *os.Process, sig syscall.Signal) {
	if sig == syscall.SIGKILL {
		_ = p.Kill()
		return
	}
	_ = p.Signal(sig)
}
