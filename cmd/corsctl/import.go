package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

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

// imported is a policy translated for the plugin, and where it was read.
type imported struct {
	filter.PolicySpec        // Match is never nil until importer.add places the policy
	where             string // the file and the place in it
}

// hasMatch says whether the policy matches part of the traffic only.
func (p *imported) hasMatch() bool {
	m := p.Match
	return m != nil && len(m.Hosts)+len(m.PathPrefixes)+len(m.RouteNames) > 0
}

// importer collects the policies translated from every file read.
type importer struct {
	policies      []*imported
	def           *imported // the default policy, if a catch-all was found
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
		im.warn(where, "%s %q cannot be translated: the plugin refuses it%s: %v; left out. allowOriginRegexes supports a subset of RE2 (see docs/configuration.md, Origin regexes): rewrite it in that subset, or list the origins in allowOrigins", what, value, quoted, err)
	}
	return err == nil
}

// warn records what does not translate one to one, once.
func (im *importer) warn(where, format string, a ...any) {
	w := where + ": " + fmt.Sprintf(format, a...)
	if !slices.Contains(im.warnings, w) {
		im.warnings = append(im.warnings, w)
	}
}

// count is the number of policies translated, the default one included.
func (im *importer) count() int {
	n := len(im.policies)
	if im.def != nil {
		n++
	}
	return n
}

// add places a translated policy: a catch-all becomes the default policy.
func (im *importer) add(p *imported) {
	if p.hasMatch() {
		im.policies = append(im.policies, p)
		return
	}
	p.Match = nil
	if im.def != nil {
		im.warn(p.where, "matches every request, like %s before it, which takes every request it does: left out", im.def.where)
		return
	}
	im.def = p
}

// translate turns a CORS spec into the plugin's policy fields, warning
// about whatever does not translate one to one. It returns nil when
// nothing can be translated.
func (im *importer) translate(s *corsSpec, where string) *imported {
	im.sourcesOfCORS++
	for _, n := range s.notes {
		im.warn(where, "%s", n)
	}
	if s.enabled != nil && !*s.enabled {
		im.warn(where, "the policy is disabled; left out")
		return nil
	}
	p := &imported{PolicySpec: filter.PolicySpec{Match: &filter.MatchSpec{}}, where: where}
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
			sent, err := filter.NormalizeOrigin(v)
			if err != nil {
				im.warn(ow, "exact origin %q never matches what browsers send (%s): left out", m.value, problemText(err))
				continue
			}
			if sent != v {
				im.warn(ow, "exact origin %q never matched: browsers send %q, and the match is exact; left out to behave the same. Write %q to allow it", m.value, sent, sent)
				continue
			}
			p.AllowOrigins = appendNew(p.AllowOrigins, v)
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
			p.AllowOriginRegexes = appendNew(p.AllowOriginRegexes, re)
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
			p.AllowOriginRegexes = appendNew(p.AllowOriginRegexes, re)
		case "contains":
			re := ".*" + regexp.QuoteMeta(v) + ".*"
			if !im.pluginAccepts(ow, "contains origin match", m.value, re) {
				continue
			}
			im.warn(ow, "contains origin match %q allows any origin holding the text; kept as allowOriginRegexes %q to behave the same. List the origins instead", m.value, re)
			p.AllowOriginRegexes = appendNew(p.AllowOriginRegexes, re)
		case "regex":
			if _, err := regexp.Compile(m.value); err != nil {
				im.warn(ow, "origin regex %q is not RE2 syntax Go accepts (%v): left out", m.value, err)
				continue
			}
			if !im.pluginAccepts(ow, "origin regex", m.value, m.value) {
				continue
			}
			p.AllowOriginRegexes = appendNew(p.AllowOriginRegexes, m.value)
		}
	}
	if anyOrigin {
		if len(p.AllowOrigins)+len(p.AllowOriginRegexes) > 0 {
			im.warn(ow, "an origin matcher accepts \"*\", so Envoy allows every origin: the other origins are left out")
		}
		p.AllowOrigins, p.AllowOriginRegexes = []string{"*"}, nil
		if credentials {
			im.warn(where, "Envoy echoes any origin back with allowCredentials, so every site can act as the user; the plugin refuses that. Translated as \"*\" without credentials: list the origins that need credentials in a policy with allowCredentials")
			credentials = false
		}
	}
	if len(p.AllowOrigins)+len(p.AllowOriginRegexes) == 0 {
		im.warn(where, "allows no origin: left out (a policy of the plugin allows at least one)")
		return nil
	}
	p.AllowCredentials = credentials
	p.AllowMethods = im.wildcardList(s.methods, credentials, where, "allowMethods", "method")
	p.AllowHeaders = im.wildcardList(s.headers, credentials, where, "allowHeaders", "header")
	p.ExposeHeaders = s.expose
	if credentials && slices.Contains(p.ExposeHeaders, "*") {
		im.warn(where, "exposeHeaders \"*\" with credentials exposes nothing in browsers (they read it as a header named \"*\"), and the plugin refuses it: left out")
		p.ExposeHeaders = slices.DeleteFunc(slices.Clone(p.ExposeHeaders), func(h string) bool { return h == "*" })
	}
	if s.maxAge != nil {
		n, err := strconv.Atoi(*s.maxAge)
		switch {
		case err != nil || n < 0:
			im.warn(where, "maxAge %q is not a number of seconds: left out", *s.maxAge)
		case n > 86400:
			im.warn(where, "maxAge %d is more than browsers cache: set to 86400", n)
			n = 86400
			p.MaxAge = &n
		default:
			p.MaxAge = &n
		}
	}
	p.AllowPrivateNetwork = s.privateNetwork != nil && *s.privateNetwork
	if p.AllowPrivateNetwork && anyOrigin {
		im.warn(where, "allow_private_network_access with every origin allowed opens the private network to every site; the plugin refuses that: left out")
		p.AllowPrivateNetwork = false
	}
	switch {
	case s.forwardUnmatched == nil:
		im.forwardUnset = true
	case *s.forwardUnmatched:
		p.UnmatchedPreflights = "forward"
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

// appendNew appends v to list unless it is there already.
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

// pathSet is the paths an earlier route matches, for overlap warnings.
type pathSet struct {
	name     string
	prefixes []string
	all      bool // every path, or paths the plugin cannot tell
}

// overlapping names the earlier routes whose requests a policy matched by
// path (not by route name) can also match.
func overlapping(earlier []pathSet, p *imported) []string {
	if len(p.Match.RouteNames) > 0 {
		return nil
	}
	var out []string
	for _, e := range earlier {
		over := e.all || len(p.Match.PathPrefixes) == 0
		for _, a := range e.prefixes {
			for _, b := range p.Match.PathPrefixes {
				over = over || strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
			}
		}
		if over {
			out = append(out, e.name)
		}
	}
	return out
}

// asList returns v as a list, or nil.
func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// ptr returns a pointer to a copy of v.
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

// render writes the configuration in the layout of config.json (and docs/configuration.md).
func (im *importer) render() []byte {
	return []byte(configJSON(im.config(), true) + "\n")
}

// config is the translated configuration: the default policy's fields at
// the top level, then the other policies.
func (im *importer) config() filter.Spec {
	var spec filter.Spec
	if im.def != nil {
		spec.PolicySpec = im.def.PolicySpec
	}
	for _, p := range im.policies {
		spec.Policies = append(spec.Policies, p.PolicySpec)
	}
	return spec
}
