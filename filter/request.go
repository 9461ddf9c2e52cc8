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

// Reset clears r for reuse, keeping the capacity of RequestHeaders.
func (r *Request) Reset() {
	lines := r.RequestHeaders[:0]
	*r = Request{RequestHeaders: lines}
}

// AddHeader records one request header line. Names must be lower case, as
// Envoy hands them over; headers the engine does not read are ignored.
func (r *Request) AddHeader(name, value string) {
	switch name {
	case ":method":
		r.Method = value
	case ":authority":
		r.Authority = value
	case ":path":
		r.Path = value
	case "origin":
		r.Origin = value
		r.HasOrigin = true
		r.originLines++
	case "access-control-request-method":
		if r.HasRequestMethod {
			// Two lines are a list, which is never a single method token.
			r.RequestMethod = r.RequestMethod + "," + value
			return
		}
		r.RequestMethod = value
		r.HasRequestMethod = true
	case "access-control-request-headers":
		r.RequestHeaders = append(r.RequestHeaders, value)
	case "access-control-request-private-network":
		r.RequestPrivateNetwork = value
	case "cookie", "authorization":
		r.Credentialed = true
	}
}
