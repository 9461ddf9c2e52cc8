package filter

import "strings"

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
	dst = d.appendPreflightCORS(dst)
	dst = append(dst, [2]string{"vary", p.preflightVary})
	return p.preflightOK, dst, true
}

// LocalResponseKey identifies the answer LocalResponse gives a preflight,
// but for the value of its first header (KeyedValue): two decisions with
// the same key get the same status and the same headers otherwise. It lets
// the plugin serialize each answer once per configuration. ok is false
// when the decision has no such answer: no local answer (not a preflight,
// report mode, a denial the policy forwards), or a debug denial's, which
// names its reason. Keys are below 5 * Config.NumPolicies(): a policy's
// allowed answers take four, its denial the fifth.
func (d *Decision) LocalResponseKey() (key int, ok bool) {
	if d.Kind != KindPreflight || d.report {
		return 0, false
	}
	key = 5 * d.policy.index
	if !d.Allowed {
		if d.policy.forward || d.debug {
			return 0, false
		}
		return key + 4, true
	}
	if d.headersAsked {
		key += 1
	}
	if d.privateNetwork {
		key += 2
	}
	return key, true
}

// KeyedValue is the value of the first header of the answer
// LocalResponseKey identifies, which the key leaves open: the
// access-control-allow-origin of an allowed preflight's (its origin, or
// "*" under a policy that allows any), the vary of a denial's.
func (d *Decision) KeyedValue() string {
	if !d.Allowed {
		return d.policy.preflightVary
	}
	return d.allowOrigin()
}

// KeyedValueFixed says whether KeyedValue is the same for every decision
// with this decision's LocalResponseKey: a denial's vary and a "*"
// policy's access-control-allow-origin come from the policy; only an
// echoed origin varies. The plugin then serializes the whole answer once.
func (d *Decision) KeyedValueFixed() bool { return !d.Allowed || d.policy.anyOrigin }

// appendPreflightCORS appends the CORS headers of an allowed preflight's
// answer.
func (d *Decision) appendPreflightCORS(dst [][2]string) [][2]string {
	p := d.policy
	n := len(dst)
	dst = append(dst, p.preflightHeaders...) // one copy of what every answer carries
	dst[n][1] = d.allowOrigin()
	if d.headersAsked {
		dst = append(dst, [2]string{"access-control-allow-headers", p.allowHeaders})
	}
	if d.privateNetwork {
		dst = append(dst, [2]string{"access-control-allow-private-network", "true"})
	}
	return dst
}

// appendActualCORS appends the CORS headers the policy sets on the response
// to an allowed actual request.
func (d *Decision) appendActualCORS(dst [][2]string) [][2]string {
	p := d.policy
	dst = append(dst, [2]string{"access-control-allow-origin", d.allowOrigin()})
	if p.credentials {
		dst = append(dst, [2]string{"access-control-allow-credentials", "true"})
	}
	if p.exposeHeaders != "" {
		dst = append(dst, [2]string{"access-control-expose-headers", p.exposeHeaders})
	}
	return dst
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
		if owned && hasPrefix(h[0], "access-control-") {
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
	n := len(dst)
	dst = d.appendOwnLines(dst, owned)
	changed = changed || len(dst) > n
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

// AppendResponseAdditions is RewriteResponse for the common case where the
// upstream's lines all stay as they are: it appends to dst the lines to add
// to hdrs, and ok says this suffices. ok is false when an upstream line must
// go or change (an access-control-* line of the upstream's under a policy
// that owns them, or an empty vary line): then use RewriteResponse. With ok,
// RewriteResponse(hdrs) is hdrs followed by the added lines. The plugin then
// adds a few lines instead of writing the whole map back, which serializes
// every line. ScanUpstream does the same a line at a time.
func (d *Decision) AppendResponseAdditions(hdrs, dst [][2]string) (add [][2]string, ok bool) {
	u := d.ScanUpstream()
	for _, h := range hdrs {
		if !u.Line(h[0], h[1]) {
			return dst, false
		}
	}
	return u.AppendAdditions(dst), true
}

// UpstreamScan is AppendResponseAdditions for a plugin that reads the
// upstream's response lines one at a time, without making a slice of
// them: Line for each, then AppendAdditions, or RewriteResponse once Line
// says the lines cannot all stay.
type UpstreamScan struct {
	d *Decision
	// reads says the additions depend on the upstream's lines; owned
	// that the policy's CORS lines replace the upstream's; varied that
	// the response varies by origin already (a "*" policy's needs no
	// vary line).
	reads, owned, varied bool
}

// ScanUpstream starts a scan of the upstream's response lines.
func (d *Decision) ScanUpstream() UpstreamScan {
	u := UpstreamScan{d: d}
	if d.NeedsResponse() && !d.VaryOnly() {
		u.reads = true
		u.owned = d.Kind == KindActual || d.policy.anyOrigin
		u.varied = d.policy.anyOrigin
	}
	return u
}

// Line takes in one line of the upstream's response. It returns false when
// the line must go or change (an access-control-* line of the upstream's
// under a policy that owns them, or an empty vary line): the response must
// then be rewritten (RewriteResponse), and the scan is over.
func (u *UpstreamScan) Line(name, value string) bool {
	switch {
	case u.owned && hasPrefix(name, "access-control-"):
		return false
	case name == "vary" && u.reads:
		if strings.Trim(value, " \t") == "" {
			return false
		}
		u.varied = u.varied || varyCoversOrigin(value)
	}
	return true
}

// AdditionsKey identifies the lines AppendAdditions appends, but for the
// value of the first (access-control-allow-origin, KeyedValue): two scans
// with the same key append the same lines otherwise, so that the plugin
// builds each set once per configuration and sets that value per request,
// as LocalResponseKey lets it serialize a preflight's answer once. ok is
// false when the lines have no such form (no CORS lines to set, or a
// debug denial's reason). Keys are below 2 * Config.NumPolicies().
func (u *UpstreamScan) AdditionsKey() (key int, ok bool) {
	d := u.d
	if !u.reads || !u.owned || !d.Allowed && d.Kind != KindNoOrigin {
		return 0, false
	}
	key = 2 * d.policy.index
	if u.varied {
		key++
	}
	return key, true
}

// KeyedValue is the value of the first line of the additions AdditionsKey
// identifies: the access-control-allow-origin, the request's origin or
// "*".
func (u *UpstreamScan) KeyedValue() string { return u.d.allowOrigin() }

// AppendAdditions appends to dst the lines to add to the upstream's, which
// Line took in and let stay.
func (u *UpstreamScan) AppendAdditions(dst [][2]string) [][2]string {
	d := u.d
	switch {
	case !d.NeedsResponse():
		return dst
	case d.VaryOnly():
		return append(dst, [2]string{"vary", "origin"})
	}
	dst = d.appendOwnLines(dst, u.owned)
	if !u.varied {
		dst = append(dst, [2]string{"vary", "origin"})
	}
	return dst
}

// appendOwnLines appends the lines the plugin sets on a response besides
// vary: the policy's CORS headers when they are the plugin's to set
// (owned) and due, and the reason header of a debug denial.
func (d *Decision) appendOwnLines(dst [][2]string, owned bool) [][2]string {
	if owned && (d.Allowed || d.Kind == KindNoOrigin) {
		dst = d.appendActualCORS(dst)
	}
	if d.debug && d.Kind == KindActual && !d.Allowed {
		dst = append(dst, [2]string{ReasonHeader, d.debugReason()})
	}
	return dst
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

// ReasonHeader is the response header that tells why a request was denied,
// sent only when the configuration sets "debug": true. Its value names the
// reason, the offending value and the policy, for example
// `origin not allowed: "https://evil.example" (policy default)`.
const ReasonHeader = "x-cors-reason"

// debugReason is the ReasonHeader value of a denial.
func (d *Decision) debugReason() string {
	v := d.Detail
	if v == "" {
		v = d.Origin
	}
	return d.Reason.String() + ": " + quoteValue(v) + " (policy " + d.policy.name + ")"
}

// hasPrefix is strings.HasPrefix with is's comparison.
func hasPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && is(s[:len(prefix)], prefix)
}
