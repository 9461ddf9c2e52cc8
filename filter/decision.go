package filter

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
	NumCounters // the number of counters, not a counter
)

var counterNames = [NumCounters]string{
	"cors.preflight.allowed",
	"cors.preflight.denied",
	"cors.actual.allowed",
	"cors.actual.denied",
	"cors.origin.invalid",
	"cors.report.would_deny",
	"cors.internal_error",
}

// Name is the metric name the plugin defines for c.
func (c Counter) Name() string { return counterNames[c] }
