//go:build !wasip1

package hardening

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/wasmhost"
	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// Panics forced inside the callbacks of the fault-injection build
// (faultinject_on.go): each is recovered at the ABI boundary, logged with its
// value at error level, counted in cors.internal_error, and the stream goes
// on as if the plugin were not there; the VM then serves the next request
// normally.

const faultHeader = "x-corswasm-fault"

func TestForcedPanics(t *testing.T) {
	cases := []struct {
		name      string
		req, resp wasmhost.Headers
		// untouched: no local reply, request and response as they came;
		// else check runs.
		untouched bool
		check     func(t *testing.T, x *wasmhost.Exchange)
		metrics   map[string]int64
		line      []string // substrings of the one error line
	}{
		{name: "request callback, allowed actual",
			req: actual(app, faultHeader, "panic-request"), resp: upstream, untouched: true,
			metrics: map[string]int64{internalError: 1},
			line:    []string{"abi: panic in proxy_on_request_headers (context ", "): corswasm: injected fault: panic-request"}},
		{name: "request callback, allowed preflight",
			req: preflight(app, "PUT", "content-type", faultHeader, "panic-request"), resp: upstream, untouched: true,
			metrics: map[string]int64{internalError: 1},
			line:    []string{"abi: panic in proxy_on_request_headers", "corswasm: injected fault: panic-request"}},
		{name: "request callback, denied preflight",
			req: preflight(evil, "PUT", "", faultHeader, "panic-request"), resp: upstream, untouched: true,
			metrics: map[string]int64{internalError: 1},
			line:    []string{"abi: panic in proxy_on_request_headers", "corswasm: injected fault: panic-request"}},
		{name: "request callback, runtime error",
			req: actual(app, faultHeader, "panic-request-runtime"), resp: upstream, untouched: true,
			metrics: map[string]int64{internalError: 1},
			line:    []string{"abi: panic in proxy_on_request_headers", "runtime error: index out of range"}},
		{name: "response callback, allowed actual",
			req: actual(app, faultHeader, "panic-response"), resp: upstream, untouched: true,
			// The request phase decided (allowed); proxy_on_delete reports
			// the decision whose response never passed.
			metrics: map[string]int64{internalError: 1, actualAllowed: 1},
			line:    []string{"abi: panic in proxy_on_response_headers", "corswasm: injected fault: panic-response"}},
		{name: "response callback, denied actual",
			req: actual(evil, faultHeader, "panic-response"), resp: upstream, untouched: true,
			metrics: map[string]int64{internalError: 1, actualDenied: 1},
			line:    []string{"abi: panic in proxy_on_response_headers", "corswasm: injected fault: panic-response"}},
		{name: "response callback of a preflight's local reply",
			req: preflight(app, "PUT", "", faultHeader, "panic-response"),
			// The reply was sent during the request phase, after which the
			// plugin has no work (abi.StreamDone): no plugin code runs for
			// the reply's response headers, so the fault armed for them
			// never fires, and the reply is the plugin's.
			check: func(t *testing.T, x *wasmhost.Exchange) {
				if x.LocalReply == nil || x.LocalReply.Status != 204 {
					t.Fatalf("local reply %+v, want 204", x.LocalReply)
				}
				want := append(wasmhost.NewHeaders(":status", "204"), x.LocalReply.Headers...)
				wantSame(t, "response", x.Response, want)
				wantHeader(t, x.Response, "access-control-allow-origin", app)
			},
			metrics: map[string]int64{preflightAllowed: 1},
			line:    nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vm, p := startPlugin(t, faultWasm(t), wasmhost.Options{}, testConfig)
			before := vm.Metrics()
			x := do(t, p, c.req, c.resp)
			noTrap(t, vm)
			if c.untouched {
				wantUntouched(t, x, c.req, c.resp)
			}
			if c.check != nil {
				c.check(t, x)
			}
			wantMetrics(t, metricsDelta(before, vm.Metrics()), c.metrics)
			if c.line == nil {
				wantNoProblem(t, x.Logs)
			} else {
				wantOneProblem(t, x.Logs, c.line...)
			}
			if ps := problems(x.Logs); len(ps) == 1 && ps[0].Level != wasmhost.LogError {
				t.Errorf("the panic was logged at %v, want error", ps[0].Level)
			}
			t.Logf("logged: %v", problems(x.Logs))
			wantServesNormally(t, vm, p)
		})
	}
}

// TestPanicsInARow interleaves panicking and normal exchanges on one VM:
// nothing accumulates (memory, pinned host buffers, contexts), the counts
// are exact, and the normal exchanges keep their verdicts. A recovered
// panic leaves garbage (its value, its log line), so linear memory grows
// while the module's Go heap reaches its steady state under that garbage
// (by about 150 000 exchanges when half of them panic), then must stay
// flat: over the second half of the run it may not grow by more than four
// pages (256 KiB).
func TestPanicsInARow(t *testing.T) {
	const rounds = 400_000
	vm, p := startPlugin(t, faultWasm(t), wasmhost.Options{}, testConfig)
	kinds := []struct {
		req, resp wasmhost.Headers
		panics    bool
		allowed   bool
	}{
		{actual(app, faultHeader, "panic-request"), upstream, true, false},
		{actual(app), upstream, false, true},
		{preflight(app, "PUT", "", faultHeader, "panic-request-runtime"), upstream, true, false},
		{preflight(app, "PUT", ""), nil, false, true},
		{actual(app, faultHeader, "panic-response"), upstream, true, false},
		{actual(evil), upstream, false, false},
	}
	counts := make([]int64, len(kinds))
	var half uint32
	for i := range rounds {
		k := kinds[i%len(kinds)]
		counts[i%len(kinds)]++
		x := do(t, p, k.req, k.resp)
		got, _ := x.Response.Get("access-control-allow-origin")
		switch {
		case k.panics:
			if x.LocalReply != nil || got != "*" { // "*" is the upstream's, left alone
				t.Fatalf("exchange %d (%v): local reply %v, access-control-allow-origin %q; want none and the upstream's", i, k.req, x.LocalReply, got)
			}
		case k.allowed:
			if got != app {
				t.Fatalf("exchange %d (%v): access-control-allow-origin %q, want %q", i, k.req, got, app)
			}
		default:
			if got != "" {
				t.Fatalf("exchange %d (%v): access-control-allow-origin %q, want none", i, k.req, got)
			}
		}
		if i+1 == rounds/2 {
			half = vm.MemorySize()
		}
	}
	noTrap(t, vm)
	final := vm.MemorySize()
	ms := vm.Metrics()
	wantCounts := map[string]int64{
		internalError:    counts[0] + counts[2] + counts[4],
		actualAllowed:    counts[1] + counts[4], // a response-phase panic is still reported at proxy_on_delete
		preflightAllowed: counts[3],
		actualDenied:     counts[5],
		preflightDenied:  0,
		originInvalid:    0,
	}
	for name, want := range wantCounts {
		if ms[name] != want {
			t.Errorf("%s = %d, want %d", name, ms[name], want)
		}
	}
	t.Logf("%d exchanges, %d panics recovered; memory %d KiB after %d, %d KiB after %d",
		rounds, wantCounts[internalError], half>>10, rounds/2, final>>10, rounds)
	if final > half+256<<10 {
		t.Errorf("memory grew from %d KiB to %d KiB over the second half", half>>10, final>>10)
	}
}

// TestReleaseHasNoFaultKnob checks that the shipped module carries no trace
// of faultinject_on.go, whose strings and names the fault build does carry, and
// that both builds have the same imports and exports (so the failure tests
// run the shipped module's interface).
func TestReleaseHasNoFaultKnob(t *testing.T) {
	markers := []string{faultHeader, "corswasm: injected fault", "panic-request", "panic-response", "faultRoot", "faultStream", "faultinject_on", "corswasm: mallocs"}
	var inFault []string
	for _, m := range markers {
		if bytes.Contains(faultWasm(t), []byte(m)) {
			inFault = append(inFault, m)
		}
		if bytes.Contains(releaseWasm(t), []byte(m)) {
			t.Errorf("the release module contains %q", m)
		}
	}
	if !slices.Contains(inFault, faultHeader) {
		t.Fatalf("the fault build does not contain %q: the check looks in the wrong place", faultHeader)
	}
	t.Logf("release %d bytes, fault build %d bytes; markers found in the fault build only: %q", len(releaseWasm(t)), len(faultWasm(t)), inFault)

	iface := func(code []byte) (imports, exports []string) {
		imports, exports = moduleInterface(t, code)
		slices.Sort(imports)
		slices.Sort(exports)
		return imports, exports
	}
	ri, re := iface(releaseWasm(t))
	fi, fe := iface(faultWasm(t))
	if !slices.Equal(ri, fi) || !slices.Equal(re, fe) {
		t.Errorf("the builds differ in interface:\nrelease imports %v\nfault imports   %v\nrelease exports %v\nfault exports   %v", ri, fi, re, fe)
	}
	t.Logf("imports: %s", strings.Join(ri, " "))
}

// moduleInterface decodes a module and returns its imported functions
// ("module.name") and its exports, in module order.
func moduleInterface(t testing.TB, code []byte) (imports, exports []string) {
	t.Helper()
	m, err := binary.DecodeModule(code, wasm.CoreFeaturesV2)
	if err != nil {
		t.Fatalf("decoding the module: %v", err)
	}
	for _, imp := range m.ImportSection {
		if imp.Type == wasm.ExternTypeFunc {
			imports = append(imports, imp.Module+"."+imp.Name)
		}
	}
	for _, e := range m.ExportSection {
		exports = append(exports, e.Name)
	}
	return imports, exports
}
