package e2e

import "testing"

const app = "https://app.example.com"

func TestPreflights(t *testing.T) {
	allowed := counts{"cors.preflight.allowed": 1}
	deniedPreflight := counts{"cors.preflight.denied": 1}
	runCases(t, []corsCase{
		{
			name:     "preflight from an allowed origin is answered with 204",
			req:      preflight(app, "PUT").requesting("content-type,authorization"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT", headers: []string{"content-type", "authorization"}, credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "preflight without requested headers is answered without access-control-allow-headers",
			req:      preflight(app, "DELETE"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "DELETE", credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "preflight from an origin matching a wildcard pattern is answered with 204",
			req:      preflight("https://shop.eu.example.com", "PUT").requesting("content-type"),
			answer:   204,
			want:     preflightAnswer{origin: "https://shop.eu.example.com", method: "PUT", headers: []string{"content-type"}, credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "preflight from a localhost port is answered with 204",
			req:      preflight("http://localhost:5173", "POST").requesting("content-type"),
			answer:   204,
			want:     preflightAnswer{origin: "http://localhost:5173", method: "POST", headers: []string{"content-type"}, credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "preflight for a safelisted method is answered with 204",
			req:      preflight(app, "GET").requesting("authorization"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "GET", headers: []string{"authorization"}, credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "preflight whose request headers also end the stream is answered with 204",
			req:      preflight(app, "PUT").ending(),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT", credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "requested header names match allowHeaders case-insensitively",
			req:      preflight(app, "PUT").requesting("Content-Type, AUTHORIZATION"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT", headers: []string{"content-type", "authorization"}, credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "requested headers with spaces and tabs around commas are read as a list",
			req:      preflight(app, "PUT").requesting("content-type ,\tauthorization"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT", headers: []string{"content-type", "authorization"}, credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "requested headers over two header lines are all covered",
			req:      preflight(app, "PUT").requesting("content-type").requesting("authorization"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT", headers: []string{"content-type", "authorization"}, credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "preflight for a method outside allowMethods is rejected with 403",
			req:      preflight(app, "PATCH"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "preflight methods are case-sensitive",
			req:      preflight(app, "put"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "preflight with a list-valued access-control-request-method is rejected with 403",
			req:      preflight(app, "GET, DELETE"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "preflight with two access-control-request-method lines is rejected with 403",
			req:      preflight(app, "PUT").with("access-control-request-method", "DELETE"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "preflight requesting a header outside allowHeaders is rejected with 403",
			req:      preflight(app, "PUT").requesting("content-type,x-custom"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "preflight from a disallowed origin is rejected with 403",
			req:      preflight("https://app.example.com.evil.net", "PUT"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "preflight from an invalid origin is rejected with 403 and counted as invalid",
			req:      preflight("https://app.example.com/", "PUT"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: counts{"cors.preflight.denied": 1, "cors.origin.invalid": 1},
		},
		{
			name:     "preflight asking for private network access is rejected when allowPrivateNetwork is false",
			req:      preflight(app, "PUT").with("access-control-request-private-network", "true"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "preflight asking for private network access is answered with access-control-allow-private-network when allowed",
			config:   withSettings(`"allowPrivateNetwork": true`),
			req:      preflight(app, "PUT").with("access-control-request-private-network", "true"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT", credentials: true, maxAge: "600", pna: true}.checks(),
			counters: allowed,
		},
		{
			name:     "preflight not asking for private network access gets no access-control-allow-private-network",
			config:   withSettings(`"allowPrivateNetwork": true`),
			req:      preflight(app, "PUT"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT", credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "allowed preflight is answered with the configured preflightStatus",
			config:   withSettings(`"preflightStatus": 200`),
			req:      preflight(app, "PUT"),
			answer:   200,
			want:     preflightAnswer{origin: app, method: "PUT", credentials: true, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "denied preflight is still rejected with 403 when preflightStatus is 200",
			config:   withSettings(`"preflightStatus": 200`),
			req:      preflight(app, "PATCH"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "preflightStatus defaults to 204",
			config:   `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"]}`,
			req:      preflight(app, "PUT"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT"}.checks(),
			counters: allowed,
		},
		{
			name:     "preflight is answered without access-control-max-age when maxAge is not set",
			config:   withSettings(`"maxAge": null`),
			req:      preflight(app, "PUT"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT", credentials: true}.checks(),
			counters: allowed,
		},
		{
			name:     "preflight is answered without access-control-allow-credentials when credentials are not allowed",
			config:   withSettings(`"allowCredentials": false`),
			req:      preflight(app, "PUT").requesting("content-type"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT", headers: []string{"content-type"}, maxAge: "600"}.checks(),
			counters: allowed,
		},
		{
			name:     "rejected preflights default to 403 when unmatchedPreflights is not set",
			config:   withSettings(`"unmatchedPreflights": null`),
			req:      preflight("https://evil.example.net", "PUT"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "safelisted methods pass even when allowMethods does not name them",
			config:   `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"]}`,
			req:      preflight(app, "POST"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "POST"}.checks(),
			counters: allowed,
		},
		{
			name:     "HEAD passes even when allowMethods does not name it",
			config:   `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"]}`,
			req:      preflight(app, "HEAD"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "HEAD"}.checks(),
			counters: allowed,
		},
		{
			name:     "allowMethods * allows a custom method token",
			config:   `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["*"]}`,
			req:      preflight(app, "PURGE"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PURGE"}.checks(),
			counters: allowed,
		},
		{
			name:     "allowHeaders * allows any header",
			config:   `{"allowOrigins": ["https://app.example.com"], "allowHeaders": ["*"]}`,
			req:      preflight(app, "POST").requesting("x-custom,x-trace-id"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "POST", headers: []string{"x-custom", "x-trace-id"}}.checks(),
			counters: allowed,
		},
		{
			name:     "allowHeaders * does not cover authorization",
			config:   `{"allowOrigins": ["https://app.example.com"], "allowHeaders": ["*"]}`,
			req:      preflight(app, "POST").requesting("x-custom,authorization"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "preflight to an any-origin policy is answered with access-control-allow-origin *",
			config:   `{"allowOrigins": ["*"], "allowMethods": ["PUT"], "allowHeaders": ["x-custom"], "maxAge": 60}`,
			req:      preflight("https://anyone.example.org", "PUT").requesting("x-custom"),
			answer:   204,
			want:     preflightAnswer{origin: "*", method: "PUT", headers: []string{"x-custom"}, maxAge: "60"}.checks(),
			counters: allowed,
		},
		{
			name:     "preflight to an any-origin policy is still rejected for a method it does not allow",
			config:   `{"allowOrigins": ["*"], "allowMethods": ["PUT"]}`,
			req:      preflight("https://anyone.example.org", "DELETE"),
			answer:   403,
			want:     []check{noCORSHeaders()},
			counters: deniedPreflight,
		},
		{
			name:     "preflight from the null origin is answered with null when null is allowed",
			config:   `{"allowOrigins": ["null"], "allowMethods": ["PUT"]}`,
			req:      preflight("null", "PUT"),
			answer:   204,
			want:     preflightAnswer{origin: "null", method: "PUT"}.checks(),
			counters: allowed,
		},
		{
			name:     "OPTIONS without access-control-request-method is an actual request",
			req:      crossOrigin("OPTIONS", app),
			want:     actualAnswer{origin: app, credentials: true, expose: []string{"x-request-id"}}.checks(),
			counters: counts{"cors.actual.allowed": 1},
		},
		{
			name:     "OPTIONS with an empty access-control-request-method is an actual request",
			req:      crossOrigin("OPTIONS", app).with("access-control-request-method", ""),
			want:     actualAnswer{origin: app, credentials: true, expose: []string{"x-request-id"}}.checks(),
			counters: counts{"cors.actual.allowed": 1},
		},
		{
			name:     "OPTIONS with access-control-request-method but no Origin is not a preflight",
			req:      sameOrigin("OPTIONS").with("access-control-request-method", "PUT"),
			want:     []check{noCORSHeaders(), vary("origin")},
			counters: counts{},
		},
		{
			name:     "a GET with access-control-request-method is not a preflight",
			req:      crossOrigin("GET", app).with("access-control-request-method", "PUT"),
			want:     actualAnswer{origin: app, credentials: true, expose: []string{"x-request-id"}}.checks(),
			counters: counts{"cors.actual.allowed": 1},
		},
	})
}

// With unmatchedPreflights "forward", a preflight the policy does not allow
// goes to the upstream as it came, and its response comes back as it went.
func TestUnmatchedPreflightsForwarded(t *testing.T) {
	forward := withSettings(`"unmatchedPreflights": "forward"`)
	upstream := [][2]string{{"content-type", "text/plain"}, {"access-control-allow-origin", "https://upstream.example.org"}, {"allow", "GET, PUT"}}
	runCases(t, []corsCase{
		{
			name:      "preflight from a disallowed origin is forwarded and its response left untouched",
			config:    forward,
			req:       preflight("https://evil.example.net", "PUT"),
			upstream:  upstream,
			untouched: true,
			counters:  counts{"cors.preflight.denied": 1},
		},
		{
			name:      "preflight for a disallowed method is forwarded and its response left untouched",
			config:    forward,
			req:       preflight(app, "PATCH"),
			upstream:  upstream,
			untouched: true,
			counters:  counts{"cors.preflight.denied": 1},
		},
		{
			name:      "preflight for a disallowed header is forwarded and its response left untouched",
			config:    forward,
			req:       preflight(app, "PUT").requesting("x-custom"),
			upstream:  upstream,
			untouched: true,
			counters:  counts{"cors.preflight.denied": 1},
		},
		{
			name:      "preflight from an invalid origin is forwarded and its response left untouched",
			config:    forward,
			req:       preflight("https://user@app.example.com", "PUT"),
			upstream:  upstream,
			untouched: true,
			counters:  counts{"cors.preflight.denied": 1, "cors.origin.invalid": 1},
		},
		{
			name:     "allowed preflight is still answered with 204",
			config:   forward,
			req:      preflight(app, "PUT"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT", credentials: true, maxAge: "600"}.checks(),
			counters: counts{"cors.preflight.allowed": 1},
		},
	})
}

// Envoy sends a filter's local reply through the encoder filters, this one
// included: the plugin must leave its own answer as it sent it.
func TestALocalAnswerPassingBackThroughTheResponseCallbackIsLeftAlone(t *testing.T) {
	for _, c := range []struct {
		name     string
		req      request
		status   int
		counters counts
	}{
		{"allowed preflight", preflight(app, "PUT").requesting("content-type"), 204, counts{"cors.preflight.allowed": 1}},
		{"rejected preflight", preflight("https://evil.example.net", "PUT"), 403, counts{"cors.preflight.denied": 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startPlugin(t, exampleConfig)
			x := p.send(c.req)
			sent := x.expectAnswered(c.status)
			got := x.respondWithoutBody(c.status, sent...)
			expectHeaders(t, "the local answer after proxy_on_response_headers", got, sameAs(x.upstream))
			p.expectCounters("after the exchange (counted once, as a preflight)", c.counters)
		})
	}
}
