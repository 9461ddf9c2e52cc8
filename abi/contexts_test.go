package abi

import (
	"math/rand/v2"
	"testing"
)

// TestContextsAgreeWithAMap runs random puts and removes on the table and
// on a map, with IDs as hosts hand them out (consecutive) and as they
// collide (multiples of the table size), and checks every lookup.
func TestContextsAgreeWithAMap(t *testing.T) {
	for _, tt := range []struct {
		name string
		id   func(r *rand.Rand) uint32
	}{
		{"consecutive IDs, as Envoy hands them out", func(r *rand.Rand) uint32 { return 2 + r.Uint32N(300) }},
		{"IDs that all share a home slot", func(r *rand.Rand) uint32 { return 1 + 1024*r.Uint32N(64) }},
		{"any IDs", func(r *rand.Rand) uint32 { return r.Uint32() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var tab contexts
			model := map[uint32]*streamContext{}
			for step := range 20000 {
				id := tt.id(r)
				if r.IntN(3) == 0 {
					want := model[id]
					delete(model, id)
					if got := tab.remove(id); got != want {
						t.Fatalf("step %d: remove(%d) = %p, want %p", step, id, got, want)
					}
				} else {
					c := &streamContext{}
					want := model[id]
					model[id] = c
					if id == 0 {
						want, model[id] = nil, nil
						delete(model, id)
					}
					if old := tab.put(id, c); old != want {
						t.Fatalf("step %d: put(%d) replaced %p, want %p", step, id, old, want)
					}
				}
				if tab.n != len(model) {
					t.Fatalf("step %d: %d entries, want %d", step, tab.n, len(model))
				}
				probe := tt.id(r)
				if got := tab.get(probe); got != model[probe] {
					t.Fatalf("step %d: get(%d) = %p, want %p", step, probe, got, model[probe])
				}
			}
			for id, c := range model {
				if got := tab.get(id); got != c {
					t.Fatalf("get(%d) = %p at the end, want %p", id, got, c)
				}
			}
		})
	}
}

func TestContextsIgnoreIDZero(t *testing.T) {
	var tab contexts
	if tab.put(0, &streamContext{}) != nil || tab.get(0) != nil || tab.remove(0) != nil || tab.n != 0 {
		t.Fatal("ID 0, which marks empty slots, was stored")
	}
}

// TestContextsStayDirect checks the sizes the table takes: a window of
// consecutive IDs fits the direct table without overflow; one long-lived
// stream does not make it grow; many IDs that collide do, up to maxDirect.
func TestContextsStayDirect(t *testing.T) {
	var tab contexts
	tab.put(1, &streamContext{}) // a long-lived stream
	for id := uint32(2); id < 100_000; id++ {
		tab.put(id, &streamContext{})
		if id >= 50 {
			tab.remove(id - 48) // 48 streams in flight
		}
	}
	if len(tab.direct) > 256 || len(tab.over) > 1 || tab.n != 49 {
		t.Errorf("48 streams in flight and a long-lived one: %d slots, %d in overflow, %d live; want at most 256 slots and 1 in overflow",
			len(tab.direct), len(tab.over), tab.n)
	}
	var spread contexts
	for k := uint32(1); k <= 1000; k++ {
		spread.put(k<<16, &streamContext{}) // all in slot 0 of any table
	}
	if len(spread.direct) != maxDirect || spread.n != 1000 || spread.get(5<<16) == nil {
		t.Errorf("1,000 colliding IDs: %d slots, %d live", len(spread.direct), spread.n)
	}
}
