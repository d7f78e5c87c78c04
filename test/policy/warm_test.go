package policy

// The results table's warm throughput (warm_throughput): off by default;
// when set, on the table (which has no index); refused below what
// a new on-demand table already has (AWS never lowers warm throughput:
// docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html).

import (
	"strings"
)

// warmWrites is what testdata/features-on.tfvars sets.
const warmReads, warmWrites = 12000, 25000

// warm is a warm_throughput block's values, or ok=false when there is none.
func warm(v any) (reads, writes float64, ok bool) {
	l := getList(v, "warm_throughput")
	if len(l) != 1 {
		return 0, 0, false
	}
	r, rok := getNum(l[0], "read_units_per_second")
	w, wok := getNum(l[0], "write_units_per_second")
	return r, w, rok && wok
}

func checkWarmThroughput(_ *Config, ps plans) []string {
	var p problems
	const addr = "aws_dynamodb_table.results"
	for _, pl := range ps.ok(&p, "default") {
		t := pl.resource(&p, addr)
		if t == nil {
			continue
		}
		if r, w, ok := warm(t); ok {
			p.add("plan default: the results table is pre-warmed (%v reads, %v writes a second): warm_throughput must be off by default (AWS charges for it)", r, w)
		}
	}
	for _, pl := range ps.ok(&p, "features") {
		t := pl.resource(&p, addr)
		if t == nil {
			continue
		}
		if r, w, ok := warm(t); !ok || r != warmReads || w != warmWrites {
			p.add("plan features: the results table's warm_throughput is %v, want %d reads and %d writes a second", get(t, "warm_throughput"), warmReads, warmWrites)
		}
	}
	if err, present := ps.failed(&p, "warm-too-low"); present {
		switch {
		case err == nil:
			p.add("plan warm-too-low succeeds: warm_throughput below a new on-demand table's 4,000 writes a second must fail the plan")
		case !strings.Contains(errText(err), "warm_throughput needs whole numbers"):
			p.add("plan warm-too-low fails for another reason than warm_throughput's validation: %v", err)
		}
	}
	return p
}
