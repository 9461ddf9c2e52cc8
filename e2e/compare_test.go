package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/testmodule"
)

// comparisonLogs returns the report comparison lines logged at level
// ("info" or "debug").
func (p *plugin) comparisonLogs(level string) []string {
	logs := p.host.GetInfoLogs()
	if level == "debug" {
		logs = p.host.GetDebugLogs()
	}
	var out []string
	for _, l := range logs {
		if strings.HasPrefix(l, "cors: report would_") {
			out = append(out, l)
		}
	}
	return out
}

// perPolicy returns the value of a per-policy counter.
func (p *plugin) perPolicy(name string) uint64 {
	p.t.Helper()
	v, err := p.host.GetCounterMetric("cors.policy." + name)
	if err != nil {
		p.t.Fatalf("cors.policy.%s: %v", name, err)
	}
	return v
}

// The "Done when": a report-mode plugin in front of an upstream
// that allows an origin the policy denies counts would_break and logs it,
// at info level, with the policy's name.
func TestReportModeCountsAndLogsWhatWouldBreak(t *testing.T) {
	p := startPlugin(t, testmodule.ReportPolicy)
	x := p.send(crossOrigin("GET", "https://partner.example").to("api.example.com", "/admin/users"))
	got := x.respond(200, hdr("access-control-allow-origin", "https://partner.example"))
	expectHeaders(t, "the upstream's answer", got, header("access-control-allow-origin", "https://partner.example"))
	p.expectCounters("after the request", counts{"cors.actual.denied": 1, "cors.report.would_deny": 1, "cors.report.would_break": 1})
	if v := p.perPolicy("admin.report.would_break"); v != 1 {
		t.Errorf("cors.policy.admin.report.would_break = %d, want 1", v)
	}
	if v := p.perPolicy("admin.actual.denied"); v != 1 {
		t.Errorf("cors.policy.admin.actual.denied = %d, want 1", v)
	}
	want := []string{`cors: report would_break actual from origin "https://partner.example" method "GET" headers "" credentialed false path "/admin/users" (policy admin): upstream allowed origin; policy: origin not allowed`}
	if got := p.comparisonLogs("info"); !slices.Equal(got, want) {
		t.Errorf("info lines %q\nwant %q", got, want)
	}
}

// Every class, from upstreams that reflect any origin, answer "*", a fixed
// origin, nothing, credentials, other methods or headers; the counters,
// global and per policy, and the lines.
func TestReportModeClassifiesEveryAnswer(t *testing.T) {
	const admin = "https://admin.example.com"
	cases := []struct {
		name     string
		req      request
		upstream [][2]string
		class    string // agree, would_break, would_open
		policy   string // metric segment
		level    string
		line     string
	}{
		{"an upstream reflecting an origin the policy denies", crossOrigin("GET", "https://evil.example"), hdrs("access-control-allow-origin", "https://evil.example"),
			"would_break", "default", "info", `cors: report would_break actual from origin "https://evil.example" method "GET" headers "" credentialed false path "/items?page=2" (policy default): upstream allowed origin; policy: origin not allowed`},
		{"an upstream answering * to an origin the policy allows", crossOrigin("GET", app), hdrs("access-control-allow-origin", "*"), "agree", "default", "", ""},
		{"an upstream answering a fixed other origin", crossOrigin("GET", app), hdrs("access-control-allow-origin", admin),
			"would_open", "default", "debug", `cors: report would_open actual from origin "https://app.example.com" method "GET" headers "" credentialed false path "/items?page=2" (policy default): upstream: origin not allowed; policy allowed`},
		{"an upstream omitting the headers", crossOrigin("GET", app), hdrs("content-type", "text/plain"),
			"would_open", "default", "debug", `cors: report would_open actual from origin "https://app.example.com" method "GET" headers "" credentialed false path "/items?page=2" (policy default): upstream: no access-control-allow-origin; policy allowed`},
		{"an upstream allowing credentials the policy does not", crossOrigin("GET", app).with("cookie", "s=1"), hdrs("access-control-allow-origin", app, "access-control-allow-credentials", "true"),
			"would_break", "default", "info", `cors: report would_break actual from origin "https://app.example.com" method "GET" headers "" credentialed true path "/items?page=2" (policy default): upstream allowed credentials; policy: credentials not allowed`},
		{"an upstream allowing another method", preflight(admin, "PATCH").to("api.example.com", "/admin/x"), hdrs("access-control-allow-origin", admin, "access-control-allow-methods", "GET, PATCH"),
			"would_break", "admin", "info", `cors: report would_break preflight from origin "https://admin.example.com" method "PATCH" headers "" credentialed false path "/admin/x" (policy admin): upstream allowed method "PATCH"; policy: method not allowed`},
		{"an upstream allowing another header", preflight(app, "PUT").requesting("x-trace"), hdrs("access-control-allow-origin", app, "access-control-allow-methods", "PUT", "access-control-allow-headers", "x-trace"),
			"would_break", "default", "info", `cors: report would_break preflight from origin "https://app.example.com" method "PUT" headers "x-trace" credentialed false path "/items?page=2" (policy default): upstream allowed header "x-trace"; policy: header not allowed`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startPlugin(t, testmodule.ReportPolicy)
			x := p.send(c.req)
			x.respond(200, c.upstream...)
			if v, err := p.host.GetCounterMetric("cors.report." + c.class); err != nil || v != 1 {
				t.Errorf("cors.report.%s = %d (%v), want 1", c.class, v, err)
			}
			if v := p.perPolicy(c.policy + ".report." + c.class); v != 1 {
				t.Errorf("cors.policy.%s.report.%s = %d, want 1", c.policy, c.class, v)
			}
			for _, level := range []string{"info", "debug"} {
				var want []string
				if level == c.level {
					want = []string{c.line}
				}
				if got := p.comparisonLogs(level); !slices.Equal(got, want) {
					t.Errorf("%s lines %q\nwant %q", level, got, want)
				}
			}
		})
	}
}

func hdrs(kv ...string) [][2]string {
	var out [][2]string
	for i := 0; i < len(kv); i += 2 {
		out = append(out, hdr(kv[i], kv[i+1]))
	}
	return out
}
