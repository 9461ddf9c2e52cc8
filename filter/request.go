package filter

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

// addHeader is AddHeader. It picks the candidate by length and compares
// with is: in Go's Wasm code, a string switch calls the runtime's memequal
// for every name as long as a case, two Wasm calls per header.
func (r *Request) addHeader(name, value string) {
	switch len(name) {
	case len(":path"):
		if is(name, ":path") {
			r.Path = value
		}
	case len("origin"): // and "cookie"
		if is(name, "origin") {
			r.Origin = value
			r.HasOrigin = true
			r.originLines++
		} else if is(name, "cookie") {
			r.Credentialed = true
		}
	case len(":method"):
		if is(name, ":method") {
			r.Method = value
		}
	case len(":authority"):
		if is(name, ":authority") {
			r.Authority = value
		}
	case len("authorization"):
		if is(name, "authorization") {
			r.Credentialed = true
		}
	case len("access-control-request-method"):
		if !is(name, "access-control-request-method") {
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
		if is(name, "access-control-request-headers") {
			r.RequestHeaders = append(r.RequestHeaders, value)
		}
	case len("access-control-request-private-network"):
		if is(name, "access-control-request-private-network") {
			r.RequestPrivateNetwork = value
		}
	}
}
