package filter

import (
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/internal/fetch"
	"github.com/corswasm/corswasm/internal/originre"
)

// validator applies the rules of a configuration to a Spec, collecting
// errors and warnings at field paths.
type validator struct {
	errs  []finding
	warns []Problem
	at    place // where errors found now go in the report
}

// fail records an error and warn a warning. Neither is inlined, as
// decoder.fail is not.
//
//go:noinline
func (v *validator) fail(path, msg string) {
	v.errs = append(v.errs, finding{Problem{path, msg}, v.at})
}

//go:noinline
func (v *validator) warn(path, msg string) { v.warns = append(v.warns, Problem{path, msg}) }

// validate checks s. doc says how the document s was decoded from is
// written (layoutOf(s) for a Spec built in code).
func validate(s *Spec, doc *layout) (errs []finding, warns []Problem) {
	v := &validator{at: place{part: partTop}}
	if s.Mode > ModeReport {
		v.fail("mode", "unknown mode "+strconv.Itoa(int(s.Mode))+"; use ModeEnforce or ModeReport")
	}
	if s.Debug {
		v.warn("debug", "adds an "+ReasonHeader+" header to every denied response, telling any caller why the policy refused it; use it while debugging, never in production")
	}
	named := make(map[string]int, len(s.Policies))
	for i := range s.Policies {
		if doc.entries[i].unreadable {
			continue // reported by the decoder
		}
		path := index("policies", i)
		v.at = place{part: i + 1}
		v.name(s.Policies[i].Name, path, named, i)
		v.match(&s.Policies[i], &doc.entries[i], path)
		v.at.step = stepRules
		v.policy(&s.Policies[i], path)
	}
	v.at = place{part: len(s.Policies) + 1, step: stepRules}
	top := &s.PolicySpec
	if top.Name != "" {
		v.fail("name", topLevelName)
	}
	if top.Match != nil {
		v.fail("match", "only an entry of policies has a match; the top-level fields form the default policy, which applies where no entry matches")
	}
	if len(top.AllowOrigins) > 0 || len(top.AllowOriginRegexes) > 0 {
		v.policy(top, "")
		return v.errs, v.warns
	}
	for _, f := range doc.written {
		if f != "allowOrigins" && f != "allowOriginRegexes" {
			v.fail(f, "has no effect without top-level allowOrigins: top-level fields form the default policy, and policies do not inherit them; add allowOrigins or move the field into each policy")
		}
	}
	if len(s.Policies) == 0 {
		v.fail("allowOrigins", `no origin is allowed anywhere; list origins in allowOrigins (the default policy) or in policies[].allowOrigins, e.g. "allowOrigins": ["https://app.example.com"]`)
	}
	return v.errs, v.warns
}

// layoutOf is the layout of a Spec built in code: the fields it sets, in
// the order of docs/configuration.md.
func layoutOf(s *Spec) *layout {
	doc := &layout{entries: make([]entryLayout, len(s.Policies))}
	top := &s.PolicySpec
	for _, f := range policyFields {
		set := false
		switch f {
		case "allowOrigins":
			set = top.AllowOrigins != nil
		case "allowOriginRegexes":
			set = top.AllowOriginRegexes != nil
		case "allowMethods":
			set = top.AllowMethods != nil
		case "allowHeaders":
			set = top.AllowHeaders != nil
		case "exposeHeaders":
			set = top.ExposeHeaders != nil
		case "allowCredentials":
			set = top.AllowCredentials
		case "maxAge":
			set = top.MaxAge != nil
		case "allowPrivateNetwork":
			set = top.AllowPrivateNetwork
		case "preflightStatus":
			set = top.PreflightStatus != 0
		case "unmatchedPreflights":
			set = top.UnmatchedPreflights != ""
		}
		if set {
			doc.written = append(doc.written, f)
		}
	}
	for i := range doc.entries {
		doc.entries[i].matchFields = matchFields
	}
	return doc
}

// topLevelName refuses a name on the top-level policy.
const topLevelName = `only an entry of policies has a name; the top-level policy is always called default`

// ValidPolicyName says whether name may name an entry of policies: 1 to 63
// lower-case letters, digits and '-', starting and ending with a letter or
// a digit (^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$), and not "default",
// which is the top-level policy's.
func ValidPolicyName(name string) bool {
	if name == "" || len(name) > 63 || name == "default" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < len(name)-1) {
			return false
		}
	}
	return true
}

// name checks the name of policies[i], if it has one; named maps the names
// seen so far to their entries.
func (v *validator) name(name, path string, named map[string]int, i int) {
	if name == "" {
		return
	}
	fp := join(path, "name")
	switch j, dup := named[name]; {
	case name == "default":
		v.fail(fp, `"default" is reserved for the top-level policy; choose another name`)
	case !ValidPolicyName(name):
		v.fail(fp, strconv.Quote(name)+" is not a valid policy name (1 to 63 characters, starting and ending with a letter or digit); use lower-case letters, digits and '-'")
	case dup:
		v.fail(fp, strconv.Quote(name)+" is already the name of "+index("policies", j)+"; names must be unique")
	default:
		named[name] = i
	}
}

// match checks where an entry of policies applies.
func (v *validator) match(ps *PolicySpec, el *entryLayout, path string) {
	if el.matchUnreadable {
		return // reported by the decoder
	}
	path = join(path, "match")
	v.at.step = stepMatch
	if ps.Match == nil {
		v.fail(path, `required: a policy in policies applies only where its match holds, e.g. "match": {"hosts": ["api.example.com"]}; put a catch-all policy's fields at the top level instead`)
		return
	}
	criteria := 0
	for k, f := range el.matchFields {
		v.at.step = stepMatchField + k
		fp := join(path, f)
		var values []string
		switch f {
		case "hosts":
			values = ps.Match.Hosts
		case "pathPrefixes":
			values = ps.Match.PathPrefixes
		case "routeNames":
			values = ps.Match.RouteNames
		}
		criteria += len(values)
		for i, val := range values {
			vp := index(fp, i)
			switch f {
			case "hosts":
				name := strings.TrimPrefix(strings.ToLower(val), "*.")
				if !validHost(name) || strings.Contains(name, ":") {
					v.fail(vp, "invalid host "+strconv.Quote(val)+`; write a host name without scheme or port ("api.example.com"), or "*." and a domain for its subdomains`)
				}
			case "pathPrefixes":
				if !strings.HasPrefix(val, "/") {
					v.fail(vp, "must start with '/', as request paths do")
				}
			case "routeNames":
				if val == "" {
					v.fail(vp, "empty route name")
				}
			}
		}
	}
	v.at.step = stepMatchEnd
	if criteria == 0 {
		v.fail(path, "names no hosts, pathPrefixes or routeNames; a policy that matches everything belongs at the top level")
	}
}

// policy checks whom a policy lets in with what. path is "" for the
// default policy.
func (v *validator) policy(ps *PolicySpec, path string) {
	anyOrigin := v.origins(ps, path)
	v.regexes(ps, path)
	v.methods(ps, path)
	v.headers(ps, path)
	v.expose(ps, path)
	if ps.MaxAge != nil {
		maxAge, fp := *ps.MaxAge, join(path, "maxAge")
		switch {
		case maxAge < 0 || maxAge > 86400:
			v.fail(fp, "must be from 0 to 86400 seconds, not "+strconv.Itoa(maxAge)+"; 0 tells browsers not to cache preflights, leave it out for their default of 5 seconds")
		case maxAge > 7200:
			v.warn(fp, strconv.Itoa(maxAge)+" seconds exceeds what Chromium caches (7200); Firefox caches up to 86400")
		}
	}
	switch ps.PreflightStatus {
	case 0, 200, 204:
	default:
		v.fail(join(path, "preflightStatus"), "must be 200 or 204, not "+strconv.Itoa(ps.PreflightStatus))
	}
	switch ps.UnmatchedPreflights {
	case "", "reject", "forward":
	default:
		v.fail(join(path, "unmatchedPreflights"), "unknown value "+strconv.Quote(ps.UnmatchedPreflights)+`; use "reject" (answer 403) or "forward" (pass to the upstream)`)
	}
	if ps.AllowPrivateNetwork && anyOrigin {
		v.fail(join(path, "allowPrivateNetwork"), `cannot be used with the "*" origin: opening a private network to every site defeats the protection; list the origins`)
	}
}

// origins checks allowOrigins and reports whether it holds "*".
func (v *validator) origins(ps *PolicySpec, at string) (anyOrigin bool) {
	path := join(at, "allowOrigins")
	if at != "" && len(ps.AllowOrigins) == 0 && len(ps.AllowOriginRegexes) == 0 {
		v.fail(path, `a policy must allow at least one origin (allowOrigins or allowOriginRegexes); policies do not inherit the top level`)
	}
	var exact originSet
	for i, o := range ps.AllowOrigins {
		op := index(path, i)
		switch o {
		case "*":
			anyOrigin = true
			if len(ps.AllowOrigins) > 1 || len(ps.AllowOriginRegexes) > 0 {
				v.fail(op, `"*" allows every origin, so it must be the only origin and allowOriginRegexes must be empty`)
			}
			if ps.AllowCredentials {
				v.fail(op, `"*" cannot be used with allowCredentials: browsers refuse a wildcard on credentialed requests, and reflecting any origin with credentials lets every site act as the user; list the origins`)
			}
		case "null":
			v.warn(op, `the "null" origin is sent by sandboxed iframes, file: pages and some redirects, so any site can claim it; allow it only if you must`)
		default:
			pp, msg := parseOriginPattern(o)
			if msg != "" {
				v.fail(op, strconv.Quote(o)+": "+msg)
				continue
			}
			scheme, host := pp.pattern.scheme, pp.pattern.host
			if pp.wild {
				if suffix := pp.pattern.host; pp.pattern.subdomains && contains(publicSuffixes, suffix[1:]) {
					v.warn(op, strconv.Quote(o)+" allows every site registered under the public suffix "+strconv.Quote(suffix[1:])+"; name your own domain")
				}
			} else {
				if exact.add(pp.exact) {
					v.warn(op, strconv.Quote(o)+" is listed twice")
				}
				eo, _ := parseOrigin(pp.exact)
				scheme, host = eo.scheme, eo.host
			}
			if ps.AllowCredentials && scheme == "http" && !loopback(host) {
				v.warn(op, strconv.Quote(o)+" is plain http with allowCredentials: anyone on the network path can inject script into that origin and act as the user; use https")
			}
		}
	}
	return anyOrigin
}

func (v *validator) regexes(ps *PolicySpec, at string) {
	path := join(at, "allowOriginRegexes")
	for i, expr := range ps.AllowOriginRegexes {
		re, err := originre.Compile(expr) // matches the whole origin
		if err != nil {
			v.fail(index(path, i), "invalid regular expression "+strconv.Quote(expr)+": "+err.Error())
			continue
		}
		for _, w := range regexWarnings(expr, re) {
			v.warn(index(path, i), strconv.Quote(expr)+" "+w)
		}
	}
}

// regexWarnings points out regexes that let in more than their authors
// likely meant. The engine's whole-match rule stops unanchored ones; these
// are the mistakes it cannot see.
func regexWarnings(expr string, re *originre.Regexp) []string {
	var out []string
	if unescapedDot(expr) {
		out = append(out, `has an unescaped '.' between letters, which matches any character ("api.example.com" lets in "apixexample.com"); write \\. in JSON`)
	}
	if re.MatchString("https://corswasm-probe.invalid") || re.MatchString("http://corswasm-probe.invalid") {
		out = append(out, "matches origins of any site (it let in https://corswasm-probe.invalid); name the hosts")
	} else if re.EndsInAnyRepeat() {
		out = append(out, "ends in .* or .+, which lets any domain follow the host (\"https://app.example.com.evil.net\"); end it at the host or port")
	}
	return out
}

// unescapedDot reports a '.' outside a character class, not escaped, between
// two letters or digits.
func unescapedDot(expr string) bool {
	class := false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\\':
			i++
		case c == '[':
			class = true
		case c == ']':
			class = false
		case c == '.' && !class && i > 0 && i+1 < len(expr) && isAlnum(expr[i-1]) && isAlnum(expr[i+1]):
			return true
		}
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// publicSuffixes are common multi-label public suffixes: anyone can register
// a name under them, so a wildcard over one allows strangers. (Single labels
// such as "com" are refused outright.) A short list, not the whole Public
// Suffix List, which would weigh more than the rest of the module.
var publicSuffixes = []string{
	"co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.nz", "co.jp", "co.kr",
	"co.in", "co.za", "com.br", "com.cn", "com.mx", "com.tr", "com.sg",
	"github.io", "gitlab.io", "herokuapp.com", "netlify.app", "vercel.app", "pages.dev", "workers.dev",
	"web.app", "firebaseapp.com", "appspot.com", "azurewebsites.net", "cloudfront.net", "blogspot.com",
	"s3.amazonaws.com", "onrender.com", "fly.dev", "glitch.me", "ngrok.io", "ngrok-free.app",
}

// loopback says whether host names this machine, where plain http is not a
// network risk.
func loopback(host string) bool {
	v4, ok := parseIPv4(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost") ||
		(ok && v4>>24 == 127) || host == "[::1]"
}

func (v *validator) methods(ps *PolicySpec, at string) {
	path := join(at, "allowMethods")
	for i, m := range ps.AllowMethods {
		mp := index(path, i)
		switch {
		case m == "*":
			if ps.AllowCredentials {
				v.fail(mp, `"*" cannot be used with allowCredentials: browsers read it as a literal method name on credentialed requests; list the methods`)
			}
		case !fetch.IsToken(m):
			v.fail(mp, strconv.Quote(m)+" is not a valid method name (an HTTP token)")
		case fetch.IsForbiddenMethod(m):
			v.fail(mp, strconv.Quote(m)+" is a method browsers never let pages send; remove it")
		}
	}
}

func (v *validator) headers(ps *PolicySpec, at string) {
	path := join(at, "allowHeaders")
	for i, h := range ps.AllowHeaders {
		hp := index(path, i)
		switch {
		case h == "*":
			if ps.AllowCredentials {
				v.fail(hp, `"*" cannot be used with allowCredentials: browsers read it as a literal header name on credentialed requests; list the headers`)
			}
		case !fetch.IsToken(h):
			v.fail(hp, strconv.Quote(h)+" is not a valid header name (an HTTP token)")
		case fetch.IsForbiddenRequestHeader(h):
			v.fail(hp, strconv.Quote(h)+" is a forbidden request header: browsers never let pages set it, so it never needs allowing; remove it")
		case hasPrefixLower(h, "access-control-"):
			v.fail(hp, strconv.Quote(h)+" is a CORS protocol header, not one a request carries; remove it")
		}
	}
}

func (v *validator) expose(ps *PolicySpec, at string) {
	path := join(at, "exposeHeaders")
	for i, h := range ps.ExposeHeaders {
		hp := index(path, i)
		switch {
		case h == "*":
			if ps.AllowCredentials {
				v.fail(hp, `"*" cannot be used with allowCredentials: browsers read it as a literal header name on credentialed requests; list the headers`)
			}
		case !fetch.IsToken(h):
			v.fail(hp, strconv.Quote(h)+" is not a valid header name (an HTTP token)")
		case fetch.IsForbiddenResponseHeader(h):
			v.fail(hp, strconv.Quote(h)+" is never exposed to pages by browsers, whatever the server says; remove it")
		case hasPrefixLower(h, "access-control-"):
			v.fail(hp, strconv.Quote(h)+" is a CORS protocol header; exposing it is meaningless, remove it")
		}
	}
}

// hasPrefixLower says whether s, in any letter case, starts with prefix,
// which is lower case.
func hasPrefixLower(s, prefix string) bool {
	return len(s) >= len(prefix) && equalLower(s[:len(prefix)], prefix)
}
