package e2e

import (
	"fmt"
	"testing"
)

func TestActualRequests(t *testing.T) {
	allowedAnswer := actualAnswer{origin: app, credentials: true, expose: []string{"x-request-id"}}
	allowed := counts{"cors.actual.allowed": 1}
	deniedActual := counts{"cors.actual.denied": 1}
	runCases(t, []corsCase{
		{
			name:     "GET from an allowed origin continues and its response gets CORS headers",
			req:      crossOrigin("GET", app),
			want:     allowedAnswer.checks(),
			counters: allowed,
		},
		{
			name:     "POST from an allowed origin continues and its response gets CORS headers",
			req:      crossOrigin("POST", app).with("content-type", "text/plain"),
			want:     allowedAnswer.checks(),
			counters: allowed,
		},
		{
			name:     "DELETE from an allowed origin continues and its response gets CORS headers",
			req:      crossOrigin("DELETE", app),
			want:     allowedAnswer.checks(),
			counters: allowed,
		},
		{
			name:     "a request whose headers end the stream is handled the same",
			req:      crossOrigin("GET", app).ending(),
			want:     allowedAnswer.checks(),
			counters: allowed,
		},
		{
			name:     "the upstream's CORS headers are replaced by the policy's, exactly one of each",
			req:      crossOrigin("GET", app),
			upstream: corsUpstream,
			want:     actualAnswer{origin: app, credentials: true, expose: []string{"x-request-id"}, vary: []string{"accept-encoding"}}.checks(),
			counters: allowed,
		},
		{
			name: "two access-control-allow-origin lines from the upstream become one",
			req:  crossOrigin("GET", app),
			upstream: [][2]string{
				{"access-control-allow-origin", "https://other.example.org"},
				{"content-type", "text/html"},
				{"access-control-allow-origin", "*"},
			},
			want:     allowedAnswer.checks(),
			counters: allowed,
		},
		{
			name:     "an upstream vary naming Origin already is not duplicated",
			req:      crossOrigin("GET", app),
			upstream: [][2]string{{"vary", "Origin"}},
			want:     allowedAnswer.checks(),
			counters: allowed,
		},
		{
			name:     "an upstream vary list naming origin is not duplicated and keeps its other values",
			req:      crossOrigin("GET", app),
			upstream: [][2]string{{"vary", "accept-encoding, origin, accept-language"}},
			want:     actualAnswer{origin: app, credentials: true, expose: []string{"x-request-id"}, vary: []string{"accept-encoding", "accept-language"}}.checks(),
			counters: allowed,
		},
		// An upstream without CORS lines gets the plugin's lines added with
		// proxy_add_header_map_value, which the SDK's emulator joins to an
		// existing line of the same name without a separator: that origin
		// joins the upstream's vary lines, which are kept, is checked on
		// wasmhost (hardening, TestActualResponseLines).
		{
			name:     "response gets access-control-allow-origin without credentials or expose headers when none are configured",
			config:   `{"allowOrigins": ["https://app.example.com"]}`,
			req:      crossOrigin("GET", app),
			upstream: corsUpstream,
			want:     actualAnswer{origin: app, vary: []string{"accept-encoding"}}.checks(),
			counters: allowed,
		},
		{
			name:     "response to an any-origin policy gets access-control-allow-origin *",
			config:   `{"allowOrigins": ["*"], "exposeHeaders": ["x-request-id", "x-total-count"]}`,
			req:      crossOrigin("GET", "https://anyone.example.org"),
			upstream: corsUpstream,
			want:     actualAnswer{origin: "*", expose: []string{"x-request-id", "x-total-count"}, vary: []string{"accept-encoding"}}.checks(),
			counters: allowed,
		},
		{
			name:     "response to the null origin gets null when null is allowed",
			config:   `{"allowOrigins": ["null"]}`,
			req:      crossOrigin("GET", "null"),
			want:     actualAnswer{origin: "null"}.checks(),
			counters: allowed,
		},
		{
			name:     "response to a disallowed origin loses the upstream's CORS headers and varies on origin",
			req:      crossOrigin("GET", "https://app.example.com.evil.net"),
			upstream: corsUpstream,
			want:     denied("accept-encoding"),
			counters: deniedActual,
		},
		{
			name:     "response to an invalid origin loses the upstream's CORS headers and varies on origin",
			req:      crossOrigin("GET", "https://user@app.example.com"),
			upstream: corsUpstream,
			want:     denied("accept-encoding"),
			counters: counts{"cors.actual.denied": 1, "cors.origin.invalid": 1},
		},
		{
			name:     "a request with two Origin lines is treated as an invalid origin",
			req:      crossOrigin("GET", app).with("origin", app),
			upstream: corsUpstream,
			want:     denied("accept-encoding"),
			counters: counts{"cors.actual.denied": 1, "cors.origin.invalid": 1},
		},
		{
			// The plugin adds the line with proxy_add_header_map_value. The
			// SDK's emulator joins an added value to an existing line
			// without a separator ("accept-encodingorigin"), so the case
			// of an upstream vary is checked on wasmhost (TestNoOriginVary).
			name:     "request without Origin continues and its response varies on origin",
			req:      sameOrigin("GET"),
			upstream: [][2]string{{"content-type", "text/html"}},
			want:     []check{noCORSHeaders(), vary("origin")},
			counters: counts{},
		},
		{
			// A cache may serve this response to a later CORS request
			// (Fetch, "CORS protocol and HTTP caches"), and * does not
			// depend on the origin, so it is set and vary is left alone.
			name:     "request without Origin to an any-origin policy gets * and no vary on origin",
			config:   `{"allowOrigins": ["*"]}`,
			req:      sameOrigin("GET"),
			upstream: [][2]string{{"content-type", "text/html"}, {"vary", "accept-encoding"}},
			want:     []check{header("access-control-allow-origin", "*"), vary("accept-encoding")},
			counters: counts{},
		},
	})
}

// CORS headers go on every response to an allowed origin, whatever its status.
func TestActualResponsesOfEveryStatusGetCORSHeaders(t *testing.T) {
	var cases []corsCase
	for _, status := range []int{200, 201, 204, 206, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503} {
		cases = append(cases, corsCase{
			name:     fmt.Sprintf("a %d response to an allowed origin gets CORS headers", status),
			req:      crossOrigin("GET", app),
			status:   status,
			upstream: corsUpstream,
			want:     actualAnswer{origin: app, credentials: true, expose: []string{"x-request-id"}, vary: []string{"accept-encoding"}}.checks(),
			counters: counts{"cors.actual.allowed": 1},
		}, corsCase{
			name:     fmt.Sprintf("a %d response to a disallowed origin loses its CORS headers", status),
			req:      crossOrigin("GET", "https://evil.example.net"),
			status:   status,
			upstream: corsUpstream,
			want:     denied("accept-encoding"),
			counters: counts{"cors.actual.denied": 1},
		})
	}
	runCases(t, cases)
}

// A response whose headers end the stream (no body) is rewritten the same way.
func TestAResponseWithoutBodyGetsCORSHeaders(t *testing.T) {
	p := startPlugin(t, exampleConfig)
	x := p.send(crossOrigin("HEAD", app))
	x.expectContinues()
	expectHeaders(t, "the response after the plugin", x.respondWithoutBody(204, corsUpstream...),
		actualAnswer{origin: app, credentials: true, expose: []string{"x-request-id"}, vary: []string{"accept-encoding"}}.checks()...)
	p.expectCounters("after the exchange", counts{"cors.actual.allowed": 1})
}

// Streams are independent: each response is answered for its own request's
// origin, whatever order the responses come back in.
func TestInterleavedStreams(t *testing.T) {
	p := startPlugin(t, exampleConfig)
	origins := []string{app, "https://evil.example.net", "http://localhost:8080", "https://b.example.com"}
	xs := make([]*exchange, len(origins))
	for i, o := range origins {
		xs[i] = p.send(crossOrigin("GET", o))
		xs[i].expectContinues()
	}
	p.send(preflight(app, "PUT")).expectAnswered(204)
	for i := len(xs) - 1; i >= 0; i-- {
		got := xs[i].respond(200, plainUpstream...)
		if origins[i] == "https://evil.example.net" {
			expectHeaders(t, "the response for "+origins[i], got, denied()...)
		} else {
			expectHeaders(t, "the response for "+origins[i], got,
				actualAnswer{origin: origins[i], credentials: true, expose: []string{"x-request-id"}}.checks()...)
		}
	}
	p.expectCounters("after all streams", counts{"cors.actual.allowed": 3, "cors.actual.denied": 1, "cors.preflight.allowed": 1})
}
