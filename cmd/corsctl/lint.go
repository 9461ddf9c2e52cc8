package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/filter"
	"github.com/corswasm/corswasm/internal/fetch"
)

// finding is one problem check reports.
type finding struct {
	Severity string `json:"severity"` // "error", "warning" or "note"
	Path     string `json:"path,omitempty"`
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
}

// Severities of findings.
const (
	sevError   = "error"
	sevWarning = "warning"
	sevNote    = "note"
)

// lint finds what the engine accepts without a warning but likely did not
// mean. spec is the configuration as written, cfg what it compiles to:
// spec has the entries' indexes, which compiling loses.
func lint(cfg *filter.Config, spec filter.Spec) []finding {
	infos := cfg.Policies()
	// In document order: the top level (the default policy, tried last)
	// first, then policies; within a policy, in field order.
	order := make([]int, 0, len(infos))
	for i, p := range infos {
		if p.Name == "default" {
			order = append([]int{i}, order...)
		} else {
			order = append(order, i)
		}
	}
	var out []finding
	for _, i := range order {
		p := infos[i]
		// prefix is the policy's field path: "policies[i]." even for a
		// named entry, "" for the default.
		rp, prefix := policyRef(&spec, p.Name)
		out = append(out, lintShadowed(infos, i, prefix)...)
		out = append(out, lintCredentialedWildcards(p, rp, prefix)...)
		out = append(out, lintRegexes(cfg, i, p, rp, prefix)...)
		out = append(out, lintMethods(rp, prefix)...)
		out = append(out, lintHeaders(rp, prefix)...)
		out = append(out, lintMaxAge(rp, prefix)...)
	}
	return out
}

// lintShadowed reports a policy that an earlier one always wins over.
// prefix is its field path.
func lintShadowed(infos []filter.PolicyInfo, i int, prefix string) []finding {
	b := infos[i]
	if b.Name == "default" {
		return nil
	}
	for _, a := range infos[:i] {
		if covers(a, b) {
			return []finding{{Severity: sevWarning, Path: prefix + "match",
				Message: fmt.Sprintf("never applies: %s comes first and matches every request this policy matches", a.Name),
				Fix:     fmt.Sprintf("move it before %s, or narrow %s's match", a.Name, a.Name)}}
		}
	}
	return nil
}

// covers says whether policy a's match holds for every request b's does.
func covers(a, b filter.PolicyInfo) bool {
	return coversAll(a.Hosts, b.Hosts, hostCovers) &&
		coversAll(a.PathPrefixes, b.PathPrefixes, strings.HasPrefix) &&
		coversAll(a.RouteNames, b.RouteNames, func(x, y string) bool { return x == y })
}

// coversAll: an empty a matches anything; an empty b anything, which a
// non-empty a does not cover; otherwise each of b must be covered by one of a.
func coversAll(a, b []string, cover func(b, a string) bool) bool {
	if len(a) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for _, y := range b {
		if !slices.ContainsFunc(a, func(x string) bool { return cover(y, x) }) {
			return false
		}
	}
	return true
}

// hostCovers says whether match host a (maybe "*.suffix") covers b.
func hostCovers(b, a string) bool {
	if a == b {
		return true
	}
	if suffix, ok := strings.CutPrefix(a, "*"); ok {
		return strings.HasSuffix(strings.TrimPrefix(b, "*"), suffix) && strings.TrimPrefix(b, "*") != suffix
	}
	return false
}

// lintCredentialedWildcards reports wildcard subdomains allowed with credentials.
func lintCredentialedWildcards(p filter.PolicyInfo, rp *filter.PolicySpec, prefix string) []finding {
	if !p.Credentials {
		return nil
	}
	var out []finding
	for i, o := range rp.AllowOrigins {
		scheme, host, ok := strings.Cut(o, "://")
		if !ok || !strings.HasPrefix(host, "*.") {
			continue
		}
		domain := strings.TrimPrefix(host, "*.")
		domain, _, _ = strings.Cut(domain, ":")
		out = append(out, finding{Severity: sevWarning, Path: fmt.Sprintf("%sallowOrigins[%d]", prefix, i),
			Message: fmt.Sprintf("%q with allowCredentials lets a page on any subdomain of %s act as the user: one forgotten host, taken-over subdomain or page of user content is enough", o, domain),
			Fix:     fmt.Sprintf("list the subdomains that need credentials (%q), or allow the wildcard in a policy without allowCredentials", scheme+"://app."+domain)})
	}
	return out
}

// variantKind is a kind of attacker variant of an allowed origin.
type variantKind int

// The kinds, in the order check reports them.
const (
	variantSuffix variantKind = iota
	variantPrefix
	variantDot
	variantScheme
	variantLabel
)

// variantKinds says, for each kind, what such a variant is, how to fix a
// regex that accepts it, and whether anyone can register it: look-alikes
// are always wrong, while http and extra labels matter most with
// credentials.
var variantKinds = [...]struct {
	what, fix string
	lookAlike bool
}{
	variantSuffix: {"the allowed host followed by more labels, which anyone can register",
		`end the expression at the host and port (nothing like .* after them)`, true},
	variantPrefix: {"a look-alike of the domain, which anyone can register",
		`start the host at a label boundary: (?:[a-z0-9-]+\.)*example\.com, not .*example\.com`, true},
	variantDot: {"a dot matched as any character",
		`escape every dot: \. (\\. in JSON)`, true},
	variantScheme: {"plain http: anyone on the network path can inject a page there",
		`spell the scheme out: https://, not https?:// or .*://`, false},
	variantLabel: {"an extra subdomain label",
		`list the subdomains meant, or use an allowOrigins pattern such as "https://*.example.com" if every one is`, false},
}

// variant is an attacker variant of an allowed origin.
type variant struct {
	origin string
	kind   variantKind
}

// lintRegexes tries attacker variants of every origin the policy allows
// and reports those a regex accepts.
func lintRegexes(cfg *filter.Config, index int, p filter.PolicyInfo, rp *filter.PolicySpec, prefix string) []finding {
	if len(p.Regexes) == 0 {
		return nil
	}
	allowedBy := func(origin string) filter.Check {
		r := filter.Request{}
		r.AddHeader(":method", "GET")
		r.AddHeader("origin", origin)
		return cfg.PolicyChecks(index, &r)[0]
	}
	// The origins the policy means: its exact origins and patterns, and
	// what each regex most plainly matches.
	var samples []string
	for _, o := range p.Origins {
		if o == "null" {
			continue
		}
		o = strings.Replace(o, "://*.", "://app.", 1)
		o = strings.TrimSuffix(o, ":*")
		samples = append(samples, o)
	}
	for _, expr := range p.Regexes {
		// The plainest strings the regex matches that are origins the policy
		// allows. (Which entry allows them does not matter here: only the
		// variants' verdicts do, and those come from the engine.)
		re := regexp.MustCompile("^(?:" + expr + ")$")
		for _, attempt := range regexSamples(expr) {
			n := len(samples)
			for _, s := range attempt {
				if !strings.Contains(s, "://") && re.MatchString("https://"+s) {
					s = "https://" + s // a leading wildcard stands for the scheme too
				}
				if re.MatchString(s) && allowedBy(s).Passed {
					// "https?://" means https: http is a variant to report.
					if rest, ok := strings.CutPrefix(s, "http://"); ok && re.MatchString("https://"+rest) {
						s = "https://" + rest
					}
					if !slices.Contains(samples, s) {
						samples = append(samples, s)
					}
				}
			}
			if len(samples) > n {
				break
			}
		}
	}
	found := map[string][]variant{} // by regex
	seen := map[string]bool{}
	for _, s := range samples {
		for _, v := range variants(s) {
			if seen[v.origin] || slices.Contains(samples, v.origin) {
				continue
			}
			seen[v.origin] = true
			c := allowedBy(v.origin)
			if !c.Passed || c.By != "regex" {
				continue
			}
			if v.kind == variantDot {
				// An unescaped dot matches one character; if two pass as
				// well, a wider wildcard let the look-alike through.
				if c2 := allowedBy(strings.Replace(v.origin, "x", "xx", 1)); c2.Passed && c2.Entry == c.Entry {
					v.kind = variantPrefix
				}
			}
			found[c.Entry] = append(found[c.Entry], v)
		}
	}
	var out []finding
	for i, expr := range rp.AllowOriginRegexes {
		vs := found[expr]
		if len(vs) == 0 {
			continue
		}
		found[expr] = nil // a regex listed twice is reported once
		severity := sevNote
		var examples, fixes []string
		for k, kind := range variantKinds {
			// One example of each kind.
			j := slices.IndexFunc(vs, func(v variant) bool { return v.kind == variantKind(k) })
			if j < 0 {
				continue
			}
			fixes = append(fixes, kind.fix)
			if kind.lookAlike || p.Credentials {
				severity = sevWarning
			}
			examples = append(examples, fmt.Sprintf("%q (%s)", vs[j].origin, kind.what))
		}
		out = append(out, finding{Severity: severity, Path: fmt.Sprintf("%sallowOriginRegexes[%d]", prefix, i),
			Message: fmt.Sprintf("%q accepts origins its author likely did not mean: %s", expr, strings.Join(examples, ", ")),
			Fix:     strings.Join(fixes, "; ")})
	}
	return out
}

// variants returns attacker variants of a well-formed origin.
func variants(origin string) []variant {
	scheme, rest, ok := strings.Cut(origin, "://")
	if !ok {
		return nil
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i:]
	}
	var out []variant
	add := func(kind variantKind, scheme, host string) {
		out = append(out, variant{scheme + "://" + host + port, kind})
	}
	if insecure, ok := map[string]string{"https": "http", "wss": "ws"}[scheme]; ok {
		add(variantScheme, insecure, host)
	}
	if strings.HasPrefix(host, "[") || isIPv4(host) {
		return out
	}
	labels := strings.Split(host, ".")
	reg := registrableStart(labels)
	add(variantSuffix, scheme, host+".evil.test")
	// Text glued to the registrable domain makes a name anyone can
	// register ("evilexample.com"); so does a dot before it matched as any
	// character ("appxexample.com"). Changes further left only make
	// sibling subdomains, which the domain's owner controls.
	add(variantPrefix, scheme, "evil"+strings.Join(labels[reg:], "."))
	if reg > 0 {
		add(variantDot, scheme, strings.Join(labels[:reg], ".")+"x"+strings.Join(labels[reg:], "."))
	}
	add(variantLabel, scheme, "evil."+host)
	return out
}

// registrableStart guesses where the registrable domain starts: the last
// two labels, or three under a country's second level ("example.co.uk").
func registrableStart(labels []string) int {
	n := len(labels)
	if n >= 3 && len(labels[n-1]) == 2 && len(labels[n-2]) <= 3 {
		return n - 3
	}
	return max(0, n-2)
}

// isIPv4 says whether host is a dotted IPv4 address.
func isIPv4(host string) bool {
	parts := strings.Split(host, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return true
}

// Browser caps on preflight caching, in seconds.
const (
	safariMaxAge   = 600
	chromiumMaxAge = 7200
)

// lintMaxAge notes a maxAge that Safari caps.
func lintMaxAge(rp *filter.PolicySpec, prefix string) []finding {
	// Above Chromium's cap the engine warns already.
	if rp.MaxAge == nil || *rp.MaxAge <= safariMaxAge || *rp.MaxAge > chromiumMaxAge {
		return nil
	}
	return []finding{{Severity: sevNote, Path: prefix + "maxAge",
		Message: fmt.Sprintf("%v seconds: Safari caches a preflight for at most %d seconds (Chromium %d, Firefox 86400), so Safari users repeat it more often than this says", *rp.MaxAge, safariMaxAge, chromiumMaxAge),
		Fix:     fmt.Sprintf("nothing to do unless Safari's preflight rate matters; %d is the most every browser honours", safariMaxAge)}}
}

// lintMethods notes safelisted methods listed needlessly and warns of
// methods whose case browsers will not match.
func lintMethods(rp *filter.PolicySpec, prefix string) []finding {
	var out []finding
	var safelisted []string
	for i, m := range rp.AllowMethods {
		switch up := strings.ToUpper(m); {
		case fetch.IsSafelistedMethod(up):
			safelisted = append(safelisted, up)
		case m != up && m != "*" && fetch.NormalizeMethod(m) == m: // browsers send it as written
			out = append(out, finding{Severity: sevWarning, Path: fmt.Sprintf("%sallowMethods[%d]", prefix, i),
				Message: fmt.Sprintf("%q is compared case-sensitively: browsers send it exactly as the page wrote it, almost always %q, which this entry does not allow", m, up),
				Fix:     fmt.Sprintf("write %q", up)})
		}
	}
	if len(safelisted) > 0 {
		out = append([]finding{{Severity: sevNote, Path: prefix + "allowMethods",
			Message: fmt.Sprintf("%s %s CORS-safelisted: browsers never need %s allowed, and the plugin allows %s anyway", andList(safelisted), isAre(safelisted), itThem(safelisted), itThem(safelisted)),
			Fix:     fmt.Sprintf("remove %s; browsers behave the same", itThem(safelisted))}}, out...)
	}
	return out
}

// lintHeaders notes safelisted request and response headers listed needlessly.
func lintHeaders(rp *filter.PolicySpec, prefix string) []finding {
	var out []finding
	var needless []string
	for _, h := range rp.AllowHeaders {
		// Listed needlessly if safelisted with the values pages usually
		// send: accept and the language headers, not content-type.
		if safelistedHeader(reqHeader{name: strings.ToLower(h)}) {
			needless = append(needless, strings.ToLower(h))
		}
	}
	if len(needless) > 0 {
		out = append(out, finding{Severity: sevNote, Path: prefix + "allowHeaders",
			Message: fmt.Sprintf("%s %s CORS-safelisted: browsers ask for %s only when the value is unusual (over 128 bytes, or with characters such as \"():{}<>@)", andList(needless), isAre(needless), itThem(needless)),
			Fix:     fmt.Sprintf("remove %s unless pages send such values", itThem(needless))})
	}
	needless = nil
	for _, h := range rp.ExposeHeaders {
		if fetch.IsSafelistedResponseHeader(h) {
			needless = append(needless, strings.ToLower(h))
		}
	}
	if len(needless) > 0 {
		out = append(out, finding{Severity: sevNote, Path: prefix + "exposeHeaders",
			Message: fmt.Sprintf("%s %s: pages read %s without %s being exposed", andList(needless), plural(needless, "is a CORS-safelisted response header", "are CORS-safelisted response headers"), itThem(needless), itThem(needless)),
			Fix:     fmt.Sprintf("remove %s", itThem(needless))})
	}
	return out
}

// andList joins s as English does: "a, b and c".
func andList(s []string) string {
	switch len(s) {
	case 1:
		return s[0]
	case 2:
		return s[0] + " and " + s[1]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// plural picks one or many by the length of s.
func plural(s []string, one, many string) string {
	if len(s) == 1 {
		return one
	}
	return many
}

func isAre(s []string) string  { return plural(s, "is", "are") }
func itThem(s []string) string { return plural(s, "it", "them") }
