package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/filter"
)

// readReport reads report inputs as the command does.
func readReport(t *testing.T, files ...string) *report {
	t.Helper()
	var inputs []reportInput
	var samples []sample
	var lines []reportLine
	for _, f := range files {
		in, s, l, err := readReportFile(f, readFile(t, f))
		if err != nil {
			t.Fatal(err)
		}
		inputs, samples, lines = append(inputs, in), append(samples, s...), append(lines, l...)
	}
	return buildReport(inputs, samples, lines)
}

// TestReportChangeMakesItSafe applies the change report suggests and
// replays every request that would break through the whole changed
// configuration, as the proxies route it (by host and path), with the
// engine and the browser model: each is allowed, and a second report finds
// nothing left to change.
func TestReportChangeMakesItSafe(t *testing.T) {
	for _, tc := range []struct {
		config string
		logs   []string
	}{
		{"testdata/report/config.json", []string{"testdata/report/envoy.log"}},
		{"testdata/report/config.json", []string{"testdata/report/istio.log"}},
		{"testdata/report/config.json", []string{"testdata/report/envoy.log", "testdata/report/istio.log"}},
	} {
		t.Run(filepath.Base(tc.logs[len(tc.logs)-1]), func(t *testing.T) {
			spec, err := filter.DecodeSpec(readFile(t, tc.config))
			if err != nil {
				t.Fatal(err)
			}
			r := readReport(t, tc.logs...)
			fix := suggestReportFix(spec, r.Breaks)
			if !fix.Verified || len(fix.Changes) == 0 {
				t.Fatalf("fix %+v, want a verified change", fix)
			}
			changed := fix.Spec
			changed.Mode = filter.ModeEnforce
			cfg, err := filter.Compile(changed)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range r.Breaks {
				sc := &scenario{origin: b.Origin, method: b.Method, path: b.Path, host: hostOf(b.Policy),
					credentials: b.Credentialed, upstreamStatus: 200, url: b.Path}
				for _, h := range splitList([]string{b.Headers}) {
					sc.headers = append(sc.headers, reqHeader{name: h})
				}
				sc.onlyPreflight = b.Kind == "preflight"
				sim := simulate(cfg, sc)
				if got := sim.Steps[0].Explanation.Decision.Policy(); got != b.Policy {
					t.Fatalf("%s: policy %s applies, want %s", b.describe(), got, b.Policy)
				}
				if sim.blocked() || !sim.pluginAllows() {
					t.Errorf("%s: still blocked with the change %q", b.describe(), fix.Changes)
				}
			}
			again := suggestReportFix(fix.Spec, r.Breaks)
			if !again.Verified || len(again.Changes) != 0 {
				t.Errorf("second report on the changed configuration: %+v, want nothing to change", again)
			}
			// The original configuration is left as it was.
			orig, _ := filter.DecodeSpec(readFile(t, tc.config))
			if !reflect.DeepEqual(spec, orig) {
				t.Errorf("suggestReportFix changed its input")
			}
		})
	}
}

// hostOf is a host that testdata/report/config.json routes to a policy.
func hostOf(policy string) string {
	if policy == "admin" {
		return "admin.example.com"
	}
	return "api.example.com"
}

func TestParseReportLine(t *testing.T) {
	long := "https://a123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890.example"
	tests := []struct {
		line string
		want reportLine
	}{
		{`x: cors: report would_break preflight from origin "https://a.example" method "PATCH" headers "x-a, x-b" credentialed false path "/v1/things" (policy admin): upstream allowed method "PATCH"; policy: method not allowed`,
			reportLine{Class: "would_break", Kind: "preflight", Origin: "https://a.example", Method: "PATCH", Headers: "x-a, x-b", Path: "/v1/things",
				Policy: "admin", Difference: `upstream allowed method "PATCH"; policy: method not allowed`, Item: "method", ItemValue: "PATCH"}},
		{"2026-12-04T10:00:00.000000Z\tinfo\tenvoy wasm\twasm log cors_plugin cors-root corswasm-vm: cors: report would_break actual from origin \"https://a.example\" method \"GET\" headers \"\" credentialed true path \"/x?q=\\\"1\\\"\" (policy policies[2]): upstream allowed header \"X-A\"; policy: header not allowed\tthread=12",
			reportLine{Class: "would_break", Kind: "actual", Origin: "https://a.example", Method: "GET", Credentialed: true, Path: `/x?q="1"`,
				Policy: "policies[2]", Difference: `upstream allowed header "X-A"; policy: header not allowed`, Item: "header", ItemValue: "X-A"}},
		{`cors: report would_break actual from origin "` + long[:128] + `"... (140 bytes) method "GET" headers "" credentialed true path "/" (policy default): upstream allowed origin; policy: origin not allowed`,
			reportLine{Class: "would_break", Kind: "actual", Origin: long[:128], Method: "GET", Credentialed: true, Path: "/",
				Policy: "default", Difference: "upstream allowed origin; policy: origin not allowed", Item: "origin", Cut: true}},
		{`cors: report would_open actual from origin "https://a.example" method "GET" headers "" credentialed false path "/" (policy default): upstream: no access-control-allow-origin; policy allowed`,
			reportLine{Class: "would_open", Kind: "actual", Origin: "https://a.example", Method: "GET", Path: "/",
				Policy: "default", Difference: "upstream: no access-control-allow-origin; policy allowed"}},
		{`cors: report would_break actual from origin "https://a.example" method "GET" headers "" credentialed true path "/" (policy default): upstream allowed credentials; policy: credentials not allowed`,
			reportLine{Class: "would_break", Kind: "actual", Origin: "https://a.example", Method: "GET", Credentialed: true, Path: "/",
				Policy: "default", Difference: "upstream allowed credentials; policy: credentials not allowed", Item: "credentials"}},
	}
	for _, tt := range tests {
		got, err := readLog("f", []string{tt.line})
		if err != nil {
			t.Fatalf("%s: %v", tt.line, err)
		}
		tt.want.File, tt.want.Line = "f", 1
		if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.line, got, tt.want)
		}
	}
	for _, bad := range []string{
		`cors: report would_deny actual from origin "a" method "GET" headers "" credentialed true path "/" (policy default): x`,
		`cors: report would_break actual from origin "a" method "GET" headers "" credentialed yes path "/" (policy default): x`,
		`cors: report would_break actual from origin "a" method "GET" headers "" credentialed true path "/" policy default: x`,
	} {
		if _, err := readLog("f", []string{bad}); err == nil {
			t.Errorf("%s: read without error", bad)
		}
	}
}

func TestReadStats(t *testing.T) {
	text := `# TYPE x counter
envoy_wasmcustom_cors_policy_my_api_report_would_break{} 2
envoy_wasmcustom_cors_policy_policies_3_report_agree 5
envoy_wasmcustom_cors_policy_report_would_open{cors_policy="policies_0",pod="a"} 1e+00
envoy_wasmcustom_cors_report_agree_total 7
envoy_wasmcustom_cors_report_would_deny{} 9
cors_policy_report_would_break{cors_policy="admin"} 4
cors_policy_api_report_agree 6
cors_report_would_open 2
`
	in, samples, _, err := readReportFile("p", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []sample{{"my-api", "would_break", 2}, {"policies[3]", "agree", 5}, {"policies[0]", "would_open", 1}, {"", "agree", 7},
		{"admin", "would_break", 4}, {"api", "agree", 6}, {"", "would_open", 2}}
	if in.Kind != kindPrometheus || !reflect.DeepEqual(samples, want) {
		t.Errorf("read %s %v, want prometheus %v", in.Kind, samples, want)
	}
	for _, bad := range []string{
		"wasmcustom.cors.report.agree: 12\nsome words here\n",
		"envoy_wasmcustom_cors_policy_report_agree{} 3\n",
		"wasmcustom.cors.report.agree: -1\n",
		"just text\n",
	} {
		if _, _, _, err := readReportFile("p", []byte(bad)); err == nil {
			t.Errorf("%q: read without error", bad)
		}
	}
}

// TestReportFromModule reads what the module wrote in report mode
// (testdata/report/from-module, filled by the module's tests): the report
// is not safe, names the origin, and the change it suggests makes the
// requests pass.
func TestReportFromModule(t *testing.T) {
	dir := filepath.Join("testdata", "report", "from-module")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("no output of the module in %s yet", dir)
	}
	var files []string
	config := ""
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		switch filepath.Ext(e.Name()) {
		case ".json", ".yaml":
			config = name
		case ".md":
		default:
			files = append(files, name)
		}
	}
	if len(files) == 0 || config == "" {
		t.Skipf("%s holds no stats, logs and configuration", dir)
	}
	r := readReport(t, files...)
	if !r.wouldBreak() || len(r.Breaks) == 0 {
		t.Fatalf("the module's output shows nothing that would break")
	}
	spec, err := filter.DecodeSpec(readFile(t, config))
	if err != nil {
		t.Fatal(err)
	}
	fix := suggestReportFix(spec, r.Breaks)
	if !fix.Verified {
		t.Fatalf("no verified change: %+v", fix)
	}
	if again := suggestReportFix(fix.Spec, r.Breaks); !again.Verified || len(again.Changes) != 0 {
		t.Errorf("the changed configuration still needs %+v", again)
	}
}

// TestReportOnTheEnginesLines has the engine itself classify requests in
// report mode (Decision.Compare) against an upstream that lets every
// origin in, reads the lines it logs, and checks that the change report
// suggests makes the engine classify none of them would_break any more:
// the loop of the rollout, with the plugin's own comparison.
func TestReportOnTheEnginesLines(t *testing.T) {
	spec, err := filter.DecodeSpec(readFile(t, "testdata/report/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	type req struct {
		host, path, method, origin string
		acrm, acrh                 string // a preflight's
		cookie                     bool
	}
	reqs := []req{
		{"admin.example.com", "/v1/users", "GET", "https://partner.example.com", "", "", true},
		{"admin.example.com", "/v1/users/1", "OPTIONS", "https://admin.example.com", "PATCH", "content-type,x-request-id", false},
		{"api.example.com", "/v1/things", "OPTIONS", "https://app.example.com", "PUT", "content-type,x-trace-id", false},
		{"api.example.com", "/public/feed", "GET", "https://app.example.com", "", "", true},
		{"api.example.com", "/v1/things", "GET", "https://app.example.com", "", "", true}, // agrees
	}
	// classify runs every request through cfg in report mode and returns
	// the log lines, in Envoy's format, and how many would break.
	classify := func(s filter.Spec) ([]string, int) {
		s.Mode = filter.ModeReport
		cfg, err := filter.Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		breaks := 0
		for _, q := range reqs {
			var r filter.Request
			for _, h := range [][2]string{{":method", q.method}, {":authority", q.host}, {":path", q.path}, {"origin", q.origin}} {
				r.AddHeader(h[0], h[1])
			}
			if q.acrm != "" {
				r.AddHeader("access-control-request-method", q.acrm)
				r.AddHeader("access-control-request-headers", q.acrh)
			}
			if q.cookie {
				r.AddHeader("cookie", "session=1")
			}
			d := cfg.Evaluate(&r)
			// The upstream lets every origin in, with credentials, and
			// allows what preflights ask for.
			resp := [][2]string{{":status", "200"}, {"access-control-allow-origin", q.origin}, {"access-control-allow-credentials", "true"}}
			if q.acrm != "" {
				resp = append(resp, [2]string{"access-control-allow-methods", q.acrm}, [2]string{"access-control-allow-headers", q.acrh})
			}
			c := d.Compare(&r, resp)
			if c.Class == filter.ClassWouldBreak {
				breaks++
			}
			if l := c.LogLine(); l != "" {
				lines = append(lines, "[2026-12-04 10:00:00.000][12][info][wasm] [source/extensions/common/wasm/context.cc:1192] wasm log cors_plugin cors-root corswasm-vm: "+l)
			}
		}
		return lines, breaks
	}
	lines, breaks := classify(spec)
	if breaks != 4 {
		t.Fatalf("the engine finds %d would_break, want 4:\n%s", breaks, strings.Join(lines, "\n"))
	}
	data := []byte(strings.Join(lines, "\n") + "\n")
	in, _, recs, err := readReportFile("engine.log", data)
	if err != nil {
		t.Fatal(err)
	}
	if in.Kind != kindEnvoyLog || in.WouldBreak != 4 {
		t.Fatalf("read %+v", in)
	}
	r := buildReport([]reportInput{in}, nil, recs)
	fix := suggestReportFix(spec, r.Breaks)
	if !fix.Verified {
		t.Fatalf("no verified change: %+v", fix)
	}
	after, breaks := classify(fix.Spec)
	if breaks != 0 {
		t.Errorf("with the change %q the engine still finds %d would_break:\n%s", fix.Changes, breaks, strings.Join(after, "\n"))
	}
}
