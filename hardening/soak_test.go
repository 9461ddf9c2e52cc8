//go:build !wasip1

package hardening

import (
	"flag"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/wasmhost"
)

// The soak: many requests through one VM on each Envoy host profile (real
// clocks, so the module's garbage collector paces itself as in Envoy), with
// every verdict checked, the counters exact at the end and linear memory
// flat once the module's Go heap has reached its steady state.
//
// The count is -soak-requests, else $CORSWASM_SOAK_REQUESTS, else 1 000 000
// (100 000 with -short). The Envoy 1.39 profile runs that count with the
// default GOGC; the 1.33-1.38 and 1.32 profiles, and the runs with GOGC=10
// (ten times the garbage collections) on every profile, run a tenth of it,
// which keeps the package's run time near what one soak takes. Each run
// fails if it takes longer than -soak-timeout (default 10 minutes).

var (
	soakRequests = flag.Int("soak-requests", 0, "exchanges in the soak on the Envoy 1.39 profile; the other soaks run a tenth (default $CORSWASM_SOAK_REQUESTS, else 1000000, 100000 with -short)")
	soakTimeout  = flag.Duration("soak-timeout", 10*time.Minute, "the soak fails if it runs longer")
)

// soakCount is the number of exchanges of the soak.
func soakCount(t testing.TB) int {
	t.Helper()
	if *soakRequests > 0 {
		return *soakRequests
	}
	if s := os.Getenv("CORSWASM_SOAK_REQUESTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("CORSWASM_SOAK_REQUESTS=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 100_000
	}
	return 1_000_000
}

// soakKind is one kind of exchange of the soak's mix.
type soakKind struct {
	name      string
	req, resp wasmhost.Headers
	counter   string // the counter it increments, if any
	verdict   func(x *wasmhost.Exchange) string
}

// soakMix: no Origin, allowed and denied actual requests, allowed and
// denied preflights, in turn.
var soakMix = []soakKind{
	{"no origin", request("GET"), upstream, "", func(x *wasmhost.Exchange) string {
		if x.LocalReply != nil {
			return "a local reply"
		}
		if v, _ := x.Response.Get("access-control-allow-origin"); v != "*" { // the upstream's
			return "access-control-allow-origin " + strconv.Quote(v) + ", want the upstream's"
		}
		return ""
	}},
	{"allowed actual", actual(app), upstream, actualAllowed, func(x *wasmhost.Exchange) string {
		if v, _ := x.Response.Get("access-control-allow-origin"); x.LocalReply != nil || v != app {
			return "access-control-allow-origin " + strconv.Quote(v) + ", want " + app
		}
		return ""
	}},
	{"denied actual", actual(evil), upstream, actualDenied, func(x *wasmhost.Exchange) string {
		if v, ok := x.Response.Get("access-control-allow-origin"); x.LocalReply != nil || ok {
			return "access-control-allow-origin " + strconv.Quote(v) + ", want none"
		}
		return ""
	}},
	{"allowed preflight", preflight(app, "PUT", "content-type"), nil, preflightAllowed, func(x *wasmhost.Exchange) string {
		if x.LocalReply == nil || x.LocalReply.Status != 204 {
			return "no 204 reply"
		}
		if v, _ := x.LocalReply.Headers.Get("access-control-allow-origin"); v != app {
			return "access-control-allow-origin " + strconv.Quote(v) + ", want " + app
		}
		return ""
	}},
	{"denied preflight", preflight(evil, "PUT", ""), nil, preflightDenied, func(x *wasmhost.Exchange) string {
		if x.LocalReply == nil || x.LocalReply.Status != 403 {
			return "no 403 reply"
		}
		if _, ok := x.LocalReply.Headers.Get("access-control-allow-origin"); ok {
			return "access-control-allow-origin on a denial"
		}
		return ""
	}},
}

// everyProfile are the host profiles the soak, the functional checks and the
// runtime-timer test run on: one per band of Envoy releases.
var everyProfile = []wasmhost.Profile{wasmhost.Envoy139, wasmhost.Envoy133to138, wasmhost.Envoy132}

// TestSoakOnEveryProfile runs the soak on each host profile, with the
// default GOGC and with GOGC=10.
func TestSoakOnEveryProfile(t *testing.T) {
	n := soakCount(t)
	for _, profile := range everyProfile {
		t.Run(profile.String(), func(t *testing.T) {
			count := n
			if profile != wasmhost.Envoy139 {
				count = max(n/10, 1)
			}
			t.Run("GOGC=default", func(t *testing.T) { soak(t, profile, "", count) })
			t.Run("GOGC=10", func(t *testing.T) { soak(t, profile, "10", max(n/10, 1)) })
		})
	}
}

// soak runs n exchanges of soakMix through one VM on profile, with GOGC
// set to gogc in the VM's environment unless it is empty, and checks every
// verdict, the counters at the end and that linear memory did not grow
// after the warm-up.
func soak(t *testing.T, profile wasmhost.Profile, gogc string, n int) {
	var env map[string]string
	if gogc != "" {
		env = map[string]string{"GOGC": gogc}
	} else {
		gogc = "default"
	}
	vm, p := startPlugin(t, releaseWasm(t), wasmhost.Options{Profile: profile, Env: env}, testConfig)
	// Memory is flat after the first 1,000 exchanges: at steady state an
	// exchange allocates nothing (TestSteadyStateAllocatesNothing), so the
	// Go heap, and linear memory, stop growing once the arenas and scratch
	// slices have their size.
	warm := min(1000, n)
	start := time.Now()
	initial := vm.MemorySize()
	var atWarm uint32
	lastSize := initial
	lastGrowth := 0
	vm.ResetCalls()
	want := map[string]int64{}
	for i := range n {
		k := soakMix[i%len(soakMix)]
		x, err := p.Do(k.req, k.resp)
		if err != nil {
			t.Fatalf("exchange %d (%s): %v", i, k.name, err)
		}
		if msg := k.verdict(x); msg != "" {
			t.Fatalf("exchange %d (%s): %s\nresponse: %v", i, k.name, msg, x.Response)
		}
		if k.counter != "" {
			want[k.counter]++
		}
		if i%1000 == 999 {
			m := vm.MemorySize()
			if m != lastSize {
				lastSize, lastGrowth = m, i+1
			}
			if elapsed := time.Since(start); elapsed > *soakTimeout {
				t.Fatalf("the soak took longer than %v: %d exchanges done", *soakTimeout, i+1)
			}
		}
		if i+1 == warm {
			atWarm = vm.MemorySize()
		}
	}
	elapsed := time.Since(start)
	final := vm.MemorySize()
	noTrap(t, vm)
	calls := vm.Calls()

	for _, name := range []string{preflightAllowed, preflightDenied, actualAllowed, actualDenied, originInvalid, internalError, "cors.report.would_deny"} {
		if got := vm.Metrics()[name]; got != want[name] {
			t.Errorf("%s = %d, want %d", name, got, want[name])
		}
	}
	t.Logf("soak on %s, GOGC=%s: %d exchanges in %v (%v each)", profile, gogc, n, elapsed.Round(time.Millisecond), (elapsed / time.Duration(n)).Round(10*time.Nanosecond))
	t.Logf("linear memory: %d KiB at start, %d KiB after %d, %d KiB after %d; last growth by exchange %d",
		initial>>10, atWarm>>10, warm, final>>10, n, lastGrowth)
	t.Logf("host calls per exchange: %.2f proxy-wasm, %.2f in all (WASI included)",
		float64(calls.Proxy())/float64(n), float64(calls.Request.Total()+calls.Response.Total()+calls.Other.Total())/float64(n))
	t.Logf("counters: %v", vm.Metrics())
	if final > atWarm {
		t.Errorf("linear memory grew after the warm-up: %d KiB after %d exchanges, %d KiB after %d (last growth by exchange %d)", atWarm>>10, warm, final>>10, n, lastGrowth)
	}
	if final > 16<<20 {
		t.Errorf("linear memory %d KiB, want at most 16 MiB", final>>10)
	}
}
