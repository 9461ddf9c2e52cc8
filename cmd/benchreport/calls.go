package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// callsPrefix starts the lines bench's TestWasmCallCounts prints under
// -wasmcalls: "wasmcalls<TAB>scenario<TAB>calls<TAB>name=count,...".
const callsPrefix = "wasmcalls\t"

// profilePrefix starts the lines of TestWasmCallCounts' profile summary:
// "wasmprofile<TAB>scenario<TAB>category=count,...".
const profilePrefix = "wasmprofile\t"

// callRow is one scenario's Wasm function calls per warm exchange, with
// its top callees and its calls by profile category ("name=count").
type callRow struct {
	scenario, calls string
	top             []string
	categories      []string
}

// parseCalls reads the -wasmcalls lines of the raw output, in order, with
// the profile line of each scenario.
func parseCalls(r io.Reader) []callRow {
	var rows []callRow
	profiles := map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), profilePrefix); ok {
			if scenario, cats, ok := strings.Cut(line, "\t"); ok && cats != "" {
				profiles[scenario] = strings.Split(cats, ",")
			}
			continue
		}
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
	for i := range rows {
		rows[i].categories = profiles[rows[i].scenario]
	}
	return rows
}

// reportCalls prints the Wasm call counts, if any. Their budgets are held
// by bench's TestWasmCallCounts, which fails (and so fails this run) when
// a count is over its budget.
func reportCalls(w io.Writer, rows []callRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nWasm function calls per warm exchange (plugin built with its name section, counted by a wazero")
	fmt.Fprintln(w, "function listener; functions the module defines, host imports excluded; deterministic)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tcalls\ttop callees")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.scenario, r.calls, strings.Join(shortNames(r.top[:min(5, len(r.top))]), " "))
	}
	tw.Flush()
	reportProfile(w, rows)
}

// reportProfile prints where each scenario's Wasm calls go, by category
// (bench's profileRules), most calls first.
func reportProfile(w io.Writer, rows []callRow) {
	if !slices.ContainsFunc(rows, func(r callRow) bool { return len(r.categories) > 0 }) {
		return
	}
	fmt.Fprintln(w, "\nProfile: the same calls by where they go (categories of bench/profile_test.go's profileRules; what the")
	fmt.Fprintln(w, "allocator callback calls counts for it; memequal and friends count for their caller)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tcalls\tby category, most first")
	for _, r := range rows {
		type cat struct {
			name string
			n    int
		}
		var cats []cat
		for _, c := range r.categories {
			name, count, _ := strings.Cut(c, "=")
			n, _ := strconv.Atoi(count)
			cats = append(cats, cat{name, n})
		}
		slices.SortStableFunc(cats, func(a, b cat) int { return b.n - a.n })
		parts := make([]string, len(cats))
		for i, c := range cats {
			parts[i] = fmt.Sprintf("%s %d", c.name, c.n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.scenario, r.calls, strings.Join(parts, ", "))
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

// callbackColumns are the callbacks of bench's BenchmarkCallbackTime, in a
// stream's order (its units are "<callback>-guest-ns/op"), with their
// column headings.
var callbackColumns = []struct{ unit, heading string }{
	{"context_create", "create"},
	{"request_headers", "request"},
	{"response_headers", "response"},
	{"memory_allocate", "allocator"},
	{"log", "log"},
	{"done", "done"},
	{"delete", "delete"},
}

// reportCallbackTime prints where the plugin's time goes by callback
// (BenchmarkCallbackTime), if it ran.
func reportCallbackTime(w io.Writer, results map[string]result) {
	list := scenarios(results, "CallbackTime")
	if len(list) == 0 {
		return
	}
	fmt.Fprintln(w, "\nTime by callback (plugin, ns per exchange, timed by the host without listeners, one run: the module's")
	fmt.Fprintln(w, "own time in each callback, host functions excluded, the allocator callback apart; host = the host")
	fmt.Fprintln(w, "functions; each timed call adds clock reads, so the sum exceeds the module table's time)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "scenario\t")
	for _, c := range callbackColumns {
		fmt.Fprint(tw, c.heading+"\t")
	}
	fmt.Fprintln(tw, "host\t")
	for _, s := range list {
		name := "CallbackTime/" + s + "/plugin"
		r := results[name]
		fmt.Fprintf(tw, "%s\t", pretty(s))
		for _, c := range callbackColumns {
			v, ok := 0.0, len(r[c.unit+"-guest-ns/op"]) > 0
			if ok {
				v = median(r[c.unit+"-guest-ns/op"])
			}
			fmt.Fprintf(tw, "%s\t", orDash(v, ok))
		}
		host, ok := get(results, name, "host-ns/op")
		fmt.Fprintf(tw, "%s\t\n", orDash(host, ok))
	}
	tw.Flush()
}
