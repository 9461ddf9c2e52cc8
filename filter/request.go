package filter

import "unsafe"

// Request is what the engine reads of an HTTP request. The plugin fills it from
// the request headers (see AddHeader); the engine never holds on to it.
// Strings may point into buffers the host handed over: the engine only
// compares them and, for an allowed origin, echoes Origin back.
type Request struct {
	Method    string // the :method pseudo-header
	Authority string // the :authority pseudo-header (host and optional port)
	Path      string // the :path pseudo-header (path and query)
	RouteName string // the Envoy route name, read only when Config.NeedsRouteName

	Origin    string
	HasOrigin bool

	// RequestMethod is Access-Control-Request-Method; HasRequestMethod says
	// whether the header was present at all.
	RequestMethod    string
	HasRequestMethod bool
	// RequestHeaders holds every Access-Control-Request-Headers line, in order.
	RequestHeaders []string
	// RequestPrivateNetwork is Access-Control-Request-Private-Network.
	RequestPrivateNetwork string
	// Credentialed says the request carries cookie or authorization: the
	// report comparison (Decision.Compare) then applies the browser's rules
	// for credentialed requests.
	Credentialed bool

	// originLines counts Origin header lines: a second line makes the origin invalid.
	originLines int
}

// Reset clears r for reuse, keeping the capacity of RequestHeaders (whose
// lines it clears, so that r holds no view of a request it no longer
// describes). It sets the fields one by one: assigning a whole Request
// would clear it through the runtime (two Wasm calls per request in the
// module).
func (r *Request) Reset() {
	for i := 0; i < len(r.RequestHeaders); i++ { // not clear: a runtime call in the module
		r.RequestHeaders[i] = ""
	}
	r.Method, r.Authority, r.Path, r.RouteName = "", "", "", ""
	r.Origin, r.HasOrigin = "", false
	r.RequestMethod, r.HasRequestMethod = "", false
	r.RequestHeaders = r.RequestHeaders[:0]
	r.RequestPrivateNetwork = ""
	r.Credentialed = false
	r.originLines = 0
}

// ReadsHeader says whether Evaluate may read a request header line of
// this name, which the plugin then passes to AddHeader: one that asks
// first skips the call for most of a browser's lines (user-agent, accept,
// sec-fetch-*...), and for :authority and :path unless a policy is matched
// on them. It looks at the name's length only, and inlines.
func (c *Config) ReadsHeader(name string) bool {
	return len(name) < 64 && c.readLengths>>len(name)&1 != 0
}

// readLengths has bit n set when addHeader reads a name n bytes long
// (TestReadsHeader checks it against addHeader's names).
const readLengths = 1<<len(":path") | 1<<len("origin") | 1<<len(":method") | 1<<len(":authority") |
	1<<len("authorization") | 1<<len("access-control-request-method") |
	1<<len("access-control-request-headers") | 1<<len("access-control-request-private-network")

// AddHeader records one request header line. Names must be lower case, as
// Envoy hands them over; headers the engine does not read are ignored.
func (r *Request) AddHeader(name, value string) { r.addHeader(name, value) }

// AddHeaders records request header lines, name and value, in order, as
// AddHeader does.
func (r *Request) AddHeaders(lines [][2]string) {
	for _, h := range lines {
		r.addHeader(h[0], h[1])
	}
}

// The request header lines the engine reads, by their index in LineNames
// and Lines.
const (
	LineMethod = iota
	LineAuthority
	LinePath
	LineOrigin
	LineCookie
	LineAuthorization
	LineRequestMethod
	LineRequestHeaders
	LineRequestPrivateNetwork
	NumLines
)

// LineNames are the names of the lines the engine reads, as Envoy hands
// them over (lower case), by index: every name AddHeader records
// (TestLineNamesAreWhatAddHeaderReads).
var LineNames = [NumLines]string{":method", ":authority", ":path", "origin", "cookie", "authorization",
	"access-control-request-method", "access-control-request-headers", "access-control-request-private-network"}

// MaxLines is the room SetLines' spans have for names: 16, as abi's
// ReadPicked writes.
const MaxLines = 16

// value is the value of the line whose span in m is sp.
func value(m string, sp uint64) string {
	off := int(sp >> 32)
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(m)), off)), int(sp&0xFFFFFFFF))
}

// SetLines makes r the request of the header lines a plugin picked out of
// the host's header map m in one pass (abi's ReadPicked): p has bit i set
// when LineNames[i] has a line, whose value's offset in m spans[i] holds
// in its high 32 bits, and its length in the low ones. It is the same as
// Reset, then AddHeader for each line of a name of LineNames, when no
// name has more than one line (SetLines does not look: the pick says so;
// with several, use Reset and AddHeader, which apply the rules for them).
// Lines of names the plugin did not pick count as absent. It sets the
// fields of the lines present, and clears the others that are not empty
// already, one by one and without a call: it replaces a call per line and
// Reset's clearing of every field.
func (r *Request) SetLines(m string, spans *[MaxLines]uint64, p uint16) {
	// An unconditional access to each pointer first: Go's Wasm code
	// checks a pointer for nil before each access no check dominates,
	// and every other access here is in a branch.
	r.Credentialed = p&(1<<LineCookie|1<<LineAuthorization) != 0
	_ = spans[0]
	if p&(1<<LineMethod) != 0 {
		r.Method = value(m, spans[LineMethod])
	} else if r.Method != "" {
		r.Method = ""
	}
	if p&(1<<LineAuthority) != 0 {
		r.Authority = value(m, spans[LineAuthority])
	} else if r.Authority != "" {
		r.Authority = ""
	}
	if p&(1<<LinePath) != 0 {
		r.Path = value(m, spans[LinePath])
	} else if r.Path != "" {
		r.Path = ""
	}
	if r.RouteName != "" {
		r.RouteName = ""
	}
	r.HasOrigin = p&(1<<LineOrigin) != 0
	if r.HasOrigin {
		r.Origin, r.originLines = value(m, spans[LineOrigin]), 1
	} else if r.Origin != "" || r.originLines != 0 {
		r.Origin, r.originLines = "", 0
	}
	r.HasRequestMethod = p&(1<<LineRequestMethod) != 0
	if r.HasRequestMethod {
		r.RequestMethod = value(m, spans[LineRequestMethod])
	} else if r.RequestMethod != "" {
		r.RequestMethod = ""
	}
	// The last request's lines, views that must go (Reset's reason),
	// overwritten or cleared one by one: a range loop that clears is a
	// call into the runtime in the module.
	n := len(r.RequestHeaders)
	if p&(1<<LineRequestHeaders) != 0 {
		if n == 0 {
			r.RequestHeaders = append(r.RequestHeaders, value(m, spans[LineRequestHeaders]))
		} else {
			r.RequestHeaders[0] = value(m, spans[LineRequestHeaders])
			for i := 1; i < n; i++ {
				r.RequestHeaders[i] = ""
			}
			r.RequestHeaders = r.RequestHeaders[:1]
		}
	} else if n > 0 {
		for i := 0; i < n; i++ {
			r.RequestHeaders[i] = ""
		}
		r.RequestHeaders = r.RequestHeaders[:0]
	}
	if p&(1<<LineRequestPrivateNetwork) != 0 {
		r.RequestPrivateNetwork = value(m, spans[LineRequestPrivateNetwork])
	} else if r.RequestPrivateNetwork != "" {
		r.RequestPrivateNetwork = ""
	}
}

// The names addHeader looks for, prepared for comparisons without a call
// (names.go). Access-Control-Request-Private-Network, longer than
// longName holds and rarely sent, is compared with is.
var (
	namePath, nameOrigin, nameCookie, nameMethod = newShortName(":path"), newShortName("origin"), newShortName("cookie"), newShortName(":method")

	nameAuthority, nameAuthorization      = newLongName(":authority"), newLongName("authorization")
	nameRequestMethod, nameRequestHeaders = newLongName("access-control-request-method"), newLongName("access-control-request-headers")
)

// addHeader is AddHeader. A name of a new length needs its bit in
// readLengths. It picks the candidate by length and compares
// with the prepared names: in Go's Wasm code, a string switch calls the
// runtime's memequal for every name as long as a case, two Wasm calls per
// header.
func (r *Request) addHeader(name, value string) {
	switch len(name) {
	case len(":path"):
		if namePath.is(name) {
			r.Path = value
		}
	case len("origin"): // and "cookie"
		if nameOrigin.is(name) {
			r.Origin = value
			r.HasOrigin = true
			r.originLines++
		} else if nameCookie.is(name) {
			r.Credentialed = true
		}
	case len(":method"):
		if nameMethod.is(name) {
			r.Method = value
		}
	case len(":authority"):
		if nameAuthority.is(name) {
			r.Authority = value
		}
	case len("authorization"):
		if nameAuthorization.is(name) {
			r.Credentialed = true
		}
	case len("access-control-request-method"):
		if !nameRequestMethod.is(name) {
			break
		}
		if r.HasRequestMethod {
			// Two lines are a list, which is never a single method token.
			r.RequestMethod = r.RequestMethod + "," + value
			return
		}
		r.RequestMethod = value
		r.HasRequestMethod = true
	case len("access-control-request-headers"):
		if nameRequestHeaders.is(name) {
			r.RequestHeaders = append(r.RequestHeaders, value)
		}
	case len("access-control-request-private-network"):
		if is(name, "access-control-request-private-network") {
			r.RequestPrivateNetwork = value
		}
	}
}
