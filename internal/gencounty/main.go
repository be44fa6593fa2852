// Command gencounty writes the sample county of testdata/county: 云溪县, an
// invented county modelled on the seed (a county justice bureau's summary of
// the first half of 2018 of its 一村一法律顾问 programme). Its villages,
// advisers, assignments and activity records for 2018-01-01..2018-06-30 add up
// exactly to the seed's figures, and a few villages and advisers are
// deliberately under-served so that inspections have something to find
// (testdata/county/README.md lists them).
//
// The output is a deterministic function of the seed below: run
//
//	go run ./internal/gencounty -o testdata/county
//
// from the module root and the committed files do not change. The package's
// test regenerates the files and checks them against the committed ones and
// against the invariants the rest of ducha relies on.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("o", "testdata/county", "folder to write the CSV files into")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gencounty [-o DIR]")
		os.Exit(2)
	}
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gencounty:", err)
		os.Exit(1)
	}
}
