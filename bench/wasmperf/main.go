//go:build !wasip1

// Command wasmperf turns a perf profile of the module benchmarks' host
// process into time per exchange by Wasm function: where the module's time
// goes, measured rather than counted. scripts/wasm-profile.sh runs it:
//
//	scripts/wasm-profile.sh 'allowed preflight'
//
// It reads `perf report --no-children --sort symbol -g none` on standard
// input, from a process whose wazero wrote a perf map (the perfmap build
// tag) for the module's build with names (bench's TestPerfLoop), and the
// number of exchanges and seconds TestPerfLoop ran (-exchanges, -seconds).
// Samples in the module's functions are summed by function; the rest is
// the host (the project's wasmhost, wazero, the Go runtime serving both,
// and the compilation before the loop).
package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A perf map names a compiled Wasm function "[index/count].name:::::Lblock"
// (one entry per machine block).
var wasmSymbol = regexp.MustCompile(`^\[\d+/\d+\]\.?(.*?):::::L\d+$`)

// sample is one line of perf report: a symbol's share of all samples.
var sample = regexp.MustCompile(`^\s*([\d.]+)%\s+\[.\]\s+(\S.*?)\s*$`)

func main() {
	exchanges := flag.Float64("exchanges", 0, "exchanges the profiled loop ran")
	seconds := flag.Float64("seconds", 0, "seconds the profiled process ran")
	top := flag.Int("top", 20, "Wasm functions to list")
	flag.Parse()
	if *exchanges <= 0 || *seconds <= 0 {
		fmt.Fprintln(os.Stderr, "wasmperf: -exchanges and -seconds are required (TestPerfLoop prints them)")
		os.Exit(2)
	}
	if err := report(os.Stdin, os.Stdout, *exchanges, *seconds, *top); err != nil {
		fmt.Fprintln(os.Stderr, "wasmperf:", err)
		os.Exit(1)
	}
}

// report reads perf report lines from r and writes the summary to w.
func report(r io.Reader, w io.Writer, exchanges, seconds float64, top int) error {
	byFunc := map[string]float64{}
	var wasm, all float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := sample.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		pct, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return err
		}
		sym, _, _ := strings.Cut(m[2], "  ") // perf pads the symbol column
		all += pct
		if f := wasmSymbol.FindStringSubmatch(sym); f != nil {
			name := strings.TrimPrefix(f[1], "github.com_corswasm_corswasm_")
			byFunc[name] += pct
			wasm += pct
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if wasm == 0 {
		return fmt.Errorf("no sample in a Wasm function: was the host built with -tags perfmap, and the module with names?")
	}
	ns := func(pct float64) float64 { return pct / 100 * seconds * 1e9 / exchanges }
	fmt.Fprintf(w, "Wasm functions: %.1f%% of the samples, %.0f ns per exchange; the host and the rest: %.1f%%, %.0f ns (compilation included)\n",
		wasm, ns(wasm), all-wasm, ns(all-wasm))
	names := slices.SortedFunc(maps.Keys(byFunc), func(a, b string) int {
		return cmp.Or(cmp.Compare(byFunc[b], byFunc[a]), cmp.Compare(a, b))
	})
	for _, name := range names[:min(top, len(names))] {
		fmt.Fprintf(w, "%6.0f ns  %5.1f%% of the module's time  %s\n", ns(byFunc[name]), 100*byFunc[name]/wasm, name)
	}
	return nil
}
