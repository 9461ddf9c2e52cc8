package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// callsPrefix starts the lines bench's TestWasmCallCounts prints under
// -wasmcalls: "wasmcalls<TAB>scenario<TAB>calls<TAB>name=count,...".
const callsPrefix = "wasmcalls\t"

// callRow is one scenario's Wasm function calls per warm exchange, with
// its top callees ("name=count").
type callRow struct {
	scenario, calls string
	top             []string
}

// parseCalls reads the -wasmcalls lines of the raw output, in order.
func parseCalls(r io.Reader) []callRow {
	var rows []callRow
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), callsPrefix)
		if !ok {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			continue
		}
		row := callRow{scenario: f[0], calls: f[1]}
		if len(f) > 2 && f[2] != "" {
			row.top = strings.Split(f[2], ",")
		}
		rows = append(rows, row)
	}
	return rows
}

// reportCalls prints the Wasm call counts, if any. They hold no budget yet
// (issue 14): the table reports them.
func reportCalls(w io.Writer, rows []callRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nWasm function calls per warm exchange (plugin built with its name section, counted by a wazero")
	fmt.Fprintln(w, "function listener; functions the module defines, host imports excluded; deterministic; no budget yet)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tcalls\ttop callees")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.scenario, r.calls, strings.Join(shortNames(r.top[:min(5, len(r.top))]), " "))
	}
	tw.Flush()
}

// shortNames drops this module's package path from Go function names.
func shortNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.TrimPrefix(n, "github.com_corswasm_corswasm_")
	}
	return out
}

// callMatched prints the plugin against the call-matched floors (bench's
// callfloor benchmarks: runtime-free modules that make exactly the
// plugin's host calls), for the scenarios that have one. No budget yet
// (issue 14).
func callMatched(w io.Writer, results map[string]result, module []string) {
	var rows []string
	for _, s := range module {
		floor, ok := get(results, "Module/"+s+"/callfloor", "ns/op")
		if !ok {
			continue
		}
		ours, _ := get(results, "Module/"+s+"/plugin", "ns/op")
		goFloor, hasGo := get(results, "Module/"+s+"/floor", "ns/op")
		rows = append(rows, fmt.Sprintf("%s\t%.0f\t%.0f\t%.2fx\t%s\t\n", pretty(s), ours, floor, ours/floor, orDash(goFloor, hasGo)))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nCall-matched floor (a runtime-free module making exactly the plugin's host calls, same sizes; no budget yet)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tplugin ns/op\tcall-matched ns/op\tratio\tGo floor ns/op\t")
	for _, r := range rows {
		fmt.Fprint(tw, r)
	}
	tw.Flush()
}
