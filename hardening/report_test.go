//go:build !wasip1

package hardening

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmhost"
)

// reportReq is a request to path with Origin and extra pairs.
func reportReq(method, path, origin string, extra ...string) wasmhost.Headers {
	h := wasmhost.NewHeaders(":method", method, ":scheme", "https", ":authority", "api.example.com", ":path", path, "origin", origin)
	return append(h, wasmhost.NewHeaders(extra...)...)
}

// answer is an upstream answer: status, then name-value pairs.
func answer(status int, kv ...string) wasmhost.Headers {
	return append(wasmhost.NewHeaders(":status", strconv.Itoa(status), "content-type", "text/plain"), wasmhost.NewHeaders(kv...)...)
}

// reportCases run under testmodule.ReportPolicy: each class, from upstreams
// that reflect any origin, answer *, a fixed origin, nothing, credentials,
// other methods or headers.
var reportCases = []struct {
	name      string
	req, resp wasmhost.Headers
	metrics   map[string]int64
	level     wasmhost.LogLevel
	line      string // the comparison's log line; "" for none
}{
	{
		name: "an upstream reflecting an origin the admin policy denies would break",
		req:  reportReq("GET", "/admin/users", evil), resp: answer(200, "access-control-allow-origin", evil),
		metrics: map[string]int64{"cors.actual.denied": 1, "cors.report.would_deny": 1, "cors.report.would_break": 1,
			"cors.policy.admin.actual.denied": 1, "cors.policy.admin.report.would_break": 1},
		level: wasmhost.LogInfo,
		line:  `cors: report would_break actual from origin "https://evil.example" method "GET" headers "" credentialed false path "/admin/users" (policy admin): upstream allowed origin; policy: origin not allowed`,
	},
	{
		name: "an upstream answering * to an origin the default policy denies would break",
		req:  reportReq("GET", "/v1/things", evil), resp: answer(200, "access-control-allow-origin", "*"),
		metrics: map[string]int64{"cors.actual.denied": 1, "cors.report.would_deny": 1, "cors.report.would_break": 1,
			"cors.policy.default.actual.denied": 1, "cors.policy.default.report.would_break": 1},
		level: wasmhost.LogInfo,
		line:  `cors: report would_break actual from origin "https://evil.example" method "GET" headers "" credentialed false path "/v1/things" (policy default): upstream allowed origin; policy: origin not allowed`,
	},
	{
		name: "an upstream answering a fixed origin the policy allows agrees",
		req:  reportReq("GET", "/v1/things", app), resp: answer(200, "access-control-allow-origin", app),
		metrics: map[string]int64{"cors.actual.allowed": 1, "cors.report.agree": 1,
			"cors.policy.default.actual.allowed": 1, "cors.policy.default.report.agree": 1},
	},
	{
		name: "an upstream answering a fixed other origin to an allowed origin would open",
		req:  reportReq("GET", "/v1/things", app), resp: answer(200, "access-control-allow-origin", "https://other.example"),
		metrics: map[string]int64{"cors.actual.allowed": 1, "cors.report.would_open": 1,
			"cors.policy.default.actual.allowed": 1, "cors.policy.default.report.would_open": 1},
		level: wasmhost.LogDebug,
		line:  `cors: report would_open actual from origin "https://app.example.com" method "GET" headers "" credentialed false path "/v1/things" (policy default): upstream: origin not allowed; policy allowed`,
	},
	{
		name: "an upstream without CORS headers to an allowed origin would open",
		req:  reportReq("GET", "/v1/things", app), resp: answer(404),
		metrics: map[string]int64{"cors.actual.allowed": 1, "cors.report.would_open": 1,
			"cors.policy.default.actual.allowed": 1, "cors.policy.default.report.would_open": 1},
		level: wasmhost.LogDebug,
		line:  `cors: report would_open actual from origin "https://app.example.com" method "GET" headers "" credentialed false path "/v1/things" (policy default): upstream: no access-control-allow-origin; policy allowed`,
	},
	{
		name: "an upstream without CORS headers to a denied origin agrees",
		req:  reportReq("GET", "/v1/things", evil), resp: answer(200),
		metrics: map[string]int64{"cors.actual.denied": 1, "cors.report.would_deny": 1, "cors.report.agree": 1,
			"cors.policy.default.actual.denied": 1, "cors.policy.default.report.agree": 1},
	},
	{
		name: "an upstream allowing credentials the default policy does not would break",
		req:  reportReq("GET", "/v1/things", app, "cookie", "session=1"), resp: answer(200, "access-control-allow-origin", app, "access-control-allow-credentials", "true"),
		metrics: map[string]int64{"cors.actual.allowed": 1, "cors.report.would_break": 1,
			"cors.policy.default.actual.allowed": 1, "cors.policy.default.report.would_break": 1},
		level: wasmhost.LogInfo,
		line:  `cors: report would_break actual from origin "https://app.example.com" method "GET" headers "" credentialed true path "/v1/things" (policy default): upstream allowed credentials; policy: credentials not allowed`,
	},
	{
		name: "an upstream allowing another method in a preflight would break",
		req:  reportReq("OPTIONS", "/admin/users", admin, "access-control-request-method", "PATCH"),
		resp: answer(204, "access-control-allow-origin", admin, "access-control-allow-methods", "GET, PATCH"),
		metrics: map[string]int64{"cors.preflight.denied": 1, "cors.report.would_deny": 1, "cors.report.would_break": 1,
			"cors.policy.admin.preflight.denied": 1, "cors.policy.admin.report.would_break": 1},
		level: wasmhost.LogInfo,
		line:  `cors: report would_break preflight from origin "https://admin.example.com" method "PATCH" headers "" credentialed false path "/admin/users" (policy admin): upstream allowed method "PATCH"; policy: method not allowed`,
	},
	{
		name: "an upstream allowing another header in a preflight would break",
		req:  reportReq("OPTIONS", "/v1/things", app, "access-control-request-method", "PUT", "access-control-request-headers", "content-type,x-trace"),
		resp: answer(204, "access-control-allow-origin", app, "access-control-allow-methods", "PUT", "access-control-allow-headers", "content-type, x-trace"),
		metrics: map[string]int64{"cors.preflight.denied": 1, "cors.report.would_deny": 1, "cors.report.would_break": 1,
			"cors.policy.default.preflight.denied": 1, "cors.policy.default.report.would_break": 1},
		level: wasmhost.LogInfo,
		line:  `cors: report would_break preflight from origin "https://app.example.com" method "PUT" headers "content-type,x-trace" credentialed false path "/v1/things" (policy default): upstream allowed header "x-trace"; policy: header not allowed`,
	},
	{
		name: "a preflight both allow agrees",
		req:  reportReq("OPTIONS", "/v1/things", app, "access-control-request-method", "PUT", "access-control-request-headers", "content-type"),
		resp: answer(204, "access-control-allow-origin", "*", "access-control-allow-methods", "*", "access-control-allow-headers", "*"),
		metrics: map[string]int64{"cors.preflight.allowed": 1, "cors.report.agree": 1,
			"cors.policy.default.preflight.allowed": 1, "cors.policy.default.report.agree": 1},
	},
}

func TestReportModeComparesWithTheUpstream(t *testing.T) {
	vm, p := startPlugin(t, releaseWasm(t), wasmhost.Options{}, testmodule.ReportPolicy)
	for _, c := range reportCases {
		t.Run(c.name, func(t *testing.T) {
			before := vm.Metrics()
			x := do(t, p, c.req, c.resp)
			if x.LocalReply != nil {
				t.Errorf("report mode answered locally: %v", x.LocalReply)
			}
			if !slices.Equal(x.Response, c.resp) {
				t.Errorf("report mode changed the response:\n got %v\nwant %v", x.Response, c.resp)
			}
			wantMetrics(t, metricsDelta(before, vm.Metrics()), c.metrics)
			var lines []wasmhost.LogLine
			for _, l := range x.Logs {
				if strings.HasPrefix(l.Message, "cors: report would_") {
					lines = append(lines, l)
				}
			}
			switch {
			case c.line == "" && len(lines) > 0:
				t.Errorf("logged %v, want no comparison line", lines)
			case c.line != "" && (len(lines) != 1 || lines[0].Message != c.line || lines[0].Level != c.level):
				t.Errorf("logged %v\nwant %s: %s", lines, c.level, c.line)
			}
		})
	}
	noTrap(t, vm)
}

// In report mode too, a warm exchange allocates nothing: the comparison
// reads the response into the stream's arena, and its log line goes
// through the root's reused buffer.
func TestReportModeAllocatesNothing(t *testing.T) {
	vm, p := startPlugin(t, faultWasm(t), wasmhost.Options{Profile: wasmhost.Envoy139}, testmodule.ReportPolicy)
	mallocs := func() uint64 { return mallocsSoFar(t, p) }
	for _, c := range reportCases {
		for range 300 {
			do(t, p, c.req, c.resp)
		}
	}
	mallocs()
	const n = 1000
	for _, c := range reportCases {
		before := mallocs()
		for range n {
			if _, err := p.Do(c.req, c.resp); err != nil {
				t.Fatal(err)
			}
		}
		if got := mallocs() - before; got != 0 {
			t.Errorf("%s: %d heap allocations in %d exchanges, want none", c.name, got, n)
		}
	}
	noTrap(t, vm)
}
