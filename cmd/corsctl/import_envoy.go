// import: reading the CorsPolicy of Envoy route configurations, merged as
// Envoy merges them.

package main

import (
	"fmt"
	"sort"
	"strings"
)

// Type URLs of Envoy's CORS configuration.
const (
	corsPolicyType   = "envoy.extensions.filters.http.cors.v3.CorsPolicy"
	corsFilterType   = "envoy.extensions.filters.http.cors.v3.Cors"
	filterConfigType = "envoy.config.route.v3.FilterConfig"
)

// envoy finds route configurations anywhere in an Envoy document.
func (im *importer) envoy(file string, d map[string]any) {
	noFilter := map[string]bool{} // route configurations inline in an HCM without the CORS filter
	walk(d, "", func(path string, m map[string]any) {
		if rc, ok := field(m, "route_config").(map[string]any); ok && field(m, "http_filters") != nil {
			has := false
			for _, f := range asList(field(m, "http_filters")) {
				fm, _ := f.(map[string]any)
				tc, _ := field(fm, "typed_config").(map[string]any)
				if fm["name"] == "envoy.filters.http.cors" || typeName(tc["@type"]) == corsFilterType {
					has = true
				}
			}
			if !has {
				noFilter[fmt.Sprintf("%p", rc)] = true
			}
		}
		if field(m, "virtual_hosts") != nil {
			im.routeConfiguration(file, m, noFilter[fmt.Sprintf("%p", m)])
		}
	})
}

// routeConfiguration translates the CORS policies of one route
// configuration: of each route, else of its virtual host, merged with the
// route configuration's as Envoy merges them.
func (im *importer) routeConfiguration(file string, rc map[string]any, noFilter bool) {
	rcName, _ := rc["name"].(string)
	base := fmt.Sprintf("%s: route_config %q", file, rcName)
	rcSpec := typedCORS(rc, base)
	var vhosts []map[string]any
	for _, v := range asList(field(rc, "virtual_hosts")) {
		if m, ok := v.(map[string]any); ok {
			vhosts = append(vhosts, m)
		}
	}
	// Envoy picks a virtual host by its most specific domain; the plugin
	// tries policies in order, so the more specific go first.
	sort.SliceStable(vhosts, func(i, j int) bool { return domainRank(vhosts[i]) < domainRank(vhosts[j]) })
	warned := false
	for _, vh := range vhosts {
		vhName, _ := vh["name"].(string)
		vbase := fmt.Sprintf("%s virtual host %q", base, vhName)
		hosts, ok := im.envoyDomains(vh, vbase)
		if !ok {
			continue
		}
		vhTyped, vhLegacy := typedCORS(vh, vbase), legacyCORS(field(vh, "cors"), vbase)
		var inherit []pathSet // earlier routes that take the virtual host's policy
		for j, r := range asList(vh["routes"]) {
			route, _ := r.(map[string]any)
			routeName, _ := route["name"].(string)
			where := fmt.Sprintf("%s route[%d]", vbase, j)
			if routeName != "" {
				where += fmt.Sprintf(" (%q)", routeName)
			}
			action, _ := route["route"].(map[string]any)
			rTyped, rLegacy := typedCORS(route, where), legacyCORS(field(action, "cors"), where)
			if rTyped == nil && rLegacy != nil && (vhTyped != nil || rcSpec != nil) {
				im.warn(where, "Envoy ignores its cors field, since typed_per_filter_config CORS policies apply here: left out")
				rLegacy = nil
			}
			if rTyped == nil && rLegacy == nil {
				// The virtual host's policy covers it, as in Envoy.
				inherit = append(inherit, envoyPathSet(fmt.Sprintf("route[%d]", j), route))
				continue
			}
			spec := effective([]*corsSpec{rTyped, vhTyped, rcSpec}, []*corsSpec{rLegacy, vhLegacy})
			if spec == nil {
				continue
			}
			if noFilter && !warned {
				im.warn(base, "its HTTP connection manager has no CORS filter (envoy.filters.http.cors), so Envoy ignored these policies; the plugin will apply them")
				warned = true
			}
			p := im.translate(spec, where)
			if p == nil {
				continue
			}
			p.Match.Hosts = hosts
			if routeName != "" {
				p.Match.RouteNames = []string{routeName}
			} else if !im.envoyRouteMatch(p, route, where) {
				continue
			}
			if over := overlapping(inherit, p); len(over) > 0 {
				im.warn(where, "%s before it %s the virtual host's policy in Envoy, but this policy, matched by path, covers %s requests too where the paths overlap. Name this route and import again to match it by route name",
					andList(over), plural(over, "takes", "take"), plural(over, "its", "their"))
			}
			im.add(p)
		}
		spec := effective([]*corsSpec{vhTyped, rcSpec}, []*corsSpec{vhLegacy})
		if spec == nil {
			continue
		}
		if noFilter && !warned {
			im.warn(base, "its HTTP connection manager has no CORS filter (envoy.filters.http.cors), so Envoy ignored these policies; the plugin will apply them")
			warned = true
		}
		if p := im.translate(spec, vbase); p != nil {
			p.Match.Hosts = hosts
			im.add(p)
		}
	}
}

// envoyPathSet is the paths an Envoy route matches.
func envoyPathSet(name string, route map[string]any) pathSet {
	m, _ := route["match"].(map[string]any)
	for _, k := range []string{"prefix", "path", "path_separated_prefix"} {
		if v := field(m, k); v != nil {
			return pathSet{name: name, prefixes: []string{fmt.Sprint(v)}}
		}
	}
	return pathSet{name: name, all: true}
}

// effective is the policy Envoy applies: the typed per-filter policies
// merged if there is any, else the legacy cors fields merged.
func effective(typed, legacy []*corsSpec) *corsSpec {
	if s := merge(typed...); s != nil {
		return s
	}
	return merge(legacy...)
}

// merge takes each field from the first spec that sets it, as Envoy's CORS
// filter does over the route's, virtual host's and route configuration's
// policies; enabled comes from the most specific policy.
func merge(specs ...*corsSpec) *corsSpec {
	var out corsSpec
	first := true
	for _, s := range specs {
		if s == nil {
			continue
		}
		if first {
			out.enabled, first = s.enabled, false
		}
		if out.origins == nil {
			out.origins, out.originsWhere = s.origins, s.where
		}
		for _, f := range []struct{ dst, src *[]string }{{&out.methods, &s.methods}, {&out.headers, &s.headers}, {&out.expose, &s.expose}} {
			if *f.dst == nil {
				*f.dst = *f.src
			}
		}
		if out.maxAge == nil {
			out.maxAge = s.maxAge
		}
		for _, f := range []struct{ dst, src **bool }{{&out.credentials, &s.credentials}, {&out.privateNetwork, &s.privateNetwork}, {&out.forwardUnmatched, &s.forwardUnmatched}} {
			if *f.dst == nil {
				*f.dst = *f.src
			}
		}
		out.notes = append(out.notes, s.notes...)
	}
	if first {
		return nil
	}
	return &out
}

// domainRank orders virtual hosts as Envoy prefers them: exact domains,
// then suffix wildcards, then prefix wildcards, then "*".
func domainRank(vh map[string]any) int {
	rank := 0
	for _, d := range asList(vh["domains"]) {
		s, _ := d.(string)
		switch {
		case s == "*":
			rank = max(rank, 3)
		case strings.HasSuffix(s, "*"):
			rank = max(rank, 2)
		case strings.HasPrefix(s, "*"):
			rank = max(rank, 1)
		}
	}
	return rank
}

// envoyDomains turns a virtual host's domains into match hosts; false
// when none translates (the policy would cover every host).
func (im *importer) envoyDomains(vh map[string]any, where string) ([]string, bool) {
	var out []string
	for _, d := range asList(vh["domains"]) {
		s, _ := d.(string)
		s = strings.ToLower(s)
		if s == "*" {
			return nil, true
		}
		host := s
		if h := hostOnly(s); h != s {
			im.warn(where, "domain %q: the plugin matches hosts whatever the port", s)
			host = h
		}
		switch {
		case strings.HasPrefix(host, "*."):
		case strings.Contains(host, "*"):
			im.warn(where, "domain %q cannot be matched by the plugin (only \"*.\" wildcards can): left out of the policy's hosts", s)
			continue
		}
		out = appendNew(out, host)
	}
	if len(out) == 0 {
		im.warn(where, "none of its domains can be matched by the plugin: its policies are left out")
		return nil, false
	}
	return out, true
}

// envoyRouteMatch sets the path prefixes of an unnamed route's policy;
// false when the route cannot be matched.
func (im *importer) envoyRouteMatch(p *imported, route map[string]any, where string) bool {
	m, _ := route["match"].(map[string]any)
	var others []string
	for k := range m {
		switch k {
		case "prefix", "path", "path_separated_prefix", "pathSeparatedPrefix", "safe_regex", "safeRegex", "case_sensitive", "caseSensitive":
		default:
			others = append(others, k)
		}
	}
	sort.Strings(others)
	if len(others) > 0 {
		im.warn(where, "the plugin matches on hosts, path prefixes and route names only: %s ignored, so the policy applies whatever they hold", strings.Join(others, ", "))
	}
	if cs := boolField(field(m, "case_sensitive")); cs != nil && !*cs {
		im.warn(where, "case-insensitive path match: the plugin compares path prefixes exactly")
	}
	switch {
	case m["prefix"] != nil:
		if prefix := fmt.Sprint(m["prefix"]); prefix != "/" && prefix != "" {
			p.Match.PathPrefixes = []string{prefix}
		}
	case field(m, "path_separated_prefix") != nil:
		p.Match.PathPrefixes = []string{fmt.Sprint(field(m, "path_separated_prefix"))}
	case m["path"] != nil:
		im.warn(where, "exact path %q matched as a prefix: the policy also applies below it", m["path"])
		p.Match.PathPrefixes = []string{fmt.Sprint(m["path"])}
	default:
		im.warn(where, "left out: the route has no name and its path match cannot be expressed by the plugin, so the virtual host's policy, if any, covers its requests instead; give the route a name and import again")
		return false
	}
	return true
}

// typedCORS reads a CorsPolicy from an object's typed_per_filter_config.
func typedCORS(m map[string]any, where string) *corsSpec {
	tpfc, _ := field(m, "typed_per_filter_config").(map[string]any)
	keys := make([]string, 0, len(tpfc))
	for k := range tpfc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := tpfc[k].(map[string]any)
		disabled := false
		if typeName(v["@type"]) == filterConfigType {
			disabled, _ = v["disabled"].(bool)
			v, _ = v["config"].(map[string]any)
		}
		if typeName(v["@type"]) != corsPolicyType {
			continue
		}
		s := envoyCORS(v, where)
		if disabled {
			s.enabled = ptr(false)
		}
		return s
	}
	return nil
}

// legacyCORS reads the deprecated cors field of a route or virtual host.
func legacyCORS(v any, where string) *corsSpec {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return envoyCORS(m, where)
}

// envoyCORS reads an Envoy CorsPolicy (typed or legacy).
func envoyCORS(m map[string]any, where string) *corsSpec {
	s := &corsSpec{where: where}
	for _, o := range asList(field(m, "allow_origin_string_match")) {
		sm, _ := o.(map[string]any)
		ic, _ := field(sm, "ignore_case").(bool)
		for _, kind := range []string{"exact", "prefix", "suffix", "contains"} {
			if v, ok := sm[kind].(string); ok {
				s.origins = append(s.origins, stringMatcher{kind: kind, value: v, ignoreCase: ic})
			}
		}
		if re, ok := field(sm, "safe_regex").(map[string]any); ok {
			v, _ := re["regex"].(string)
			s.origins = append(s.origins, stringMatcher{kind: "regex", value: v})
		}
	}
	for _, o := range asList(field(m, "allow_origin")) { // removed from Envoy long ago
		if v, ok := o.(string); ok {
			s.origins = append(s.origins, stringMatcher{kind: "exact", value: v})
		}
	}
	for _, o := range asList(field(m, "allow_origin_regex")) {
		if v, ok := o.(string); ok {
			s.origins = append(s.origins, stringMatcher{kind: "regex", value: v})
		}
	}
	s.methods = commaList(field(m, "allow_methods"))
	s.headers = commaList(field(m, "allow_headers"))
	s.expose = commaList(field(m, "expose_headers"))
	if v, ok := field(m, "max_age").(string); ok && v != "" {
		s.maxAge = &v
	}
	s.credentials = boolField(field(m, "allow_credentials"))
	s.privateNetwork = boolField(field(m, "allow_private_network_access"))
	s.forwardUnmatched = boolField(field(m, "forward_not_matching_preflights"))
	if fe, ok := field(m, "filter_enabled").(map[string]any); ok {
		dv, _ := field(fe, "default_value").(map[string]any)
		n, _ := dv["numerator"].(float64)
		denominator, _ := dv["denominator"].(string)
		switch {
		case n == 0:
			s.enabled = ptr(false)
		case denominator == "" || denominator == "HUNDRED" && n < 100 || denominator != "HUNDRED":
			s.notes = append(s.notes, "filter_enabled applies the policy to a fraction of requests; the plugin applies it to all")
		}
		if key, _ := field(fe, "runtime_key").(string); key != "" {
			s.notes = append(s.notes, fmt.Sprintf("filter_enabled runtime key %q has no equivalent in the plugin", key))
		}
	}
	if field(m, "shadow_enabled") != nil {
		s.notes = append(s.notes, `shadow_enabled does not translate per policy: the plugin's "mode": "report" evaluates without enforcing, for the whole configuration`)
	}
	return s
}

// commaList reads an Envoy comma-separated header or method list; nil when unset.
func commaList(v any) []string {
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
