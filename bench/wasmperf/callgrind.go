//go:build !wasip1

package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// symbol is one perf map entry: code at [start, start+size) of the named
// Wasm function.
type symbol struct {
	start, size uint64
	name        string
}

// readPerfMap reads the entries of the module's functions ("START SIZE
// NAME", hexadecimal), sorted by address.
func readPerfMap(r io.Reader) ([]symbol, error) {
	var syms []symbol
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		start, rest, ok1 := strings.Cut(sc.Text(), " ")
		size, name, ok2 := strings.Cut(rest, " ")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("not a perf map line: %q", sc.Text())
		}
		fn, ok := wasmFunction(name)
		if !ok {
			continue // wazero's own trampolines
		}
		a, err1 := strconv.ParseUint(start, 16, 64)
		n, err2 := strconv.ParseUint(size, 16, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("not a perf map line: %q", sc.Text())
		}
		syms = append(syms, symbol{a, n, fn})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(syms) == 0 {
		return nil, fmt.Errorf("no Wasm function: was the host built with -tags perfmap, and the module with names?")
	}
	slices.SortFunc(syms, func(a, b symbol) int { return cmp.Compare(a.start, b.start) })
	return syms, nil
}

// lookup returns the function whose code holds addr, or "".
func lookup(syms []symbol, addr uint64) string {
	i := sort.Search(len(syms), func(i int) bool { return syms[i].start > addr }) - 1
	if i >= 0 && addr < syms[i].start+syms[i].size {
		return syms[i].name
	}
	return ""
}

// A line of callgrind_annotate: instructions, share, then "file:function";
// code callgrind knows nothing of is "???:0xADDRESS".
var (
	costLine  = regexp.MustCompile(`^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*)$`)
	anonymous = regexp.MustCompile(`^\?\?\?:0x([0-9a-f]+)\b`)
)

// instructions reads callgrind_annotate lines from r and the perf map
// mapFile, and writes the module's instructions per exchange, by function,
// to w.
func instructions(r io.Reader, w io.Writer, mapFile string, exchanges float64, top int) error {
	f, err := os.Open(mapFile)
	if err != nil {
		return err
	}
	defer f.Close()
	syms, err := readPerfMap(f)
	if err != nil {
		return fmt.Errorf("%s: %w", mapFile, err)
	}
	return instructionsBy(r, w, syms, exchanges, top)
}

// instructionsBy is instructions with the perf map read.
func instructionsBy(r io.Reader, w io.Writer, syms []symbol, exchanges float64, top int) error {
	byFunc := map[string]float64{}
	var wasm, total float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := costLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ir, err := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
		if err != nil {
			return err
		}
		if strings.Contains(m[2], "PROGRAM TOTALS") {
			total = ir
			continue
		}
		a := anonymous.FindStringSubmatch(m[2])
		if a == nil {
			continue
		}
		addr, err := strconv.ParseUint(a[1], 16, 64)
		if err != nil {
			return err
		}
		if name := lookup(syms, addr); name != "" {
			byFunc[name] += ir
			wasm += ir
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if total == 0 {
		return fmt.Errorf("no PROGRAM TOTALS line: is the input callgrind_annotate's?")
	}
	if wasm == 0 {
		return fmt.Errorf("no instruction in a Wasm function of the perf map")
	}
	fmt.Fprintf(w, "module: %.0f instructions per exchange (of %.0f counted in all)\n", wasm/exchanges, total/exchanges)
	for _, name := range mostFirst(byFunc, top) {
		fmt.Fprintf(w, "%8.0f  %5.1f%%  %s\n", byFunc[name]/exchanges, 100*byFunc[name]/wasm, name)
	}
	return nil
}
