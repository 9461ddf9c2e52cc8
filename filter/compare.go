package filter

import (
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/internal/fetch"
)

// The report comparison: in report mode the plugin forwards every request,
// so each answer a browser reads comes from the upstream. For each request
// with Origin, it runs the browser's checks (Fetch, "CORS check" and
// "CORS-preflight fetch") on the upstream's answer and on the answer the
// policy would send, and classifies the pair: agree, would_break (the
// upstream lets the browser in today, the policy would not) or would_open
// (the policy would let in what the upstream does not).

// BrowserRequest is what a browser's CORS checks read of a request.
type BrowserRequest struct {
	Preflight bool
	Origin    string // the Origin the browser sent
	// Method is the method asked for: a preflight's
	// Access-Control-Request-Method, or the request's own method.
	Method string
	// RequestHeaders holds a preflight's Access-Control-Request-Headers
	// lines: the CORS-unsafe request headers the page wants to send.
	RequestHeaders []string
	// PrivateNetwork says a preflight asked for private network access.
	PrivateNetwork bool
	// Credentialed says the request's credentials mode is "include"; the
	// plugin assumes it when the request carries cookie or authorization.
	Credentialed bool
}

// Refusal says why a browser refuses to let a page read an answer.
type Refusal uint8

const (
	RefusalNone                    Refusal = iota // the browser lets the page read it
	RefusalNoAllowOrigin                          // no access-control-allow-origin
	RefusalWildcardWithCredentials                // access-control-allow-origin "*" on a credentialed request
	RefusalOriginNotAllowed                       // access-control-allow-origin names another origin (or several)
	RefusalCredentialsNotAllowed                  // credentialed, and access-control-allow-credentials is not "true"
	RefusalPreflightStatus                        // a preflight's answer is not 2xx
	RefusalInvalidAllowMethods                    // access-control-allow-methods is not a list of tokens
	RefusalMethodNotAllowed                       // the method is not allowed
	RefusalInvalidAllowHeaders                    // access-control-allow-headers is not a list of tokens
	RefusalHeaderNotAllowed                       // a requested header is not allowed
	RefusalPrivateNetwork                         // private network access asked for and not allowed
)

var refusalNames = [...]string{
	"",
	"no access-control-allow-origin",
	`access-control-allow-origin "*" with credentials`,
	"origin not allowed",
	"credentials not allowed",
	"preflight status not ok",
	"invalid access-control-allow-methods",
	"method not allowed",
	"invalid access-control-allow-headers",
	"header not allowed",
	"private network access not allowed",
}

// String is the refusal's phrase in log lines, such as "origin not allowed".
func (r Refusal) String() string { return refusalNames[r] }

// BrowserCheck runs a browser's checks on the CORS headers of an answer to
// r: the CORS check (access-control-allow-origin and, for a credentialed
// request, access-control-allow-credentials, with the "*" rules), and for
// a preflight also the status, access-control-allow-methods,
// access-control-allow-headers (the "*" rules, and authorization, which
// "*" never covers) and access-control-allow-private-network. resp holds
// the answer's header lines, names in lower case as Envoy hands them over,
// with the ":status" pseudo-header (when absent, the status is taken as
// ok). detail is the method or header name refused, if any. It does not
// allocate.
func BrowserCheck(r *BrowserRequest, resp [][2]string) (refusal Refusal, detail string) {
	var allowOrigin, allowCredentials, status, privateNetwork string
	origins, credentials := 0, 0
	for _, h := range resp {
		switch h[0] {
		case "access-control-allow-origin":
			allowOrigin = h[1]
			origins++
		case "access-control-allow-credentials":
			allowCredentials = h[1]
			credentials++
		case ":status":
			status = h[1]
		case "access-control-allow-private-network":
			privateNetwork = h[1]
		}
	}
	// The CORS check. Several lines read as one value "a, b", which matches
	// no origin.
	switch {
	case origins == 0:
		return RefusalNoAllowOrigin, ""
	case origins == 1 && allowOrigin == "*" && !r.Credentialed:
		return checkPreflight(r, resp, status, privateNetwork)
	case origins == 1 && allowOrigin == "*":
		return RefusalWildcardWithCredentials, ""
	case origins > 1 || allowOrigin != r.Origin:
		return RefusalOriginNotAllowed, ""
	case r.Credentialed && (credentials != 1 || allowCredentials != "true"):
		return RefusalCredentialsNotAllowed, ""
	}
	return checkPreflight(r, resp, status, privateNetwork)
}

// checkPreflight runs the checks of a CORS-preflight fetch that follow the
// CORS check.
func checkPreflight(r *BrowserRequest, resp [][2]string, status, privateNetwork string) (Refusal, string) {
	if !r.Preflight {
		return RefusalNone, ""
	}
	if status != "" && (len(status) != 3 || status[0] != '2') {
		return RefusalPreflightStatus, ""
	}
	methodListed, methodStar, ok := scanList(resp, "access-control-allow-methods", r.Method, false)
	if !ok {
		return RefusalInvalidAllowMethods, ""
	}
	if !methodListed && !fetch.IsSafelistedMethod(r.Method) && (r.Credentialed || !methodStar) {
		return RefusalMethodNotAllowed, r.Method
	}
	if _, _, ok := scanList(resp, "access-control-allow-headers", "", true); !ok {
		return RefusalInvalidAllowHeaders, ""
	}
	for _, line := range r.RequestHeaders {
		for line != "" {
			var name string
			name, line = nextElement(line)
			if name == "" {
				continue
			}
			listed, star, _ := scanList(resp, "access-control-allow-headers", name, true)
			if !listed && (r.Credentialed || !star || equalLower(name, "authorization")) {
				return RefusalHeaderNotAllowed, name
			}
		}
	}
	if r.PrivateNetwork && privateNetwork != "true" {
		return RefusalPrivateNetwork, ""
	}
	return RefusalNone, ""
}

// scanList reads the lines of the list header name in resp: whether it
// lists want (case-insensitively when fold), whether it holds "*", and
// whether every element is a token (Fetch's "extract header list values";
// empty elements are skipped).
func scanList(resp [][2]string, name, want string, fold bool) (listed, star, ok bool) {
	for _, h := range resp {
		if h[0] != name {
			continue
		}
		v := h[1]
		for v != "" {
			var e string
			e, v = nextElement(v)
			switch {
			case e == "":
			case !fetch.IsToken(e):
				return false, false, false
			case e == "*":
				star = true
			case want != "" && (e == want || fold && len(e) == len(want) && strings.EqualFold(e, want)):
				listed = true
			}
		}
	}
	return listed, star, true
}

// Class is how the policy's answer to a request compares with the
// upstream's, as a browser reads them.
type Class uint8

const (
	ClassNone       Class = iota // no comparison: enforce mode, or no Origin, or no policy
	ClassAgree                   // both let the page read the answer, or neither does
	ClassWouldBreak              // the upstream's answer lets the page in, the policy's would not
	ClassWouldOpen               // the policy's answer would let the page in, the upstream's does not
)

var classNames = [...]string{"", "agree", "would_break", "would_open"}

// String is the class as counters and log lines name it: "agree",
// "would_break" or "would_open".
func (c Class) String() string { return classNames[c] }

// Counter is the global counter of the class.
func (c Class) Counter() (Counter, bool) {
	switch c {
	case ClassAgree:
		return CounterReportAgree, true
	case ClassWouldBreak:
		return CounterReportWouldBreak, true
	case ClassWouldOpen:
		return CounterReportWouldOpen, true
	}
	return 0, false
}

// PolicyCounter is the per-policy counter of the class.
func (c Class) PolicyCounter() (PolicyCounter, bool) {
	switch c {
	case ClassAgree:
		return PolicyReportAgree, true
	case ClassWouldBreak:
		return PolicyReportWouldBreak, true
	case ClassWouldOpen:
		return PolicyReportWouldOpen, true
	}
	return 0, false
}

// Comparison is the outcome of Decision.Compare: the class and what
// differs. Its strings are views of the request and the response.
type Comparison struct {
	Class Class

	// Upstream is why the browser refuses the upstream's answer
	// (RefusalNone: it does not).
	Upstream Refusal
	// PolicyWhy is why the browser would refuse the policy's answer: the
	// reason the policy denies the request (Reason.String) or what the
	// browser finds wrong in the answer the policy allows it with
	// (Refusal.String); "" when it would let the page read it.
	PolicyWhy string

	// The item the upstream allows and the policy does not (would_break).
	item      item
	itemValue string

	// For the log line.
	kind         Kind
	origin       string
	method       string
	headers      []string
	credentialed bool
	path         string
	policy       string
}

// item is what the upstream allowed that the policy does not.
type item uint8

const (
	itemOrigin item = iota
	itemMethod
	itemHeader
	itemCredentials
	itemPrivateNetwork
)

// NeedsComparison says whether the plugin compares the upstream's answer
// with the policy's: in report mode, for a preflight or an actual request
// (a request with Origin that a policy covers).
func (d *Decision) NeedsComparison() bool {
	return d.report && d.policy != nil && (d.Kind == KindPreflight || d.Kind == KindActual)
}

// Compare classifies, in report mode, the upstream's answer to r (resp: its
// response header lines, with ":status") against the answer the policy
// would send, as a browser reads each of them (see BrowserCheck). A request
// is taken as credentialed when it carries cookie or authorization
// (Request.Credentialed). It returns a zero Comparison (ClassNone) unless
// NeedsComparison. It does not allocate.
func (d *Decision) Compare(r *Request, resp [][2]string) Comparison {
	if !d.NeedsComparison() {
		return Comparison{}
	}
	br := BrowserRequest{
		Preflight:    d.Kind == KindPreflight,
		Origin:       r.Origin,
		Method:       r.Method,
		Credentialed: r.Credentialed,
	}
	if br.Preflight {
		br.Method = r.RequestMethod
		br.RequestHeaders = r.RequestHeaders
		br.PrivateNetwork = r.RequestPrivateNetwork == "true"
	}
	c := Comparison{
		kind:         d.Kind,
		origin:       r.Origin,
		method:       br.Method,
		headers:      br.RequestHeaders,
		credentialed: r.Credentialed,
		path:         r.Path,
		policy:       d.policy.name,
	}
	c.Upstream, _ = BrowserCheck(&br, resp)

	// The policy's side.
	var refusal Refusal
	var detail string
	switch {
	case d.Allowed:
		var buf [8][2]string
		answer := buf[:0]
		if br.Preflight {
			status := "204"
			if d.policy.preflightOK == 200 {
				status = "200"
			}
			answer = d.appendPreflightCORS(append(answer, [2]string{":status", status}))
		} else {
			answer = d.appendActualCORS(answer)
		}
		refusal, detail = BrowserCheck(&br, answer)
		c.PolicyWhy = refusal.String()
	case br.Preflight && d.policy.forward:
		// A preflight the policy does not allow goes to the upstream,
		// whose answer the browser then reads: the same one.
		c.Class = ClassAgree
		return c
	default:
		c.PolicyWhy = d.Reason.String()
	}

	upstreamAllows, policyAllows := c.Upstream == RefusalNone, c.PolicyWhy == ""
	switch {
	case upstreamAllows == policyAllows:
		c.Class = ClassAgree
	case policyAllows:
		c.Class = ClassWouldOpen
	default:
		c.Class = ClassWouldBreak
		if d.Allowed {
			c.item, c.itemValue = refusalItem(refusal, detail)
		} else {
			c.item, c.itemValue = reasonItem(d, br.Method)
		}
	}
	return c
}

// reasonItem is the item a policy's denial refuses.
func reasonItem(d *Decision, method string) (item, string) {
	switch d.Reason {
	case ReasonMethodInvalid, ReasonMethodNotAllowed:
		return itemMethod, method
	case ReasonHeadersInvalid, ReasonHeaderNotAllowed:
		return itemHeader, d.Detail
	case ReasonPrivateNetworkDenied:
		return itemPrivateNetwork, ""
	}
	return itemOrigin, ""
}

// refusalItem is the item the browser refuses in the answer a policy
// allows a request with.
func refusalItem(r Refusal, detail string) (item, string) {
	switch r {
	case RefusalWildcardWithCredentials, RefusalCredentialsNotAllowed:
		return itemCredentials, ""
	case RefusalMethodNotAllowed, RefusalInvalidAllowMethods:
		return itemMethod, detail
	case RefusalHeaderNotAllowed, RefusalInvalidAllowHeaders:
		return itemHeader, detail
	case RefusalPrivateNetwork:
		return itemPrivateNetwork, ""
	}
	return itemOrigin, ""
}

// Difference appends what differs to dst: for would_break
// `upstream allowed <item>; policy: <why>`, where the item is origin,
// method "M", header "h" or credentials (private network access for a
// Private Network Access preflight); for would_open
// `upstream: <why>; policy allowed`; nothing otherwise.
func (c *Comparison) Difference(dst []byte) []byte {
	switch c.Class {
	case ClassWouldBreak:
		dst = append(dst, "upstream allowed "...)
		switch c.item {
		case itemOrigin:
			dst = append(dst, "origin"...)
		case itemMethod:
			dst = append(dst, "method "...)
			dst = appendQuoted(dst, c.itemValue)
		case itemHeader:
			dst = append(dst, "header "...)
			dst = appendQuoted(dst, c.itemValue)
		case itemCredentials:
			dst = append(dst, "credentials"...)
		case itemPrivateNetwork:
			dst = append(dst, "private network access"...)
		}
		dst = append(dst, "; policy: "...)
		dst = append(dst, c.PolicyWhy...)
	case ClassWouldOpen:
		dst = append(dst, "upstream: "...)
		dst = append(dst, c.Upstream.String()...)
		dst = append(dst, "; policy allowed"...)
	}
	return dst
}

// AppendLogLine appends the log line of a would_break or would_open
// comparison to dst (nothing for the other classes):
//
//	cors: report would_break preflight from origin "https://a.example" method "PATCH" headers "x-a, x-b" credentialed false path "/v1/things" (policy admin): upstream allowed method "PATCH"; policy: method not allowed
//
// Values from the request are quoted and cut as in denial lines. With a
// reused dst it does not allocate (unless a preflight carried several
// Access-Control-Request-Headers lines, which Envoy joins into one).
func (c *Comparison) AppendLogLine(dst []byte) []byte {
	if c.Class != ClassWouldBreak && c.Class != ClassWouldOpen {
		return dst
	}
	dst = append(dst, "cors: report "...)
	dst = append(dst, c.Class.String()...)
	dst = append(dst, ' ')
	dst = append(dst, c.kind.String()...)
	dst = append(dst, " from origin "...)
	dst = appendQuoted(dst, c.origin)
	dst = append(dst, " method "...)
	dst = appendQuoted(dst, c.method)
	dst = append(dst, " headers "...)
	switch len(c.headers) {
	case 0:
		dst = append(dst, `""`...)
	case 1:
		dst = appendQuoted(dst, c.headers[0])
	default:
		dst = appendQuoted(dst, strings.Join(c.headers, ", "))
	}
	dst = append(dst, " credentialed "...)
	dst = strconv.AppendBool(dst, c.credentialed)
	dst = append(dst, " path "...)
	dst = appendQuoted(dst, c.path)
	dst = append(dst, " (policy "...)
	dst = append(dst, c.policy...)
	dst = append(dst, "): "...)
	return c.Difference(dst)
}

// LogLine is AppendLogLine's text.
func (c *Comparison) LogLine() string { return string(c.AppendLogLine(nil)) }

// nextElement splits the first element off the comma-separated list v,
// trimmed of spaces and tabs, and returns it with the rest of the list.
// (The engine's hot path, policy.checkHeaders, keeps this loop inline: a
// call per element costs there.)
func nextElement(v string) (elem, rest string) {
	if i := strings.IndexByte(v, ','); i >= 0 {
		return trimSpace(v[:i]), v[i+1:]
	}
	return trimSpace(v), ""
}
