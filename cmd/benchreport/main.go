// Command benchreport runs the engine and module benchmarks side by side,
// prints their tables as medians and ratios, and checks the performance
// budgets: it exits 1 when one is missed. Timing is never asserted in
// go test; this is where the numbers are judged.
//
//	go run ./cmd/benchreport            # run the benchmarks and report
//	go run ./cmd/benchreport -count 10  # more runs per benchmark
//	go run ./cmd/benchreport -in FILE   # report on saved `go test -bench` output
//	go run ./cmd/benchreport -out FILE  # also save the raw output
//
// The module's footprint (BenchmarkModule/footprint: size, memory over a long
// run, startup) runs once, whatever -count says; -requests bounds its long
// run. -wasmopt runs Binaryen's wasm-opt on the modules before measuring
// them, to judge an optimized build. The module table sets the plugin
// beside two floors: the Go floor (a Go module that only reads origin) and
// the scenario's call-matched floor (a runtime-free module making exactly
// the plugin's host calls); the budgets are plugin / call-matched floor.
// It also prints the plugin's Wasm function calls per exchange with the
// top callees and a profile summary by category (bench's
// TestWasmCallCounts -wasmcalls).
package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func main() {
	count := flag.Int("count", 5, "runs per benchmark; the report takes medians")
	in := flag.String("in", "", "read `go test -bench` output from this file instead of running the benchmarks")
	out := flag.String("out", "", "also write the raw `go test -bench` output to this file")
	requests := flag.Int("requests", 1_000_000, "requests of the footprint's long run (it stops after 60 s anyway)")
	wasmOpt := flag.String("wasmopt", "", "run wasm-opt with these flags on the modules before measuring them")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: benchreport [-count N] [-requests N] [-wasmopt FLAGS] [-in FILE | -out FILE]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	var raw string
	if *in != "" {
		data, err := os.ReadFile(*in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(2)
		}
		raw = string(data)
	} else {
		var err error
		raw, err = run(*count, *requests, *wasmOpt)
		if *out != "" {
			if werr := os.WriteFile(*out, []byte(raw), 0o644); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(2)
		}
	}
	results := parse(strings.NewReader(raw))
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "benchreport: no benchmark results found")
		os.Exit(2)
	}
	failures := report(os.Stdout, results)
	reportCallbackTime(os.Stdout, results)
	reportCalls(os.Stdout, parseCalls(strings.NewReader(raw)))
	if len(failures) > 0 {
		fmt.Println("\nbudgets missed:")
		for _, f := range failures {
			fmt.Println("  -", f)
		}
		os.Exit(1)
	}
	fmt.Println("\nall budgets met")
}

// runs are the benchmark runs, in report order. once runs ignore -count;
// module runs take the module flags.
var runs = []struct {
	pkg, bench string
	test       string // a test to run (-run) instead of benchmarks
	once       bool
	module     bool
	args       []string
}{
	{pkg: "./filter", bench: "^BenchmarkEngine$"},
	{pkg: "./bench", bench: "^BenchmarkModule$", module: true, args: []string{"-footprint=false"}},
	{pkg: "./bench", bench: "^BenchmarkModule$/^footprint$", once: true, module: true},
	{pkg: "./bench", bench: "^BenchmarkCallbackTime$", once: true, module: true},
	{pkg: "./bench", test: "^TestWasmCallCounts$", once: true, args: []string{"-wasmcalls"}},
}

func run(count, requests int, wasmOpt string) (string, error) {
	var all strings.Builder
	for _, r := range runs {
		if _, err := os.Stat(r.pkg); err != nil {
			continue
		}
		n := count
		if r.once {
			n = 1
		}
		args := []string{"test", "-run", "^$", "-bench", r.bench, "-benchmem", "-count", strconv.Itoa(n), r.pkg}
		if r.test != "" {
			args = []string{"test", "-v", "-run", r.test, "-count", "1", r.pkg, "-args"}
			args = append(args, r.args...)
		}
		if r.module {
			args = append(args, "-args", "-footprint.requests="+strconv.Itoa(requests))
			if wasmOpt != "" {
				args = append(args, "-wasmopt="+wasmOpt)
			}
			args = append(args, r.args...)
		}
		cmd := exec.Command("go", args...)
		cmd.Stderr = os.Stderr
		fmt.Fprintln(os.Stderr, "running: go", strings.Join(args, " "))
		outb, err := cmd.Output()
		all.Write(outb)
		if err != nil {
			return all.String(), fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, outb)
		}
	}
	return all.String(), nil
}

// result holds every measurement of one benchmark, by unit.
type result map[string][]float64

// parse reads `go test -bench` lines: name, iterations, then value-unit pairs.
// Results are keyed by the name without the Benchmark prefix and -GOMAXPROCS suffix.
func parse(r io.Reader) map[string]result {
	results := map[string]result{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		if results[name] == nil {
			results[name] = result{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			results[name][f[i+1]] = append(results[name][f[i+1]], v)
		}
	}
	return results
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// get returns the median of unit for benchmark name, and whether it was measured.
func get(results map[string]result, name, unit string) (float64, bool) {
	r, ok := results[name]
	if !ok || len(r[unit]) == 0 {
		return 0, false
	}
	return median(r[unit]), true
}

// scenarioOrder is the order of the scenarios in the tables; others
// follow in name order.
var scenarioOrder = []string{
	"no_origin", "allowed_actual", "denied_actual", "allowed_preflight",
	"denied_preflight", "large_policy_preflight", "4_KiB_request_headers", "browser_preflight", "footprint",
}

// scenarios lists the distinct middle parts of names under prefix, in
// scenarioOrder.
func scenarios(results map[string]result, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for n := range results {
		rest, ok := strings.CutPrefix(n, prefix+"/")
		if !ok {
			continue
		}
		i := strings.LastIndexByte(rest, '/')
		if i < 0 {
			continue
		}
		if s := rest[:i]; !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	rank := func(s string) int {
		if i := slices.Index(scenarioOrder, s); i >= 0 {
			return i
		}
		return len(scenarioOrder)
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b)) })
	return out
}
