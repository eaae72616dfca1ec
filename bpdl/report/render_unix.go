//go:build unix

package report

import (
	"os/exec"
	"syscall"
)

// detach runs cmd in a process group of its own and, when its context ends, kills the whole group: the
// browser's helper processes as well as the browser. The returned function kills what is left of the group
// once cmd has ended.
func detach(cmd *exec.Cmd) (cleanup func()) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return func() {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // ESRCH when the group is gone
		}
	}
}
