package main

import (
	"bytes"
	"encoding/json"
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

// doc is a configuration as generic JSON, for editing.
type doc = map[string]any

// decodeDoc reads a configuration for editing, numbers kept as written.
func decodeDoc(data []byte) (doc, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var d doc
	err := dec.Decode(&d)
	return d, err
}

// cloneDoc copies d deeply, so that editing the copy leaves d as it was.
func cloneDoc(d doc) doc { return cloneValue(d).(doc) }

// cloneValue copies a decoded JSON value: objects and lists are copied,
// scalars (strings, bools, json.Numbers, nil) are immutable and shared.
func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = cloneValue(x)
		}
		return out
	case []any:
		if v == nil {
			return v
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = cloneValue(x)
		}
		return out
	}
	return v
}

// policyDoc returns the object of the named policy in d.
func policyDoc(d doc, name string) doc {
	if name == "default" {
		return d
	}
	list, _ := d["policies"].([]any)
	i := policyIndex(name)
	if i < len(list) {
		if p, ok := list[i].(map[string]any); ok {
			return p
		}
	}
	return nil
}

// addTo appends to a list field of p the values it lacks.
func addTo(p doc, field string, values ...string) {
	list, _ := p[field].([]any)
	for _, v := range values {
		if !slices.Contains(list, any(v)) {
			list = append(list, v)
		}
	}
	p[field] = list
}

// replaceStar replaces "*" in a list field with values (or drops it).
func replaceStar(p doc, field string, values ...string) {
	list, _ := p[field].([]any)
	i := slices.Index(list, any("*"))
	if i < 0 {
		return
	}
	list = slices.Delete(list, i, i+1)
	p[field] = list
	addTo(p, field, values...)
}

// suggestFix edits the configuration until the fetch goes through, a few
// rounds at most, and reports the edits.
func suggestFix(data []byte, sc *scenario, enforce func(doc)) fixResult {
	orig, err := decodeDoc(data)
	if err != nil || orig == nil {
		return fixResult{None: "the configuration is not a JSON object"}
	}
	work := cloneDoc(orig)
	for round := 0; round < 4; round++ {
		trial := cloneDoc(work)
		enforce(trial)
		cfg, err := filter.Parse(mustJSON(trial))
		if err != nil {
			return fixResult{None: "the change it takes is refused by the plugin: " + err.Error()}
		}
		sim := simulate(cfg, sc)
		if !sim.blocked() && sim.pluginAllows() {
			if round == 0 {
				return fixResult{}
			}
			return fixResult{Changes: describeChanges(orig, work), Verified: true}
		}
		if why := edit(work, cfg, sc, &sim); why != "" {
			return fixResult{None: why}
		}
	}
	return fixResult{None: "no change of the policy found that lets it through"}
}

// edit changes w so that the blocking step of sim passes, or says why no
// policy change can.
func edit(w doc, cfg *filter.Config, sc *scenario, sim *simulation) string {
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
	p := policyDoc(w, info.Name)
	if !d.Allowed {
		for _, c := range e.Checks {
			if c.Passed {
				continue
			}
			switch c.Reason {
			case filter.ReasonOriginNotAllowed:
				addTo(p, "allowOrigins", sc.origin)
			case filter.ReasonOriginInvalid:
				why := "the origin " + strconv.Quote(sc.origin) + " is not one a browser sends (" + originHint(sc.origin) + "), so the request does not come from a browser page as given"
				return why
			case filter.ReasonMethodNotAllowed:
				addTo(p, "allowMethods", c.Value)
			case filter.ReasonMethodInvalid:
				return "Access-Control-Request-Method " + strconv.Quote(c.Value) + " is not one method; browsers never send that"
			case filter.ReasonHeaderNotAllowed:
				for _, h := range c.Denied {
					addTo(p, "allowHeaders", strings.ToLower(h))
				}
			case filter.ReasonHeadersInvalid:
				return "Access-Control-Request-Headers is malformed (" + c.Detail + "); browsers never send that"
			case filter.ReasonPrivateNetworkDenied:
				p["allowPrivateNetwork"] = true
			}
		}
		return ""
	}
	// The plugin allowed it, yet the browser refuses the answer.
	if st.Failure != nil && sc.credentials && strings.Contains(st.Failure.text, "credentials mode is 'include'") {
		p["allowCredentials"] = true
		if info.AnyOrigin {
			p["allowOrigins"] = []any{sc.origin}
		}
		var methods []string
		if !fetch.IsSafelistedMethod(sc.method) {
			methods = append(methods, sc.method)
		}
		replaceStar(p, "allowMethods", methods...)
		replaceStar(p, "allowHeaders", sim.Unsafe...)
		replaceStar(p, "exposeHeaders")
		return ""
	}
	if !st.ByPlugin && st.Failure != nil {
		return "the upstream answers this " + st.Kind + " (unmatchedPreflights is \"forward\", or the mode is report) and its answer fails the browser's check"
	}
	return "the plugin allows it; the browser's refusal does not come from the policy"
}

// addPolicy adds a policy for a request no policy covers: one matching its
// host if known, else its path, else the default policy.
func addPolicy(w doc, sc *scenario) {
	host := strings.ToLower(hostOnly(sc.host))
	path, _, _ := strings.Cut(sc.path, "?")
	switch {
	case host != "":
		w["policies"] = append(asList(w["policies"]), doc{"match": doc{"hosts": []any{host}}, "allowOrigins": []any{sc.origin}})
	case path != "" && path != "/":
		w["policies"] = append(asList(w["policies"]), doc{"match": doc{"pathPrefixes": []any{path}}, "allowOrigins": []any{sc.origin}})
	default:
		addTo(w, "allowOrigins", sc.origin)
	}
}

// asList returns v as a list, or nil.
func asList(v any) []any {
	l, _ := v.([]any)
	return l
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

// originHint says what a browser would send instead of a malformed origin.
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
	scheme, rest = strings.ToLower(scheme), strings.ToLower(rest)
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
	}
	host = strings.TrimSuffix(host, ".")
	if port == map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443"}[scheme] {
		port = ""
	}
	fixed := scheme + "://" + host
	if port != "" {
		fixed += ":" + port
	}
	if fixed == o {
		return "browsers send lower-case scheme://host[:port], without default port, path or userinfo"
	}
	return "a browser would send " + strconv.Quote(fixed)
}

// mustJSON encodes v, which must be encodable.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// describeChanges lists the edits from a to b, with field paths.
func describeChanges(a, b doc) []string {
	var out []string
	out = append(out, policyChanges("", a, b)...)
	oldList, newList := asList(a["policies"]), asList(b["policies"])
	for i, np := range newList {
		npd, _ := np.(map[string]any)
		if i < len(oldList) {
			opd, _ := oldList[i].(map[string]any)
			out = append(out, policyChanges("policies["+strconv.Itoa(i)+"].", opd, npd)...)
			continue
		}
		out = append(out, "policies: add "+configJSON(npd, false))
	}
	return out
}

// policyChanges lists the edits from policy a to policy b, field by field,
// each field's path starting with prefix.
func policyChanges(prefix string, a, b doc) []string {
	var out []string
	for _, f := range policyFields {
		av, bv := a[f], b[f]
		// Decoded JSON values: DeepEqual is JSON equality, with numbers
		// compared as written.
		if reflect.DeepEqual(av, bv) {
			continue
		}
		switch bv := bv.(type) {
		case []any:
			old := asList(av)
			var added, removed []string
			for _, x := range bv {
				if !slices.Contains(old, x) {
					added = append(added, string(mustJSON(x)))
				}
			}
			for _, x := range old {
				if !slices.Contains(bv, x) {
					removed = append(removed, string(mustJSON(x)))
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
		default:
			out = append(out, fmt.Sprintf("%s%s: set to %s", prefix, f, mustJSON(bv)))
		}
	}
	return out
}
