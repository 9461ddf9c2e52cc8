//go:build !wasip1

package cpphost

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The origins of the test policy (testdata/policy.json): app is allowed by
// the default policy and by the upload-route policy, admin by the
// admin-route policy only; evil by none.
const (
	app   = "https://app.example.com"
	admin = "https://admin.example.com"
	evil  = "https://evil.example"
)

// request returns the request lines of method to api.example.com/v1/things,
// then the name-value pairs kv.
func request(method string, kv ...string) headers {
	return headers{{":method", method}, {":scheme", "https"}, {":authority", "api.example.com"}, {":path", "/v1/things"}}.with(kv...)
}

// actual is a cross-origin GET from origin, then the pairs kv.
func actual(origin string, kv ...string) headers {
	return request("GET", append([]string{"origin", origin}, kv...)...)
}

// preflight is a CORS preflight from origin for method, requesting the
// headers acrh when it is not empty, then the pairs kv.
func preflight(origin, method, acrh string, kv ...string) headers {
	h := request("OPTIONS", "origin", origin, "access-control-request-method", method)
	if acrh != "" {
		h = h.with("access-control-request-headers", acrh)
	}
	return h.with(kv...)
}

// The upstream's answers. corsUpstream carries CORS headers of its own,
// which the plugin replaces or removes.
var (
	plainUpstream = headers{{"content-type", "text/plain"}, {"vary", "accept-encoding"}, {"x-request-id", "42"}}
	corsUpstream  = plainUpstream.with("access-control-allow-origin", "*", "access-control-expose-headers", "x-upstream", "access-control-allow-credentials", "true")
)

// upstream is a 200 response with the lines h.
func upstream(h headers) *response { return &response{Status: 200, Headers: h} }

// status prepends the :status line to h, as pwhost prints a response.
func status(code int, h headers) headers {
	return append(headers{{":status", fmt.Sprint(code)}}, h...)
}

// preflightVary is the vary line of every preflight answer.
const preflightVary = "origin, access-control-request-method, access-control-request-headers"

// A check returns what is wrong with an outcome, nothing when it is right.
type check func(o *outcome) []string

// all runs every check of cs.
func all(cs ...check) check {
	return func(o *outcome) []string {
		var ps []string
		for _, c := range cs {
			ps = append(ps, c(o)...)
		}
		return ps
	}
}

// localReply checks that the module answered itself with code and exactly
// the lines want (in any order; :status included).
func localReply(code int, want headers) check {
	return func(o *outcome) []string {
		if !o.LocalReply || o.Status != code {
			return []string{fmt.Sprintf("local reply %v, status %d; want a local reply %d", o.LocalReply, o.Status, code)}
		}
		return sameLines("response", o.ResponseHeaders, want)
	}
}

// forwarded checks that the request went upstream and that the response
// the client gets is exactly want (in any order; :status included).
func forwarded(want headers) check {
	return func(o *outcome) []string {
		if o.LocalReply {
			return []string{fmt.Sprintf("local reply %d, want the request forwarded", o.Status)}
		}
		return sameLines("response", o.ResponseHeaders, want)
	}
}

// requestUntouched checks that the request lines after the request callback
// are want, in order.
func requestUntouched(want headers) check {
	return func(o *outcome) []string {
		if !slices.Equal(o.RequestHeaders, want) {
			return []string{fmt.Sprintf("request after the plugin %v, want %v", o.RequestHeaders, want)}
		}
		return nil
	}
}

// readsRoute checks that the module read xds.route_name.
func readsRoute(o *outcome) []string {
	if !slices.Contains(o.PropertiesRead, "xds.route_name") {
		return []string{fmt.Sprintf("properties read %q, want xds.route_name among them", o.PropertiesRead)}
	}
	return nil
}

// sameLines compares the lines got with want, ignoring their order.
func sameLines(what string, got, want headers) []string {
	g, w := got.sorted(), want.sorted()
	if !slices.Equal(g, w) {
		return []string{fmt.Sprintf("%s lines:\n  got  %q\n  want %q", what, g, w)}
	}
	return nil
}

// noCORS checks that the response has no access-control-* line.
func noCORS(o *outcome) []string {
	var ps []string
	for _, l := range o.ResponseHeaders {
		if strings.HasPrefix(l[0], "access-control-") {
			ps = append(ps, fmt.Sprintf("%s: %q in the response, want no CORS header", l[0], l[1]))
		}
	}
	return ps
}

// The outcomes of the test policy's usual exchanges.
var (
	// allowedPreflight is the default policy's answer to app's preflight
	// for PUT with headers.
	allowedPreflight = localReply(204, status(204, headers{
		{"access-control-allow-origin", app}, {"access-control-allow-credentials", "true"},
		{"access-control-allow-methods", "GET, PUT"}, {"access-control-allow-headers", "content-type, x-trace"},
		{"access-control-max-age", "600"}, {"vary", preflightVary}}))
	// deniedPreflight is a 403 with no CORS header.
	deniedPreflight = all(localReply(403, status(403, headers{{"vary", preflightVary}})), noCORS)
	// allowedActual is app's response from corsUpstream: the upstream's
	// CORS lines replaced by the default policy's, the others kept, vary
	// gains origin.
	allowedActual = forwarded(status(200, plainUpstream.with(
		"access-control-allow-origin", app, "access-control-allow-credentials", "true",
		"access-control-expose-headers", "x-request-id", "vary", "origin")))
	// deniedActual is a response from corsUpstream without its CORS lines,
	// vary gaining origin.
	deniedActual = all(forwarded(status(200, plainUpstream.with("vary", "origin"))), noCORS)
	// noOrigin is plainUpstream's response, vary gaining origin.
	noOrigin = forwarded(status(200, plainUpstream.with("vary", "origin")))
)

// A scenario is one exchange run in its own pwhost process, with what the
// client must get and the counters it must move.
type scenario struct {
	name     string
	config   string // file of testdata/; "" is policy.json
	opts     []string
	x        exchange
	check    check
	counters counts
	soak     bool // run it in TestSoak too
}

// configPath returns the path of the scenario's configuration.
func (s *scenario) configPath() string {
	if s.config == "" {
		return testdata("policy.json")
	}
	return testdata(s.config)
}

// functionalScenarios are the policy's allowed and denied exchanges.
func functionalScenarios() []scenario {
	pfPut := preflight(app, "PUT", "content-type")
	return []scenario{
		{name: "an allowed preflight gets 204 with the policy's CORS headers",
			x:     exchange{Request: pfPut, Response: upstream(corsUpstream)},
			check: all(allowedPreflight, requestUntouched(pfPut)), counters: counts{preflightAllowed: 1}, soak: true},
		{name: "an allowed preflight's answer survives the module's own response callback",
			opts: []string{"--encode-local-reply"},
			x:    exchange{Request: pfPut}, check: allowedPreflight, counters: counts{preflightAllowed: 1}},
		{name: "an allowed preflight without requested headers gets no allow-headers",
			x: exchange{Request: preflight(app, "PUT", "")},
			check: localReply(204, status(204, headers{
				{"access-control-allow-origin", app}, {"access-control-allow-credentials", "true"},
				{"access-control-allow-methods", "GET, PUT"}, {"access-control-max-age", "600"}, {"vary", preflightVary}})),
			counters: counts{preflightAllowed: 1}},
		{name: "a preflight from a disallowed origin gets 403 and no CORS headers",
			x:     exchange{Request: preflight(evil, "PUT", "content-type"), Response: upstream(corsUpstream)},
			check: deniedPreflight, counters: counts{preflightDenied: 1}, soak: true},
		{name: "a denied preflight's answer survives the module's own response callback",
			opts: []string{"--encode-local-reply"},
			x:    exchange{Request: preflight(evil, "PUT", "")}, check: deniedPreflight, counters: counts{preflightDenied: 1}},
		{name: "a preflight for a method not allowed is denied",
			x: exchange{Request: preflight(app, "DELETE", "")}, check: deniedPreflight, counters: counts{preflightDenied: 1}},
		{name: "a preflight for a list of methods is denied",
			x: exchange{Request: preflight(app, "GET, PUT", "")}, check: deniedPreflight, counters: counts{preflightDenied: 1}},
		{name: "a preflight for a header not allowed is denied",
			x: exchange{Request: preflight(app, "PUT", "content-type, x-secret")}, check: deniedPreflight, counters: counts{preflightDenied: 1}},
		{name: "a preflight from a look-alike origin is denied",
			x: exchange{Request: preflight("https://app.example.com.evil.net", "PUT", "")}, check: deniedPreflight, counters: counts{preflightDenied: 1}},
		{name: "a preflight from the http origin of the allowed host is denied",
			x: exchange{Request: preflight("http://app.example.com", "PUT", "")}, check: deniedPreflight, counters: counts{preflightDenied: 1}},
		{name: "a preflight from the null origin is denied",
			x: exchange{Request: preflight("null", "PUT", "")}, check: deniedPreflight, counters: counts{preflightDenied: 1}},
		{name: "a preflight from an upper-case origin is denied as invalid",
			x:     exchange{Request: preflight("https://APP.example.com", "PUT", "")},
			check: deniedPreflight, counters: counts{preflightDenied: 1, originInvalid: 1}},
		{name: "an allowed actual request gets the policy's CORS headers in place of the upstream's",
			x:     exchange{Request: actual(app), Response: upstream(corsUpstream)},
			check: all(allowedActual, requestUntouched(actual(app))), counters: counts{actualAllowed: 1}, soak: true},
		{name: "an allowed actual request's error response gets the CORS headers too",
			x: exchange{Request: actual(app), Response: &response{Status: 503, Headers: headers{{"content-type", "text/plain"}}}},
			check: forwarded(status(503, headers{{"content-type", "text/plain"},
				{"access-control-allow-origin", app}, {"access-control-allow-credentials", "true"},
				{"access-control-expose-headers", "x-request-id"}, {"vary", "origin"}})),
			counters: counts{actualAllowed: 1}},
		{name: "a denied actual request loses the upstream's CORS headers",
			x:     exchange{Request: actual(evil), Response: upstream(corsUpstream)},
			check: all(deniedActual, requestUntouched(actual(evil))), counters: counts{actualDenied: 1}, soak: true},
		{name: "an actual request from an origin with a trailing slash is denied as invalid",
			x:     exchange{Request: actual(app + "/"), Response: upstream(corsUpstream)},
			check: deniedActual, counters: counts{actualDenied: 1, originInvalid: 1}},
		{name: "a request without Origin passes and its response gets vary origin",
			x:     exchange{Request: request("GET"), Response: upstream(plainUpstream)},
			check: all(noOrigin, requestUntouched(request("GET"))), counters: counts{}, soak: true},
		{name: "the admin route's policy allows its own origin",
			x:        exchange{Request: actual(admin), Response: upstream(corsUpstream), RouteName: "admin-route"},
			check:    all(forwarded(status(200, plainUpstream.with("access-control-allow-origin", admin, "vary", "origin"))), readsRoute),
			counters: counts{actualAllowed: 1}},
		{name: "the admin route's policy answers its origin's preflight with its own lists",
			x: exchange{Request: preflight(admin, "GET", ""), RouteName: "admin-route"},
			check: all(localReply(204, status(204, headers{{"access-control-allow-origin", admin},
				{"access-control-allow-methods", "GET"}, {"vary", preflightVary}})), readsRoute),
			counters: counts{preflightAllowed: 1}},
		{name: "the admin route's policy denies the default policy's origin",
			x:     exchange{Request: actual(app), Response: upstream(corsUpstream), RouteName: "admin-route"},
			check: all(deniedActual, readsRoute), counters: counts{actualDenied: 1}},
		{name: "the admin route's policy denies a preflight for PUT",
			x:     exchange{Request: preflight(admin, "PUT", ""), RouteName: "admin-route"},
			check: all(deniedPreflight, readsRoute), counters: counts{preflightDenied: 1}},
		{name: "a route no policy names gets the default policy",
			x:     exchange{Request: actual(app), Response: upstream(corsUpstream), RouteName: "other-route"},
			check: all(allowedActual, readsRoute), counters: counts{actualAllowed: 1}},
		{name: "in report mode a disallowed preflight goes upstream untouched and would be denied",
			config:   "report.json",
			x:        exchange{Request: preflight(evil, "PUT", "content-type"), Response: upstream(corsUpstream)},
			check:    all(forwarded(status(200, corsUpstream)), requestUntouched(preflight(evil, "PUT", "content-type"))),
			counters: counts{preflightDenied: 1, wouldDeny: 1, reportAgree: 1}},
		{name: "in report mode an allowed preflight goes upstream untouched",
			config: "report.json",
			x:      exchange{Request: pfPut, Response: upstream(plainUpstream)},
			check:  forwarded(status(200, plainUpstream)), counters: counts{preflightAllowed: 1, wouldOpen: 1}},
		{name: "in report mode a denied actual request keeps the upstream's CORS headers and would be denied",
			config: "report.json",
			x:      exchange{Request: actual(evil), Response: upstream(corsUpstream)},
			check:  forwarded(status(200, corsUpstream)), counters: counts{actualDenied: 1, wouldDeny: 1, wouldBreak: 1}},
		{name: "in report mode an allowed actual request gets no CORS headers added",
			config: "report.json",
			x:      exchange{Request: actual(app), Response: upstream(plainUpstream)},
			check:  forwarded(status(200, plainUpstream)), counters: counts{actualAllowed: 1, wouldOpen: 1}},
	}
}

// coalescingScenarios send a second Origin, Access-Control-Request-Method or
// Access-Control-Request-Headers line. Envoy keeps these inline headers in
// one entry, so the module gets both values joined with ","; with
// --no-inline pwhost keeps the lines apart. None of them may be allowed
// unless the policy allows every value of the list.
func coalescingScenarios() []scenario {
	noInline := []string{"--no-inline"}
	joined := func(name, value string) check {
		return func(o *outcome) []string {
			if vs := o.RequestHeaders.values(name); !slices.Equal(vs, []string{value}) {
				return []string{fmt.Sprintf("the module saw %s %q, want one line %q", name, vs, value)}
			}
			return nil
		}
	}
	twoLines := func(name string) check {
		return func(o *outcome) []string {
			if vs := o.RequestHeaders.values(name); len(vs) != 2 {
				return []string{fmt.Sprintf("the module saw %s %q, want two lines", name, vs)}
			}
			return nil
		}
	}
	uploadAllowed := localReply(204, status(204, headers{{"access-control-allow-origin", app},
		{"access-control-allow-methods", "PUT"}, {"access-control-allow-headers", "content-type, x-other"}, {"vary", preflightVary}}))
	return []scenario{
		{name: "two Origin lines on an actual request are joined and denied as invalid",
			x:     exchange{Request: actual(app, "origin", app), Response: upstream(corsUpstream)},
			check: all(deniedActual, joined("origin", app+","+app)), counters: counts{actualDenied: 1, originInvalid: 1}},
		{name: "two Origin lines on a preflight are joined and denied as invalid",
			x:     exchange{Request: preflight(app, "PUT", "", "origin", app)},
			check: all(deniedPreflight, joined("origin", app+","+app)), counters: counts{preflightDenied: 1, originInvalid: 1}},
		{name: "a disallowed Origin line then an allowed one are joined and denied",
			x:     exchange{Request: actual(evil, "origin", app), Response: upstream(corsUpstream)},
			check: all(deniedActual, joined("origin", evil+","+app)), counters: counts{actualDenied: 1, originInvalid: 1}},
		{name: "two Origin lines kept apart (no inline headers) are denied on an actual request",
			opts:  noInline,
			x:     exchange{Request: actual(app, "origin", app), Response: upstream(corsUpstream)},
			check: all(deniedActual, twoLines("origin")), counters: counts{actualDenied: 1, originInvalid: 1}},
		{name: "two Origin lines kept apart (no inline headers) are denied on a preflight",
			opts:  noInline,
			x:     exchange{Request: preflight(app, "PUT", "", "origin", evil)},
			check: all(deniedPreflight, twoLines("origin")), counters: counts{preflightDenied: 1, originInvalid: 1}},
		{name: "two Access-Control-Request-Method lines are joined and the preflight denied",
			x:     exchange{Request: preflight(app, "PUT", "", "access-control-request-method", "PUT")},
			check: all(deniedPreflight, joined("access-control-request-method", "PUT,PUT")), counters: counts{preflightDenied: 1}},
		{name: "two Access-Control-Request-Method lines kept apart (no inline headers) deny the preflight",
			opts:  noInline,
			x:     exchange{Request: preflight(app, "PUT", "", "access-control-request-method", "GET")},
			check: all(deniedPreflight, twoLines("access-control-request-method")), counters: counts{preflightDenied: 1}},
		{name: "two Access-Control-Request-Headers lines are joined and denied when one is not allowed",
			x:     exchange{Request: preflight(app, "PUT", "content-type", "access-control-request-headers", "x-other")},
			check: all(deniedPreflight, joined("access-control-request-headers", "content-type,x-other")), counters: counts{preflightDenied: 1}},
		{name: "two Access-Control-Request-Headers lines are joined and allowed when the policy allows both",
			x:     exchange{Request: preflight(app, "PUT", "content-type", "access-control-request-headers", "x-other"), RouteName: "upload-route"},
			check: all(uploadAllowed, joined("access-control-request-headers", "content-type,x-other")), counters: counts{preflightAllowed: 1}},
		{name: "two Access-Control-Request-Headers lines kept apart (no inline headers) are denied when one is not allowed",
			opts:  noInline,
			x:     exchange{Request: preflight(app, "PUT", "content-type", "access-control-request-headers", "x-other")},
			check: all(deniedPreflight, twoLines("access-control-request-headers")), counters: counts{preflightDenied: 1}},
		{name: "two Access-Control-Request-Headers lines kept apart (no inline headers) are allowed when the policy allows both",
			opts:  noInline,
			x:     exchange{Request: preflight(app, "PUT", "content-type", "access-control-request-headers", "x-other"), RouteName: "upload-route"},
			check: all(uploadAllowed, twoLines("access-control-request-headers")), counters: counts{preflightAllowed: 1}},
	}
}

// runScenarios runs each scenario as a parallel subtest on h, each in its
// own pwhost process, so that the counters printed are the exchange's.
func runScenarios(t *testing.T, h host, scenarios []scenario) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			r := pwhost(t, h, releaseWasm, s.configPath(), []exchange{s.x}, s.opts...)
			wantServed(t, r, 1)
			wantOutcome(t, &r.outs[0], s.check)
			wantCounters(t, r.counters, s.counters)
		})
	}
}

// wantOutcome fails t with every problem c finds in o, and prints o then.
func wantOutcome(t *testing.T, o *outcome, c check) {
	t.Helper()
	ps := c(o)
	for _, p := range ps {
		t.Error(p)
	}
	if len(ps) > 0 {
		t.Logf("pwhost's output line: %s", o.raw)
	}
}

// TestExchanges runs the test policy's allowed and denied preflights and
// actual requests, requests without Origin, route-name policies and report
// mode on each host, with the counters each exchange must move.
func TestExchanges(t *testing.T) {
	forEachHost(t, func(t *testing.T, h host) {
		runScenarios(t, h, functionalScenarios())
	})
}

// TestEnvoyInlineHeaderCoalescing sends repeated Origin and
// Access-Control-Request-* lines, which Envoy joins into one value before
// the module reads it, and checks that the module never allows more than
// the policy does.
func TestEnvoyInlineHeaderCoalescing(t *testing.T) {
	forEachHost(t, func(t *testing.T, h host) {
		runScenarios(t, h, coalescingScenarios())
	})
}
