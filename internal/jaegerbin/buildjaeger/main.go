// Command buildjaeger builds (or finds in the cache) the Jaeger v2 binary the
// tests run, and prints its path: CI runs it once before go test so that no
// test spends its timeout on a cold build.
//
//	go run ./internal/jaegerbin/buildjaeger
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/traceproof/traceproof/internal/jaegerbin"
)

func main() {
	info, err := jaegerbin.Build(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	how := "cached"
	if info.Built {
		how = "built"
	}
	fmt.Fprintf(os.Stderr, "jaeger %s %s in %s\n", jaegerbin.Version, how, info.Took.Round(1e6))
	fmt.Println(info.Path)
}
