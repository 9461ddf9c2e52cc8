// report: what report mode saw, per policy, and the verdict: safe to
// enforce, or the smallest policy change that makes it safe, checked by
// replaying every request that would break with the engine. The readers
// are in report_read.go, the output in report_render.go.

package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/filter"
)

// countsFromStats and countsFromLogs say where a policy's counts come from.
const (
	countsFromStats = "stats"
	countsFromLogs  = "logs"
)

// report is everything corsctl report prints.
type report struct {
	Inputs []reportInput
	// CountsFrom is "stats" when any stats file was read: the counts are
	// the counters, summed over the files; else "logs": the counts are log
	// lines, and agree is unknown (it is never logged).
	CountsFrom string
	Total      classCounts
	Policies   []*policyReport
	// Breaks are the distinct requests that would break, from the logs.
	Breaks  []*breakRequest
	Verdict verdict
}

// classCounts counts the requests of each class.
type classCounts struct {
	Agree      int64
	WouldBreak int64
	WouldOpen  int64
}

// add adds n to the count of class.
func (c *classCounts) add(class string, n int64) {
	switch class {
	case classAgree:
		c.Agree += n
	case classWouldBreak:
		c.WouldBreak += n
	case classWouldOpen:
		c.WouldOpen += n
	}
}

// policyReport is what report mode saw of one policy.
type policyReport struct {
	Policy          string // the display name
	Counts          classCounts
	BreakLines      int // would_break log lines
	OpenLines       int // would_open log lines
	BreaksByOrigins []*originBreaks
}

// originBreaks are the would_break lines of one origin.
type originBreaks struct {
	Origin string
	Count  int
	Paths  []*pathBreaks
}

// pathBreaks are the would_break lines of one origin and path with one
// difference.
type pathBreaks struct {
	Path       string
	Difference string
	Count      int
}

// breakRequest is one distinct request that would break: what the engine
// replays to check a change.
type breakRequest struct {
	Policy       string
	Kind         string // preflight or actual
	Origin       string
	Method       string
	Headers      string
	Credentialed bool
	Path         string // the first path seen, for messages
	Item         string
	ItemValue    string
	Cut          bool
	Count        int
	First        string // file:line of the first line
}

// verdict is report's conclusion.
type verdict struct {
	Safe bool
	// Config names the configuration the change is for, when one was read.
	Config string
	// Prefix goes before the change's field paths to point into the file
	// ("spec.pluginConfig." for a WasmPlugin).
	Prefix  string
	Changes []string
	// Verified says the engine, with the change, allows every request in
	// Breaks and the browser accepts its answers.
	Verified bool
	// Failing lists the requests the change does not let through, when
	// not Verified.
	Failing []string
	// None says why no change is given.
	None string
	// Removes says the change takes entries out of a list: requests that
	// agree today may break.
	Removes bool
}

// buildReport adds up the samples and report lines of every file.
func buildReport(inputs []reportInput, samples []sample, lines []reportLine) *report {
	r := &report{Inputs: inputs, CountsFrom: countsFromLogs}
	byName := map[string]*policyReport{}
	policy := func(name string) *policyReport {
		p := byName[name]
		if p == nil {
			p = &policyReport{Policy: name}
			byName[name] = p
			r.Policies = append(r.Policies, p)
		}
		return p
	}
	for _, in := range inputs {
		if in.Kind == kindEnvoyStats || in.Kind == kindPrometheus {
			r.CountsFrom = countsFromStats
		}
	}
	var global classCounts
	var hasGlobal bool
	for _, s := range samples {
		if s.Policy == "" {
			global.add(s.Class, s.Value)
			hasGlobal = true
			continue
		}
		policy(s.Policy).Counts.add(s.Class, s.Value)
	}
	breaks := map[breakRequest]*breakRequest{}
	for _, l := range lines {
		p := policy(l.Policy)
		if l.Class == classWouldOpen {
			p.OpenLines++
			if r.CountsFrom == countsFromLogs {
				p.Counts.WouldOpen++
			}
			continue
		}
		p.BreakLines++
		if r.CountsFrom == countsFromLogs {
			p.Counts.WouldBreak++
		}
		p.addBreak(l)
		key := breakRequest{Policy: l.Policy, Kind: l.Kind, Origin: l.Origin, Method: l.Method, Headers: l.Headers,
			Credentialed: l.Credentialed, Item: l.Item, ItemValue: l.ItemValue, Cut: l.Cut}
		b := breaks[key]
		if b == nil {
			b = new(breakRequest)
			*b = key
			b.Path, b.First = l.Path, displayName(l.File)+":"+strconv.Itoa(l.Line)
			breaks[key] = b
			r.Breaks = append(r.Breaks, b)
		}
		b.Count++
	}
	for _, p := range r.Policies {
		r.Total.Agree += p.Counts.Agree
		r.Total.WouldBreak += p.Counts.WouldBreak
		r.Total.WouldOpen += p.Counts.WouldOpen
		p.sortBreaks()
	}
	if hasGlobal {
		// The global counters count every request, the per-policy ones too;
		// the global ones stand when a plugin without per-policy counters
		// wrote them.
		r.Total = global
	}
	// Most breaking first, then by name, "default" last among equals.
	slices.SortStableFunc(r.Policies, func(a, b *policyReport) int {
		if c := cmp.Compare(b.Counts.WouldBreak, a.Counts.WouldBreak); c != 0 {
			return c
		}
		if (a.Policy == "default") != (b.Policy == "default") {
			if a.Policy == "default" {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Policy, b.Policy)
	})
	slices.SortStableFunc(r.Breaks, func(a, b *breakRequest) int { return cmp.Compare(b.Count, a.Count) })
	return r
}

// addBreak counts a would_break line by origin, then path and difference.
func (p *policyReport) addBreak(l reportLine) {
	var o *originBreaks
	for _, x := range p.BreaksByOrigins {
		if x.Origin == l.Origin {
			o = x
		}
	}
	if o == nil {
		o = &originBreaks{Origin: l.Origin}
		p.BreaksByOrigins = append(p.BreaksByOrigins, o)
	}
	o.Count++
	for _, x := range o.Paths {
		if x.Path == l.Path && x.Difference == l.Difference {
			x.Count++
			return
		}
	}
	o.Paths = append(o.Paths, &pathBreaks{Path: l.Path, Difference: l.Difference, Count: 1})
}

// sortBreaks puts the most frequent origins and paths first, ties in the
// order of the text.
func (p *policyReport) sortBreaks() {
	slices.SortStableFunc(p.BreaksByOrigins, func(a, b *originBreaks) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Origin, b.Origin))
	})
	for _, o := range p.BreaksByOrigins {
		slices.SortStableFunc(o.Paths, func(a, b *pathBreaks) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Path, b.Path), strings.Compare(a.Difference, b.Difference))
		})
	}
}

// wouldBreak says whether anything would break: a counter or a log line.
func (r *report) wouldBreak() bool {
	return r.Total.WouldBreak > 0 || len(r.Breaks) > 0
}

// policyRef finds the policy named display in s: "default" is the top
// level, "policies[i]" the entry i, any other name the entry of that name.
// path is the field path of the policy, with a trailing dot ("" for the
// default policy).
func policyRef(s *filter.Spec, display string) (p *filter.PolicySpec, path string) {
	if display == "default" {
		return &s.PolicySpec, ""
	}
	if strings.HasPrefix(display, "policies[") {
		if i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(display, "policies["), "]")); err == nil && i >= 0 && i < len(s.Policies) {
			return &s.Policies[i], display + "."
		}
		return nil, ""
	}
	for i := range s.Policies {
		if s.Policies[i].Name == display {
			return &s.Policies[i], "policies[" + strconv.Itoa(i) + "]."
		}
	}
	return nil, ""
}

// decide finds the verdict: safe when nothing would break; otherwise the
// smallest change of spec (read from src) that lets every request that
// would break through, checked with the engine. spec is nil when no
// configuration was read; why then says why.
func (r *report) decide(spec *filter.Spec, src source, why string) {
	v := &r.Verdict
	if !r.wouldBreak() {
		v.Safe = true
		return
	}
	switch {
	case len(r.Breaks) == 0:
		v.None = fmt.Sprintf("the counters say %d %s would break, but no log line says which: collect the proxies' logs (the plugin logs each would_break at info level) and run corsctl report on them too",
			r.Total.WouldBreak, pluralN(int(r.Total.WouldBreak), "request", "requests"))
		return
	case spec == nil:
		v.None = why
		return
	}
	v.Config, v.Prefix = src.label(), src.Prefix
	ch := suggestReportFix(*spec, r.Breaks)
	v.Changes, v.Verified, v.Failing, v.None = ch.Changes, ch.Verified, ch.Failing, ch.None
	for _, c := range v.Changes {
		if strings.Contains(c, ": remove ") || strings.Contains(c, ": replace ") {
			v.Removes = true
		}
	}
}

// reportFix is the change found for a report.
type reportFix struct {
	Changes  []string
	Verified bool
	Failing  []string
	None     string
	// Spec is the configuration with the change, when it compiles.
	Spec filter.Spec
}

// suggestReportFix edits a copy of spec so that every request in breaks
// goes through: first what each line says the upstream allowed (the
// origin, a method, a header, credentials), then, for any request the
// engine still refuses, the edits explain makes (fix.go's edit), a few
// rounds at most. It checks the result as explain checks its fixes:
// the changed configuration must compile, and each request, replayed with
// the engine against its policy in enforce mode, must be allowed by the
// plugin and its answer accepted by the browser.
func suggestReportFix(spec filter.Spec, breaks []*breakRequest) reportFix {
	work := cloneSpec(spec)
	var missing []string
	for _, b := range breaks {
		p, _ := policyRef(&work, b.Policy)
		if p == nil {
			if !slices.Contains(missing, b.Policy) {
				missing = append(missing, b.Policy)
			}
			continue
		}
		if b.Cut {
			continue // replayed below, where it is refused as cut
		}
		switch b.Item {
		case "origin":
			addTo(&p.AllowOrigins, b.Origin)
		case "method":
			addTo(&p.AllowMethods, b.ItemValue)
		case "header":
			addTo(&p.AllowHeaders, strings.ToLower(b.ItemValue))
		case "credentials":
			// With "*" the plugin refuses credentials: the verification
			// below lists the origins instead, as explain does.
			if !slices.Contains(p.AllowOrigins, "*") {
				p.AllowCredentials = true
			}
		case itemPrivateNetwork:
			p.AllowPrivateNetwork = true
		}
	}
	if len(missing) > 0 {
		return reportFix{None: "the logs name " + andList(quoteAll(missing)) + ", which the configuration does not have (" + policyList(&spec) + "); check that it is the one the proxies run"}
	}
	var failing []string
	for round := 0; ; round++ {
		if _, err := filter.Compile(work); err != nil {
			return reportFix{None: "the change it takes is refused by the plugin: " + err.Error(), Changes: describeChanges(spec, work)}
		}
		failing = failing[:0]
		edited := false
		for _, b := range breaks {
			if b.Cut {
				failing = append(failing, b.describe()+": a value was cut in the log, so it cannot be replayed")
				continue
			}
			p, _ := policyRef(&work, b.Policy)
			iso := isolate(*p)
			cfg, err := filter.Compile(iso)
			if err != nil {
				return reportFix{None: "policy " + b.Policy + " is refused by the plugin on its own: " + err.Error()}
			}
			sc, sim := replay(cfg, b)
			if !sim.blocked() && sim.pluginAllows() {
				continue
			}
			if round >= 3 {
				failing = append(failing, b.describe()+": "+blockedBy(sc, &sim))
				continue
			}
			if why := edit(&iso, cfg, sc, &sim); why != "" {
				failing = append(failing, b.describe()+": "+why)
				continue
			}
			restore(p, iso.PolicySpec)
			edited = true
		}
		if !edited {
			break
		}
	}
	changes := describeChanges(spec, work)
	if len(failing) > 0 {
		return reportFix{Changes: changes, Failing: failing, Spec: work}
	}
	return reportFix{Changes: changes, Verified: true, Spec: work}
}

// isolate makes a configuration of p alone, as its default policy, in
// enforce mode: the engine then applies p to any request, as the proxies
// applied it to the requests logged under its name.
func isolate(p filter.PolicySpec) filter.Spec {
	iso := filter.Spec{PolicySpec: clonePolicy(p)}
	iso.Match, iso.Name = nil, "" // the top level has neither
	return iso
}

// restore copies the fields edited in an isolated policy back into p,
// keeping p's name and match.
func restore(p *filter.PolicySpec, edited filter.PolicySpec) {
	name, match := p.Name, p.Match
	*p = clonePolicy(edited)
	p.Match, p.Name = match, name
}

// replay runs the request b with the engine and the browser model: a
// preflight, or an actual request, as the proxy saw it.
func replay(cfg *filter.Config, b *breakRequest) (*scenario, simulation) {
	sc := &scenario{url: b.Path, path: b.Path, origin: b.Origin, method: b.Method, credentials: b.Credentialed, upstreamStatus: 200}
	var sim simulation
	if b.Kind == "preflight" {
		sim.Preflight = true
		sent := [][2]string{{"origin", b.Origin}, {"access-control-request-method", b.Method}}
		if b.Headers != "" {
			sent = append(sent, [2]string{"access-control-request-headers", b.Headers})
		}
		if b.Item == itemPrivateNetwork {
			// The line does not say a preflight asked for private network
			// access unless that is what differs.
			sent = append(sent, [2]string{"access-control-request-private-network", "true"})
			sc.privateNet = true
		}
		for _, h := range splitList([]string{b.Headers}) {
			sim.Unsafe = append(sim.Unsafe, strings.ToLower(h))
			sc.headers = append(sc.headers, reqHeader{name: strings.ToLower(h)})
		}
		st := exchange(cfg, sc, "preflight", "OPTIONS", sent)
		st.Failure = checkPreflight(b.Origin, b.Method, sim.Unsafe, b.Credentialed, st.Status, st.Response)
		sim.Steps = append(sim.Steps, st)
		return sc, sim
	}
	st := exchange(cfg, sc, "request", b.Method, [][2]string{{"origin", b.Origin}})
	st.Failure = checkResponse(b.Origin, b.Credentialed, st.Response)
	sim.Steps = append(sim.Steps, st)
	return sc, sim
}

// blockedBy says in a phrase why a replayed request is still refused.
func blockedBy(sc *scenario, sim *simulation) string {
	st := sim.Steps[len(sim.Steps)-1]
	if d := st.Explanation.Decision; !d.Allowed {
		return "the plugin still denies it (" + d.Reason.String() + ")"
	}
	if st.Failure != nil {
		return "the browser still refuses the answer: " + st.Failure.text
	}
	return "still refused"
}

// describe names a request that would break in a phrase.
func (b *breakRequest) describe() string {
	s := b.Kind + " " + b.Method + " " + b.Path + " from " + strconv.Quote(b.Origin)
	if b.Headers != "" {
		s += " with headers " + strconv.Quote(b.Headers)
	}
	if b.Credentialed {
		s += ", credentialed"
	}
	return s + " (policy " + b.Policy + ")"
}

// policyList names the policies of s by display name.
func policyList(s *filter.Spec) string {
	var names []string
	for i, p := range s.Policies {
		if p.Name != "" {
			names = append(names, p.Name)
		} else {
			names = append(names, "policies["+strconv.Itoa(i)+"]")
		}
	}
	names = append(names, "default")
	return "its policies are " + strings.Join(names, ", ")
}

// quoteAll quotes each of s.
func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}
