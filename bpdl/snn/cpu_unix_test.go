//go:build unix

package snn

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used so far (user and system), for benchmarks on shared
// machines, where wall time depends on the other jobs.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
