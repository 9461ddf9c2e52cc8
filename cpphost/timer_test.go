//go:build !wasip1

package cpphost

import (
	"fmt"
	"strings"
	"testing"
)

// sleepHeader asks the fault build to sleep 1 ms in proxy_on_request_headers
// (faultinject_on.go): a Go runtime timer, which the scheduler waits on in WASI
// poll_oneoff when it has nothing else to run.
const sleepHeader = "x-corswasm-fault"

// clockTimeGet is the WASI clock, as pwhost names its calls.
const clockTimeGet = "wasi_snapshot_preview1.clock_time_get"

// TestForcedRuntimeTimer runs the fault build with twelve requests that
// sleep (allowed and denied, preflights and actual requests), then normal
// ones, in one VM of each host. Each must get its normal CORS answer and the
// VM must live on: Envoy 1.33-1.38 stub poll_oneoff with ENOSYS, which kills
// a Go module that waits, unless the module defines poll_oneoff itself.
func TestForcedRuntimeTimer(t *testing.T) {
	// kinds are the exchanges sent, each with its check and counters.
	kinds := []struct {
		name     string
		x        exchange
		check    check
		counters counts
	}{
		{"allowed actual", exchange{Request: actual(app), Response: upstream(corsUpstream)}, allowedActual, counts{actualAllowed: 1}},
		{"allowed preflight", exchange{Request: preflight(app, "PUT", "content-type")}, allowedPreflight, counts{preflightAllowed: 1}},
		{"denied preflight", exchange{Request: preflight(evil, "PUT", "")}, deniedPreflight, counts{preflightDenied: 1}},
		{"denied actual", exchange{Request: actual(evil), Response: upstream(corsUpstream)}, deniedActual, counts{actualDenied: 1}},
		{"no origin", exchange{Request: request("GET"), Response: upstream(plainUpstream)}, noOrigin, counts{}},
	}
	var xs []exchange
	var checks []check
	total := counts{}
	add := func(i int, sleep bool) {
		k := kinds[i]
		x := k.x
		x.Name = fmt.Sprintf("%02d %s", len(xs), k.name)
		if sleep {
			x.Name += " that sleeps"
			x.Request = x.Request.with(sleepHeader, "sleep")
		}
		xs = append(xs, x)
		checks = append(checks, k.check)
		total = sum(1, total, k.counters)
	}
	for i := range 12 {
		add(i%4, true) // the four kinds with an Origin
	}
	for i := range kinds {
		add(i, false)
	}
	forEachHost(t, func(t *testing.T, h host) {
		r := pwhost(t, h, faultWasm, testdata("policy.json"), xs, "--count-wasi")
		var clock []int
		for i, o := range r.outs {
			t.Run(o.Name, func(t *testing.T) {
				wantOutcome(t, &o, checks[i])
				// A 1 ms timer reads the clock at least once, whether
				// poll_oneoff is the host's or the module's own: proof
				// that the sleep happened.
				if n := o.HostCallsByName[clockTimeGet]; n == 0 && strings.HasSuffix(o.Name, " that sleeps") {
					t.Errorf("no %s call: the fault knob did not sleep", clockTimeGet)
				}
			})
			clock = append(clock, o.HostCallsByName[clockTimeGet])
		}
		t.Logf("%s: %s calls by exchange: %v", h.name, clockTimeGet, clock)
		defer t.Logf("%s: WASI calls over %d exchanges (setup included): poll_oneoff %d, sched_yield %d, clock_time_get %d; all: %v",
			h.name, len(xs), r.wasi["wasi_snapshot_preview1.poll_oneoff"], r.wasi["wasi_snapshot_preview1.sched_yield"],
			r.wasi[clockTimeGet], r.wasi)
		wantServed(t, r, len(xs))
		wantCounters(t, r.counters, total)
	})
}
