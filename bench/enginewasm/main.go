// Command enginewasm times the CORS engine alone (package filter, no ABI
// layer, no host) on the allowed preflight of the benchmarks: Reset,
// AddHeaders, Evaluate and LocalResponse in a loop, and prints ns per
// request. Built natively and as Wasm, it shows what Go's Wasm code costs
// the engine (BENCHMARKS.md, issue 14):
//
//	go run ./bench/enginewasm
//	GOOS=wasip1 GOARCH=wasm go build -o engine.wasm ./bench/enginewasm
//	go run ./cmd/postlink engine.wasm   # as make build treats plugin.wasm
//	go run github.com/tetratelabs/wazero/cmd/wazero run engine.wasm
//	node --no-warnings bench/enginewasm/run.mjs engine.wasm   # V8
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/corswasm/corswasm/filter"
	"github.com/corswasm/corswasm/internal/testmodule"
)

func main() {
	cfg, err := filter.Parse([]byte(testmodule.BenchPolicy))
	if err != nil {
		fmt.Fprintln(os.Stderr, "enginewasm:", err)
		os.Exit(1)
	}
	lines := [][2]string{
		{":method", "OPTIONS"}, {":authority", "api.example.com"}, {":path", "/things"},
		{"origin", "https://app.example.com"}, {"access-control-request-method", "PUT"},
		{"access-control-request-headers", "content-type,authorization"},
	}
	var r filter.Request
	r.RequestHeaders = make([]string, 0, 4)
	out := make([][2]string, 0, 16)
	run := func(n int) time.Duration {
		start := time.Now()
		for range n {
			r.Reset()
			r.AddHeaders(lines)
			d := cfg.Evaluate(&r)
			if _, out, _ = d.LocalResponse(out[:0]); !d.Allowed {
				fmt.Fprintln(os.Stderr, "enginewasm: the preflight was denied")
				os.Exit(1)
			}
		}
		return time.Since(start)
	}
	run(10_000) // warm up
	const n = 200_000
	fmt.Printf("allowed preflight through the engine: %.0f ns per request\n", float64(run(n).Nanoseconds())/n)
}
