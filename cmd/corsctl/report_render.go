// report --format text and --format json.

package main

import (
	"fmt"
	"io"
)

// writeText prints the report for a reader: the files read, each policy's
// counts and the requests that would break, then the verdict.
func (r *report) writeText(w io.Writer) {
	fmt.Fprintln(w, "Read:")
	for _, in := range r.Inputs {
		what := kindText[in.Kind]
		switch in.Kind {
		case kindEnvoyStats, kindPrometheus:
			what += fmt.Sprintf(", %d report %s", in.Counters, pluralN(in.Counters, "counter", "counters"))
		default:
			what += fmt.Sprintf(", %d would_break and %d would_open %s", in.WouldBreak, in.WouldOpen, pluralN(in.WouldBreak+in.WouldOpen, "line", "lines"))
		}
		fmt.Fprintf(w, "  %s: %s\n", displayName(in.File), what)
	}
	fmt.Fprintln(w)
	if r.CountsFrom == countsFromLogs {
		fmt.Fprintln(w, "Counts are log lines (no stats given): agree is never logged, would_open only at debug level.")
	} else {
		fmt.Fprintln(w, "Counts are the proxies' counters, summed over the stats files.")
	}
	if len(r.Policies) == 0 {
		fmt.Fprintln(w, "No policy counted: the stats hold no per-policy report counters and the logs no report lines.")
	}
	for _, p := range r.Policies {
		fmt.Fprintf(w, "\nPolicy %s: %s\n", p.Policy, r.countsText(p.Counts))
		if len(p.BreaksByOrigins) == 0 {
			continue
		}
		fmt.Fprintf(w, "  would break (%d log %s), by origin, then path:\n", p.BreakLines, pluralN(p.BreakLines, "line", "lines"))
		for _, o := range p.BreaksByOrigins {
			fmt.Fprintf(w, "    %4d  %s\n", o.Count, o.Origin)
			width := 0
			for _, x := range o.Paths {
				width = max(width, len(x.Path))
			}
			for _, x := range o.Paths {
				fmt.Fprintf(w, "          %4d  %-*s  %s\n", x.Count, width, x.Path, x.Difference)
			}
		}
	}
	fmt.Fprintf(w, "\nTotal: %s\n\n", r.countsText(r.Total))
	r.writeVerdict(w)
}

// countsText prints counts; agree is unknown when they come from logs.
func (r *report) countsText(c classCounts) string {
	agree := fmt.Sprint(c.Agree)
	if r.CountsFrom == countsFromLogs {
		agree = "?"
	}
	return fmt.Sprintf("agree %s, would_break %d, would_open %d", agree, c.WouldBreak, c.WouldOpen)
}

// writeVerdict prints the verdict and the change.
func (r *report) writeVerdict(w io.Writer) {
	v := r.Verdict
	if v.Safe {
		fmt.Fprintln(w, "Verdict: safe to enforce: no request would break.")
		return
	}
	n := r.Total.WouldBreak
	if n == 0 {
		n = int64(r.breakLines())
	}
	fmt.Fprintf(w, "Verdict: NOT safe to enforce: %d %s would break.\n", n, pluralN(int(n), "request", "requests"))
	switch {
	case v.Verified:
		fmt.Fprintf(w, "Smallest change that makes it safe (%s):\n", v.Config)
		for _, c := range v.Changes {
			fmt.Fprintf(w, "  %s%s\n", v.Prefix, c)
		}
		fmt.Fprintf(w, "  (checked: with this change the plugin allows each of the %d %s that would break, and the browser accepts the answers)\n",
			len(r.Breaks), pluralN(len(r.Breaks), "distinct request", "distinct requests"))
		if v.Removes {
			fmt.Fprintln(w, "  The change takes entries out of a list: requests that agree today may break; run report mode again with it.")
		}
	case v.None != "":
		if len(v.Changes) > 0 {
			fmt.Fprintf(w, "The change it takes (%s):\n", v.Config)
			for _, c := range v.Changes {
				fmt.Fprintf(w, "  %s%s\n", v.Prefix, c)
			}
		}
		fmt.Fprintf(w, "No change to suggest: %s.\n", v.None)
	default:
		if len(v.Changes) > 0 {
			fmt.Fprintf(w, "Change (%s), NOT enough:\n", v.Config)
			for _, c := range v.Changes {
				fmt.Fprintf(w, "  %s%s\n", v.Prefix, c)
			}
		}
		fmt.Fprintln(w, "With it, these requests would still break:")
		for _, f := range v.Failing {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
}

// breakLines counts the would_break lines read.
func (r *report) breakLines() int {
	n := 0
	for _, p := range r.Policies {
		n += p.BreakLines
	}
	return n
}

// reportJSON is what report --format json prints; its schema is stable
// (schemaVersion 1, documented in docs/debugging.md): fields may be added, never
// renamed or removed.
type reportJSON struct {
	SchemaVersion int           `json:"schemaVersion"`
	Safe          bool          `json:"safe"`
	Inputs        []reportInput `json:"inputs"`
	CountsFrom    string        `json:"countsFrom"` // "stats" or "logs"
	Total         countsJSON    `json:"total"`
	Policies      []policyJSON  `json:"policies"`
	Verdict       verdictJSON   `json:"verdict"`
}

// countsJSON are a policy's or the total counts; agree is null when the
// counts come from logs.
type countsJSON struct {
	Agree      *int64 `json:"agree"`
	WouldBreak int64  `json:"wouldBreak"`
	WouldOpen  int64  `json:"wouldOpen"`
}

// policyJSON is one policy: its counts and, from logs, what would break.
type policyJSON struct {
	Policy          string `json:"policy"` // the display name
	countsJSON             // agree, wouldBreak, wouldOpen
	WouldBreakLines int    `json:"wouldBreakLines"`
	WouldOpenLines  int    `json:"wouldOpenLines"`
	// WouldBreakByOrigin groups the would_break lines by origin, most
	// frequent first.
	WouldBreakByOrigin []originJSON `json:"wouldBreakByOrigin"`
}

// originJSON is one origin's would_break lines, by path and difference.
type originJSON struct {
	Origin string     `json:"origin"`
	Count  int        `json:"count"`
	Paths  []pathJSON `json:"paths"`
}

// pathJSON counts one path and difference.
type pathJSON struct {
	Path       string `json:"path"`
	Difference string `json:"difference"`
	Count      int    `json:"count"`
}

// verdictJSON is the verdict and the change.
type verdictJSON struct {
	Safe       bool   `json:"safe"`
	WouldBreak int64  `json:"wouldBreak"`
	Config     string `json:"config,omitempty"`
	// Changes are the edits, field paths in the file (as explain prints
	// them), "" when none is found.
	Changes []string `json:"changes,omitempty"`
	// Verified: with the changes, the engine allows every request that
	// would break, and the browser accepts the answers.
	Verified bool `json:"verified"`
	// Requests is how many distinct requests that would break were replayed.
	Requests int `json:"requests"`
	// StillBreaking lists the requests the change does not let through.
	StillBreaking []string `json:"stillBreaking,omitempty"`
	// None says why no change is given.
	None string `json:"none,omitempty"`
	// RemovesEntries: the change takes entries out of a list.
	RemovesEntries bool `json:"removesEntries,omitempty"`
}

// json builds report --format json's object.
func (r *report) json() reportJSON {
	out := reportJSON{SchemaVersion: 1, Safe: r.Verdict.Safe, Inputs: r.Inputs, CountsFrom: r.CountsFrom,
		Total: r.countsJSON(r.Total), Policies: []policyJSON{}}
	for _, p := range r.Policies {
		pj := policyJSON{Policy: p.Policy, countsJSON: r.countsJSON(p.Counts), WouldBreakLines: p.BreakLines, WouldOpenLines: p.OpenLines,
			WouldBreakByOrigin: []originJSON{}}
		for _, o := range p.BreaksByOrigins {
			oj := originJSON{Origin: o.Origin, Count: o.Count}
			for _, x := range o.Paths {
				oj.Paths = append(oj.Paths, pathJSON{Path: x.Path, Difference: x.Difference, Count: x.Count})
			}
			pj.WouldBreakByOrigin = append(pj.WouldBreakByOrigin, oj)
		}
		out.Policies = append(out.Policies, pj)
	}
	v := r.Verdict
	out.Verdict = verdictJSON{Safe: v.Safe, WouldBreak: r.Total.WouldBreak, Config: v.Config, Verified: v.Verified,
		Requests: len(r.Breaks), StillBreaking: v.Failing, None: v.None, RemovesEntries: v.Removes}
	if out.Verdict.WouldBreak == 0 {
		out.Verdict.WouldBreak = int64(r.breakLines())
	}
	for _, c := range v.Changes {
		out.Verdict.Changes = append(out.Verdict.Changes, v.Prefix+c)
	}
	return out
}

// countsJSON converts counts; agree is null when counted from logs.
func (r *report) countsJSON(c classCounts) countsJSON {
	out := countsJSON{WouldBreak: c.WouldBreak, WouldOpen: c.WouldOpen}
	if r.CountsFrom == countsFromStats {
		out.Agree = &c.Agree
	}
	return out
}
