// import: reading the corsPolicy of Istio VirtualServices.

package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// virtualService translates the corsPolicy of each http route of a
// VirtualService.
func (im *importer) virtualService(file string, vs map[string]any) {
	name := metaName(vs)
	meta, _ := vs["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	if ns == "" {
		ns = "default"
	}
	spec, _ := vs["spec"].(map[string]any)
	base := fmt.Sprintf("%s: VirtualService %s", file, name)
	hosts := im.istioHosts(asList(spec["hosts"]), ns, base)
	var noCORS []pathSet // earlier routes without corsPolicy
	for i, r := range asList(spec["http"]) {
		route, _ := r.(map[string]any)
		routeName, _ := route["name"].(string)
		where := fmt.Sprintf("%s http[%d]", base, i)
		if routeName != "" {
			where += fmt.Sprintf(" (%q)", routeName)
		}
		cp, ok := route["corsPolicy"].(map[string]any)
		if !ok {
			noCORS = append(noCORS, istioPathSet(fmt.Sprintf("http[%d]", i), asList(route["match"])))
			continue
		}
		p := im.translate(istioCORS(cp, where), where)
		if p == nil {
			continue
		}
		p.Match.Hosts = hosts
		matches := asList(route["match"])
		if routeName != "" {
			// Istio names the Envoy route after the http route and its match.
			for _, mm := range matches {
				m, _ := mm.(map[string]any)
				n := routeName
				if mn, _ := m["name"].(string); mn != "" {
					n += "." + mn
				}
				p.Match.RouteNames = appendNew(p.Match.RouteNames, n)
			}
			if len(matches) == 0 {
				p.Match.RouteNames = []string{routeName}
			}
		} else if !im.istioPaths(p, matches, where) {
			continue
		}
		if over := overlapping(noCORS, p); len(over) > 0 {
			im.warn(where, "%s before it %s no corsPolicy, but this policy, matched by path, covers %s requests too where the paths overlap. Name this route (http[].name) and import again to match it by route name",
				andList(over), plural(over, "has", "have"), plural(over, "its", "their"))
		}
		im.add(p)
	}
}

// istioHosts turns VirtualService hosts into match hosts.
func (im *importer) istioHosts(list []any, ns, where string) []string {
	var out []string
	for _, h := range list {
		host, _ := h.(string)
		host = strings.ToLower(host)
		switch {
		case host == "*" || host == "":
			return nil // every host
		case strings.HasPrefix(host, "*.") || strings.Contains(host, "."):
			out = appendNew(out, host)
		default:
			// A short name: clients may use it or any qualified form.
			expanded := []string{host, host + "." + ns, host + "." + ns + ".svc", host + "." + ns + ".svc.cluster.local"}
			im.warn(where, "short host name %q matched as %s (cluster domain cluster.local assumed)", host, strings.Join(expanded, ", "))
			for _, x := range expanded {
				out = appendNew(out, x)
			}
		}
	}
	return out
}

// istioPaths sets the path prefixes of an unnamed route's policy; false
// when the route cannot be matched.
func (im *importer) istioPaths(p *imported, matches []any, where string) bool {
	if len(matches) == 0 {
		return true // a catch-all route
	}
	var prefixes []string
	everyPath, regex := false, false
	for _, mm := range matches {
		m, _ := mm.(map[string]any)
		uri, _ := m["uri"].(map[string]any)
		var others []string
		for k := range m {
			if k != "uri" && k != "name" {
				others = append(others, k)
			}
		}
		sort.Strings(others)
		if len(others) > 0 {
			im.warn(where, "the plugin matches on hosts, path prefixes and route names only: %s ignored, so the policy applies whatever they hold", strings.Join(others, ", "))
		}
		switch {
		case uri == nil:
			everyPath = true
		case uri["prefix"] != nil:
			prefixes = appendNew(prefixes, fmt.Sprint(uri["prefix"]))
		case uri["exact"] != nil:
			im.warn(where, "exact path %q matched as a prefix: the policy also applies below it", uri["exact"])
			prefixes = appendNew(prefixes, fmt.Sprint(uri["exact"]))
		case uri["regex"] != nil:
			regex = true
			im.warn(where, "path regex %q cannot be matched by the plugin", uri["regex"])
		}
	}
	switch {
	case everyPath:
	case len(prefixes) == 0 && regex:
		im.warn(where, "left out: the route has no name and no path prefix to match it by; give it a name (http[].name) and import again")
		return false
	default:
		p.Match.PathPrefixes = prefixes
	}
	return true
}

// istioPathSet is the paths an Istio http route matches.
func istioPathSet(name string, matches []any) pathSet {
	ps := pathSet{name: name, all: len(matches) == 0}
	for _, mm := range matches {
		m, _ := mm.(map[string]any)
		uri, _ := m["uri"].(map[string]any)
		switch {
		case uri["prefix"] != nil:
			ps.prefixes = append(ps.prefixes, fmt.Sprint(uri["prefix"]))
		case uri["exact"] != nil:
			ps.prefixes = append(ps.prefixes, fmt.Sprint(uri["exact"]))
		default:
			ps.all = true
		}
	}
	return ps
}

// istioCORS reads an Istio CorsPolicy.
func istioCORS(cp map[string]any, where string) *corsSpec {
	s := &corsSpec{where: where}
	for _, o := range asList(cp["allowOrigins"]) {
		m, _ := o.(map[string]any)
		for _, kind := range []string{"exact", "prefix", "regex"} {
			if v, ok := m[kind].(string); ok {
				s.origins = append(s.origins, stringMatcher{kind: kind, value: v})
			}
		}
	}
	for _, o := range asList(cp["allowOrigin"]) { // deprecated: exact strings
		if v, ok := o.(string); ok {
			s.origins = append(s.origins, stringMatcher{kind: "exact", value: v})
		}
	}
	s.methods = strings2(cp["allowMethods"])
	s.headers = strings2(cp["allowHeaders"])
	s.expose = strings2(cp["exposeHeaders"])
	if v, ok := cp["maxAge"].(string); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			s.notes = append(s.notes, fmt.Sprintf("maxAge %q is not a duration: left out", v))
		} else {
			secs := strconv.Itoa(int(d.Seconds()))
			if d%time.Second != 0 {
				s.notes = append(s.notes, fmt.Sprintf("maxAge %q rounded down to %s seconds", v, secs))
			}
			s.maxAge = &secs
		}
	}
	s.credentials = boolField(cp["allowCredentials"])
	switch u, _ := cp["unmatchedPreflights"].(string); u {
	case "FORWARD":
		s.forwardUnmatched = ptr(true)
	case "IGNORE":
		s.forwardUnmatched = ptr(false)
	}
	return s
}

// strings2 reads a list of strings; nil when unset, empty when empty.
func strings2(v any) []string {
	list := asList(v)
	if list == nil {
		return nil
	}
	out := []string{}
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
