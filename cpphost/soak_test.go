//go:build !wasip1

package cpphost

import (
	"slices"
	"strconv"
	"testing"
)

// TestSoak runs each scenario marked soak (an allowed and a denied
// preflight, an allowed and a denied actual request, a request without
// Origin) -cpphost.soak times in one worker VM of each host. The first
// exchange must be right, every exchange must be counted, and the memory
// must not grow after the first 1000 exchanges.
func TestSoak(t *testing.T) {
	n := max(*soakCount, 2000)
	forEachHost(t, func(t *testing.T, h host) {
		for _, s := range functionalScenarios() {
			if !s.soak {
				continue
			}
			t.Run(s.name, func(t *testing.T) {
				t.Parallel()
				r := pwhost(t, h, releaseWasm, s.configPath(), []exchange{s.x}, slices.Concat(s.opts, []string{"--soak", strconv.Itoa(n)})...)
				wantServed(t, r, 1)
				wantOutcome(t, &r.outs[0], s.check)
				wantCounters(t, r.counters, sum(int64(n), s.counters))
				sk := r.soak
				if sk == nil {
					t.Fatal("no soak line in the output")
				}
				if sk.Exchanges != n {
					t.Errorf("%d exchanges soaked, want %d", sk.Exchanges, n)
				}
				if sk.PagesEnd != sk.PagesAfter1000 {
					t.Errorf("memory grew from %d pages after 1000 exchanges to %d after %d", sk.PagesAfter1000, sk.PagesEnd, n)
				}
				t.Logf("%s: %d exchanges, %.1f µs each (%.1f after the first 1000); memory %d pages at start, %d after 1000, %d at the end; WASI calls (%s): %v",
					h.name, sk.Exchanges, sk.USPerExchange, sk.USAfter1000, sk.PagesStart, sk.PagesAfter1000, sk.PagesEnd, sk.WASICallsCounted, sk.WASICalls)
			})
		}
	})
}
