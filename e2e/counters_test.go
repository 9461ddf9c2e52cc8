package e2e

import "testing"

func TestAnActualRequestIsCountedWhenItsResponseHeadersPass(t *testing.T) {
	p := startPlugin(t, exampleConfig)
	allowed := p.send(crossOrigin("GET", app))
	denied := p.send(crossOrigin("GET", "https://evil.example.net"))
	p.expectCounters("after the request headers only", counts{})
	allowed.respond(200, plainUpstream...)
	p.expectCounters("after the allowed request's response headers", counts{"cors.actual.allowed": 1})
	denied.respond(200, plainUpstream...)
	p.expectCounters("after both responses", counts{"cors.actual.allowed": 1, "cors.actual.denied": 1})
}

func TestAPreflightIsCountedWhenAnswered(t *testing.T) {
	p := startPlugin(t, exampleConfig)
	p.send(preflight(app, "PUT")).expectAnswered(204)
	p.expectCounters("right after the allowed preflight was answered", counts{"cors.preflight.allowed": 1})
	p.send(preflight(app, "PATCH")).expectAnswered(403)
	p.expectCounters("right after the denied preflight was answered", counts{"cors.preflight.allowed": 1, "cors.preflight.denied": 1})
}

func TestCountersAddUpOverManyRequests(t *testing.T) {
	p := startPlugin(t, exampleConfig)
	for _, r := range []request{
		crossOrigin("GET", app),
		crossOrigin("POST", "https://api.example.com"),
		crossOrigin("GET", "http://localhost:3000"),
		crossOrigin("GET", "https://evil.example.net"),
		crossOrigin("GET", "https://app.example.com/"),
		crossOrigin("GET", "https://user@app.example.com"),
		sameOrigin("GET"),
		preflight(app, "PUT"),
		preflight(app, "DELETE"),
		preflight("https://evil.example.net", "PUT"),
		preflight("https://APP.example.com", "PUT"),
	} {
		x := p.send(r)
		if x.local() == nil {
			x.respond(200, plainUpstream...)
		}
	}
	p.expectCounters("after 11 requests", counts{
		"cors.actual.allowed":    3,
		"cors.actual.denied":     3,
		"cors.origin.invalid":    3,
		"cors.preflight.allowed": 2,
		"cors.preflight.denied":  2,
	})
}

// Each plugin context counts into the host's metrics from zero: a new
// emulator (a new host) starts with fresh counters even though the module
// instance is the same.
func TestEachHostStartsCountingFromZero(t *testing.T) {
	for i := range 3 {
		p := startPlugin(t, exampleConfig)
		p.expectCounters("right after start", counts{})
		x := p.send(crossOrigin("GET", app))
		x.respond(200, plainUpstream...)
		p.expectCounters("after one request", counts{"cors.actual.allowed": 1})
		p.close()
		if t.Failed() {
			t.Fatalf("failed on host %d", i+1)
		}
	}
}
