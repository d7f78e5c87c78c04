//go:build !linux

package eval

import "time"

// cpuTimeOf falls back to wall time where RUSAGE_THREAD is not available.
func cpuTimeOf(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}
