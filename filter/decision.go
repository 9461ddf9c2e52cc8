package filter

import "strconv"

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

// Policy is the display name of the policy that applies (its name,
// "default" or "policies[i]"), or "".
func (d *Decision) Policy() string {
	if d.policy == nil {
		return ""
	}
	return d.policy.name
}

// PolicyIndex is the index of the policy that applies, for
// Config.PolicyCounterName, or -1 when none does.
func (d *Decision) PolicyIndex() int {
	if d.policy == nil {
		return -1
	}
	return d.policy.index
}

// Kind says what sort of request a Decision is about.
type Kind uint8

const (
	// KindUncovered is a request no policy applies to: the plugin leaves it
	// and its response untouched.
	KindUncovered Kind = iota
	// KindNoOrigin is a request without Origin that a policy covers: it
	// continues, and its response may gain "vary: origin".
	KindNoOrigin
	// KindPreflight is an OPTIONS request with Origin and a non-empty
	// Access-Control-Request-Method.
	KindPreflight
	// KindActual is any other request with Origin.
	KindActual
)

var kindNames = [...]string{"uncovered", "no-origin", "preflight", "actual"}

func (k Kind) String() string { return kindNames[k] }

// Reason says why a Decision allowed or denied a request.
type Reason uint8

const (
	ReasonAllowed              Reason = iota // every check passed
	ReasonNoPolicy                           // no policy applies
	ReasonNoOrigin                           // the request carries no Origin
	ReasonOriginInvalid                      // Origin is not a serialized origin as browsers send it
	ReasonOriginNotAllowed                   // Origin is well formed but no pattern allows it
	ReasonMethodInvalid                      // Access-Control-Request-Method is not a single method token
	ReasonMethodNotAllowed                   // the requested method is not allowed
	ReasonHeadersInvalid                     // Access-Control-Request-Headers is malformed or too long
	ReasonHeaderNotAllowed                   // a requested header is not allowed
	ReasonPrivateNetworkDenied               // private network access was requested but is not allowed
)

var reasonNames = [...]string{
	"allowed", "no policy", "no origin", "invalid origin", "origin not allowed",
	"invalid method", "method not allowed", "invalid request headers",
	"header not allowed", "private network access not allowed",
}

// String returns a short, stable description such as "origin not allowed".
func (r Reason) String() string { return reasonNames[r] }

// Counter names one of the plugin's metrics.
type Counter uint8

const (
	CounterPreflightAllowed Counter = iota
	CounterPreflightDenied
	CounterActualAllowed
	CounterActualDenied
	CounterOriginInvalid
	CounterReportWouldDeny
	CounterInternalError
	CounterReportAgree      // report mode: the browser reads the policy's answer as the upstream's
	CounterReportWouldBreak // report mode: the upstream's answer lets the browser in, the policy's would not
	CounterReportWouldOpen  // report mode: the policy's answer lets the browser in, the upstream's does not
	NumCounters             // the number of counters, not a counter
)

var counterNames = [NumCounters]string{
	"cors.preflight.allowed",
	"cors.preflight.denied",
	"cors.actual.allowed",
	"cors.actual.denied",
	"cors.origin.invalid",
	"cors.report.would_deny",
	"cors.internal_error",
	"cors.report.agree",
	"cors.report.would_break",
	"cors.report.would_open",
}

// Name is the metric name the plugin defines for c.
func (c Counter) Name() string { return counterNames[c] }

// CountersKey groups decisions by the counters they increment: two
// decisions of one configuration with the same key have the same Counters
// and the same PolicyCounter, so that the plugin can find a key's metrics
// once. ok is false for a decision that increments nothing (no Origin, no
// policy). Keys are below 8 * Config.NumPolicies(). It is kept beside
// Counters and PolicyCounter: what they read, it reads (the mode is the
// configuration's).
func (d *Decision) CountersKey() (key int, ok bool) {
	if d.policy == nil || d.Kind != KindPreflight && d.Kind != KindActual {
		return 0, false
	}
	key = 8*d.policy.index + 4*int(d.Kind-KindPreflight)
	if d.Allowed {
		key += 2
	}
	if d.Reason == ReasonOriginInvalid {
		key++
	}
	return key, true
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

// PolicyCounter names one of the metrics each policy has; see
// Config.PolicyCounterName.
type PolicyCounter uint8

const (
	PolicyPreflightAllowed PolicyCounter = iota
	PolicyPreflightDenied
	PolicyActualAllowed
	PolicyActualDenied
	PolicyReportAgree
	PolicyReportWouldBreak
	PolicyReportWouldOpen
	NumPolicyCounters // the number of per-policy counters, not a counter
)

// NumPolicyCountersEnforce is how many of the per-policy counters, from the
// first, count in enforce mode; the others (report.*) count only in report
// mode.
const NumPolicyCountersEnforce = PolicyReportAgree

var policyCounterSuffixes = [NumPolicyCounters]string{
	".preflight.allowed", ".preflight.denied", ".actual.allowed", ".actual.denied",
	".report.agree", ".report.would_break", ".report.would_open",
}

// NumPolicies is the number of compiled policies: the entries of policies,
// then the default policy if there is one.
func (c *Config) NumPolicies() int { return len(c.policies) }

// PolicyCounterName is the name of counter pc of the i-th policy:
// "cors.policy.<segment>.<suffix>", where the segment is the policy's name,
// "default" for the top-level policy or "policies_<i>" for an unnamed entry
// (a name holds no '_', so the two never collide).
func (c *Config) PolicyCounterName(i int, pc PolicyCounter) string {
	return "cors.policy." + c.policies[i].segment + policyCounterSuffixes[pc]
}

// PolicyCounter is the per-policy counter the decision increments, if any:
// a preflight or an actual request, allowed or denied.
func (d *Decision) PolicyCounter() (PolicyCounter, bool) {
	switch {
	case d.policy == nil:
		return 0, false
	case d.Kind == KindPreflight && d.Allowed:
		return PolicyPreflightAllowed, true
	case d.Kind == KindPreflight:
		return PolicyPreflightDenied, true
	case d.Kind == KindActual && d.Allowed:
		return PolicyActualAllowed, true
	case d.Kind == KindActual:
		return PolicyActualDenied, true
	}
	return 0, false
}

// Denied says whether the decision denies a CORS request (a preflight or an
// actual request), or would in report mode: such a decision has a LogLine.
func (d *Decision) Denied() bool {
	return !d.Allowed && (d.Kind == KindPreflight || d.Kind == KindActual)
}

// LogLine describes a denial for a debug log line, or returns "" when the
// request was not denied. Values from the request are quoted, so a crafted
// header cannot forge log lines.
func (d *Decision) LogLine() string { return string(d.AppendLogLine(nil)) }

// AppendLogLine appends LogLine's text to dst: with a reused dst, a denial
// is logged without allocating.
func (d *Decision) AppendLogLine(dst []byte) []byte {
	if !d.Denied() {
		return dst
	}
	// The fixed parts are joined once (logOpenings, policy.logName): in
	// the module, each append is a call to the runtime.
	report := 0
	if d.report {
		report = 1
	}
	dst = append(dst, logOpenings[report][d.Kind]...)
	dst = appendQuoted(dst, d.Origin)
	dst = append(dst, d.policy.logName...)
	dst = append(dst, d.Reason.String()...)
	if d.Detail != "" && d.Detail != d.Origin {
		dst = append(dst, ' ')
		dst = appendQuoted(dst, d.Detail)
	}
	return dst
}

// logOpenings start a denial's log line, by report mode and kind.
var logOpenings = func() (o [2][len(kindNames)]string) {
	for k, kind := range kindNames {
		o[0][k] = "cors: denied " + kind + " from origin "
		o[1][k] = "cors: report mode, would deny " + kind + " from origin "
	}
	return o
}()

// maxQuotedValue bounds how much of a request value a log line or the reason
// header echoes: a 1 MiB Origin must not become a 1 MiB log line.
const maxQuotedValue = 128

// quoteValue quotes a request value in ASCII (so it carries no CR, LF, NUL or
// other control byte), cut at maxQuotedValue bytes.
func quoteValue(v string) string { return string(appendQuoted(nil, v)) }

// appendQuoted appends quoteValue(v) to dst.
func appendQuoted(dst []byte, v string) []byte {
	if len(v) <= maxQuotedValue {
		if plainASCII(v) {
			// What strconv writes for it, without its two calls per byte.
			dst = append(dst, '"')
			dst = append(dst, v...)
			return append(dst, '"')
		}
		return strconv.AppendQuoteToASCII(dst, v)
	}
	dst = strconv.AppendQuoteToASCII(dst, v[:maxQuotedValue])
	dst = append(dst, "... ("...)
	dst = strconv.AppendInt(dst, int64(len(v)), 10)
	return append(dst, " bytes)"...)
}

// plainASCII says whether strconv.QuoteToASCII leaves every byte of v as it
// is: printable ASCII other than the quote and the backslash. It looks at
// eight bytes at a time, as indexComma does (names.go): a byte loop costs
// about 60 instructions a byte in the module. For a word of ASCII bytes
// (no top bit), x - n*ones has a top bit where a byte is below n (a
// borrow moves up only from such a byte), and a zero byte of x^c*ones
// marks a byte equal to c.
func plainASCII(v string) bool {
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := load64(v, i)
		if x&highs != 0 || (x-' '*ones)&^x&highs != 0 ||
			zeroBytes(x^0x7F*ones) != 0 || zeroBytes(x^'"'*ones) != 0 || zeroBytes(x^'\\'*ones) != 0 {
			return false
		}
	}
	for ; i < len(v); i++ {
		if c := v[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
