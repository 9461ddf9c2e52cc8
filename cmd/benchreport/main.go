// Command benchreport runs the engine and module benchmarks side by side,
// prints their tables as medians and ratios, and checks the performance
// budgets: it exits 1 when one is missed. Timing is never asserted in
// go test; this is where the numbers are judged.
//
//	go run ./cmd/benchreport            # run the benchmarks and report
//	go run ./cmd/benchreport -count 10  # more runs per benchmark
//	go run ./cmd/benchreport -in FILE   # report on saved `go test -bench` output
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

func main() {
	count := flag.Int("count", 5, "runs per benchmark; the report takes medians")
	in := flag.String("in", "", "read `go test -bench` output from this file instead of running the benchmarks")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: benchreport [-count N] [-in FILE]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	var out string
	if *in != "" {
		data, err := os.ReadFile(*in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(2)
		}
		out = string(data)
	} else {
		var err error
		if out, err = run(*count); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(2)
		}
	}
	results := parse(strings.NewReader(out))
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "benchreport: no benchmark results found")
		os.Exit(2)
	}
	failures := report(os.Stdout, results)
	if len(failures) > 0 {
		fmt.Println("\nbudgets missed:")
		for _, f := range failures {
			fmt.Println("  -", f)
		}
		os.Exit(1)
	}
	fmt.Println("\nall budgets met")
}

// packages are the benchmark runs, in report order.
var packages = []struct{ pkg, bench string }{
	{"./filter", "^BenchmarkEngine$"},
	{"./bench", "^BenchmarkModule$"},
}

func run(count int) (string, error) {
	var all strings.Builder
	for _, p := range packages {
		if _, err := os.Stat(p.pkg); err != nil {
			continue
		}
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", p.bench, "-benchmem", "-count", strconv.Itoa(count), p.pkg)
		cmd.Stderr = os.Stderr
		fmt.Fprintln(os.Stderr, "running:", strings.Join(cmd.Args, " "))
		outb, err := cmd.Output()
		all.Write(outb)
		if err != nil {
			return all.String(), fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, outb)
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

// scenarios lists the distinct middle parts of names under prefix, in first-seen order.
func scenarios(results map[string]result, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
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
	return out
}
