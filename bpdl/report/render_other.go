//go:build !unix

package report

import "os/exec"

// detach leaves cmd as it is: its context ending kills the browser process only.
func detach(cmd *exec.Cmd) (cleanup func()) { return func() {} }
