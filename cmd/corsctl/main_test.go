package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/filter"
	"github.com/corswasm/corswasm/internal/fetch"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCases run corsctl in process; each output is compared with
// testdata/golden/NAME.txt (go test ./cmd/corsctl -update rewrites them).
var goldenCases = []struct {
	name  string
	args  []string
	stdin string
	exit  int
}{
	// check
	// render: --check and the errors on the fixtures of testdata/render
	{"render-check-differs", []string{"render", "--check", "--config", "testdata/render/policy.json",
		"testdata/render/repo/envoy.yaml", "testdata/render/repo/deploy/istio/rollout-report.yaml"}, "", 1},
	{"render-check-agrees", []string{"render", "--check", "--config", "testdata/render/policy.json",
		"testdata/render/want/envoy.yaml", "testdata/render/want/deploy/envoy-gateway/policy.yaml"}, "", 0},
	{"render-refused", []string{"render", "--config", "testdata/refused.json", "testdata/render/repo/envoy.yaml"}, "", 2},
	{"render-no-artifact", []string{"render", "--check", "--config", "testdata/render/policy.json", "testdata/render/repo/deploy/misc/configmap.yml"}, "", 2},
	{"render-nothing-here", []string{"render", "--check"}, "", 2},
	{"render-wasmplugin", []string{"render", "--config", "testdata/render/policy.json", "--wasmplugin", "cors", "--namespace", "shop",
		"--url", "oci://registry.example.com/corswasm:0.1.0"}, "", 0},
	{"render-envoy-filter", []string{"render", "--config", "testdata/render/policy.json", "--envoy-filter"}, "", 0},
	{"render-wasmplugin-without-url", []string{"render", "--wasmplugin", "cors"}, "", 2},
	{"help-render", []string{"help", "render"}, "", 0},
	{"check-repository", []string{"check", "../../config.json", "../../envoy.yaml"}, "", 0},
	{"check-risky", []string{"check", "testdata/risky.json"}, "", 0},
	{"check-refused", []string{"check", "testdata/refused.json"}, "", 1},
	{"check-wasmplugin", []string{"check", "testdata/wasmplugin.yaml"}, "", 1},
	{"check-wasmplugin-filter", []string{"check", "testdata/wasmplugin.yaml", "--filter", "cors"}, "", 0},
	{"check-istio-manifests", []string{"check", "../../deploy/istio/wasmplugin-ingressgateway.yaml", "../../deploy/istio/trafficextension-mesh.yaml"}, "", 0},
	{"check-strict", []string{"check", "--strict", "testdata/debug-report.json"}, "", 1},
	{"check-json", []string{"check", "--format", "json", "testdata/risky.json"}, "", 0},
	{"check-stdin", []string{"check", "-"}, `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["put", "patch"]}`, 0},
	{"check-yaml-config", []string{"check", "-"}, "allowOrigins: [https://app.example.com]\nallowMethods: [PUT]\n", 0},
	{"check-virtualservice", []string{"check", "testdata/istio-virtualservices.yaml"}, "", 2},

	// explain
	{"explain-allowed", []string{"explain", "--config", "../../config.json", "--origin", "https://app.example.com",
		"--url", "https://api.example.com/v1/things", "--method", "PUT", "--header", "content-type", "--credentials"}, "", 0},
	{"explain-simple-get", []string{"explain", "--config", "../../config.json", "--origin", "http://localhost:3000",
		"--url", "https://api.example.com/v1/things?page=2", "--header", "accept: application/json"}, "", 0},
	{"explain-denied-origin", []string{"explain", "--config", "../../config.json", "--origin", "https://evil.example",
		"--url", "https://api.example.com/v1/things", "--method", "PUT"}, "", 1},
	{"explain-denied-actual", []string{"explain", "--config", "../../config.json", "--origin", "https://evil.example",
		"--url", "https://api.example.com/v1/things"}, "", 1},
	{"explain-method-and-headers", []string{"explain", "--config", "../../config.json", "--origin", "https://app.example.com",
		"--host", "api.example.com", "--path", "/v1/things", "--method", "patch", "--header", "content-type: application/json",
		"--header", "x-trace-id,Authorization", "--header", "cookie: a=b"}, "", 1},
	{"explain-credentials-wildcard", []string{"explain", "--config", "../../config.json", "--origin", "https://app.example.com",
		"--url", "https://api.example.com/public/feed", "--credentials"}, "", 1},
	{"explain-invalid-origin", []string{"explain", "--config", "../../config.json", "--origin", "https://APP.example.com:443",
		"--url", "https://api.example.com/v1/things", "--method", "DELETE"}, "", 1},
	{"explain-envoy-curl", []string{"explain", "--config", "../../envoy.yaml", "--origin", "https://app.example.com",
		"--url", "https://admin.example.com/v1/users", "--method", "DELETE", "--credentials", "--format", "curl"}, "", 1},
	{"explain-envoy-curl-allowed", []string{"explain", "--config", "../../envoy.yaml", "--origin", "https://admin.example.com",
		"--url", "https://admin.example.com/v1/users", "--credentials", "--format", "curl"}, "", 0},
	{"explain-wasmplugin-json", []string{"explain", "--config", "testdata/wasmplugin.yaml", "--filter", "cors",
		"--origin", "https://pr-12.preview.example.com", "--method", "POST", "--header", "content-type: text/plain",
		"--credentials", "--format", "json"}, "", 0},
	{"explain-json-denied", []string{"explain", "--config", "../../config.json", "--origin", "https://evil.example",
		"--url", "https://api.example.com/v1/things", "--method", "PUT", "--format", "json"}, "", 1},
	{"explain-uncovered", []string{"explain", "--config", "testdata/no-default.json", "--origin", "https://app.example.com",
		"--url", "https://other.example.com/x", "--method", "PUT"}, "", 1},
	{"explain-report-forward", []string{"explain", "--config", "testdata/debug-report.json", "--origin", "https://evil.example",
		"--path", "/upload/x", "--method", "PUT", "--upstream-status", "404"}, "", 1},
	{"explain-debug-header", []string{"explain", "--config", "testdata/debug-report.json", "--origin", "https://evil.example",
		"--method", "PUT", "--format", "curl"}, "", 1},
	{"explain-route-name", []string{"explain", "--config", "testdata/debug-report.json", "--origin", "https://admin.example.com",
		"--host", "admin.example.com", "--route", "admin", "--credentials"}, "", 0},
	{"explain-private-network", []string{"explain", "--config", "testdata/debug-report.json", "--origin", "https://app.example.com",
		"--path", "/upload/x", "--private-network"}, "", 0},
	{"explain-upstream-headers", []string{"explain", "--config", "testdata/no-default.json", "--origin", "https://app.example.com",
		"--url", "https://other.example.com/x", "--upstream-header", "access-control-allow-origin: *", "--credentials"}, "", 1},
	{"explain-preflight-only", []string{"explain", "--config", "../../config.json", "--origin", "https://app.example.com",
		"--host", "api.example.com", "--preflight"}, "", 0},

	// import
	{"import-istio", []string{"import", "testdata/istio-virtualservices.yaml"}, "", 0},
	{"import-envoy", []string{"import", "testdata/envoy-cors.yaml"}, "", 0},
	{"import-strict", []string{"import", "--strict", "testdata/envoy-cors.yaml"}, "", 1},
	{"import-nothing", []string{"import", "../../envoy.yaml"}, "", 1},
	{"import-regex-subset", []string{"import", "testdata/envoy-regex-subset.yaml"}, "", 0},

	// report (testdata/report: stats and logs as the proxies write them,
	// contract of issue 12)
	{"report-envoy", []string{"report", "--config", "testdata/report/config.json",
		"testdata/report/proxy-a.stats", "testdata/report/proxy-b.stats", "testdata/report/envoy.log"}, "", 1},
	{"report-envoy-json", []string{"report", "--format", "json", "--config", "testdata/report/config.json",
		"testdata/report/proxy-a.stats", "testdata/report/proxy-b.stats", "testdata/report/envoy.log"}, "", 1},
	{"report-istio-prometheus", []string{"report", "--config", "testdata/report/wasmplugin.yaml",
		"testdata/report/tagged.prom", "testdata/report/untagged.prom", "testdata/report/istio.log"}, "", 1},
	{"report-logs-only", []string{"report", "--config", "testdata/report/config.json", "testdata/report/envoy.log"}, "", 1},
	{"report-stats-only", []string{"report", "testdata/report/proxy-a.stats"}, "", 1},
	{"report-other-configuration", []string{"report", "--config", "../../config.json", "testdata/report/envoy.log"}, "", 1},
	{"report-safe", []string{"report", "testdata/report/safe.stats", "testdata/report/safe.log"}, "", 0},
	{"report-safe-json", []string{"report", "--format", "json", "testdata/report/safe.stats", "testdata/report/safe.log"}, "", 0},
	{"report-stdin", []string{"report", "-"}, "wasmcustom.cors.report.agree: 12\nwasmcustom.cors.report.would_break: 0\n", 0},
	{"report-neither", []string{"report", "testdata/report/proxy-a.stats", "testdata/report/notes.txt"}, "", 2},
	{"report-malformed-line", []string{"report", "testdata/report/malformed.log"}, "", 2},
	{"report-no-files", []string{"report", "--config", "config.json"}, "", 2},
	{"report-help", []string{"help", "report"}, "", 0},

	// usage, help and errors
	{"help", []string{"--help"}, "", 0},
	{"help-check", []string{"help", "check"}, "", 0},
	{"explain-help", []string{"explain", "--help"}, "", 0},
	{"import-help", []string{"import", "-h"}, "", 0},
	{"no-arguments", nil, "", 2},
	{"unknown-command", []string{"chek", "config.json"}, "", 2},
	{"flag-before-command", []string{"--format", "json", "check"}, "", 2},
	{"unknown-flag", []string{"check", "--formt", "json", "config.json"}, "", 2},
	{"bad-format", []string{"check", "--format", "xml", "config.json"}, "", 2},
	{"check-no-files", []string{"check"}, "", 2},
	{"missing-file", []string{"check", "testdata/no-such-file.json"}, "", 2},
	{"directory", []string{"check", "testdata"}, "", 2},
	{"empty-input", []string{"check", "-"}, "  \n", 2},
	{"not-yaml", []string{"check", "-"}, "a: [b\n", 2},
	{"unknown-filter", []string{"check", "--filter", "nope", "testdata/wasmplugin.yaml"}, "", 2},
	{"explain-without-origin", []string{"explain", "--config", "../../config.json"}, "", 2},
	{"explain-without-config", []string{"explain", "--origin", "https://app.example.com"}, "", 2},
	{"explain-flag-without-value", []string{"explain", "--origin"}, "", 2},
	{"explain-several-configurations", []string{"explain", "--config", "testdata/wasmplugin.yaml", "--origin", "https://app.example.com"}, "", 2},
	{"explain-refused-configuration", []string{"explain", "--config", "testdata/refused.json", "--origin", "https://app.example.com"}, "", 2},
	{"explain-bad-url", []string{"explain", "--config", "../../config.json", "--origin", "https://app.example.com", "--url", "api.example.com/x"}, "", 2},
	{"import-missing-file", []string{"import", "testdata/no-such-file.yaml"}, "", 2},
}

// goldenRepo is where the golden cases' ../../ paths lead: fixed copies
// of the repository's files, never the files a user edits.
const goldenRepo = "testdata/repo"

// goldenWorkDir lays out a temporary repository, goldenRepo's files with
// this package's testdata at cmd/corsctl/testdata, and returns its
// cmd/corsctl: the golden cases run there, so that their arguments and
// outputs are those of a run from cmd/corsctl.
func goldenWorkDir(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(goldenRepo)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "cmd", "corsctl")
	if err := os.CopyFS(filepath.Join(dir, "testdata"), os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGolden(t *testing.T) {
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(goldenWorkDir(t))
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			exit := run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			got := "$ corsctl " + strings.Join(quoteArgs(tc.args), " ") + "\n"
			if tc.stdin != "" {
				got += "(standard input: " + strconv.Quote(tc.stdin) + ")\n"
			}
			got += "exit status " + strconv.Itoa(exit) + "\n--- stdout\n" + stdout.String() + "--- stderr\n" + stderr.String()
			file := filepath.Join(here, "testdata", "golden", tc.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/corsctl -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (go test ./cmd/corsctl -update rewrites it):\n%s", file, diff(string(want), got))
			}
			if exit != tc.exit {
				t.Errorf("exit status %d, want %d", exit, tc.exit)
			}
		})
	}
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"*?$&;|<>(){}[]\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}

// diff shows the first differing line.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + wl + "\ngot:  " + gl
		}
	}
	return ""
}

// TestSuggestedFixesWork applies each verified fix and checks that the
// engine then allows the fetch, and that unfixable fetches say why.
func TestSuggestedFixesWork(t *testing.T) {
	config, err := filter.DecodeSpec(readFile(t, goldenRepo+"/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		sc       scenario
		verified bool
		changes  int
	}{
		{"origin", scenario{origin: "https://evil.example", method: "PUT"}, true, 1},
		{"method, header and origin", scenario{origin: "https://evil.example", method: "PATCH",
			headers: []reqHeader{{name: "x-a"}, {name: "x-b"}}}, true, 3},
		{"credentials on an any-origin policy", scenario{origin: "https://app.example.com", method: "GET", path: "/public/x", credentials: true}, true, 2},
		{"private network", scenario{origin: "https://app.example.com", method: "GET", privateNet: true}, true, 1},
		{"invalid origin", scenario{origin: "https://app.example.com/", method: "PUT"}, false, 0},
		{"lower-case method of a normalized one is fine", scenario{origin: "https://app.example.com", method: fetch.NormalizeMethod("put")}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := tt.sc
			sc.host, sc.upstreamStatus = "api.example.com", 200
			if sc.path == "" {
				sc.path = "/v1/things"
			}
			f := suggestFix(config, &sc)
			if f.Verified != tt.verified || len(f.Changes) != tt.changes {
				t.Fatalf("fix %+v, want verified=%v with %d changes", f, tt.verified, tt.changes)
			}
			if !tt.verified && tt.changes == 0 && strings.Contains(tt.name, "invalid") && f.None == "" {
				t.Errorf("no reason given for an unfixable fetch")
			}
		})
	}
}

// TestExplainUsesTheEnginesHeaders checks that explain shows exactly the
// headers the engine computes for the plugin.
func TestExplainUsesTheEnginesHeaders(t *testing.T) {
	cfg, err := filter.Parse(readFile(t, goldenRepo+"/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	sc := &scenario{origin: "https://app.example.com", method: "PUT", host: "api.example.com", path: "/v1/x",
		headers: []reqHeader{{name: "content-type", value: "application/json", hasValue: true}}, upstreamStatus: 200}
	sim := simulate(cfg, sc)
	if len(sim.Steps) != 2 {
		t.Fatalf("%d steps, want a preflight and the request", len(sim.Steps))
	}
	var r filter.Request
	for _, h := range [][2]string{{":method", "OPTIONS"}, {":authority", "api.example.com"}, {":path", "/v1/x"},
		{"origin", "https://app.example.com"}, {"access-control-request-method", "PUT"}, {"access-control-request-headers", "content-type"}} {
		r.AddHeader(h[0], h[1])
	}
	d := cfg.Evaluate(&r)
	status, hdrs, ok := d.LocalResponse(nil)
	if !ok || status != sim.Steps[0].Status || !equalHeaders(hdrs, sim.Steps[0].Response) {
		t.Errorf("preflight: explain shows %d %v, the engine answers %d %v", sim.Steps[0].Status, sim.Steps[0].Response, status, hdrs)
	}
}

func equalHeaders(a, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRegexLint(t *testing.T) {
	tests := []struct {
		regex string
		want  string // a substring of the finding, "" for none
	}{
		{`https://pr-[0-9]+\.preview\.example\.com`, ""},
		{`https://(app|admin)\.example\.com`, ""},
		{`https://pr-[0-9]+.preview.example.com`, "a dot matched as any character"},
		{`https://app\.example\.com.*`, `"https://app.example.com.evil.test"`},
		{`.*\.example\.com`, `plain http`},
		{`https://.*example\.com`, `"https://evilexample.com"`},
		{`https?://app\.example\.com`, `"http://app.example.com"`},
		{`https://[a-z]+\.example\.com`, ""},
		{`https://.*\.example\.com`, `an extra subdomain label`},
		{`https://.*app\.example\.com`, `an extra subdomain label`},
		{`chrome-extension://[a-p]{32}`, ""},
		{`https://.*\.example\.co\.uk`, `an extra subdomain label`},
		{`https://.*example\.co\.uk`, `"https://evilexample.co.uk"`},
		{`https://[a-z0-9-]+\.preview\.example\.com`, ""},
	}
	for _, tt := range tests {
		spec := filter.Spec{PolicySpec: filter.PolicySpec{AllowOriginRegexes: []string{tt.regex}, AllowCredentials: true}}
		cfg, err := filter.Compile(spec)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, f := range lint(cfg, spec) {
			if f.Path == "allowOriginRegexes[0]" {
				got = f.Message
			}
		}
		switch {
		case tt.want == "" && got != "":
			t.Errorf("%s: unexpected finding: %s", tt.regex, got)
		case tt.want != "" && !strings.Contains(got, tt.want):
			t.Errorf("%s: finding %q, want it to mention %s", tt.regex, got, tt.want)
		}
	}
}

func TestBrowserMessages(t *testing.T) {
	const origin = "https://app.example.com"
	tests := []struct {
		name        string
		credentials bool
		status      int
		hdrs        [][2]string
		want        string
	}{
		{"no allow-origin", false, 403, nil, "Response to preflight request doesn't pass access control check: No 'Access-Control-Allow-Origin' header is present on the requested resource. If an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled."},
		{"bad status", false, 401, [][2]string{{"access-control-allow-origin", origin}}, "Response to preflight request doesn't pass access control check: It does not have HTTP ok status."},
		{"wildcard with credentials", true, 204, [][2]string{{"access-control-allow-origin", "*"}}, "Response to preflight request doesn't pass access control check: The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'."},
		{"missing credentials", true, 204, [][2]string{{"access-control-allow-origin", origin}}, "Response to preflight request doesn't pass access control check: The value of the 'Access-Control-Allow-Credentials' header in the response is '' which must be 'true' when the request's credentials mode is 'include'."},
		{"other origin", false, 204, [][2]string{{"access-control-allow-origin", "https://x.example"}}, "Response to preflight request doesn't pass access control check: The 'Access-Control-Allow-Origin' header has a value 'https://x.example' that is not equal to the supplied origin. Have the server send the header with a valid value, or, if an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled."},
		{"method", false, 204, [][2]string{{"access-control-allow-origin", origin}, {"access-control-allow-methods", "GET"}}, "Method PUT is not allowed by Access-Control-Allow-Methods in preflight response."},
		{"header", false, 204, [][2]string{{"access-control-allow-origin", origin}, {"access-control-allow-methods", "*"}}, "Request header field x-a is not allowed by Access-Control-Allow-Headers in preflight response."},
		{"all well", false, 204, [][2]string{{"access-control-allow-origin", origin}, {"access-control-allow-methods", "PUT"}, {"access-control-allow-headers", "X-A"}}, ""},
	}
	for _, tt := range tests {
		f := checkPreflight(origin, "PUT", []string{"x-a"}, tt.credentials, tt.status, tt.hdrs)
		got := ""
		if f != nil {
			got = strings.TrimPrefix(consoleMessage("https://api.example.com/x", origin, f),
				"Access to fetch at 'https://api.example.com/x' from origin 'https://app.example.com' has been blocked by CORS policy: ")
		}
		if got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestSafelistedHeaders(t *testing.T) {
	for h, want := range map[reqHeader]bool{
		{name: "accept"}: true,
		{name: "accept", value: "application/json", hasValue: true}:                true,
		{name: "accept", value: "a(b)", hasValue: true}:                            false,
		{name: "content-type"}:                                                     false,
		{name: "content-type", value: "text/plain; charset=utf-8", hasValue: true}: true,
		{name: "content-type", value: "application/json", hasValue: true}:          false,
		{name: "accept-language", value: "en-US,en;q=0.9", hasValue: true}:         true,
		{name: "range", value: "bytes=0-99", hasValue: true}:                       true,
		{name: "range", value: "bytes=9-1", hasValue: true}:                        false,
		{name: "x-custom", value: "1", hasValue: true}:                             false,
	} {
		if got := safelistedHeader(h); got != want {
			t.Errorf("safelistedHeader(%+v) = %v, want %v", h, got, want)
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
