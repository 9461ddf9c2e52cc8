package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Requests no browser sends must neither trap the module nor count as an
// internal error; a local answer to them, if any, is 204 or 403.
func TestHostileRequestsDoNotTrap(t *testing.T) {
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	cases := []struct {
		name string
		req  request
	}{
		{"a 64 KiB origin", crossOrigin("GET", "https://"+strings.Repeat("a", 64<<10)+".example.com")},
		{"a 64 KiB origin in a preflight", preflight("https://"+strings.Repeat("a", 64<<10)+".example.com", "PUT")},
		{"an origin with control bytes", crossOrigin("GET", "https://app.example.com\x00\x01\x7f")},
		{"an origin that is not UTF-8", crossOrigin("GET", "https://\xff\xfe.example.com")},
		{"a non-ASCII origin", crossOrigin("GET", "https://bücher.example.com")},
		{"an empty origin", crossOrigin("GET", "")},
		{"a port out of range", crossOrigin("GET", "http://localhost:99999999999999999999")},
		{"a negative port", crossOrigin("GET", "http://localhost:-1")},
		{"an IPv6 origin", crossOrigin("GET", "http://[::1]:3000")},
		{"a broken IPv6 origin", crossOrigin("GET", "http://[::1:3000")},
		{"1000 requested headers", preflight(app, "PUT").requesting(many(1000, func(i int) string { return fmt.Sprintf("x-h%d", i) }))},
		{"1000 allowed requested headers", preflight(app, "PUT").requesting(many(1000, func(int) string { return "content-type" }))},
		{"a 64 KiB requested header", preflight(app, "PUT").requesting(strings.Repeat("x", 64<<10))},
		{"only commas as requested headers", preflight(app, "PUT").requesting(",,,,")},
		{"a 64 KiB method", preflight(app, strings.Repeat("P", 64<<10))},
		{"a method with spaces", preflight(app, "P U T")},
		{"200 Origin lines", func() request {
			r := crossOrigin("GET", app)
			for range 199 {
				r = r.with("origin", app)
			}
			return r
		}()},
		{"500 unrelated headers", func() request {
			r := crossOrigin("GET", app)
			for i := range 500 {
				r = r.with(fmt.Sprintf("x-filler-%d", i), strings.Repeat("v", 100))
			}
			return r
		}()},
		{"no pseudo-headers at all", request{headers: [][2]string{{"origin", app}}}},
		{"an empty :authority and :path", crossOrigin("GET", app).to("", "")},
		{"an authority with only a port", crossOrigin("GET", app).to(":8080", "/v1/")},
		{"a 64 KiB path", crossOrigin("GET", app).to("api.example.com", "/v1/"+strings.Repeat("p", 64<<10))},
		{"a private network request with an odd value", preflight(app, "PUT").with("access-control-request-private-network", "TRUE, true")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startPlugin(t, withSettings(`"allowPrivateNetwork": true`), withRouteName("admin-route"))
			x := p.send(c.req)
			if lr := x.local(); lr != nil {
				if lr.StatusCode != 204 && lr.StatusCode != 403 {
					t.Errorf("local answer %d, want 204 or 403\n%s", lr.StatusCode, dump(lr.Headers))
				}
			} else {
				x.respond(200, corsUpstream...)
			}
			if n, err := p.host.GetCounterMetric("cors.internal_error"); err != nil || n != 0 {
				t.Errorf("cors.internal_error = %d (%v), want 0\n%s", n, err, p.logDump())
			}
		})
	}
}

// Odd upstream responses must not trap the module either.
func TestHostileResponsesDoNotTrap(t *testing.T) {
	cases := []struct {
		name    string
		headers [][2]string
	}{
		{"no headers but :status", nil},
		{"1000 vary lines", func() [][2]string {
			var h [][2]string
			for i := range 1000 {
				h = append(h, [2]string{"vary", fmt.Sprintf("x-v%d", i)})
			}
			return h
		}()},
		{"a 64 KiB vary", [][2]string{{"vary", strings.Repeat("a,", 32<<10)}}},
		{"vary *", [][2]string{{"vary", "*"}}},
		{"an empty vary", [][2]string{{"vary", ""}}},
		{"100 access-control-allow-origin lines", func() [][2]string {
			var h [][2]string
			for range 100 {
				h = append(h, [2]string{"access-control-allow-origin", "*"})
			}
			return h
		}()},
		{"header values with NUL and non-UTF-8 bytes", [][2]string{{"x-odd", "a\x00b\xff"}, {"vary", "\xfe"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startPlugin(t, exampleConfig)
			x := p.send(crossOrigin("GET", app))
			x.expectContinues()
			got := x.respond(200, c.headers...)
			expectHeaders(t, "the response after the plugin", got, header("access-control-allow-origin", app))
			p.expectCounters("after the exchange", counts{"cors.actual.allowed": 1})
		})
	}
}

// Streams left at any point (before their request headers, after them, or
// after their response headers) do not disturb the next ones. (The emulator
// ends a stream with proxy_on_log, which the module does not export, and
// never runs proxy_on_delete, so a stream's end is out of its reach: hardening
// and cpphost test it.)
func TestStreamsLeftAtAnyPoint(t *testing.T) {
	p := startPlugin(t, exampleConfig)
	p.guard("proxy_on_context_create for a stream", func() { p.host.InitializeHttpContext() })

	p.send(crossOrigin("GET", app))
	p.send(preflight(app, "PUT"))
	x := p.send(crossOrigin("GET", app))
	x.respond(200, plainUpstream...)
	p.expectCounters("after the streams", counts{"cors.preflight.allowed": 1, "cors.actual.allowed": 1})
}

// Many streams through one plugin context: nothing leaks into the answers,
// the counters add up, and the module keeps up.
func TestManyStreams(t *testing.T) {
	const n = 2000
	p := startPlugin(t, exampleConfig)
	start := time.Now()
	for i := range n {
		origin := fmt.Sprintf("http://localhost:%d", 1000+i)
		if i%2 == 0 {
			x := p.send(preflight(origin, "PUT").requesting("content-type"))
			h := x.expectAnswered(204)
			if i%200 == 0 {
				expectHeaders(t, fmt.Sprintf("preflight %d", i), h,
					preflightAnswer{origin: origin, method: "PUT", headers: []string{"content-type"}, credentials: true, maxAge: "600"}.checks()...)
			}
			continue
		}
		x := p.send(crossOrigin("GET", origin))
		got := x.respond(200, plainUpstream...)
		if i%200 == 1 {
			expectHeaders(t, fmt.Sprintf("response %d", i), got,
				actualAnswer{origin: origin, credentials: true, expose: []string{"x-request-id"}}.checks()...)
		}
		if t.Failed() {
			t.Fatalf("stopping after stream %d", i)
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d streams in %v (%v each)", n, elapsed.Round(time.Millisecond), (elapsed / n).Round(time.Microsecond))
	p.expectCounters(fmt.Sprintf("after %d streams", n), counts{"cors.preflight.allowed": n / 2, "cors.actual.allowed": n / 2})
}
