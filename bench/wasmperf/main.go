//go:build !wasip1

// Command wasmperf says where the module's work goes, by Wasm function, from
// a profile of the module benchmarks' host process (bench's TestPerfLoop,
// whose wazero wrote a perf map of the module's build with names: the
// perfmap build tag). It reads one of two profiles on standard input:
//
//   - time, from perf (scripts/wasm-profile.sh 'allowed preflight'):
//     `perf report --no-children --sort symbol -g none`, with the number of
//     exchanges and seconds TestPerfLoop ran (-exchanges, -seconds); it
//     prints time per exchange by function;
//   - instructions, from callgrind (scripts/wasm-instructions.sh 'allowed
//     preflight'): `callgrind_annotate --threshold=100`, with the perf map
//     (-map) and the exchanges (-exchanges); callgrind names no function of
//     the compiled module (machine code wazero wrote at run time) but lists
//     its addresses, which the perf map turns into Wasm function names; it
//     prints instructions per exchange by function.
//
// The rest is the host (the project's wasmhost, wazero, the Go runtime
// serving both, and the compilation before the loop).
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
	seconds := flag.Float64("seconds", 0, "seconds the profiled process ran (a perf profile)")
	mapFile := flag.String("map", "", "the perf map wazero wrote, /tmp/perf-PID.map (a callgrind profile)")
	top := flag.Int("top", 20, "Wasm functions to list")
	flag.Parse()
	if *mapFile != "" && *exchanges > 0 {
		if err := instructions(os.Stdin, os.Stdout, *mapFile, *exchanges, *top); err != nil {
			fmt.Fprintln(os.Stderr, "wasmperf:", err)
			os.Exit(1)
		}
		return
	}
	if *exchanges <= 0 || *seconds <= 0 {
		fmt.Fprintln(os.Stderr, "wasmperf: -exchanges with -seconds (perf) or -map (callgrind) are required (TestPerfLoop prints the exchanges and seconds)")
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
		if name, ok := wasmFunction(sym); ok {
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
	for _, name := range mostFirst(byFunc, top) {
		fmt.Fprintf(w, "%6.0f ns  %5.1f%% of the module's time  %s\n", ns(byFunc[name]), 100*byFunc[name]/wasm, name)
	}
	return nil
}

// wasmFunction returns the Wasm function a perf map symbol names, without
// this module's package path, or false for any other symbol.
func wasmFunction(sym string) (string, bool) {
	f := wasmSymbol.FindStringSubmatch(sym)
	if f == nil {
		return "", false
	}
	return strings.TrimPrefix(f[1], "github.com_corswasm_corswasm_"), true
}

// mostFirst returns the top names of byFunc, the largest values first.
func mostFirst(byFunc map[string]float64, top int) []string {
	names := slices.SortedFunc(maps.Keys(byFunc), func(a, b string) int {
		return cmp.Or(cmp.Compare(byFunc[b], byFunc[a]), cmp.Compare(a, b))
	})
	return names[:min(top, len(names))]
}
