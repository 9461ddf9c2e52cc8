package main

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/filter"
	"github.com/corswasm/corswasm/internal/fetch"
)

// fixResult is the smallest policy change found that lets a blocked fetch
// through, checked by running the fetch again with the engine.
type fixResult struct {
	Changes  []string `json:"changes,omitempty"`
	Verified bool     `json:"verified"`
	// None says why no policy change can help, when none is found.
	None string `json:"none,omitempty"`
}

// cloneSpec copies s deeply, so that editing the copy leaves s as it was.
func cloneSpec(s filter.Spec) filter.Spec {
	s.PolicySpec = clonePolicy(s.PolicySpec)
	s.Policies = slices.Clone(s.Policies)
	for i, p := range s.Policies {
		s.Policies[i] = clonePolicy(p)
	}
	return s
}

// clonePolicy copies p's lists, match and maxAge.
func clonePolicy(p filter.PolicySpec) filter.PolicySpec {
	if p.Match != nil {
		m := *p.Match
		m.Hosts, m.PathPrefixes, m.RouteNames = slices.Clone(m.Hosts), slices.Clone(m.PathPrefixes), slices.Clone(m.RouteNames)
		p.Match = &m
	}
	for _, l := range []*[]string{&p.AllowOrigins, &p.AllowOriginRegexes, &p.AllowMethods, &p.AllowHeaders, &p.ExposeHeaders} {
		*l = slices.Clone(*l)
	}
	if p.MaxAge != nil {
		p.MaxAge = ptr(*p.MaxAge)
	}
	return p
}

// policySpec returns the policy of s with the display name given
// ("default", "policies[i]" or the policy's name), or nil.
func policySpec(s *filter.Spec, name string) *filter.PolicySpec {
	p, _ := policyRef(s, name)
	return p
}

// addTo appends to a list the values it lacks.
func addTo(list *[]string, values ...string) {
	for _, v := range values {
		if !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
}

// replaceStar replaces "*" in a list with values (or drops it).
func replaceStar(list *[]string, values ...string) {
	if i := slices.Index(*list, "*"); i >= 0 {
		*list = slices.Delete(*list, i, i+1)
		addTo(list, values...)
	}
}

// suggestFix edits spec, the configuration as enforce mode runs it, until
// the fetch goes through, a few rounds at most, and reports the edits.
func suggestFix(spec filter.Spec, sc *scenario) fixResult {
	work := cloneSpec(spec)
	for round := 0; round < 4; round++ {
		cfg, err := filter.Compile(work)
		if err != nil {
			return fixResult{None: "the change it takes is refused by the plugin: " + err.Error()}
		}
		sim := simulate(cfg, sc)
		if !sim.blocked() && sim.pluginAllows() {
			if round == 0 {
				return fixResult{}
			}
			return fixResult{Changes: describeChanges(spec, work), Verified: true}
		}
		if why := edit(&work, cfg, sc, &sim); why != "" {
			return fixResult{None: why}
		}
	}
	return fixResult{None: "no change of the policy found that lets it through"}
}

// edit changes w so that the blocking step of sim passes, or says why no
// policy change can.
func edit(w *filter.Spec, cfg *filter.Config, sc *scenario, sim *simulation) string {
	st := sim.Steps[len(sim.Steps)-1]
	for _, s := range sim.Steps {
		if d := s.Explanation.Decision; d.Kind == filter.KindUncovered || !d.Allowed && d.Kind != filter.KindNoOrigin {
			st = s
			break
		}
	}
	e := st.Explanation
	d := e.Decision
	if d.Kind == filter.KindUncovered {
		addPolicy(w, sc)
		return ""
	}
	info := cfg.Policies()[e.Policy]
	p := policySpec(w, info.Name)
	if !d.Allowed {
		for _, c := range e.Checks {
			if c.Passed {
				continue
			}
			switch c.Reason {
			case filter.ReasonOriginNotAllowed:
				addTo(&p.AllowOrigins, sc.origin)
			case filter.ReasonOriginInvalid:
				why := "the origin " + strconv.Quote(sc.origin) + " is not one a browser sends (" + originHint(sc.origin) + "), so the request does not come from a browser page as given"
				return why
			case filter.ReasonMethodNotAllowed:
				addTo(&p.AllowMethods, c.Value)
			case filter.ReasonMethodInvalid:
				return "Access-Control-Request-Method " + strconv.Quote(c.Value) + " is not one method; browsers never send that"
			case filter.ReasonHeaderNotAllowed:
				for _, h := range c.Denied {
					addTo(&p.AllowHeaders, strings.ToLower(h))
				}
			case filter.ReasonHeadersInvalid:
				return "Access-Control-Request-Headers is malformed (" + c.Detail + "); browsers never send that"
			case filter.ReasonPrivateNetworkDenied:
				p.AllowPrivateNetwork = true
			}
		}
		return ""
	}
	// The plugin allowed it, yet the browser refuses the answer.
	if st.Failure != nil && sc.credentials && strings.Contains(st.Failure.text, "credentials mode is 'include'") {
		p.AllowCredentials = true
		if info.AnyOrigin {
			p.AllowOrigins = []string{sc.origin}
		}
		var methods []string
		if !fetch.IsSafelistedMethod(sc.method) {
			methods = append(methods, sc.method)
		}
		replaceStar(&p.AllowMethods, methods...)
		replaceStar(&p.AllowHeaders, sim.Unsafe...)
		replaceStar(&p.ExposeHeaders)
		return ""
	}
	if !st.ByPlugin && st.Failure != nil {
		return "the upstream answers this " + st.Kind + " (unmatchedPreflights is \"forward\", or the mode is report) and its answer fails the browser's check"
	}
	return "the plugin allows it; the browser's refusal does not come from the policy"
}

// addPolicy adds a policy for a request no policy covers: one matching its
// host if known, else its path, else the default policy.
func addPolicy(w *filter.Spec, sc *scenario) {
	host := strings.ToLower(hostOnly(sc.host))
	path, _, _ := strings.Cut(sc.path, "?")
	switch {
	case host != "":
		w.Policies = append(w.Policies, filter.PolicySpec{Match: &filter.MatchSpec{Hosts: []string{host}}, AllowOrigins: []string{sc.origin}})
	case path != "" && path != "/":
		w.Policies = append(w.Policies, filter.PolicySpec{Match: &filter.MatchSpec{PathPrefixes: []string{path}}, AllowOrigins: []string{sc.origin}})
	default:
		addTo(&w.AllowOrigins, sc.origin)
	}
}

// hostOnly strips the port from an authority.
func hostOnly(authority string) string {
	if strings.HasPrefix(authority, "[") {
		if i := strings.IndexByte(authority, ']'); i >= 0 {
			return authority[:i+1]
		}
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		return authority[:i]
	}
	return authority
}

// originHint says what a browser would send instead of a malformed origin:
// the origin without path, query, fragment, userinfo or a trailing dot in
// the host, normalized as the engine normalizes allowOrigins entries.
func originHint(o string) string {
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok {
		return "an origin is scheme://host[:port]"
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i:]
	}
	fixed, err := filter.NormalizeOrigin(scheme + "://" + strings.TrimSuffix(host, ".") + port)
	if err != nil || fixed == o {
		return "browsers send lower-case scheme://host[:port], without default port, path or userinfo"
	}
	return "a browser would send " + strconv.Quote(fixed)
}

// describeChanges lists the edits from a to b, with field paths.
func describeChanges(a, b filter.Spec) []string {
	out := policyChanges("", a.PolicySpec, b.PolicySpec)
	for i, np := range b.Policies {
		if i < len(a.Policies) {
			out = append(out, policyChanges("policies["+strconv.Itoa(i)+"].", a.Policies[i], np)...)
			continue
		}
		out = append(out, "policies: add "+configJSON(np, false))
	}
	return out
}

// policyChanges lists the edits from policy a to policy b, field by field,
// each field's path starting with prefix.
func policyChanges(prefix string, a, b filter.PolicySpec) []string {
	var out []string
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	for i, f := range policyFields {
		x, y := av.Field(i).Interface(), bv.Field(i).Interface()
		if reflect.DeepEqual(x, y) {
			continue
		}
		list, ok := y.([]string)
		if !ok {
			out = append(out, fmt.Sprintf("%s%s: set to %s", prefix, f, mustJSON(y)))
			continue
		}
		old := x.([]string)
		var added, removed []string
		for _, v := range list {
			if !slices.Contains(old, v) {
				added = append(added, string(mustJSON(v)))
			}
		}
		for _, v := range old {
			if !slices.Contains(list, v) {
				removed = append(removed, string(mustJSON(v)))
			}
		}
		switch {
		case len(removed) > 0 && len(added) > 0:
			out = append(out, fmt.Sprintf("%s%s: replace %s with %s", prefix, f, strings.Join(removed, ", "), strings.Join(added, ", ")))
		case len(removed) > 0:
			out = append(out, fmt.Sprintf("%s%s: remove %s", prefix, f, strings.Join(removed, ", ")))
		default:
			out = append(out, fmt.Sprintf("%s%s: add %s", prefix, f, strings.Join(added, ", ")))
		}
	}
	return out
}
