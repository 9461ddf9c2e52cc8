package filter

import (
	"slices"
	"strings"
	"testing"
)

// exchange runs one request through cfg the way the plugin does and renders
// what reaches the browser: "STATUS | name: value | ..." with headers sorted.
// A preflight answered locally renders the local response; anything else is
// forwarded to an upstream answering upstream (":status" included).
func exchange(t *testing.T, cfg *Config, request, upstream [][2]string) string {
	t.Helper()
	var r Request
	for _, h := range request {
		r.AddHeader(h[0], h[1])
	}
	d := cfg.Evaluate(&r)
	if status, hdrs, ok := d.LocalResponse(nil); ok {
		return render(status, hdrs)
	}
	out, changed := d.RewriteResponse(upstream, nil)
	if !changed {
		out = upstream
	}
	status := 0
	var rest [][2]string
	for _, h := range out {
		if h[0] == ":status" {
			status = atoi(h[1])
			continue
		}
		rest = append(rest, h)
	}
	return render(status, rest)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func render(status int, hdrs [][2]string) string {
	lines := make([]string, 0, len(hdrs))
	for _, h := range hdrs {
		lines = append(lines, h[0]+": "+h[1])
	}
	slices.Sort(lines)
	return strings.Join(append([]string{itoa(status)}, lines...), " | ")
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

func mustParse(t testing.TB, config string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(config))
	if err != nil {
		t.Fatalf("Parse(%s): %v", config, err)
	}
	return cfg
}

// req builds request headers: method, path, then name/value pairs.
func req(method string, pairs ...string) [][2]string {
	h := [][2]string{{":method", method}, {":authority", "api.example.com"}, {":path", "/things"}}
	for i := 0; i+1 < len(pairs); i += 2 {
		h = append(h, [2]string{pairs[i], pairs[i+1]})
	}
	return h
}

func preflight(origin, method string, pairs ...string) [][2]string {
	return req("OPTIONS", append([]string{"origin", origin, "access-control-request-method", method}, pairs...)...)
}

var okUpstream = [][2]string{{":status", "200"}, {"content-type", "application/json"}}

const mainConfig = `{
  "allowOrigins": ["https://app.example.com", "https://*.example.com", "http://localhost:*"],
  "allowOriginRegexes": ["https://pr-[0-9]+\\.preview\\.example\\.org"],
  "allowMethods": ["GET", "POST", "PUT", "DELETE"],
  "allowHeaders": ["content-type", "authorization"],
  "exposeHeaders": ["x-request-id"],
  "allowCredentials": true,
  "maxAge": 600
}`

const preflightOK = "204 | access-control-allow-credentials: true | access-control-allow-headers: content-type, authorization | " +
	"access-control-allow-methods: GET, POST, PUT, DELETE | access-control-allow-origin: %s | access-control-max-age: 600 | " +
	"vary: origin, access-control-request-method, access-control-request-headers"

const preflightDenied = "403 | vary: origin, access-control-request-method, access-control-request-headers"

func TestPreflight(t *testing.T) {
	cfg := mustParse(t, mainConfig)
	allowed := func(origin string) string { return strings.Replace(preflightOK, "%s", origin, 1) }
	tests := []struct {
		name    string
		request [][2]string
		want    string
	}{
		{"an exact allowed origin is answered with 204 and every CORS header",
			preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type"),
			allowed("https://app.example.com")},
		{"a subdomain wildcard allows one label",
			preflight("https://a.example.com", "PUT", "access-control-request-headers", "content-type"),
			allowed("https://a.example.com")},
		{"a subdomain wildcard allows several labels",
			preflight("https://a.b.example.com", "PUT", "access-control-request-headers", "content-type"),
			allowed("https://a.b.example.com")},
		{"a port wildcard allows any port",
			preflight("http://localhost:3000", "PUT", "access-control-request-headers", "content-type"),
			allowed("http://localhost:3000")},
		{"a port wildcard allows the default port",
			preflight("http://localhost", "PUT", "access-control-request-headers", "content-type"),
			allowed("http://localhost")},
		{"a regex allows a whole origin it matches",
			preflight("https://pr-42.preview.example.org", "PUT", "access-control-request-headers", "content-type"),
			allowed("https://pr-42.preview.example.org")},
		{"without requested headers no allow-headers is sent",
			preflight("https://app.example.com", "DELETE"),
			"204 | access-control-allow-credentials: true | access-control-allow-methods: GET, POST, PUT, DELETE | " +
				"access-control-allow-origin: https://app.example.com | access-control-max-age: 600 | " +
				"vary: origin, access-control-request-method, access-control-request-headers"},
		{"requested headers match in any letter case, with spaces and empty elements",
			preflight("https://app.example.com", "PUT", "access-control-request-headers", " Content-Type ,, AUTHORIZATION,"),
			allowed("https://app.example.com")},
		{"requested headers split over several lines are all checked",
			preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type",
				"access-control-request-headers", "authorization"),
			allowed("https://app.example.com")},
		{"a header on a second line that is not allowed is denied",
			preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type",
				"access-control-request-headers", "x-secret"),
			preflightDenied},
		{"a safelisted method passes though not listed",
			preflight("https://app.example.com", "HEAD", "access-control-request-headers", "content-type"),
			allowed("https://app.example.com")},
		{"the apex of a subdomain wildcard is denied",
			preflight("https://example.com", "PUT"), preflightDenied},
		{"a suffix look-alike is denied",
			preflight("https://app.example.com.evil.net", "PUT"), preflightDenied},
		{"a prefix look-alike is denied",
			preflight("https://evilexample.com", "PUT"), preflightDenied},
		{"a scheme downgrade is denied",
			preflight("http://app.example.com", "PUT"), preflightDenied},
		{"a port swap is denied",
			preflight("https://app.example.com:8443", "PUT"), preflightDenied},
		{"an upper-case origin is invalid and denied",
			preflight("https://APP.example.com", "PUT"), preflightDenied},
		{"an origin with a trailing slash is invalid and denied",
			preflight("https://app.example.com/", "PUT"), preflightDenied},
		{"an origin with userinfo is invalid and denied",
			preflight("https://user@app.example.com", "PUT"), preflightDenied},
		{"an origin with the default port written out is invalid and denied",
			preflight("https://app.example.com:443", "PUT"), preflightDenied},
		{"a regex does not match a longer origin",
			preflight("https://pr-42.preview.example.org.evil.net", "PUT"), preflightDenied},
		{"the null origin is denied unless listed",
			preflight("null", "PUT"), preflightDenied},
		{"a method not listed is denied",
			preflight("https://app.example.com", "PATCH"), preflightDenied},
		{"methods compare case-sensitively",
			preflight("https://app.example.com", "put"), preflightDenied},
		{"a list of methods is denied, never echoed",
			preflight("https://app.example.com", "GET, DELETE"), preflightDenied},
		{"a header not listed is denied",
			preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type, x-custom"),
			preflightDenied},
		{"a malformed header list is denied",
			preflight("https://app.example.com", "PUT", "access-control-request-headers", "content type"),
			preflightDenied},
		{"a huge header list is denied",
			preflight("https://app.example.com", "PUT", "access-control-request-headers", strings.Repeat("content-type,", 1000)),
			preflightDenied},
		{"private network access is denied unless allowed",
			preflight("https://app.example.com", "PUT", "access-control-request-private-network", "true"),
			preflightDenied},
		{"two origin lines are invalid",
			append(preflight("https://app.example.com", "PUT"), [2]string{"origin", "https://app.example.com"}),
			preflightDenied},
		{"OPTIONS with an empty request method is an actual request",
			req("OPTIONS", "origin", "https://app.example.com", "access-control-request-method", ""),
			"200 | access-control-allow-credentials: true | access-control-allow-origin: https://app.example.com | " +
				"access-control-expose-headers: x-request-id | content-type: application/json | vary: origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exchange(t, cfg, tt.request, okUpstream); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestActualRequest(t *testing.T) {
	cfg := mustParse(t, mainConfig)
	allowed := "access-control-allow-credentials: true | access-control-allow-origin: https://app.example.com | access-control-expose-headers: x-request-id"
	tests := []struct {
		name     string
		request  [][2]string
		upstream [][2]string
		want     string
	}{
		{"an allowed origin gets the CORS headers and vary",
			req("GET", "origin", "https://app.example.com"), okUpstream,
			"200 | " + allowed + " | content-type: application/json | vary: origin"},
		{"the upstream's CORS headers are replaced, leaving exactly one allow-origin",
			req("GET", "origin", "https://app.example.com"),
			[][2]string{{":status", "200"}, {"access-control-allow-origin", "*"}, {"access-control-allow-origin", "https://x.com"},
				{"access-control-allow-methods", "GET"}, {"access-control-max-age", "99"}},
			"200 | " + allowed + " | vary: origin"},
		{"error statuses get the CORS headers too",
			req("POST", "origin", "https://app.example.com"), [][2]string{{":status", "401"}},
			"401 | " + allowed + " | vary: origin"},
		{"origin is added to vary as a line of its own, the upstream's kept",
			req("GET", "origin", "https://app.example.com"), [][2]string{{":status", "200"}, {"vary", "accept-encoding"}},
			"200 | " + allowed + " | vary: accept-encoding | vary: origin"},
		{"origin already in vary is not repeated",
			req("GET", "origin", "https://app.example.com"), [][2]string{{":status", "200"}, {"vary", "Accept-Encoding, Origin"}},
			"200 | " + allowed + " | vary: Accept-Encoding, Origin"},
		{"origin on a second vary line is not repeated",
			req("GET", "origin", "https://app.example.com"), [][2]string{{":status", "200"}, {"vary", "accept"}, {"vary", "origin"}},
			"200 | " + allowed + " | vary: accept | vary: origin"},
		{"vary: * is left alone",
			req("GET", "origin", "https://app.example.com"), [][2]string{{":status", "200"}, {"vary", "*"}},
			"200 | " + allowed + " | vary: *"},
		{"a disallowed origin gets no CORS headers, the upstream's stripped",
			req("GET", "origin", "https://evil.net"),
			[][2]string{{":status", "200"}, {"access-control-allow-origin", "https://evil.net"}, {"access-control-allow-credentials", "true"}},
			"200 | vary: origin"},
		{"an invalid origin gets no CORS headers",
			req("GET", "origin", "https://app.example.com/path"), okUpstream,
			"200 | content-type: application/json | vary: origin"},
		{"a request without origin continues with vary: origin",
			req("GET"), okUpstream,
			"200 | content-type: application/json | vary: origin"},
		{"a request without origin gets a vary: origin line without the upstream's vary being read",
			req("GET"), [][2]string{{":status", "200"}, {"vary", "Origin"}},
			"200 | vary: Origin | vary: origin"},
		{"a request without origin keeps upstream CORS headers",
			req("GET"), [][2]string{{":status", "200"}, {"access-control-allow-origin", "*"}},
			"200 | access-control-allow-origin: * | vary: origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exchange(t, cfg, tt.request, tt.upstream); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPolicyOptions(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		request  [][2]string
		upstream [][2]string
		want     string
	}{
		{"any origin answers * and needs no vary on actual requests",
			`{"allowOrigins": ["*"]}`, req("GET", "origin", "https://anyone.net"), okUpstream,
			"200 | access-control-allow-origin: * | content-type: application/json"},
		{"any origin answers * even to an invalid origin, reflecting nothing",
			`{"allowOrigins": ["*"]}`, req("GET", "origin", "https://x.net/\r\nevil"), okUpstream,
			"200 | access-control-allow-origin: * | content-type: application/json"},
		{"any origin answers * even without origin, so a cached response serves later CORS requests",
			`{"allowOrigins": ["*"], "exposeHeaders": ["x-id"]}`, req("GET"), [][2]string{{":status", "200"}, {"access-control-allow-origin", "https://x.net"}},
			"200 | access-control-allow-origin: * | access-control-expose-headers: x-id"},
		{"any origin preflight answers * and the listed methods",
			`{"allowOrigins": ["*"], "allowMethods": ["PUT"]}`, preflight("https://anyone.net", "PUT"), nil,
			"204 | access-control-allow-methods: PUT | access-control-allow-origin: * | vary: origin, access-control-request-method, access-control-request-headers"},
		{"any method allows an unusual method and answers *",
			`{"allowOrigins": ["https://a.com"], "allowMethods": ["*"]}`, preflight("https://a.com", "PURGE"), nil,
			"204 | access-control-allow-methods: * | access-control-allow-origin: https://a.com | vary: origin, access-control-request-method, access-control-request-headers"},
		{"any header allows custom headers and answers *",
			`{"allowOrigins": ["https://a.com"], "allowHeaders": ["*"]}`,
			preflight("https://a.com", "GET", "access-control-request-headers", "x-one,x-two"), nil,
			"204 | access-control-allow-headers: * | access-control-allow-origin: https://a.com | vary: origin, access-control-request-method, access-control-request-headers"},
		{"any header does not cover authorization",
			`{"allowOrigins": ["https://a.com"], "allowHeaders": ["*"]}`,
			preflight("https://a.com", "GET", "access-control-request-headers", "authorization"), nil,
			preflightDenied},
		{"any header plus authorization names authorization",
			`{"allowOrigins": ["https://a.com"], "allowHeaders": ["*", "Authorization"]}`,
			preflight("https://a.com", "GET", "access-control-request-headers", "authorization,x-one"), nil,
			"204 | access-control-allow-headers: *, authorization | access-control-allow-origin: https://a.com | vary: origin, access-control-request-method, access-control-request-headers"},
		{"private network access is granted when allowed",
			`{"allowOrigins": ["https://a.com"], "allowPrivateNetwork": true}`,
			preflight("https://a.com", "GET", "access-control-request-private-network", "true"), nil,
			"204 | access-control-allow-origin: https://a.com | access-control-allow-private-network: true | " +
				"vary: origin, access-control-request-method, access-control-request-headers, access-control-request-private-network"},
		{"preflightStatus 200 is used",
			`{"allowOrigins": ["https://a.com"], "preflightStatus": 200}`, preflight("https://a.com", "GET"), nil,
			"200 | access-control-allow-origin: https://a.com | vary: origin, access-control-request-method, access-control-request-headers"},
		{"maxAge 0 is sent to disable caching",
			`{"allowOrigins": ["https://a.com"], "maxAge": 0}`, preflight("https://a.com", "GET"), nil,
			"204 | access-control-allow-origin: https://a.com | access-control-max-age: 0 | vary: origin, access-control-request-method, access-control-request-headers"},
		{"the null origin is allowed when listed",
			`{"allowOrigins": ["null"]}`, req("GET", "origin", "null"), okUpstream,
			"200 | access-control-allow-origin: null | content-type: application/json | vary: origin"},
		{"a regex never matches null",
			`{"allowOrigins": ["https://a.com"], "allowOriginRegexes": [".*"]}`, req("GET", "origin", "null"), okUpstream,
			"200 | content-type: application/json | vary: origin"},
		{"an unmatched preflight is forwarded untouched when configured",
			`{"allowOrigins": ["https://a.com"], "unmatchedPreflights": "forward"}`,
			preflight("https://evil.net", "GET"), [][2]string{{":status", "200"}, {"access-control-allow-origin", "https://evil.net"}},
			"200 | access-control-allow-origin: https://evil.net"},
		{"patterns are normalized: case and default port",
			`{"allowOrigins": ["HTTPS://App.Example.COM:443"]}`, req("GET", "origin", "https://app.example.com"), okUpstream,
			"200 | access-control-allow-origin: https://app.example.com | content-type: application/json | vary: origin"},
		{"IPv6 patterns are normalized",
			`{"allowOrigins": ["http://[0:0::1]:8080"]}`, req("GET", "origin", "http://[::1]:8080"), okUpstream,
			"200 | access-control-allow-origin: http://[::1]:8080 | content-type: application/json | vary: origin"},
		{"report mode answers nothing and changes nothing",
			`{"allowOrigins": ["https://a.com"], "mode": "report"}`, preflight("https://evil.net", "GET"), okUpstream,
			"200 | content-type: application/json"},
		{"report mode leaves actual responses alone",
			`{"allowOrigins": ["https://a.com"], "mode": "report"}`, req("GET", "origin", "https://a.com"), okUpstream,
			"200 | content-type: application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, tt.config)
			if got := exchange(t, cfg, tt.request, tt.upstream); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

const policiesConfig = `{
  "allowOrigins": ["https://app.example.com"],
  "policies": [
    {"match": {"hosts": ["admin.example.com", "*.internal.example.com"]}, "allowOrigins": ["https://admin-ui.example.com"]},
    {"match": {"pathPrefixes": ["/public/"]}, "allowOrigins": ["*"]},
    {"match": {"routeNames": ["partner-route"], "hosts": ["api.example.com"]}, "allowOrigins": ["https://partner.net"]}
  ]
}`

func TestPolicySelection(t *testing.T) {
	cfg := mustParse(t, policiesConfig)
	if !cfg.NeedsRouteName() || !cfg.NeedsHeadersWithoutOrigin() {
		t.Fatalf("NeedsRouteName=%v NeedsHeadersWithoutOrigin=%v, want both true", cfg.NeedsRouteName(), cfg.NeedsHeadersWithoutOrigin())
	}
	tests := []struct {
		name                   string
		authority, path, route string
		origin, wantPolicy     string
		wantAllowed            bool
	}{
		{"a host match selects its policy", "admin.example.com", "/", "", "https://admin-ui.example.com", "policies[0]", true},
		{"hosts compare case-insensitively and ignore the port", "ADMIN.example.com:8443", "/", "", "https://admin-ui.example.com", "policies[0]", true},
		{"a host suffix matches a subdomain", "a.internal.example.com", "/", "", "https://admin-ui.example.com", "policies[0]", true},
		{"a host suffix does not match its apex", "internal.example.com", "/", "", "https://app.example.com", "default", true},
		{"a policy does not inherit the default's origins", "admin.example.com", "/", "", "https://app.example.com", "policies[0]", false},
		{"a path prefix selects its policy", "api.example.com", "/public/x", "", "https://anyone.net", "policies[1]", true},
		{"all criteria of a match must hold", "api.example.com", "/x", "other-route", "https://partner.net", "default", false},
		{"a route name selects its policy", "api.example.com", "/x", "partner-route", "https://partner.net", "policies[2]", true},
		{"the default policy applies when none matches", "api.example.com", "/x", "", "https://app.example.com", "default", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Request{Method: "GET", Authority: tt.authority, Path: tt.path, RouteName: tt.route, Origin: tt.origin, HasOrigin: true}
			d := cfg.Evaluate(&r)
			if d.Policy() != tt.wantPolicy || d.Allowed != tt.wantAllowed {
				t.Errorf("policy %q allowed %v (%v), want %q %v", d.Policy(), d.Allowed, d.Reason, tt.wantPolicy, tt.wantAllowed)
			}
		})
	}
}

func TestUncoveredRequestsPassUntouched(t *testing.T) {
	cfg := mustParse(t, `{"policies": [{"match": {"hosts": ["api.example.com"]}, "allowOrigins": ["https://a.com"]}]}`)
	upstream := [][2]string{{":status", "200"}, {"access-control-allow-origin", "*"}}
	for _, request := range [][][2]string{
		{{":method", "GET"}, {":authority", "other.example.com"}, {"origin", "https://a.com"}},
		{{":method", "OPTIONS"}, {":authority", "other.example.com"}, {"origin", "https://a.com"}, {"access-control-request-method", "PUT"}},
		{{":method", "GET"}, {":authority", "other.example.com"}},
	} {
		if got, want := exchange(t, cfg, request, upstream), "200 | access-control-allow-origin: *"; got != want {
			t.Errorf("%v: got %s, want %s", request, got, want)
		}
	}
}

func TestCounters(t *testing.T) {
	enforce := mustParse(t, `{"allowOrigins": ["https://a.com"]}`)
	report := mustParse(t, `{"allowOrigins": ["https://a.com"], "mode": "report"}`)
	tests := []struct {
		name    string
		cfg     *Config
		request [][2]string
		want    []Counter
	}{
		{"an allowed preflight", enforce, preflight("https://a.com", "GET"), []Counter{CounterPreflightAllowed}},
		{"a denied preflight", enforce, preflight("https://b.com", "GET"), []Counter{CounterPreflightDenied}},
		{"an allowed actual request", enforce, req("GET", "origin", "https://a.com"), []Counter{CounterActualAllowed}},
		{"an invalid origin", enforce, req("GET", "origin", "https://A.com"), []Counter{CounterActualDenied, CounterOriginInvalid}},
		{"a request without origin", enforce, req("GET"), nil},
		{"a denial in report mode", report, preflight("https://b.com", "GET"), []Counter{CounterPreflightDenied, CounterReportWouldDeny}},
		{"an allowed request in report mode", report, req("GET", "origin", "https://a.com"), []Counter{CounterActualAllowed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			for _, h := range tt.request {
				r.AddHeader(h[0], h[1])
			}
			d := tt.cfg.Evaluate(&r)
			if got := d.Counters(nil); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLogLine(t *testing.T) {
	cfg := mustParse(t, `{"allowOrigins": ["https://a.com"], "allowHeaders": ["x-a"]}`)
	tests := []struct {
		name    string
		request [][2]string
		want    string
	}{
		{"an allowed request logs nothing", preflight("https://a.com", "GET"), ""},
		{"a disallowed origin is named", req("GET", "origin", "https://b.com"),
			`cors: denied actual from origin "https://b.com" (policy default): origin not allowed`},
		{"a header denial names the header", preflight("https://a.com", "GET", "access-control-request-headers", "x-b"),
			`cors: denied preflight from origin "https://a.com" (policy default): header not allowed "x-b"`},
		{"control characters are quoted", req("GET", "origin", "https://b.com\nforged"),
			`cors: denied actual from origin "https://b.com\nforged" (policy default): invalid origin`},
		{"a huge origin is cut, its length kept", req("GET", "origin", "https://"+strings.Repeat("a", 1<<20)),
			`cors: denied actual from origin "https://` + strings.Repeat("a", 120) + `"... (1048584 bytes) (policy default): invalid origin`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			for _, h := range tt.request {
				r.AddHeader(h[0], h[1])
			}
			d := cfg.Evaluate(&r)
			if got := d.LogLine(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	cfg := mustParse(t, mainConfig)
	requests := map[string][][2]string{
		"no origin":         req("GET"),
		"allowed actual":    req("GET", "origin", "https://a.example.com"),
		"denied actual":     req("GET", "origin", "https://evil.net"),
		"allowed preflight": preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type,authorization"),
		"regex preflight":   preflight("https://pr-1.preview.example.org", "PUT"),
		"denied preflight":  preflight("https://app.example.com", "PATCH"),
	}
	for name, request := range requests {
		var r Request
		r.RequestHeaders = make([]string, 0, 4)
		hdrs := make([][2]string, 0, 16)
		counters := make([]Counter, 0, 4)
		allocs := testing.AllocsPerRun(100, func() {
			r.Reset()
			for _, h := range request {
				r.AddHeader(h[0], h[1])
			}
			d := cfg.Evaluate(&r)
			_, hdrs, _ = d.LocalResponse(hdrs[:0])
			hdrs, _ = d.RewriteResponse(okUpstream, hdrs[:0])
			counters = d.Counters(counters[:0])
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per request, want 0", name, allocs)
		}
	}
}
