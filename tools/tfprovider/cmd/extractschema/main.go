// Command extractschema writes the schema of hashicorp/aws, read from an
// unpacked @cdktf/provider-aws npm package, as the JSON the stand-in
// provider serves.
//
//	extractschema -pkg DIR -o schema.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/memohq/memo/tools/tfprovider/schema"
)

func main() {
	pkg := flag.String("pkg", "", "unpacked npm package folder (holds package.json and lib/)")
	out := flag.String("o", "schema.json", "output file")
	flag.Parse()
	if *pkg == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: extractschema -pkg DIR [-o schema.json]")
		os.Exit(2)
	}
	p, err := schema.Extract(*pkg)
	if err == nil {
		err = schema.Write(p, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "extractschema:", err)
		os.Exit(1)
	}
	fmt.Printf("hashicorp/aws %s: %d resources, %d data sources -> %s\n", p.Version, len(p.Resources), len(p.DataSources), *out)
}
