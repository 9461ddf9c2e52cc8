package filter

import (
	"strconv"
	"strings"
)

// maxRequestHeadersLength bounds Access-Control-Request-Headers (all lines
// together). Browsers send a short sorted list; a longer one is denied rather
// than scanned (rs/cors CVE-2025-47908 was an unbounded one).
const maxRequestHeadersLength = 8192

const headersTooLong = "longer than 8192 bytes" // keep in step with maxRequestHeadersLength

// Decision is the engine's verdict on one request. It is a small value: the
// plugin keeps it for the response phase.
type Decision struct {
	Kind    Kind
	Allowed bool
	Reason  Reason

	report         bool
	debug          bool // a denial carries ReasonHeader
	privateNetwork bool // private network access requested and allowed
	headersAsked   bool // the preflight requested at least one header

	// Detail is the value that failed the check: the origin, the method or
	// the header name. It is a view of the request, not a copy.
	Detail string
	// Origin is the request's Origin, echoed in access-control-allow-origin
	// when allowed.
	Origin string

	policy *policy
}

// Policy names the policy that applies ("default" or "policies[i]"), or "".
func (d *Decision) Policy() string {
	if d.policy == nil {
		return ""
	}
	return d.policy.name
}

// Evaluate decides on r. It does not allocate and does not keep r.
func (c *Config) Evaluate(r *Request) Decision {
	p := c.selectPolicy(r)
	if p == nil {
		return Decision{Kind: KindUncovered, Reason: ReasonNoPolicy}
	}
	d := Decision{policy: p, report: c.mode == ModeReport, debug: c.debug}
	if !r.HasOrigin {
		d.Kind, d.Reason = KindNoOrigin, ReasonNoOrigin
		return d
	}
	d.Origin = r.Origin
	d.Kind = KindActual
	if r.Method == "OPTIONS" && r.RequestMethod != "" {
		d.Kind = KindPreflight
	}
	if d.Reason = p.checkOrigin(r); d.Reason != ReasonAllowed {
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
		if p.matches(r) {
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

func (p *policy) checkOrigin(r *Request) Reason {
	if p.anyOrigin {
		// "*" is answered whatever the value, so nothing is reflected.
		return ReasonAllowed
	}
	if r.originLines > 1 {
		return ReasonOriginInvalid
	}
	if r.Origin == "null" {
		if p.allowNull {
			return ReasonAllowed
		}
		return ReasonOriginNotAllowed
	}
	// Exact origins are stored as browsers serialize them, so one found in
	// the set needs no parsing.
	if p.exact.has(r.Origin) {
		return ReasonAllowed
	}
	o, ok := parseOrigin(r.Origin)
	if !ok {
		return ReasonOriginInvalid
	}
	for i := range p.patterns {
		if p.patterns[i].matches(o) {
			return ReasonAllowed
		}
	}
	for _, re := range p.regexes {
		if re.MatchString(r.Origin) {
			return ReasonAllowed
		}
	}
	return ReasonOriginNotAllowed
}

func (p *policy) checkMethod(m string) (Reason, string) {
	if !isToken(m) {
		return ReasonMethodInvalid, m
	}
	switch {
	case m == "GET", m == "HEAD", m == "POST": // CORS-safelisted
	case p.anyMethod:
	case contains(p.methods, m):
	default:
		return ReasonMethodNotAllowed, m
	}
	return ReasonAllowed, ""
}

// checkHeaders checks every element of the Access-Control-Request-Headers
// lines: comma-separated, optional whitespace, any letter case, empty
// elements ignored.
func (p *policy) checkHeaders(lines []string) (reason Reason, detail string, asked bool) {
	total := 0
	for _, line := range lines {
		total += len(line) + 1
	}
	if total > maxRequestHeadersLength {
		return ReasonHeadersInvalid, headersTooLong, false
	}
	for _, line := range lines {
		for line != "" {
			var name string
			if i := strings.IndexByte(line, ','); i >= 0 {
				name, line = trimSpace(line[:i]), line[i+1:]
			} else {
				name, line = trimSpace(line), ""
			}
			switch {
			case name == "":
				continue
			case p.listsHeader(name): // listed names are tokens: no need to check
			case !isToken(name):
				return ReasonHeadersInvalid, name, false
			case !p.anyHeader || equalLower(name, "authorization"):
				return ReasonHeaderNotAllowed, name, false
			}
			asked = true
		}
	}
	return ReasonAllowed, "", asked
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
	for _, h := range p.headers {
		// Browsers send lower case: the plain comparison usually settles it.
		if len(name) == len(h) && (name == h || equalLower(name, h)) {
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

// LocalResponse says whether the plugin answers the request itself: an
// allowed preflight, or a failed one when unmatchedPreflights is "reject".
// It appends the response headers to dst. Never in report mode.
func (d *Decision) LocalResponse(dst [][2]string) (status int, headers [][2]string, ok bool) {
	if d.Kind != KindPreflight || d.report {
		return 0, dst, false
	}
	p := d.policy
	if !d.Allowed {
		if p.forward {
			return 0, dst, false
		}
		dst = append(dst, [2]string{"vary", p.preflightVary})
		if d.debug {
			dst = append(dst, [2]string{ReasonHeader, d.debugReason()})
		}
		return 403, dst, true
	}
	n := len(dst)
	dst = append(dst, p.preflightHeaders...) // one copy of what every answer carries
	dst[n][1] = d.allowOrigin()
	if d.headersAsked {
		dst = append(dst, [2]string{"access-control-allow-headers", p.allowHeaders})
	}
	if d.privateNetwork {
		dst = append(dst, [2]string{"access-control-allow-private-network", "true"})
	}
	dst = append(dst, [2]string{"vary", p.preflightVary})
	return p.preflightOK, dst, true
}

func (d *Decision) allowOrigin() string {
	if d.policy.anyOrigin {
		return "*"
	}
	return d.Origin
}

// NeedsResponse says whether the plugin must rewrite the response headers.
func (d *Decision) NeedsResponse() bool {
	return !d.report && d.policy != nil && (d.Kind == KindActual || d.Kind == KindNoOrigin)
}

// RewriteResponse computes the response headers from the upstream's hdrs.
// For a request with Origin, every access-control-* header the upstream set
// is dropped and, when allowed, the policy's are added. An any-origin policy
// does the same for requests without Origin: a cache may serve that response
// to a later CORS request, and "*" does not depend on the origin (Fetch,
// "CORS protocol and HTTP caches"). Other policies only add a line
// "vary: origin" to such a response, without looking at the upstream's vary
// (see VaryOnly). For requests with Origin, "origin" is added to vary as a
// line of its own unless a vary line names it (or "*") already. It appends
// the result to dst and reports whether it differs from hdrs.
func (d *Decision) RewriteResponse(hdrs, dst [][2]string) ([][2]string, bool) {
	if !d.NeedsResponse() {
		return dst, false
	}
	if d.VaryOnly() {
		dst = append(dst, hdrs...)
		return append(dst, [2]string{"vary", "origin"}), true
	}
	p := d.policy
	owned := d.Kind == KindActual || p.anyOrigin // the CORS headers are ours to set
	changed := false
	vary := -1
	varied := p.anyOrigin // vary: origin is neither due nor needed
	for _, h := range hdrs {
		if owned && strings.HasPrefix(h[0], "access-control-") {
			changed = true
			continue
		}
		if h[0] == "vary" {
			if vary < 0 {
				vary = len(dst)
			}
			varied = varied || varyCoversOrigin(h[1])
		}
		dst = append(dst, h)
	}
	if owned && (d.Allowed || d.Kind == KindNoOrigin) {
		dst = append(dst, [2]string{"access-control-allow-origin", d.allowOrigin()})
		if p.credentials {
			dst = append(dst, [2]string{"access-control-allow-credentials", "true"})
		}
		if p.exposeHeaders != "" {
			dst = append(dst, [2]string{"access-control-expose-headers", p.exposeHeaders})
		}
		changed = true
	}
	if d.debug && d.Kind == KindActual && !d.Allowed {
		dst = append(dst, [2]string{ReasonHeader, d.debugReason()})
		changed = true
	}
	if !varied {
		// A line of its own, as proxy_add_header_map_value adds it: the
		// upstream's lines stay as they are, and no value is built (a
		// recipient reads the lines as one comma-separated list).
		if vary >= 0 && strings.Trim(dst[vary][1], " \t") == "" {
			dst[vary][1] = "origin"
		} else {
			dst = append(dst, [2]string{"vary", "origin"})
		}
		changed = true
	}
	return dst, changed
}

// VaryOnly says whether all the response needs is a line "vary: origin": a
// request without Origin under a policy that does not allow any origin. The
// plugin then adds that line with one host call instead of rewriting the
// whole map; RewriteResponse gives the same result. The upstream's vary is
// not read, so a response whose vary names origin already carries it twice,
// which caches read the same (vary is a list of field names).
func (d *Decision) VaryOnly() bool {
	return d.NeedsResponse() && d.Kind == KindNoOrigin && !d.policy.anyOrigin
}

// varyCoversOrigin says whether a vary value already names origin, or "*".
func varyCoversOrigin(v string) bool {
	for v != "" {
		var name string
		name, v, _ = strings.Cut(v, ",")
		name = strings.Trim(name, " \t")
		if name == "*" || strings.EqualFold(name, "origin") {
			return true
		}
	}
	return false
}

// Counters appends the counters the decision increments.
func (d *Decision) Counters(dst []Counter) []Counter {
	switch {
	case d.Kind == KindPreflight && d.Allowed:
		dst = append(dst, CounterPreflightAllowed)
	case d.Kind == KindPreflight:
		dst = append(dst, CounterPreflightDenied)
	case d.Kind == KindActual && d.Allowed:
		dst = append(dst, CounterActualAllowed)
	case d.Kind == KindActual:
		dst = append(dst, CounterActualDenied)
	default:
		return dst
	}
	if d.Reason == ReasonOriginInvalid {
		dst = append(dst, CounterOriginInvalid)
	}
	if !d.Allowed && d.report {
		dst = append(dst, CounterReportWouldDeny)
	}
	return dst
}

// ReasonHeader is the response header that tells why a request was denied,
// sent only when the configuration sets "debug": true. Its value names the
// reason, the offending value and the policy, for example
// `origin not allowed: "https://evil.example" (policy default)`.
const ReasonHeader = "x-cors-reason"

// maxQuotedValue bounds how much of a request value a log line or the reason
// header echoes: a 1 MiB Origin must not become a 1 MiB log line.
const maxQuotedValue = 128

// quoteValue quotes a request value in ASCII (so it carries no CR, LF, NUL or
// other control byte), cut at maxQuotedValue bytes.
func quoteValue(v string) string { return string(appendQuoted(nil, v)) }

// appendQuoted appends quoteValue(v) to dst.
func appendQuoted(dst []byte, v string) []byte {
	if len(v) <= maxQuotedValue {
		return strconv.AppendQuoteToASCII(dst, v)
	}
	dst = strconv.AppendQuoteToASCII(dst, v[:maxQuotedValue])
	dst = append(dst, "... ("...)
	dst = strconv.AppendInt(dst, int64(len(v)), 10)
	return append(dst, " bytes)"...)
}

// debugReason is the ReasonHeader value of a denial.
func (d *Decision) debugReason() string {
	v := d.Detail
	if v == "" {
		v = d.Origin
	}
	return d.Reason.String() + ": " + quoteValue(v) + " (policy " + d.policy.name + ")"
}

// LogLine describes a denial for a debug log line, or returns "" when the
// request was not denied. Values from the request are quoted, so a crafted
// header cannot forge log lines.
func (d *Decision) LogLine() string { return string(d.AppendLogLine(nil)) }

// AppendLogLine appends LogLine's text to dst: with a reused dst, a denial
// is logged without allocating.
func (d *Decision) AppendLogLine(dst []byte) []byte {
	if d.Allowed || (d.Kind != KindPreflight && d.Kind != KindActual) {
		return dst
	}
	dst = append(dst, "cors: "...)
	if d.report {
		dst = append(dst, "report mode, would deny "...)
	} else {
		dst = append(dst, "denied "...)
	}
	dst = append(dst, d.Kind.String()...)
	dst = append(dst, " from origin "...)
	dst = appendQuoted(dst, d.Origin)
	dst = append(dst, " (policy "...)
	dst = append(dst, d.policy.name...)
	dst = append(dst, "): "...)
	dst = append(dst, d.Reason.String()...)
	if d.Detail != "" && d.Detail != d.Origin {
		dst = append(dst, ' ')
		dst = appendQuoted(dst, d.Detail)
	}
	return dst
}
