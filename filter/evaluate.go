package filter

import (
	"strings"

	"github.com/corswasm/corswasm/internal/fetch"
)

// maxRequestHeadersLength bounds Access-Control-Request-Headers (all lines
// together). Browsers send a short sorted list; a longer one is denied rather
// than scanned (rs/cors CVE-2025-47908 was an unbounded one).
const maxRequestHeadersLength = 8192

const headersTooLong = "longer than 8192 bytes" // keep in step with maxRequestHeadersLength

// Evaluate decides on r. It does not allocate and does not keep r.
func (c *Config) Evaluate(r *Request) Decision { return c.EvaluateMemo(r, nil) }

// EvaluateMemo is Evaluate with m remembering origin verdicts (m may be
// nil: no memo). It decides as Evaluate does, for every request, memo or
// not (TestEvaluateMemoDecidesAsEvaluate, FuzzEvaluate).
//
// The result is named and filled in place: returning a local Decision
// copies it, a Wasm call in the module.
func (c *Config) EvaluateMemo(r *Request, m *OriginMemo) (d Decision) {
	if m != nil && m.cfg != c {
		m.reset(c)
	}
	p := c.selectPolicy(r)
	if p == nil {
		d.Kind, d.Reason = KindUncovered, ReasonNoPolicy
		return d
	}
	d.policy, d.report, d.debug = p, c.mode == ModeReport, c.debug
	if !r.HasOrigin {
		d.Kind, d.Reason = KindNoOrigin, ReasonNoOrigin
		return d
	}
	d.Origin = r.Origin
	d.Kind = KindActual
	if r.RequestMethod != "" && isOptions(r.Method) {
		d.Kind = KindPreflight
	}
	if d.Reason, _, _ = p.checkOrigin(r, m); d.Reason != ReasonAllowed {
		d.Detail = r.Origin
		return d
	}
	if d.Kind == KindPreflight {
		if d.Reason, d.Detail = p.checkMethod(r.RequestMethod); d.Reason != ReasonAllowed {
			return d
		}
		if d.Reason, d.Detail, d.headersAsked = p.checkHeaders(r.RequestHeaders); d.Reason != ReasonAllowed {
			return d
		}
		if r.RequestPrivateNetwork == "true" {
			if !p.privateNetwork {
				d.Reason, d.Detail = ReasonPrivateNetworkDenied, r.RequestPrivateNetwork
				return d
			}
			d.privateNetwork = true
		}
	}
	d.Allowed = true
	return d
}

func (c *Config) selectPolicy(r *Request) *policy {
	for _, p := range c.policies {
		if p.matchesAll || p.matches(r) {
			return p
		}
	}
	return nil
}

// matches says whether every criterion of p's match holds for r.
func (p *policy) matches(r *Request) bool {
	if len(p.hosts)+len(p.hostSuffixes) > 0 && !p.matchesHost(hostOf(r.Authority)) {
		return false
	}
	if len(p.pathPrefixes) > 0 && !hasAnyPrefix(r.Path, p.pathPrefixes) {
		return false
	}
	if len(p.routeNames) > 0 && !contains(p.routeNames, r.RouteName) {
		return false
	}
	return true
}

func (p *policy) matchesHost(host string) bool {
	for _, h := range p.hosts {
		if equalLower(host, h) {
			return true
		}
	}
	for _, suffix := range p.hostSuffixes {
		if len(host) > len(suffix) && equalLower(host[len(host)-len(suffix):], suffix) {
			return true
		}
	}
	return false
}

// hostOf strips the port and a trailing dot from an authority.
func hostOf(authority string) string {
	host := authority
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end >= 0 {
			host = host[:end+1]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.TrimSuffix(host, ".")
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, prefix := range prefixes {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// originBy says which kind of allowOrigins entry let an origin in.
type originBy uint8

const (
	byNone    originBy = iota // not allowed
	byAny                     // "*"
	byNull                    // "null"
	byExact                   // an exact origin
	byPattern                 // p.patterns[i]
	byRegex                   // p.regexes[i]
)

// checkOrigin decides on r's Origin. When it is allowed, by and i say
// which entry let it in (i indexes p.patterns or p.regexes). m, if not
// nil, remembers the verdicts of matchOrigin.
func (p *policy) checkOrigin(r *Request, m *OriginMemo) (reason Reason, by originBy, i int) {
	if p.anyOrigin {
		// "*" is answered whatever the value, so nothing is reflected.
		return ReasonAllowed, byAny, 0
	}
	if r.originLines > 1 {
		return ReasonOriginInvalid, byNone, 0
	}
	if r.Origin == "null" {
		if p.allowNull {
			return ReasonAllowed, byNull, 0
		}
		return ReasonOriginNotAllowed, byNone, 0
	}
	// Exact origins are stored as browsers serialize them, so one found in
	// the set needs no parsing.
	if p.exact.has(r.Origin) {
		return ReasonAllowed, byExact, 0
	}
	if m == nil {
		return p.matchOrigin(r.Origin)
	}
	e, key := m.slot(p, r.Origin)
	if e == nil {
		return p.matchOrigin(r.Origin)
	}
	if e.holds(key, r.Origin) {
		return e.reason, e.by, int(e.i)
	}
	reason, by, i = p.matchOrigin(r.Origin)
	e.set(key, r.Origin, reason, by, i)
	return reason, by, i
}

// matchOrigin decides on an origin that is none of p's exact origins: it
// parses it and matches it against p's patterns and regexes.
func (p *policy) matchOrigin(origin string) (reason Reason, by originBy, i int) {
	o, ok := parseOrigin(origin)
	if !ok {
		return ReasonOriginInvalid, byNone, 0
	}
	for i := range p.patterns {
		if p.patterns[i].matches(o) {
			return ReasonAllowed, byPattern, i
		}
	}
	for i, re := range p.regexes {
		if re.MatchString(origin) {
			return ReasonAllowed, byRegex, i
		}
	}
	return ReasonOriginNotAllowed, byNone, 0
}

func (p *policy) checkMethod(m string) (Reason, string) {
	// The methods Fetch names (a preflight's are nearly always one of
	// them) are a bit each: no byte loop, no string comparison.
	if b := methodBit(m); b != 0 {
		if b&safelistedMethods != 0 || p.anyMethod || p.methodBits&b != 0 {
			return ReasonAllowed, ""
		}
		return ReasonMethodNotAllowed, m
	}
	if !fetch.IsToken(m) {
		return ReasonMethodInvalid, m
	}
	switch {
	case fetch.IsSafelistedMethod(m):
	case p.anyMethod:
	case contains(p.methods, m):
	default:
		return ReasonMethodNotAllowed, m
	}
	return ReasonAllowed, ""
}

// Bits of the methods Fetch names, as browsers send them (methodBit).
const (
	methodGET uint8 = 1 << iota
	methodHEAD
	methodPOST
	methodPUT
	methodPATCH
	methodDELETE
	methodOPTIONS

	safelistedMethods = methodGET | methodHEAD | methodPOST // fetch.IsSafelistedMethod's
)

// methodBit is the bit of m when it is one of the methods Fetch names,
// byte for byte (upper case), and 0 otherwise. Comparisons of up to six
// bytes with a constant stay inline in Go's Wasm code.
func methodBit(m string) uint8 {
	switch len(m) {
	case 3:
		if m == "GET" {
			return methodGET
		}
		if m == "PUT" {
			return methodPUT
		}
	case 4:
		if m == "POST" {
			return methodPOST
		}
		if m == "HEAD" {
			return methodHEAD
		}
	case 5:
		if m == "PATCH" {
			return methodPATCH
		}
	case 6:
		if m == "DELETE" {
			return methodDELETE
		}
	case 7:
		if isOptions(m) {
			return methodOPTIONS
		}
	}
	return 0
}

// isOptions says whether m is "OPTIONS", from two loads of four bytes (the
// second overlapping the first): a comparison of seven bytes with a
// constant is a runtime call in Go's Wasm code.
func isOptions(m string) bool {
	return len(m) == 7 && load32(m, 0) == optionsHead && load32(m, 3) == optionsTail
}

var optionsHead, optionsTail = load32("OPTIONS", 0), load32("OPTIONS", 3)

// checkHeaders checks every element of the Access-Control-Request-Headers
// lines: comma-separated, optional whitespace, any letter case, empty
// elements ignored.
//
// Elements that are names the policy lists (of 8 to 16 bytes, prepared as
// foldNames), and the separators between them, are stepped over where they
// stand (skipListed: in the module, WebAssembly of its own, about 120 of
// wazero's instructions an element against 313 for Go's); any other
// element takes the general path: cut at the comma (indexComma), trimmed,
// looked up (listsHeader), checked.
func (p *policy) checkHeaders(lines []string) (reason Reason, detail string, asked bool) {
	if tooLong(lines) {
		return ReasonHeadersInvalid, headersTooLong, false
	}
	for _, line := range lines {
		for i := 0; i < len(line); {
			var listed bool
			if i, listed = skipListed(line, i, p.foldNames); listed {
				asked = true
			}
			if i == len(line) {
				break
			}
			j := indexComma(line[i:])
			if j < 0 {
				j = len(line) - i
			}
			name := trimSpace(line[i : i+j])
			i += j
			switch {
			case p.listsHeader(name): // listed names are tokens: no need to check
			case !fetch.IsToken(name):
				return ReasonHeadersInvalid, name, false
			case !p.anyHeader || equalLower(name, "authorization"):
				return ReasonHeaderNotAllowed, name, false
			}
			asked = true
		}
	}
	return ReasonAllowed, "", asked
}

// tooLong says whether the Access-Control-Request-Headers lines together
// exceed maxRequestHeadersLength (counting a separator after each).
func tooLong(lines []string) bool {
	total := 0
	for _, line := range lines {
		total += len(line) + 1
	}
	return total > maxRequestHeadersLength
}

// trimSpace drops the optional whitespace (SP and HTAB) around a list element.
func trimSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// listsHeader says whether the policy names the header.
func (p *policy) listsHeader(name string) bool {
	for i := range p.headerNames {
		if f := &p.headerNames[i]; f.n != 0 {
			if f.is(name) {
				return true
			}
		} else if isFold(name, p.headers[i]) {
			return true
		}
	}
	return false
}

// equalLower compares s, in any letter case, with lower, which is ASCII
// lower case: a faster strings.EqualFold for header names.
func equalLower(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
