//go:build !wasip1

package bench

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmhost"
)

// The profile summary (issue 14, item 2): TestWasmCallCounts sorts the Wasm
// function calls of a warm exchange into categories that name where the
// module's time goes, by function name (the release build's name section).

const (
	allocatorCategory = "allocator callback"
	otherCategory     = "other"
)

// profileRules give each function its category: the first rule with a
// matching pattern wins; a pattern is a function name with this module's
// package path dropped ("abi.ParsePairs"), * matching any run of
// characters. A function of the "" rule counts for its caller's category
// (memequal called from the engine is engine work), and anything the
// allocator callback calls counts for the allocator. Functions no rule
// matches are "other".
var profileRules = []struct {
	category string
	patterns []string
}{
	{allocatorCategory, []string{"proxy_on_memory_allocate", "malloc"}},
	{"defer/recover", []string{"runtime.gorecover", "runtime.deferreturn", "runtime.deferproc*", "abi.*.func*"}},
	{"entry", []string{"proxy_on_*", "proxy_abi_version_*", "_initialize", "abi.on*", "abi.proxyOn*", "abi.proxyABIVersion"}},
	{"context lookup", []string{"runtime.mapaccess*", "runtime.mapassign*", "runtime.mapdelete*",
		"internal_runtime_maps.*", "runtime.memhash*", "runtime.rand*", "abi.__contexts_.*"}},
	{"copy/clear", []string{"runtime.memmove", "runtime.memclr*", "runtime.bulkBarrierPreWrite",
		"runtime.typedmemclr", "runtime.typedmemmove", "runtime.typedslicecopy", "runtime.wbBuf*", "runtime.gcWriteBarrier*"}},
	{"pairs", []string{"abi.*Pairs*", "abi.AppendHeaders*"}},
	{"host-call stubs", []string{"abi.proxy*", "abi.call*", "proxy_*"}},
	{"ABI layer", []string{"abi.*"}},
	{"engine", []string{"filter.*", "internal_originre.*", "internal_fetch.*"}},
	{"wiring (main)", []string{"main.*"}},
	{"log formatting", []string{"strconv.*"}},
	{"", []string{"runtime.memequal*", "memeqbody", "internal_bytealg.*", "memchr", "runtime.cmpstring",
		"cmpbody", "indexbytebody", "strings.*", "bytes.*", "slices.*", "unicode*"}},
}

// modulePath is how the name section spells this module's package path.
const modulePath = "github.com_corswasm_corswasm_"

// categoryOf returns the category of the function name ("" to inherit).
func categoryOf(name string) string {
	name = strings.TrimPrefix(name, modulePath)
	for _, r := range profileRules {
		for _, p := range r.patterns {
			if glob(p, name) {
				return r.category
			}
		}
	}
	return otherCategory
}

// categories lists the categories in the order the summary prints them.
func categories() []string {
	var out []string
	for _, r := range profileRules {
		if r.category != "" {
			out = append(out, r.category)
		}
	}
	return append(out, otherCategory)
}

// glob matches name against pattern, whose only wildcard is *.
func glob(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return name == pattern
	}
	rest, ok := strings.CutPrefix(name, parts[0])
	if !ok {
		return false
	}
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}

// profileLinePrefix starts each profile line -wasmcalls prints:
//
//	wasmprofile<TAB>scenario<TAB>category=count,category=count,...
//
// with the categories that counted calls, in the order of categories().
const profileLinePrefix = "wasmprofile\t"

// profile returns the categories that counted calls, as "category=count".
func (cc callCount) profile() []string {
	var out []string
	for _, c := range categories() {
		if n := cc.byCategory[c]; n > 0 {
			out = append(out, fmt.Sprintf("%s=%d", c, n))
		}
	}
	return out
}

// TestProfileRulesNameTheCategories checks the category of a few function
// names as the release build's name section spells them.
func TestProfileRulesNameTheCategories(t *testing.T) {
	cases := []struct{ name, want string }{
		{"proxy_on_memory_allocate", allocatorCategory},
		{"proxy_on_request_headers", "entry"},
		{modulePath + "abi.onRequestHeaders", "entry"},
		{modulePath + "abi.onRequestHeaders.func1", "defer/recover"},
		{"runtime.gorecover", "defer/recover"},
		{"runtime.mapaccess2_fast32", "context lookup"},
		{"internal_runtime_maps.__Map_.getWithKeySmall", "context lookup"},
		{modulePath + "abi.__contexts_.put", "context lookup"},
		{"runtime.memclrNoHeapPointers", "copy/clear"},
		{modulePath + "abi.ParsePairs", "pairs"},
		{modulePath + "abi.proxyOnRequestHeaders", "entry"},
		{modulePath + "abi.proxyGetHeaderMapValue", "host-call stubs"},
		{modulePath + "abi.callGetHeaderMapValue", "host-call stubs"},
		{"proxy_increment_metric", "host-call stubs"},
		{modulePath + "abi.claimResult", "ABI layer"},
		{modulePath + "filter.__Config_.Evaluate", "engine"},
		{modulePath + "internal_originre.Match", "engine"},
		{"strconv.Quote", "log formatting"},
		{"runtime.memequal", ""},
		{"memeqbody", ""},
		{"runtime.gcStart", otherCategory},
	}
	for _, c := range cases {
		if got := categoryOf(c.name); got != c.want {
			t.Errorf("categoryOf(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestInheritedCategoriesFollowTheCaller checks that memequal counts for
// the engine when the engine calls it, for the allocator under the
// allocator, and that nested calls unwind.
func TestInheritedCategoriesFollowTheCaller(t *testing.T) {
	c := &callCounter{on: true}
	for _, name := range []string{"proxy_on_request_headers", modulePath + "filter.__policy_.matches", "runtime.memequal", "proxy_on_memory_allocate", "runtime.memmove"} {
		c.names = append(c.names, name)
		c.rules = append(c.rules, categoryOf(name))
		c.counts = append(c.counts, 0)
	}
	c.reset()
	c.enter(0) // proxy_on_request_headers
	c.enter(1) //   filter
	c.enter(2) //     memequal: engine
	c.leave()
	c.leave()
	c.enter(2) //   memequal: entry's
	c.leave()
	c.enter(3) //   allocator
	c.enter(4) //     memmove: allocator's
	c.leave()
	c.leave()
	c.leave()
	want := map[string]uint64{"entry": 2, "engine": 2, allocatorCategory: 2}
	if fmt.Sprint(c.cats) != fmt.Sprint(want) || len(c.stack) != 0 {
		t.Errorf("categories %v (stack %v), want %v", c.cats, c.stack, want)
	}
}

// callbackOrder is the order of a stream's callbacks, for the time split.
var callbackOrder = []string{
	"proxy_on_context_create", "proxy_on_request_headers", "proxy_on_response_headers",
	"proxy_on_memory_allocate", "proxy_on_log", "proxy_on_done", "proxy_on_delete",
}

// BenchmarkCallbackTime splits the plugin's exchange by callback, timed
// from the host's side without listeners (wasmhost's VM.SetTiming): for
// each callback, the module's own time per exchange (time in the export
// call minus time in the host functions it calls; the allocator callback
// on its own), as "<callback>-guest-ns/op" without the proxy_on_ prefix,
// and the host functions' time as "host-ns/op". Clock reads add tens of
// nanoseconds per timed call; the split, not the sum, is the point.
func BenchmarkCallbackTime(b *testing.B) {
	for _, s := range scenarios {
		b.Run(s.name+"/plugin", func(b *testing.B) {
			vm, p := startVM(b, pluginWasm(b), s.policy())
			for range warmRequests {
				if _, err := p.Do(s.request, upstream); err != nil {
					b.Fatal(err)
				}
			}
			vm.SetTiming(true)
			n := 0
			for b.Loop() {
				if _, err := p.Do(s.request, upstream); err != nil {
					b.Fatal(err)
				}
				n++
			}
			var host time.Duration
			for name, t := range vm.Timings() {
				if !slices.Contains(callbackOrder, name) {
					b.Fatalf("callback %s is not in callbackOrder", name)
				}
				b.ReportMetric(float64(t.Guest().Nanoseconds())/float64(n), strings.TrimPrefix(name, "proxy_on_")+"-guest-ns/op")
				host += t.Host
			}
			b.ReportMetric(float64(host.Nanoseconds())/float64(n), "host-ns/op")
		})
	}
}

var (
	perfScenario = flag.String("perf.scenario", "", "TestPerfLoop: the scenario to run (scripts/wasm-profile.sh)")
	perfTime     = flag.Duration("perf.time", 10*time.Second, "TestPerfLoop: how long to run the scenario")
	perfN        = flag.Int("perf.n", -1, "TestPerfLoop: run this many exchanges rather than for -perf.time (scripts/wasm-instructions.sh)")
	perfModule   = flag.String("perf.module", "plugin", "TestPerfLoop: the module to run, plugin or callfloor (the scenario's call-matched floor)")
	perfDir      = flag.String("perf.dir", "", "TestPerfLoop: keep the module in this directory, built on the first run and read on later ones (a process under callgrind must not start go build)")
)

// perfLinePrefix starts the line TestPerfLoop prints for bench/wasmperf:
//
//	perfloop<TAB>exchanges<TAB>seconds since the test binary started
const perfLinePrefix = "perfloop\t"

// started is when the test binary started, near enough for the seconds a
// profile of the whole process covers.
var started = time.Now()

// TestPerfLoop runs warm exchanges of one scenario through the plugin's
// build with names (or through the scenario's call-matched floor), for
// -perf.time or -perf.n exchanges after a first one, for a profiler of the
// whole process: scripts/wasm-profile.sh runs it under perf and
// scripts/wasm-instructions.sh under callgrind, both with wazero's perf
// map. It skips unless -perf.scenario names a scenario.
func TestPerfLoop(t *testing.T) {
	if *perfScenario == "" {
		t.Skip("-perf.scenario not set (scripts/wasm-profile.sh sets it)")
	}
	i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == *perfScenario })
	if i < 0 {
		t.Fatalf("-perf.scenario %q is not a scenario", *perfScenario)
	}
	s := scenarios[i]
	wasm := perfLoopModule(t, s)
	_, p := startVM(t, wasm, s.policy())
	x, err := p.Do(s.request, upstream)
	if err != nil {
		t.Fatal(err)
	}
	if *perfModule == "plugin" {
		checkPlugin(t, s, x)
	}
	n := 0
	if *perfN >= 0 {
		n = *perfN
		perfMark()
		if err := perfExchanges(p, s, n); err != nil {
			t.Fatal(err)
		}
		perfMark()
	}
	for deadline := time.Now().Add(*perfTime); *perfN < 0 && time.Now().Before(deadline); n += 1000 {
		for range 1000 {
			if _, err := p.Do(s.request, upstream); err != nil {
				t.Fatal(err)
			}
		}
	}
	fmt.Printf("%s%d\t%.3f\n", perfLinePrefix, n, time.Since(started).Seconds())
}

// perfMark marks the start and the end of perfExchanges' run for
// callgrind (scripts/wasm-instructions.sh dumps its counts on each call:
// the second dump holds the exchanges alone, without the compilation and
// start before them, whose count varies from run to run).
//
//go:noinline
func perfMark() { perfMarks++ }

var perfMarks int

// perfExchanges runs n exchanges of s.
func perfExchanges(p *wasmhost.Plugin, s scenario, n int) error {
	for range n {
		if _, err := p.Do(s.request, upstream); err != nil {
			return err
		}
	}
	return nil
}

// perfLoopModule returns the module TestPerfLoop runs (-perf.module), kept
// in -perf.dir when it is set.
func perfLoopModule(t *testing.T, s scenario) []byte {
	var file string
	if *perfDir != "" {
		file = filepath.Join(*perfDir, *perfModule+"-"+strings.ReplaceAll(s.name, " ", "-")+".wasm")
		if wasm, err := os.ReadFile(file); err == nil {
			return wasm
		}
	}
	var wasm []byte
	switch *perfModule {
	case "plugin":
		wasm = testmodule.Get(t, testmodule.WithNames)
	case "callfloor":
		wasm = callFloorOf(t, s).wasm
	default:
		t.Fatalf("-perf.module %q is neither plugin nor callfloor", *perfModule)
	}
	if file != "" {
		if err := os.WriteFile(file, wasm, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return wasm
}
