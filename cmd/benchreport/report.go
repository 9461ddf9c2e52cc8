package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// The budgets (issue "Performance"): each is checked on medians of one run.
const (
	minPreflightSpeedup = 3.0 // this engine vs rs/cors, allowed preflight
	minActualSpeedup    = 2.0 // this engine vs rs/cors, allowed actual request
	maxModuleBytes      = 2.5 * 1024 * 1024
)

// callMatchedBudgets are the most a scenario's exchange may cost, as a
// multiple of its call-matched floor (a runtime-free module that makes the
// same host calls): the plugin's median over the floor's, in the same run
// (issue 14).
var callMatchedBudgets = map[string]float64{
	"no_origin":             1.6,
	"allowed_actual":        2.0,
	"allowed_preflight":     2.0,
	"denied_preflight":      2.0,
	"4_KiB_request_headers": 4.0,
}

// hostCallBudgets are the most host calls a scenario may make: request
// side, response side and in all (-1: no bound). The response side of an
// allowed actual request is not bounded: adding its headers one call each
// is as good as reading and writing the pairs, and the call-matched floor
// prices either.
var hostCallBudgets = map[string][3]float64{
	"no_origin":         {1, -1, -1},
	"allowed_preflight": {-1, -1, 6},
	"allowed_actual":    {2, -1, -1},
}

// report prints the tables and returns the budgets missed.
func report(w io.Writer, results map[string]result) []string {
	var failures []string
	fail := func(format string, args ...any) { failures = append(failures, fmt.Sprintf(format, args...)) }

	if engine := scenarios(results, "Engine"); len(engine) > 0 {
		fmt.Fprintln(w, "Engine (filter/, native Go; medians; ratio = rs/cors time / this engine's time)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\tcorswasm ns/op\tallocs/op\trs/cors ns/op\tallocs/op\tratio\t")
		for _, s := range engine {
			ours, _ := get(results, "Engine/"+s+"/corswasm", "ns/op")
			oursAllocs, _ := get(results, "Engine/"+s+"/corswasm", "allocs/op")
			theirs, _ := get(results, "Engine/"+s+"/rscors", "ns/op")
			theirAllocs, _ := get(results, "Engine/"+s+"/rscors", "allocs/op")
			ratio := theirs / ours
			fmt.Fprintf(tw, "%s\t%.1f\t%.0f\t%.1f\t%.0f\t%.2fx\t\n", pretty(s), ours, oursAllocs, theirs, theirAllocs, ratio)
			if oursAllocs != 0 && s != "4_KiB_request_headers" {
				fail("engine %q allocates %.0f times per request, want 0", pretty(s), oursAllocs)
			}
			switch {
			case s == "allowed_preflight" && ratio < minPreflightSpeedup:
				fail("engine allowed preflight is %.2fx rs/cors, want at least %.1fx", ratio, minPreflightSpeedup)
			case s == "allowed_actual" && ratio < minActualSpeedup:
				fail("engine allowed actual request is %.2fx rs/cors, want at least %.1fx", ratio, minActualSpeedup)
			}
		}
		tw.Flush()
	}

	if module := scenarios(results, "Module"); len(module) > 0 {
		fmt.Fprintln(w, "\nModule (plugin.wasm in wazero behind a host that counts host calls; medians of one run, interleaved;")
		fmt.Fprintln(w, "Go floor = a Go module on the same ABI layer that only reads origin; call-matched = a runtime-free module")
		fmt.Fprintln(w, "that makes exactly the plugin's host calls of the scenario, same callbacks and inputs; ratio = plugin /")
		fmt.Fprintln(w, "call-matched, with its budget; one exchange per op: request headers, response headers, stream end; host")
		fmt.Fprintln(w, "calls are the plugin's proxy-wasm calls, total includes the stream's other callbacks; WASI/op are the Go")
		fmt.Fprintln(w, "runtime's calls, mostly clock reads)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\tplugin ns/op\tGo floor ns/op\tcall-matched ns/op\tratio\tbudget\thost calls req\tresp\ttotal\tWASI/op\t")
		for _, s := range module {
			if s == "footprint" {
				continue
			}
			name := "Module/" + s + "/plugin"
			ours, _ := get(results, name, "ns/op")
			goFloor, hasGoFloor := get(results, "Module/"+s+"/floor", "ns/op")
			callFloor, hasCallFloor := get(results, "Module/"+s+"/callfloor", "ns/op")
			reqCalls, _ := get(results, name, "hostcalls-req/op")
			respCalls, _ := get(results, name, "hostcalls-resp/op")
			total, _ := get(results, name, "hostcalls/op")
			wasi, _ := get(results, name, "wasi-calls/op")
			ratio, budget := "-", "-"
			limit, hasBudget := callMatchedBudgets[s]
			if hasBudget {
				budget = fmt.Sprintf("%.1fx", limit)
			}
			switch {
			case hasCallFloor:
				r := ours / callFloor
				ratio = fmt.Sprintf("%.2fx", r)
				if hasBudget && r > limit {
					fail("module %s costs %.2fx its call-matched floor (%.0f vs %.0f ns/op), want at most %.1fx: %.2fx over, %.0f ns/op (%.0f%%) to cut",
						pretty(s), r, ours, callFloor, limit, r-limit, ours-limit*callFloor, 100*(ours-limit*callFloor)/ours)
				}
			case hasBudget:
				fail("module %s: no call-matched floor measured, its budget (%.1fx) cannot be checked", pretty(s), limit)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.3f\t\n", pretty(s), ours, orDash(goFloor, hasGoFloor), orDash(callFloor, hasCallFloor), ratio, budget, reqCalls, respCalls, total, wasi)
			if b, ok := hostCallBudgets[s]; ok {
				for i, got := range []float64{reqCalls, respCalls, total} {
					if b[i] >= 0 && got > b[i] {
						fail("module %q makes %.0f %s host calls, want at most %.0f", pretty(s), got, []string{"request-side", "response-side", ""}[i], b[i])
					}
				}
			}
		}
		tw.Flush()
		bare, hasBare := get(results, "Module/no_origin/barefloor", "ns/op")
		callFloor, hasCallFloor := get(results, "Module/no_origin/callfloor", "ns/op")
		if hasBare && hasCallFloor {
			fmt.Fprintf(w, "bare Go floor (bench/barefloor: the no-origin exchange's host calls from four go:wasmexport functions, nothing else):\n"+
				"  %.0f ns/op, %.2fx the call-matched floor\n", bare, bare/callFloor)
		}
		footprint(w, results, fail)
	}
	return failures
}

func footprint(w io.Writer, results map[string]result, fail func(string, ...any)) {
	const name = "Module/footprint/plugin"
	if _, ok := results[name]; !ok {
		return
	}
	size, _ := get(results, name, "module-bytes")
	start, _ := get(results, name, "mem-start-bytes")
	warm, _ := get(results, name, "mem-warm-bytes")
	end, _ := get(results, name, "mem-end-bytes")
	requests, _ := get(results, name, "requests")
	startup, _ := get(results, name, "startup-ms")
	grewAt, hasGrewAt := get(results, name, "mem-grew-at")
	soak, _ := get(results, name, "soak-ns/req")
	fmt.Fprintf(w, "\nplugin.wasm: %s bytes (%.2f MiB); compile and start: %.0f ms\n", commas(size), size/(1<<20), startup)
	fmt.Fprintf(w, "linear memory: %.1f MiB after start, %.1f MiB after 1,000 requests, %.1f MiB after %s requests\n",
		start/(1<<20), warm/(1<<20), end/(1<<20), commas(requests))
	if hasGrewAt {
		fmt.Fprintf(w, "linear memory last grew at request %s; the long run took %.0f ns per request (every scenario in turn)\n", commas(grewAt), soak)
	}
	if size > maxModuleBytes {
		fail("plugin.wasm is %.2f MiB (%s bytes), want at most %.1f MiB (%s bytes)", size/(1<<20), commas(size), float64(maxModuleBytes)/(1<<20), commas(maxModuleBytes))
	}
	if end > warm {
		fail("linear memory grew from %.1f MiB to %.1f MiB after the first 1,000 requests (last growth at request %s)", warm/(1<<20), end/(1<<20), commas(grewAt))
	}
}

func pretty(s string) string { return strings.ReplaceAll(s, "_", " ") }

func orDash(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}

// commas formats a count with thousands separators: 1000000 is "1,000,000".
func commas(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
