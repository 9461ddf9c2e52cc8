//go:build !wasip1

package bench

import (
	"context"
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmhost"
)

var (
	footprint         = flag.Bool("footprint", true, "run BenchmarkModule/footprint")
	footprintRequests = flag.Int("footprint.requests", 1_000_000, "requests of the footprint's long run, the first 1,000 included")
	footprintTime     = flag.Duration("footprint.time", 60*time.Second, "stop the footprint's long run after this long, whatever -footprint.requests says")
)

// warmRequests is where the footprint's memory is expected to be flat: the
// budget is "linear memory flat after the first thousand requests".
const warmRequests = 1000

// startVM starts a VM of the module with the shared compilation cache and a
// plugin with the configuration, and closes the VM when the test ends.
func startVM(tb testing.TB, wasm []byte, config string) (*wasmhost.VM, *wasmhost.Plugin) {
	tb.Helper()
	vm, err := wasmhost.New(context.Background(), wasm, wasmhost.Options{Cache: testmodule.Cache(), LogLevel: wasmhost.LogInfo})
	if err != nil {
		tb.Fatalf("wasmhost.New: %v", err)
	}
	tb.Cleanup(func() {
		if err := vm.Close(context.Background()); err != nil && !errors.Is(err, wasmhost.ErrFailed) {
			tb.Errorf("Close: %v", err)
		}
	})
	p, err := vm.StartPlugin([]byte(config))
	if err != nil {
		tb.Fatalf("StartPlugin: %v", err)
	}
	return vm, p
}

// checkPlugin fails unless the plugin did what the scenario expects of it.
func checkPlugin(tb testing.TB, s scenario, x *wasmhost.Exchange) {
	tb.Helper()
	status := 0
	if x.LocalReply != nil {
		status = x.LocalReply.Status
	}
	acao, _ := x.Response.Get("access-control-allow-origin")
	if status != s.wantLocal || acao != s.wantACAO {
		tb.Fatalf("%s: local reply %d, access-control-allow-origin %q; want %d, %q (response: %v)",
			s.name, status, acao, s.wantLocal, s.wantACAO, x.Response)
	}
}

// TestModules checks that both modules load and that every scenario does
// what the benchmarks claim it does; with -v it lists the plugin's host
// calls for each scenario.
func TestModules(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			vm, p := startVM(t, pluginWasm(t), s.policy())
			vm.ResetCalls()
			x, err := p.Do(s.request, upstream)
			if err != nil {
				t.Fatalf("plugin: %v", err)
			}
			checkPlugin(t, s, x)
			if err := vm.Err(); err != nil {
				t.Fatalf("plugin VM: %v", err)
			}
			t.Logf("plugin host calls: %v", vm.Calls())

			vm, p = startVM(t, floorWasm(t), s.policy())
			vm.ResetCalls()
			if x, err = p.Do(s.request, upstream); err != nil {
				t.Fatalf("floor: %v", err)
			}
			if x.LocalReply != nil || x.RequestAction != wasmhost.Continue {
				t.Errorf("floor: local reply %v, action %v; want none, Continue", x.LocalReply, x.RequestAction)
			}
			c := vm.Calls()
			if got := c.Request["proxy_get_header_map_value"]; got != 1 || c.Proxy() != 1 {
				t.Errorf("floor made %v; want proxy_get_header_map_value once and nothing else", c)
			}
			if s.name != bareFloorScenario {
				return
			}
			// The bare floor makes the plugin's host calls of this exchange
			// and adds the plugin's vary line.
			vm, p = startVM(t, bareFloorWasm(t), s.policy())
			vm.ResetCalls()
			if x, err = p.Do(s.request, upstream); err != nil {
				t.Fatalf("bare floor: %v", err)
			}
			bare := vm.Calls()
			if bare.Request["proxy_get_header_map_value"] != 1 || bare.Response["proxy_add_header_map_value"] != 1 || bare.Proxy() != 2 {
				t.Errorf("bare floor made %v; want one origin read and one added line", bare)
			}
			if v, _ := x.Response.Get("vary"); v != "origin" {
				t.Errorf("bare floor's response vary %q, want origin", v)
			}
		})
	}
}

// bareFloorScenario is the exchange whose host calls the bare Go floor
// (bench/barefloor) makes.
const bareFloorScenario = "no origin"

// BenchmarkModule runs every scenario through the plugin, the floor module
// and the scenario's call-matched floor (callfloor_test.go), one after the
// other, and the request without Origin through the bare Go floor too;
// then the plugin's footprint.
func BenchmarkModule(b *testing.B) {
	for _, s := range scenarios {
		b.Run(s.name, func(b *testing.B) {
			b.Run("plugin", func(b *testing.B) { benchExchange(b, pluginWasm(b), s, true) })
			b.Run("floor", func(b *testing.B) { benchExchange(b, floorWasm(b), s, false) })
			b.Run("callfloor", func(b *testing.B) { benchExchange(b, callFloorOf(b, s).wasm, s, false) })
			if s.name == bareFloorScenario {
				b.Run("barefloor", func(b *testing.B) { benchExchange(b, bareFloorWasm(b), s, false) })
			}
		})
	}
	if *footprint {
		b.Run("footprint", func(b *testing.B) {
			b.Run("plugin", benchFootprint)
		})
	}
}

// benchExchange measures one full exchange per iteration: a new stream,
// proxy_on_request_headers, proxy_on_response_headers with the upstream's
// response (or with the local reply, as Envoy runs a local reply through
// the filter), then proxy_on_log, proxy_on_done and proxy_on_delete.
//
// It reports the host calls per exchange: proxy-wasm calls made during
// the request-headers callback (hostcalls-req/op), during the
// response-headers callback (hostcalls-resp/op), and in all, stream
// creation and end included (hostcalls/op); and the WASI calls, mostly the
// Go runtime reading the clock (wasi-calls/op). Allocations are the host's
// (wazero and wasmhost), not the module's.
func benchExchange(b *testing.B, wasm []byte, s scenario, isPlugin bool) {
	vm, p := startVM(b, wasm, s.policy())
	x, err := p.Do(s.request, upstream)
	if err != nil {
		b.Fatal(err)
	}
	if isPlugin {
		checkPlugin(b, s, x)
	}
	for range warmRequests {
		if _, err := p.Do(s.request, upstream); err != nil {
			b.Fatal(err)
		}
	}
	vm.ResetCalls()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := p.Do(s.request, upstream); err != nil {
			b.Fatal(err)
		}
		n++
	}
	c := vm.Calls()
	wasi := c.Request.Total() + c.Response.Total() + c.Other.Total() - c.Proxy()
	perOp := func(v int) float64 { return float64(v) / float64(n) }
	b.ReportMetric(perOp(c.Request.Proxy()), "hostcalls-req/op")
	b.ReportMetric(perOp(c.Response.Proxy()), "hostcalls-resp/op")
	b.ReportMetric(perOp(c.Proxy()), "hostcalls/op")
	b.ReportMetric(perOp(wasi), "wasi-calls/op")
	if err := vm.Err(); err != nil {
		b.Fatal(err)
	}
}

// benchFootprint measures, once per run (it ignores b.N): the module's
// size; compiling it without a cache, instantiating it (_initialize) and
// starting two plugins (the small and the large policy); linear memory
// after that, after 1,000 requests and after the long run. The requests
// cycle through every scenario. The long run stops at -footprint.requests
// or after -footprint.time, whichever comes first; "requests" reports how
// many ran, and "mem-grew-at" the request after which linear memory last
// grew (0: never). soak-ns/req is the long run's time per request.
func benchFootprint(b *testing.B) {
	ctx := context.Background()
	start := time.Now()
	vm, err := wasmhost.New(ctx, pluginWasm(b), wasmhost.Options{LogLevel: wasmhost.LogInfo}) // no cache: compilation is measured
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Close(ctx)
	small, err := vm.StartPlugin([]byte(smallPolicy))
	if err != nil {
		b.Fatal(err)
	}
	large, err := vm.StartPlugin([]byte(largePolicy()))
	if err != nil {
		b.Fatal(err)
	}
	startup := time.Since(start)
	memStart := vm.MemorySize()

	total := max(*footprintRequests, warmRequests)
	deadline := time.Now().Add(*footprintTime)
	var memWarm uint32
	mem, grewAt := memStart, 0
	n := 0
	soakStart := time.Now()
	for n < total {
		s := scenarios[n%len(scenarios)]
		p := small
		if s.large {
			p = large
		}
		if _, err := p.Do(s.request, upstream); err != nil {
			b.Fatalf("request %d (%s): %v", n+1, s.name, err)
		}
		n++
		if m := vm.MemorySize(); m != mem {
			mem, grewAt = m, n
		}
		if n == warmRequests {
			memWarm = mem
		}
		if n > warmRequests && n%4096 == 0 && time.Now().After(deadline) {
			break
		}
	}
	soak := time.Since(soakStart)
	b.ReportMetric(float64(len(pluginWasm(b))), "module-bytes")
	b.ReportMetric(float64(startup.Microseconds())/1000, "startup-ms")
	b.ReportMetric(float64(memStart), "mem-start-bytes")
	b.ReportMetric(float64(memWarm), "mem-warm-bytes")
	b.ReportMetric(float64(vm.MemorySize()), "mem-end-bytes")
	b.ReportMetric(float64(grewAt), "mem-grew-at")
	b.ReportMetric(float64(n), "requests")
	b.ReportMetric(float64(soak.Nanoseconds())/float64(n), "soak-ns/req")
}
