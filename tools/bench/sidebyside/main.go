// Command sidebyside runs make bench's side-by-side measurements alone: the
// seed's design on a moto of its own, memo on its twin, and the twin's
// write ceiling, over the same ops, in that order, -runs times. It prints
// each run's rates, so that a change to the twin can be measured in pairs
// minutes apart without the whole bench:
//
//	go run ./tools/bench/sidebyside -runs 2
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/memohq/memo/tools/bench/measure"
)

func main() {
	ops := flag.Int("ops", 2000, "ops of each run")
	runs := flag.Int("runs", 1, "how many times to run the three measurements")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	for i := 0; i < *runs; i++ {
		seed, err := measure.RunSeed(ctx, *ops, io.Discard)
		if err != nil {
			fail(err)
		}
		memo, err := measure.RunTwin(ctx, measure.Memo, *ops, io.Discard)
		if err != nil {
			fail(err)
		}
		ceiling, err := measure.RunCeiling(ctx, *ops, 4, io.Discard)
		if err != nil {
			fail(err)
		}
		fmt.Printf("seed %.1f ops/s  memo %.1f ops/s  ceiling %.1f writes/s  memo/seed %.2fx  ceiling/seed %.2fx\n",
			seed.Rate(), memo.Rate(), ceiling.Rate(), memo.Rate()/seed.Rate(), ceiling.Rate()/seed.Rate())
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sidebyside:", err)
	os.Exit(1)
}
