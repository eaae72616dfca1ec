//go:build !unix

package metric

import "time"

// cpuTime is not available on this platform.
func cpuTime() time.Duration { return 0 }

// peakRSS is not available on this platform.
func peakRSS() int64 { return 0 }
