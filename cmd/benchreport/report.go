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
	maxNoOriginVsFloor  = 1.3 // module vs floor module, request without Origin
	maxModuleBytes      = 2.5 * 1024 * 1024
)

// hostCallBudgets are the most host calls a scenario may make: request
// side, response side and in all (-1: no bound).
var hostCallBudgets = map[string][3]float64{
	"no_origin":         {1, -1, -1},
	"allowed_preflight": {-1, -1, 6},
	"allowed_actual":    {2, 4, -1},
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
		fmt.Fprintln(w, "\nModule (plugin.wasm in wazero behind a host that counts host calls; floor = a module that only reads origin;")
		fmt.Fprintln(w, "one exchange per op: request headers, response headers, stream end; host calls are proxy-wasm calls,")
		fmt.Fprintln(w, "total includes the stream's other callbacks; WASI/op are the Go runtime's calls, mostly clock reads)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "scenario\tplugin ns/op\tfloor ns/op\tratio\thost calls req\tresp\ttotal\tWASI/op\t")
		for _, s := range module {
			if s == "footprint" {
				continue
			}
			name := "Module/" + s + "/plugin"
			ours, _ := get(results, name, "ns/op")
			floor, hasFloor := get(results, "Module/"+s+"/floor", "ns/op")
			reqCalls, _ := get(results, name, "hostcalls-req/op")
			respCalls, _ := get(results, name, "hostcalls-resp/op")
			total, _ := get(results, name, "hostcalls/op")
			wasi, _ := get(results, name, "wasi-calls/op")
			ratio := "-"
			if hasFloor {
				ratio = fmt.Sprintf("%.2fx", ours/floor)
				if s == "no_origin" && ours/floor > maxNoOriginVsFloor {
					fail("module request without Origin costs %.2fx the floor, want at most %.1fx", ours/floor, maxNoOriginVsFloor)
				}
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.3f\t\n", pretty(s), ours, orDash(floor, hasFloor), ratio, reqCalls, respCalls, total, wasi)
			if b, ok := hostCallBudgets[s]; ok {
				for i, got := range []float64{reqCalls, respCalls, total} {
					if b[i] >= 0 && got > b[i] {
						fail("module %q makes %.0f %s host calls, want at most %.0f", pretty(s), got, []string{"request-side", "response-side", ""}[i], b[i])
					}
				}
			}
		}
		tw.Flush()
		callMatched(w, results, module)
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
