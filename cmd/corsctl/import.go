package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/corswasm/corswasm/filter"
	"github.com/corswasm/corswasm/internal/originre"
)

// stringMatcher is an Istio StringMatch or an Envoy StringMatcher.
type stringMatcher struct {
	kind       string // exact, prefix, suffix, contains or regex
	value      string
	ignoreCase bool
}

// matches says whether the matcher accepts s, as Envoy evaluates it.
func (m stringMatcher) matches(s string) bool {
	v := m.value
	if m.ignoreCase {
		s, v = strings.ToLower(s), strings.ToLower(v)
	}
	switch m.kind {
	case "exact":
		return s == v
	case "prefix":
		return strings.HasPrefix(s, v)
	case "suffix":
		return strings.HasSuffix(s, v)
	case "contains":
		return strings.Contains(s, v)
	case "regex":
		re, err := regexp.Compile("^(?:" + m.value + ")$")
		return err == nil && re.MatchString(s)
	}
	return false
}

// corsSpec is a CORS policy of Istio or Envoy; nil fields are unset.
type corsSpec struct {
	origins          []stringMatcher
	methods          []string
	headers          []string
	expose           []string
	maxAge           *string // seconds
	credentials      *bool
	privateNetwork   *bool
	forwardUnmatched *bool
	enabled          *bool    // false when the policy is off (filter_enabled 0%, FilterConfig disabled)
	notes            []string // what does not translate, found while reading
	where            string   // where the spec is written
	originsWhere     string   // after merge: where the origins come from
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

// policyOut is one policy of the plugin's configuration.
type policyOut struct {
	where          string
	hosts, paths   []string
	routeNames     []string
	origins        []string
	regexes        []string
	methods        []string
	headers        []string
	expose         []string
	credentials    bool
	maxAge         *int
	privateNetwork bool
	unmatched      string
}

func (p *policyOut) hasMatch() bool { return len(p.hosts)+len(p.paths)+len(p.routeNames) > 0 }

type importer struct {
	policies      []*policyOut
	def           *policyOut // the default policy, if a catch-all was found
	warnings      []string
	forwardUnset  bool // a policy left unmatched preflights to Envoy's default
	sourcesOfCORS int
}

// pluginAccepts says whether the plugin accepts expr, the translation of an
// origin matcher, in allowOriginRegexes. It supports only the part of RE2
// that origins need; when it refuses, the matcher is reported as not
// translatable and left out.
func (im *importer) pluginAccepts(where, what, value, expr string) bool {
	_, err := originre.Compile(expr)
	if err != nil {
		quoted := ""
		if expr != value {
			quoted = fmt.Sprintf(" (as %q)", expr)
		}
		im.warn(where, "%s %q cannot be translated: the plugin refuses it%s: %v; left out. allowOriginRegexes supports a subset of RE2 (see the README): rewrite it in that subset, or list the origins in allowOrigins", what, value, quoted, err)
	}
	return err == nil
}

func (im *importer) warn(where, format string, a ...any) {
	w := where + ": " + fmt.Sprintf(format, a...)
	if !slices.Contains(im.warnings, w) {
		im.warnings = append(im.warnings, w)
	}
}

func (im *importer) count() int {
	n := len(im.policies)
	if im.def != nil {
		n++
	}
	return n
}

// add places a translated policy: a catch-all becomes the default policy.
func (im *importer) add(p *policyOut) {
	if p.hasMatch() {
		im.policies = append(im.policies, p)
		return
	}
	if im.def != nil {
		im.warn(p.where, "matches every request, like %s before it, which takes every request it does: left out", im.def.where)
		return
	}
	im.def = p
}

// translate turns a CORS spec into the plugin's policy fields, warning
// about whatever does not translate one to one. It returns nil when
// nothing can be translated.
func (im *importer) translate(s *corsSpec, where string) *policyOut {
	im.sourcesOfCORS++
	for _, n := range s.notes {
		im.warn(where, "%s", n)
	}
	if s.enabled != nil && !*s.enabled {
		im.warn(where, "the policy is disabled; left out")
		return nil
	}
	p := &policyOut{where: where}
	credentials := s.credentials != nil && *s.credentials
	ow := s.originsWhere // origin warnings go where the origins are written
	if ow == "" {
		ow = where
	}
	anyOrigin := false
	for _, m := range s.origins {
		if m.matches("*") {
			// Envoy's filter allows every origin when a matcher accepts "*",
			// and echoes the request's origin back.
			anyOrigin = true
			continue
		}
		// The plugin refuses (?i): browsers send origins in lower case, so a
		// match that ignores case becomes a match of the lower-cased text.
		// Envoy folds ASCII letters only, and so does this.
		v := m.value
		if m.ignoreCase {
			v = strings.Map(func(r rune) rune {
				if 'A' <= r && r <= 'Z' {
					return r + 'a' - 'A'
				}
				return r
			}, v)
		}
		switch m.kind {
		case "exact":
			cfg, err := filter.Parse(mustJSON(map[string]any{"allowOrigins": []string{v}}))
			if err != nil {
				im.warn(ow, "exact origin %q never matches what browsers send (%s): left out", m.value, problemText(err))
				continue
			}
			if sent := cfg.Policies()[0].Origins[0]; sent != v {
				im.warn(ow, "exact origin %q never matched: browsers send %q, and the match is exact; left out to behave the same. Write %q to allow it", m.value, sent, sent)
				continue
			}
			p.origins = appendNew(p.origins, v)
		case "prefix":
			re := regexp.QuoteMeta(v) + ".*"
			if !im.pluginAccepts(ow, "prefix origin match", m.value, re) {
				continue
			}
			example := m.value + ".evil.test"
			if strings.HasSuffix(m.value, "-") || strings.HasSuffix(m.value, ".") || strings.HasSuffix(m.value, "/") {
				example = m.value + "evil.test"
			}
			im.warn(ow, "prefix origin match %q also allows look-alikes such as %q; kept as allowOriginRegexes %q to behave the same. If one origin is meant, list it in allowOrigins instead", m.value, example, re)
			p.regexes = appendNew(p.regexes, re)
		case "suffix":
			re := ".*" + regexp.QuoteMeta(v)
			if !im.pluginAccepts(ow, "suffix origin match", m.value, re) {
				continue
			}
			example := "https://evil" + m.value
			if strings.HasPrefix(m.value, ".") {
				example = "http://evil" + m.value
			}
			im.warn(ow, "suffix origin match %q allows every origin that ends so, whatever its scheme, such as %q; kept as allowOriginRegexes %q to behave the same. Prefer allowOrigins entries such as \"https://*.example.com\"", m.value, example, re)
			p.regexes = appendNew(p.regexes, re)
		case "contains":
			re := ".*" + regexp.QuoteMeta(v) + ".*"
			if !im.pluginAccepts(ow, "contains origin match", m.value, re) {
				continue
			}
			im.warn(ow, "contains origin match %q allows any origin holding the text; kept as allowOriginRegexes %q to behave the same. List the origins instead", m.value, re)
			p.regexes = appendNew(p.regexes, re)
		case "regex":
			if _, err := regexp.Compile(m.value); err != nil {
				im.warn(ow, "origin regex %q is not RE2 syntax Go accepts (%v): left out", m.value, err)
				continue
			}
			if !im.pluginAccepts(ow, "origin regex", m.value, m.value) {
				continue
			}
			p.regexes = appendNew(p.regexes, m.value)
		}
	}
	if anyOrigin {
		if len(p.origins)+len(p.regexes) > 0 {
			im.warn(ow, "an origin matcher accepts \"*\", so Envoy allows every origin: the other origins are left out")
		}
		p.origins, p.regexes = []string{"*"}, nil
		if credentials {
			im.warn(where, "Envoy echoes any origin back with allowCredentials, so every site can act as the user; the plugin refuses that. Translated as \"*\" without credentials: list the origins that need credentials in a policy with allowCredentials")
			credentials = false
		}
	}
	if len(p.origins)+len(p.regexes) == 0 {
		im.warn(where, "allows no origin: left out (a policy of the plugin allows at least one)")
		return nil
	}
	p.credentials = credentials
	p.methods = im.wildcardList(s.methods, credentials, where, "allowMethods", "method")
	p.headers = im.wildcardList(s.headers, credentials, where, "allowHeaders", "header")
	p.expose = s.expose
	if credentials && slices.Contains(p.expose, "*") {
		im.warn(where, "exposeHeaders \"*\" with credentials exposes nothing in browsers (they read it as a header named \"*\"), and the plugin refuses it: left out")
		p.expose = slices.DeleteFunc(slices.Clone(p.expose), func(h string) bool { return h == "*" })
	}
	if s.maxAge != nil {
		n, err := strconv.Atoi(*s.maxAge)
		switch {
		case err != nil || n < 0:
			im.warn(where, "maxAge %q is not a number of seconds: left out", *s.maxAge)
		case n > 86400:
			im.warn(where, "maxAge %d is more than browsers cache: set to 86400", n)
			n = 86400
			p.maxAge = &n
		default:
			p.maxAge = &n
		}
	}
	p.privateNetwork = s.privateNetwork != nil && *s.privateNetwork
	if p.privateNetwork && anyOrigin {
		im.warn(where, "allow_private_network_access with every origin allowed opens the private network to every site; the plugin refuses that: left out")
		p.privateNetwork = false
	}
	switch {
	case s.forwardUnmatched == nil:
		im.forwardUnset = true
	case *s.forwardUnmatched:
		p.unmatched = "forward"
	}
	return p
}

// wildcardList handles "*" in methods or headers: Envoy echoes what the
// request asks for, which the plugin does only without credentials.
func (im *importer) wildcardList(list []string, credentials bool, where, field, what string) []string {
	if !credentials || !slices.Contains(list, "*") {
		return list
	}
	im.warn(where, "%s \"*\" with credentials: Envoy echoes any requested %s, which the plugin refuses (browsers read \"*\" literally on credentialed requests): left out, list the %ss needed", field, what, what)
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return s == "*" })
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// problemText is the message of a one-problem ConfigError.
func problemText(err error) string {
	var ce *filter.ConfigError
	if errors.As(err, &ce) && len(ce.Problems) == 1 {
		return ce.Problems[0].Message
	}
	return err.Error()
}

// Istio.

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
		p.hosts = hosts
		matches := asList(route["match"])
		if routeName != "" {
			// Istio names the Envoy route after the http route and its match.
			for _, mm := range matches {
				m, _ := mm.(map[string]any)
				n := routeName
				if mn, _ := m["name"].(string); mn != "" {
					n += "." + mn
				}
				p.routeNames = appendNew(p.routeNames, n)
			}
			if len(matches) == 0 {
				p.routeNames = []string{routeName}
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
func (im *importer) istioPaths(p *policyOut, matches []any, where string) bool {
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
		p.paths = prefixes
	}
	return true
}

// pathSet is the paths an earlier route matches, for overlap warnings.
type pathSet struct {
	name     string
	prefixes []string
	all      bool // every path, or paths the plugin cannot tell
}

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

// overlapping names the earlier routes whose requests a policy matched by
// path (not by route name) can also match.
func overlapping(earlier []pathSet, p *policyOut) []string {
	if len(p.routeNames) > 0 {
		return nil
	}
	var out []string
	for _, e := range earlier {
		over := e.all || len(p.paths) == 0
		for _, a := range e.prefixes {
			for _, b := range p.paths {
				over = over || strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
			}
		}
		if over {
			out = append(out, e.name)
		}
	}
	return out
}

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

func ptr[T any](v T) *T { return &v }

// boolField reads a bool or a BoolValue ({"value": true}).
func boolField(v any) *bool {
	switch v := v.(type) {
	case bool:
		return &v
	case map[string]any:
		b, _ := v["value"].(bool)
		return &b
	}
	return nil
}

// Envoy.

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
			p.hosts = hosts
			if routeName != "" {
				p.routeNames = []string{routeName}
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
			p.hosts = hosts
			im.add(p)
		}
	}
}

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
func (im *importer) envoyRouteMatch(p *policyOut, route map[string]any, where string) bool {
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
			p.paths = []string{prefix}
		}
	case field(m, "path_separated_prefix") != nil:
		p.paths = []string{fmt.Sprint(field(m, "path_separated_prefix"))}
	case m["path"] != nil:
		im.warn(where, "exact path %q matched as a prefix: the policy also applies below it", m["path"])
		p.paths = []string{fmt.Sprint(m["path"])}
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

// Output.

// render writes the configuration as JSON in the README's field order,
// lists on one line.
func (im *importer) render() []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	var members [][2]string
	if im.def != nil {
		members = append(members, policyMembers(im.def)...)
	}
	if len(im.policies) > 0 {
		var pb bytes.Buffer
		pb.WriteString("[\n")
		for i, p := range im.policies {
			pb.WriteString("    {\n")
			fields := append([][2]string{{"match", matchJSON(p)}}, policyMembers(p)...)
			writeMembers(&pb, fields, "      ")
			pb.WriteString("    }")
			if i < len(im.policies)-1 {
				pb.WriteString(",")
			}
			pb.WriteString("\n")
		}
		pb.WriteString("  ]")
		members = append(members, [2]string{"policies", pb.String()})
	}
	writeMembers(&b, members, "  ")
	b.WriteString("}\n")
	return b.Bytes()
}

func writeMembers(w io.Writer, members [][2]string, indent string) {
	for i, m := range members {
		fmt.Fprintf(w, "%s%s: %s", indent, mustJSON(m[0]), m[1])
		if i < len(members)-1 {
			fmt.Fprint(w, ",")
		}
		fmt.Fprintln(w)
	}
}

func matchJSON(p *policyOut) string {
	var parts []string
	for _, f := range []struct {
		name   string
		values []string
	}{{"hosts", p.hosts}, {"pathPrefixes", p.paths}, {"routeNames", p.routeNames}} {
		if len(f.values) > 0 {
			parts = append(parts, fmt.Sprintf("%s: %s", mustJSON(f.name), listJSON(f.values)))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func policyMembers(p *policyOut) [][2]string {
	var out [][2]string
	list := func(name string, v []string) {
		if len(v) > 0 {
			out = append(out, [2]string{name, listJSON(v)})
		}
	}
	list("allowOrigins", p.origins)
	list("allowOriginRegexes", p.regexes)
	list("allowMethods", p.methods)
	list("allowHeaders", p.headers)
	list("exposeHeaders", p.expose)
	if p.credentials {
		out = append(out, [2]string{"allowCredentials", "true"})
	}
	if p.maxAge != nil {
		out = append(out, [2]string{"maxAge", strconv.Itoa(*p.maxAge)})
	}
	if p.privateNetwork {
		out = append(out, [2]string{"allowPrivateNetwork", "true"})
	}
	if p.unmatched != "" {
		out = append(out, [2]string{"unmatchedPreflights", string(mustJSON(p.unmatched))})
	}
	return out
}

func listJSON(v []string) string {
	var parts []string
	for _, s := range v {
		b, _ := json.Marshal(s)
		parts = append(parts, string(b))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
