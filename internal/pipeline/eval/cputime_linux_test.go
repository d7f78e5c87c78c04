package eval

import (
	"runtime"
	"syscall"
	"time"
)

// cpuTimeOf runs f on a locked OS thread and returns the CPU time that thread
// spent in it. The evaluator's time bounds are about its own work, and wall
// time is not: on this 2-core machine at load 40, an input that takes tens of
// milliseconds alone took 4.5 s of wall time. A thread's CPU time does not
// grow with the load (getrusage(2), RUSAGE_THREAD).
func cpuTimeOf(f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadCPU()
	f()
	return threadCPU() - before
}

// rusageThread is RUSAGE_THREAD (Linux 2.6.26+), which package syscall
// does not name.
const rusageThread = 1

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
