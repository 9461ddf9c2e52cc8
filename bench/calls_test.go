//go:build !wasip1

package bench

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmhost"
)

// wasmCalls, when set, makes TestWasmCallCounts print its table to stdout
// as lines cmd/benchreport reads (callsLinePrefix).
var wasmCalls = flag.Bool("wasmcalls", false, "print TestWasmCallCounts' table as lines for cmd/benchreport")

// callsLinePrefix starts each line -wasmcalls prints:
//
//	wasmcalls<TAB>scenario<TAB>calls<TAB>name=count,name=count,...
//
// with the top callees, most called first.
const callsLinePrefix = "wasmcalls\t"

// callBudgets are the most Wasm function calls a scenario's warm exchange
// may make (issue 14, item 4).
var callBudgets = map[string]uint64{
	"no origin":         30,
	"allowed actual":    60,
	"allowed preflight": 60,
}

// topCallees is how many callees the table names per scenario.
const topCallees = 10

// callCounter counts the calls to every function the module defines (host
// imports have no listener), and sorts them into profile categories: a
// wazero function listener factory.
type callCounter struct {
	on     bool
	counts []uint64 // by index in the function section
	names  []string
	rules  []string // each function's category (profileRules), "" to inherit

	// The categories of the calls under way, innermost last, and the calls
	// counted by category.
	stack []string
	cats  map[string]uint64
}

func (c *callCounter) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	i := len(c.counts)
	c.counts = append(c.counts, 0)
	name := def.Name()
	if len(def.ExportNames()) > 0 {
		name = def.ExportNames()[0]
	}
	c.names = append(c.names, name)
	c.rules = append(c.rules, categoryOf(name))
	return &callListener{c, i}
}

func (c *callCounter) reset() {
	clear(c.counts)
	c.cats = map[string]uint64{}
}

// enter counts a call of function i and returns its category: the
// allocator's for anything the allocator calls, the caller's for a
// function that inherits, else its rule's.
func (c *callCounter) enter(i int) {
	caller := otherCategory
	if n := len(c.stack); n > 0 {
		caller = c.stack[n-1]
	}
	cat := c.rules[i]
	if cat == "" || caller == allocatorCategory {
		cat = caller
	}
	c.stack = append(c.stack, cat)
	if c.on {
		c.counts[i]++
		c.cats[cat]++
	}
}

func (c *callCounter) leave() {
	if n := len(c.stack); n > 0 {
		c.stack = c.stack[:n-1]
	}
}

// snapshot returns the counts by function name (only functions called).
func (c *callCounter) snapshot() map[string]uint64 {
	m := map[string]uint64{}
	for i, n := range c.counts {
		if n > 0 {
			m[c.names[i]] += n
		}
	}
	return m
}

type callListener struct {
	c *callCounter
	i int
}

func (l *callListener) Before(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
	l.c.enter(l.i)
}

func (l *callListener) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {
	l.c.leave()
}

func (l *callListener) Abort(context.Context, api.Module, api.FunctionDefinition, error) {
	l.c.leave()
}

// callCount is one scenario's count: the Wasm function calls of one warm
// exchange, by callee.
type callCount struct {
	scenario   string
	total      uint64
	byName     map[string]uint64
	byCategory map[string]uint64 // profileRules
}

// top returns the n most called functions, most called first (ties by
// name).
func (cc callCount) top(n int) []string {
	names := slices.SortedFunc(maps.Keys(cc.byName), func(a, b string) int {
		return cmp.Or(cmp.Compare(cc.byName[b], cc.byName[a]), cmp.Compare(a, b))
	})
	names = names[:min(n, len(names))]
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = fmt.Sprintf("%s=%d", name, cc.byName[name])
	}
	return out
}

func sumValues(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// TestWasmCallCounts counts the Wasm function calls (functions the module
// defines, host imports excluded) of one warm exchange of every scenario,
// on the release build with its name section, and logs them with the top
// callees and the profile summary (profileRules). The count is
// deterministic, unlike time: the test checks that two warm exchanges in a
// row count the same, that every one calls something, and that the
// profile's categories add up to the count. It holds the budgets of
// callBudgets.
func TestWasmCallCounts(t *testing.T) {
	wasm := testmodule.Get(t, testmodule.WithNames)
	counter := &callCounter{}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), counter)
	// No compilation cache: the listeners are compiled in (a cached module
	// compiled for another VM's listeners would count wrong). One VM, so
	// one compilation, runs every scenario.
	vm, err := wasmhost.New(ctx, wasm, wasmhost.Options{LogLevel: wasmhost.LogInfo})
	if err != nil {
		t.Fatalf("wasmhost.New: %v", err)
	}
	defer func() {
		if err := vm.Close(context.Background()); err != nil && !errors.Is(err, wasmhost.ErrFailed) {
			t.Errorf("Close: %v", err)
		}
	}()
	if !slices.ContainsFunc(counter.names, func(n string) bool { return strings.HasPrefix(n, "runtime.") }) {
		t.Fatalf("the %v module has no name section: function names %v", testmodule.WithNames, counter.names[:min(5, len(counter.names))])
	}
	plugins := map[bool]*wasmhost.Plugin{}
	for _, large := range []bool{false, true} {
		if plugins[large], err = vm.StartPlugin([]byte(scenario{large: large}.policy())); err != nil {
			t.Fatalf("StartPlugin: %v", err)
		}
	}
	var rows []callCount
	for _, s := range scenarios {
		p := plugins[s.large]
		for range warmRequests {
			if _, err := p.Do(s.request, upstream); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		exchange := func() callCount {
			counter.reset()
			counter.on = true
			x, err := p.Do(s.request, upstream)
			counter.on = false
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			checkPlugin(t, s, x)
			cc := callCount{scenario: s.name, byName: counter.snapshot(), byCategory: maps.Clone(counter.cats)}
			for _, n := range cc.byName {
				cc.total += n
			}
			return cc
		}
		// The count is deterministic but for the plugin's context map: an
		// insert now and then rehashes or cleans up (its hash seed is
		// random), a few calls more. Two exchanges in a row must agree
		// within maxTries.
		const maxTries = 6
		prev := exchange()
		agreed := false
		for range maxTries - 1 {
			cur := exchange()
			if maps.Equal(prev.byName, cur.byName) {
				agreed = true
				break
			}
			prev = cur
		}
		if sum := sumValues(prev.byCategory); sum != prev.total {
			t.Errorf("%s: the profile categories count %d calls, the exchange made %d", s.name, sum, prev.total)
		}
		if prev.total == 0 {
			t.Errorf("%s: no Wasm function call counted", s.name)
		}
		if !agreed {
			t.Errorf("%s: no two warm exchanges in a row of %d counted the same Wasm calls; last: %d, %v", s.name, maxTries, prev.total, prev.byName)
		}
		// A warm exchange's host replies fit in its stream's arena chunk:
		// the fast allocator (internal/fastpath) serves them, Go's never
		// runs.
		if n := prev.byName["github.com_corswasm_corswasm_abi.allocate"]; n != 0 {
			t.Errorf("%s: Go's proxy_on_memory_allocate ran %d times in a warm exchange, want 0: the fast allocator (internal/fastpath) serves them", s.name, n)
		}
		// Its stream ends itself, so its context is parked when it is
		// deleted and taken on when a stream lands in its slot again:
		// the fast context callbacks serve both.
		goFns := []string{"onContextCreate", "onDelete"}
		if s.wantLocal != 0 || s.name == "no origin" {
			// It ends itself with its request headers: the fast response
			// callback answers the response's (adding vary: origin to a
			// request without Origin).
			goFns = append(goFns, "onResponseHeaders")
		}
		for _, goFn := range goFns {
			if n := prev.byName["github.com_corswasm_corswasm_abi."+goFn]; n != 0 {
				t.Errorf("%s: Go's %s ran %d times in a warm exchange, want 0: the fast context callbacks (internal/fastpath) serve them", s.name, goFn, n)
			}
		}
		if limit, ok := callBudgets[s.name]; ok && prev.total > limit {
			t.Errorf("%s: %d Wasm calls per warm exchange, want at most %d (%d over)", s.name, prev.total, limit, prev.total-limit)
		}
		first := prev
		rows = append(rows, first)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Wasm function calls per warm exchange (%v build):\n", testmodule.WithNames)
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-24s %5d  %s\n", r.scenario, r.total, strings.Join(r.top(topCallees), " "))
		fmt.Fprintf(&b, "  %-24s        %s\n", "", strings.Join(r.profile(), " "))
	}
	t.Log(b.String())
	if *wasmCalls {
		for _, r := range rows {
			fmt.Printf("%s%s\t%d\t%s\n", callsLinePrefix, r.scenario, r.total, strings.Join(r.top(topCallees), ","))
			fmt.Printf("%s%s\t%s\n", profileLinePrefix, r.scenario, strings.Join(r.profile(), ","))
		}
	}
}
