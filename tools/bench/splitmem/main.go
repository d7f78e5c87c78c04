// Command splitmem splits one generated batch of N ops with the production
// splitter against an in-memory queue and prints, as JSON, the peak memory
// of its own process (tools/bench/measure/splitmem). `make bench` builds it and
// runs it once per size, so that each figure is a fresh process's:
//
//	go run ./tools/bench/splitmem 1000000
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/memohq/memo/tools/bench/measure/splitmem"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: splitmem OPS")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "splitmem: OPS must be a positive integer")
		os.Exit(2)
	}
	m, err := splitmem.Measure(n)
	if err == nil {
		err = json.NewEncoder(os.Stdout).Encode(m)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "splitmem:", err)
		os.Exit(1)
	}
}
