//go:build !wasip1

package cpphost

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var updateRecording = flag.Bool("cpphost.update", false, "rewrite cmd/corsctl/testdata/report/from-module/ from a pwhost run")

// partner is allowed by the upstreams of these tests (they reflect any
// origin) and by no policy of testdata/report-named.json.
const partner = "https://partner.example"

// to sets the request's :path.
func to(h headers, path string) headers {
	out := slices.Clone(h)
	for i := range out {
		if out[i][0] == ":path" {
			out[i][1] = path
		}
	}
	return out
}

// reflecting is an upstream answer that reflects origin, with the pairs kv.
func reflecting(origin string, kv ...string) *response {
	return &response{Status: 200, Headers: headers{{"access-control-allow-origin", origin}}.with(kv...)}
}

// reportExchange is one exchange of a report-mode run and the comparison
// line it must log ("" for agree).
type reportExchange struct {
	x     exchange
	level string
	line  string
}

// reportRun is the report-mode run of the tests under
// testdata/report-named.json: every class, from upstreams that reflect any
// origin, answer "*", a fixed origin, nothing, credentials, other methods
// or headers.
var reportRun = []reportExchange{
	{x: exchange{Name: "reflect any origin, admin policy denies", Request: to(actual(partner), "/admin/users"), Response: reflecting(partner)},
		level: "info", line: `cors: report would_break actual from origin "https://partner.example" method "GET" headers "" credentialed false path "/admin/users" (policy admin): upstream allowed origin; policy: origin not allowed`},
	{x: exchange{Name: "answer *, default policy denies", Request: actual(evil), Response: upstream(corsUpstream)},
		level: "info", line: `cors: report would_break actual from origin "https://evil.example" method "GET" headers "" credentialed false path "/v1/things" (policy default): upstream allowed origin; policy: origin not allowed`},
	{x: exchange{Name: "fixed origin, both allow", Request: actual(app), Response: reflecting(app)}},
	{x: exchange{Name: "fixed other origin, policy allows", Request: actual(app), Response: reflecting(admin)},
		level: "debug", line: `cors: report would_open actual from origin "https://app.example.com" method "GET" headers "" credentialed false path "/v1/things" (policy default): upstream: origin not allowed; policy allowed`},
	{x: exchange{Name: "no CORS headers, policy allows", Request: actual(app), Response: upstream(plainUpstream)},
		level: "debug", line: `cors: report would_open actual from origin "https://app.example.com" method "GET" headers "" credentialed false path "/v1/things" (policy default): upstream: no access-control-allow-origin; policy allowed`},
	{x: exchange{Name: "no CORS headers, policy denies", Request: actual(evil), Response: upstream(plainUpstream)}},
	{x: exchange{Name: "upstream allows credentials, default policy does not", Request: actual(app, "cookie", "s=1"), Response: reflecting(app, "access-control-allow-credentials", "true")},
		level: "info", line: `cors: report would_break actual from origin "https://app.example.com" method "GET" headers "" credentialed true path "/v1/things" (policy default): upstream allowed credentials; policy: credentials not allowed`},
	{x: exchange{Name: "credentials both allow", Request: to(actual(admin, "authorization", "Bearer x"), "/admin/users"), Response: reflecting(admin, "access-control-allow-credentials", "true")}},
	{x: exchange{Name: "upstream allows another method", Request: to(preflight(admin, "PATCH", ""), "/admin/users"), Response: reflecting(admin, "access-control-allow-methods", "GET, PATCH")},
		level: "info", line: `cors: report would_break preflight from origin "https://admin.example.com" method "PATCH" headers "" credentialed false path "/admin/users" (policy admin): upstream allowed method "PATCH"; policy: method not allowed`},
	{x: exchange{Name: "upstream allows another header", Request: preflight(app, "PUT", "content-type,x-trace"), Response: reflecting(app, "access-control-allow-methods", "PUT", "access-control-allow-headers", "content-type, x-trace")},
		level: "info", line: `cors: report would_break preflight from origin "https://app.example.com" method "PUT" headers "content-type,x-trace" credentialed false path "/v1/things" (policy default): upstream allowed header "x-trace"; policy: header not allowed`},
	{x: exchange{Name: "preflight both allow", Request: preflight(app, "PUT", "content-type"), Response: reflecting(app, "access-control-allow-methods", "GET, PUT", "access-control-allow-headers", "content-type")}},
}

// reportRunCounters are the counters after reportRun.
var reportRunCounters = counts{
	actualAllowed: 5, actualDenied: 3, preflightAllowed: 1, preflightDenied: 2, wouldDeny: 5,
	reportAgree: 4, wouldBreak: 5, wouldOpen: 2,
	"cors.policy.admin.actual.allowed": 1, "cors.policy.admin.actual.denied": 1,
	"cors.policy.admin.preflight.allowed": 0, "cors.policy.admin.preflight.denied": 1,
	"cors.policy.admin.report.agree": 1, "cors.policy.admin.report.would_break": 2, "cors.policy.admin.report.would_open": 0,
	"cors.policy.default.actual.allowed": 4, "cors.policy.default.actual.denied": 2,
	"cors.policy.default.preflight.allowed": 1, "cors.policy.default.preflight.denied": 1,
	"cors.policy.default.report.agree": 3, "cors.policy.default.report.would_break": 3, "cors.policy.default.report.would_open": 2,
}

// comparisonLines returns the comparison lines an outcome logged.
func comparisonLines(o *outcome) [][2]string {
	var out [][2]string
	for _, l := range o.Logs {
		if strings.HasPrefix(l[1], "cors: report would_") {
			out = append(out, l)
		}
	}
	return out
}

// TestReportModeComparesWithTheUpstream runs reportRun on each host: the
// responses go through untouched, each exchange logs its comparison line
// (would_break at info, would_open at debug, nothing for agree), and the
// global and per-policy counters add up. With the host at info level
// (Envoy's default), the module does not send the debug lines.
func TestReportModeComparesWithTheUpstream(t *testing.T) {
	var xs []exchange
	for _, e := range reportRun {
		xs = append(xs, e.x)
	}
	forEachHost(t, func(t *testing.T, h host) {
		for _, level := range []string{"debug", "info"} {
			r := pwhost(t, h, releaseWasm, testdata("report-named.json"), xs, "--plugin-log-level", map[string]string{"debug": "1", "info": "2"}[level])
			wantServed(t, r, len(xs))
			for i, e := range reportRun {
				o := &r.outs[i]
				if o.LocalReply {
					t.Errorf("%s: answered locally in report mode", e.x.Name)
				}
				if !slices.Equal(o.ResponseHeaders, status(e.x.Response.Status, e.x.Response.Headers)) {
					t.Errorf("%s: response %v, want the upstream's untouched", e.x.Name, o.ResponseHeaders)
				}
				lines := comparisonLines(o)
				want := e.line != "" && (e.level == "info" || level == "debug")
				switch {
				case !want && len(lines) > 0:
					t.Errorf("host at %s, %s: logged %q, want no comparison line", level, e.x.Name, lines)
				case want && (len(lines) != 1 || lines[0] != [2]string{e.level, e.line}):
					t.Errorf("host at %s, %s: logged %q\nwant %s: %s", level, e.x.Name, lines, e.level, e.line)
				}
			}
			wantCounters(t, r.counters, reportRunCounters)
		}
	})
}

// The rollout the "Done when" describes: a report-mode plugin in
// front of an upstream that reflects any origin, where the admin policy
// does not allow https://partner.example. Its pages call /admin/ paths.
var rollout = func() []exchange {
	var xs []exchange
	add := func(n int, x exchange) {
		for range n {
			xs = append(xs, x)
		}
	}
	add(3, exchange{Request: to(actual(partner), "/admin/users"), Response: reflecting(partner)})
	add(2, exchange{Request: to(actual(partner), "/admin/reports?week=12"), Response: reflecting(partner)})
	add(1, exchange{Request: to(preflight(partner, "GET", "content-type"), "/admin/users"), Response: reflecting(partner, "access-control-allow-methods", "GET", "access-control-allow-headers", "content-type")})
	add(2, exchange{Request: to(actual(admin), "/admin/users"), Response: reflecting(admin)})
	add(3, exchange{Request: actual(app), Response: reflecting(app)})
	add(1, exchange{Request: actual(app), Response: upstream(plainUpstream)})
	return xs
}()

var pluginLine = regexp.MustCompile(`^\[plugin (trace|debug|info|warn|error|critical)\] (.*)$`)

// envoyLog renders the plugin's lines of a pwhost run as Envoy logs them
// (component wasm, at debug level), one millisecond apart.
func envoyLog(stderr string) string {
	var b strings.Builder
	n := 0
	for line := range strings.SplitSeq(stderr, "\n") {
		m := pluginLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fmt.Fprintf(&b, "[2026-12-04 10:00:%02d.%03d][12][%s][wasm] [source/extensions/common/wasm/context.cc:1192] wasm log cors_plugin cors-root corswasm-vm: %s\n",
			n/1000, n%1000, m[1], m[2])
		n++
	}
	return b.String()
}

// envoyStats renders the counters as Envoy's /stats text does, with the
// wasmcustom prefix, sorted by name.
func envoyStats(counters map[string]int64) string {
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range counters {
			if !yield(name) {
				return
			}
		}
	})
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "wasmcustom.%s: %d\n", name, counters[name])
	}
	return b.String()
}

// TestReportModeRecordingForCorsctl runs the rollout on the newest host and
// checks that would_break is counted and logged with the policy's name. Its
// log lines (in Envoy's format) and stats are the recording that corsctl
// report's tests read, in cmd/corsctl/testdata/report/from-module/: the
// test checks they are what the module produces (-cpphost.update rewrites
// them).
func TestReportModeRecordingForCorsctl(t *testing.T) {
	forEachHost(t, func(t *testing.T, h host) {
		if h.name != "envoy-1.39" {
			t.Skip("the recording comes from the newest host")
		}
		// At debug level, as an operator watching a rollout would run it.
		r := pwhost(t, h, releaseWasm, testdata("report-named.json"), rollout, "--plugin-log-level", "1")
		wantServed(t, r, len(rollout))
		if got := r.counters["cors.policy.admin.report.would_break"]; got != 6 {
			t.Errorf("cors.policy.admin.report.would_break = %d, want 6", got)
		}
		wantCounters(t, r.counters, counts{
			actualAllowed: 6, actualDenied: 5, preflightDenied: 1, wouldDeny: 6,
			reportAgree: 5, wouldBreak: 6, wouldOpen: 1,
			"cors.policy.admin.report.would_break": 6, "cors.policy.admin.report.agree": 2,
		})
		want := `cors: report would_break actual from origin "https://partner.example" method "GET" headers "" credentialed false path "/admin/users" (policy admin): upstream allowed origin; policy: origin not allowed`
		if lines := comparisonLines(&r.outs[0]); len(lines) != 1 || lines[0] != [2]string{"info", want} {
			t.Errorf("logged %q\nwant info: %s", lines, want)
		}

		dir := filepath.Join("..", "cmd", "corsctl", "testdata", "report", "from-module")
		config, err := os.ReadFile(testdata("report-named.json"))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{
			"envoy.log":   envoyLog(r.stderr),
			"stats.txt":   envoyStats(r.counters),
			"config.json": string(config),
		}
		if *updateRecording {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, content := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			return
		}
		for name, content := range files {
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("%v (go test ./cpphost -run RecordingForCorsctl -cpphost.update writes it)", err)
			}
			if string(got) != content {
				t.Errorf("%s differs from what the module logs now (go test ./cpphost -run RecordingForCorsctl -cpphost.update rewrites it):\n%s", name, content)
			}
		}
	})
}
