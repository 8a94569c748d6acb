package resilience

import (
	"os/exec"
	"syscall"
)

// orphanGuard makes the kernel kill a host process whose parent dies, so a
// crash loop stopped half-way leaves no host listening behind it.
func orphanGuard(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
