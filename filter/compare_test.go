package filter

import (
	"fmt"
	"strings"
	"testing"
)

// reportConfig has a named policy for /admin/, an unnamed one for
// files.example.com and a default policy.
const reportConfig = `{
  "mode": "report",
  "allowOrigins": ["https://app.example.com"],
  "allowMethods": ["GET", "PUT"],
  "allowHeaders": ["content-type"],
  "policies": [
    {"name": "admin", "match": {"pathPrefixes": ["/admin/"]},
     "allowOrigins": ["https://admin.example.com"], "allowMethods": ["GET"], "allowCredentials": true},
    {"match": {"hosts": ["files.example.com"]}, "allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"]},
    {"name": "forwarded", "match": {"pathPrefixes": ["/fwd/"]}, "allowOrigins": ["https://app.example.com"], "unmatchedPreflights": "forward"}
  ]
}`

func TestPolicyNamesAndMetricSegments(t *testing.T) {
	cfg := mustParse(t, reportConfig)
	var got []string
	for i := 0; i < cfg.NumPolicies(); i++ {
		got = append(got, cfg.PolicyCounterName(i, PolicyPreflightAllowed))
	}
	want := []string{
		"cors.policy.admin.preflight.allowed",
		"cors.policy.policies_1.preflight.allowed",
		"cors.policy.forwarded.preflight.allowed",
		"cors.policy.default.preflight.allowed",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("counter names\n got %q\nwant %q", got, want)
	}
	var suffixes []string
	for pc := PolicyCounter(0); pc < NumPolicyCounters; pc++ {
		suffixes = append(suffixes, strings.TrimPrefix(cfg.PolicyCounterName(0, pc), "cors.policy.admin."))
	}
	if s := strings.Join(suffixes, " "); s != "preflight.allowed preflight.denied actual.allowed actual.denied report.agree report.would_break report.would_open" {
		t.Errorf("per-policy counters: %s", s)
	}
	for _, c := range []struct {
		path, host, policy string
		index              int
	}{
		{"/admin/x", "a.example.com", "admin", 0},
		{"/x", "files.example.com", "policies[1]", 1},
		{"/x", "a.example.com", "default", 3},
	} {
		r := Request{Method: "GET", Path: c.path, Authority: c.host, Origin: "https://evil.example", HasOrigin: true}
		d := cfg.Evaluate(&r)
		if d.Policy() != c.policy || d.PolicyIndex() != c.index {
			t.Errorf("%s%s: policy %q (index %d), want %q (%d)", c.host, c.path, d.Policy(), d.PolicyIndex(), c.policy, c.index)
		}
	}
	if s := cfg.Summary(); !strings.Contains(s, "; admin (1 origin patterns") {
		t.Errorf("the summary does not use the name: %s", s)
	}
}

func TestANamedPolicyNamesItselfInDenialsAndTheReasonHeader(t *testing.T) {
	cfg := mustParse(t, `{"debug": true, "allowOrigins": ["https://app.example.com"],
	  "policies": [{"name": "admin", "match": {"pathPrefixes": ["/admin/"]}, "allowOrigins": ["https://admin.example.com"]}]}`)
	r := Request{Method: "GET", Path: "/admin/", Origin: "https://evil.example", HasOrigin: true}
	d := cfg.Evaluate(&r)
	if got, want := d.LogLine(), `cors: denied actual from origin "https://evil.example" (policy admin): origin not allowed`; got != want {
		t.Errorf("log line\n got %s\nwant %s", got, want)
	}
	if got, want := d.debugReason(), `origin not allowed: "https://evil.example" (policy admin)`; got != want {
		t.Errorf("reason header\n got %s\nwant %s", got, want)
	}
}

func TestCompileRefusesANameAtTheTopLevel(t *testing.T) {
	_, err := Compile(Spec{PolicySpec: PolicySpec{Name: "api", AllowOrigins: []string{"https://a.com"}}})
	if err == nil || err.Error() != "name: "+topLevelName {
		t.Errorf("Compile: %v", err)
	}
}

func TestValidPolicyName(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "admin": true, "api-v2": true, "0": true, strings.Repeat("a", 63): true,
		"": false, "-a": false, "a-": false, "A": false, "a_b": false, "a.b": false, "default": false,
		strings.Repeat("a", 64): false, "défaut": false,
	} {
		if ValidPolicyName(name) != want {
			t.Errorf("ValidPolicyName(%q) = %v", name, !want)
		}
	}
}

func TestBrowserCheck(t *testing.T) {
	const o = "https://app.example.com"
	actual := func(cred bool) BrowserRequest {
		return BrowserRequest{Origin: o, Method: "GET", Credentialed: cred}
	}
	pre := func(method string, cred bool, headers ...string) BrowserRequest {
		return BrowserRequest{Preflight: true, Origin: o, Method: method, Credentialed: cred, RequestHeaders: headers}
	}
	h := func(kv ...string) [][2]string {
		var out [][2]string
		for i := 0; i < len(kv); i += 2 {
			out = append(out, [2]string{kv[i], kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name   string
		req    BrowserRequest
		resp   [][2]string
		want   Refusal
		detail string
	}{
		{"an answer reflecting the origin lets the page read it", actual(false), h("access-control-allow-origin", o), RefusalNone, ""},
		{"an answer without access-control-allow-origin is refused", actual(false), h(":status", "200"), RefusalNoAllowOrigin, ""},
		{"an answer naming another origin is refused", actual(false), h("access-control-allow-origin", "https://other.example"), RefusalOriginNotAllowed, ""},
		{"two access-control-allow-origin lines are refused", actual(false), h("access-control-allow-origin", o, "access-control-allow-origin", o), RefusalOriginNotAllowed, ""},
		{"an origin differing in case is refused", actual(false), h("access-control-allow-origin", "https://APP.example.com"), RefusalOriginNotAllowed, ""},
		{"* serves an uncredentialed request", actual(false), h("access-control-allow-origin", "*"), RefusalNone, ""},
		{"* does not serve a credentialed request", actual(true), h("access-control-allow-origin", "*", "access-control-allow-credentials", "true"), RefusalWildcardWithCredentials, ""},
		{"a credentialed request needs access-control-allow-credentials", actual(true), h("access-control-allow-origin", o), RefusalCredentialsNotAllowed, ""},
		{"access-control-allow-credentials must be exactly true", actual(true), h("access-control-allow-origin", o, "access-control-allow-credentials", "TRUE"), RefusalCredentialsNotAllowed, ""},
		{"a credentialed request with the origin and credentials passes", actual(true), h("access-control-allow-origin", o, "access-control-allow-credentials", "true"), RefusalNone, ""},
		{"an actual request's status does not matter", actual(false), h(":status", "500", "access-control-allow-origin", o), RefusalNone, ""},
		{"a preflight answered 404 is refused", pre("PUT", false), h(":status", "404", "access-control-allow-origin", o, "access-control-allow-methods", "PUT"), RefusalPreflightStatus, ""},
		{"a preflight for a listed method passes", pre("PUT", false), h(":status", "204", "access-control-allow-origin", o, "access-control-allow-methods", "GET, PUT"), RefusalNone, ""},
		{"a preflight for a safelisted method needs no list", pre("POST", false), h(":status", "200", "access-control-allow-origin", o), RefusalNone, ""},
		{"a preflight for an unlisted method is refused", pre("PATCH", false), h("access-control-allow-origin", o, "access-control-allow-methods", "GET, PUT"), RefusalMethodNotAllowed, "PATCH"},
		{"methods compare case-sensitively", pre("patch", false), h("access-control-allow-origin", o, "access-control-allow-methods", "PATCH"), RefusalMethodNotAllowed, "patch"},
		{"methods * serves an uncredentialed preflight", pre("PATCH", false), h("access-control-allow-origin", o, "access-control-allow-methods", "*"), RefusalNone, ""},
		{"methods * does not serve a credentialed preflight", pre("PATCH", true), h("access-control-allow-origin", o, "access-control-allow-credentials", "true", "access-control-allow-methods", "*"), RefusalMethodNotAllowed, "PATCH"},
		{"methods across several lines are one list", pre("PATCH", false), h("access-control-allow-origin", o, "access-control-allow-methods", "GET", "access-control-allow-methods", "PATCH"), RefusalNone, ""},
		{"an invalid methods list is refused", pre("PUT", false), h("access-control-allow-origin", o, "access-control-allow-methods", "PUT DELETE"), RefusalInvalidAllowMethods, ""},
		{"listed headers pass in any letter case", pre("GET", false, "X-A, x-b"), h("access-control-allow-origin", o, "access-control-allow-headers", "x-a, X-B"), RefusalNone, ""},
		{"the first unlisted header is refused", pre("GET", false, "x-a, x-b, x-c"), h("access-control-allow-origin", o, "access-control-allow-headers", "x-a"), RefusalHeaderNotAllowed, "x-b"},
		{"headers * serves an uncredentialed preflight", pre("GET", false, "x-a"), h("access-control-allow-origin", o, "access-control-allow-headers", "*"), RefusalNone, ""},
		{"headers * does not cover authorization", pre("GET", false, "authorization"), h("access-control-allow-origin", o, "access-control-allow-headers", "*"), RefusalHeaderNotAllowed, "authorization"},
		{"headers * does not serve a credentialed preflight", pre("GET", true, "x-a"), h("access-control-allow-origin", o, "access-control-allow-credentials", "true", "access-control-allow-headers", "*"), RefusalHeaderNotAllowed, "x-a"},
		{"an invalid headers list is refused", pre("GET", false), h("access-control-allow-origin", o, "access-control-allow-headers", "x-a;"), RefusalInvalidAllowHeaders, ""},
		{"a private network preflight needs its header", BrowserRequest{Preflight: true, Origin: o, Method: "GET", PrivateNetwork: true}, h("access-control-allow-origin", o), RefusalPrivateNetwork, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, detail := BrowserCheck(&tt.req, tt.resp)
			if got != tt.want || detail != tt.detail {
				t.Errorf("BrowserCheck = %q, %q; want %q, %q", got, detail, tt.want, tt.detail)
			}
		})
	}
}

// reportRequest builds a Request from header lines.
func reportRequest(lines ...string) *Request {
	var r Request
	for _, l := range lines {
		name, value, _ := strings.Cut(l, ": ")
		r.AddHeader(name, value)
	}
	return &r
}

func TestCompare(t *testing.T) {
	cfg := mustParse(t, reportConfig)
	const (
		app   = "origin: https://app.example.com"
		admin = "origin: https://admin.example.com"
		evil  = "origin: https://evil.example"
	)
	get := func(path string, more ...string) *Request {
		return reportRequest(append([]string{":method: GET", ":authority: api.example.com", ":path: " + path}, more...)...)
	}
	preflight := func(path, method string, more ...string) *Request {
		return reportRequest(append([]string{":method: OPTIONS", ":authority: api.example.com", ":path: " + path, "access-control-request-method: " + method}, more...)...)
	}
	h := func(kv ...string) [][2]string {
		out := [][2]string{{":status", "200"}}
		for i := 0; i < len(kv); i += 2 {
			out = append(out, [2]string{kv[i], kv[i+1]})
		}
		return out
	}
	reflect := func(origin string, more ...string) [][2]string {
		return h(append([]string{"access-control-allow-origin", origin}, more...)...)
	}
	tests := []struct {
		name     string
		req      *Request
		upstream [][2]string
		class    Class
		line     string // the log line, "" for agree
	}{
		{
			"an upstream reflecting an origin the policy allows agrees",
			get("/x", app), reflect("https://app.example.com"), ClassAgree, "",
		},
		{
			"an upstream reflecting an origin the policy denies would break",
			get("/x", evil), reflect("https://evil.example"), ClassWouldBreak,
			`cors: report would_break actual from origin "https://evil.example" method "GET" headers "" credentialed false path "/x" (policy default): upstream allowed origin; policy: origin not allowed`,
		},
		{
			"an upstream answering * to an origin the policy denies would break",
			get("/x", evil), h("access-control-allow-origin", "*"), ClassWouldBreak,
			`cors: report would_break actual from origin "https://evil.example" method "GET" headers "" credentialed false path "/x" (policy default): upstream allowed origin; policy: origin not allowed`,
		},
		{
			"an upstream answering a fixed other origin, where the policy allows, would open",
			get("/x", app), reflect("https://other.example"), ClassWouldOpen,
			`cors: report would_open actual from origin "https://app.example.com" method "GET" headers "" credentialed false path "/x" (policy default): upstream: origin not allowed; policy allowed`,
		},
		{
			"an upstream answering a fixed other origin to a denied origin agrees",
			get("/x", evil), reflect("https://other.example"), ClassAgree, "",
		},
		{
			"an upstream without CORS headers, where the policy allows, would open",
			get("/x", app), h("content-type", "text/plain"), ClassWouldOpen,
			`cors: report would_open actual from origin "https://app.example.com" method "GET" headers "" credentialed false path "/x" (policy default): upstream: no access-control-allow-origin; policy allowed`,
		},
		{
			"an upstream without CORS headers to a denied origin agrees",
			get("/x", evil), h(), ClassAgree, "",
		},
		{
			"an upstream allowing credentials where the policy does not would break",
			get("/x", app, "cookie: s=1"), reflect("https://app.example.com", "access-control-allow-credentials", "true"), ClassWouldBreak,
			`cors: report would_break actual from origin "https://app.example.com" method "GET" headers "" credentialed true path "/x" (policy default): upstream allowed credentials; policy: credentials not allowed`,
		},
		{
			"a credentialed request to an any-origin policy would break where the upstream reflects with credentials",
			get("/x", ":authority: files.example.com", app, "authorization: Bearer x"), reflect("https://app.example.com", "access-control-allow-credentials", "true"), ClassWouldBreak,
			`cors: report would_break actual from origin "https://app.example.com" method "GET" headers "" credentialed true path "/x" (policy policies[1]): upstream allowed credentials; policy: access-control-allow-origin "*" with credentials`,
		},
		{
			"a credentialed request the policy serves with credentials, where the upstream omits them, would open",
			get("/admin/x", admin, "cookie: s=1"), reflect("https://admin.example.com"), ClassWouldOpen,
			`cors: report would_open actual from origin "https://admin.example.com" method "GET" headers "" credentialed true path "/admin/x" (policy admin): upstream: credentials not allowed; policy allowed`,
		},
		{
			"an upstream allowing another method in a preflight would break",
			preflight("/admin/things", "PATCH", admin, "access-control-request-headers: x-a, x-b"),
			reflect("https://admin.example.com", "access-control-allow-methods", "GET, PATCH", "access-control-allow-headers", "x-a, x-b"), ClassWouldBreak,
			`cors: report would_break preflight from origin "https://admin.example.com" method "PATCH" headers "x-a, x-b" credentialed false path "/admin/things" (policy admin): upstream allowed method "PATCH"; policy: method not allowed`,
		},
		{
			"an upstream allowing another header in a preflight would break",
			preflight("/x", "PUT", app, "access-control-request-headers: content-type,x-trace"),
			reflect("https://app.example.com", "access-control-allow-methods", "PUT", "access-control-allow-headers", "content-type, x-trace"), ClassWouldBreak,
			`cors: report would_break preflight from origin "https://app.example.com" method "PUT" headers "content-type,x-trace" credentialed false path "/x" (policy default): upstream allowed header "x-trace"; policy: header not allowed`,
		},
		{
			"an upstream allowing * methods and headers agrees with a policy that allows the same",
			preflight("/x", "PUT", app, "access-control-request-headers: content-type"),
			reflect("https://app.example.com", "access-control-allow-methods", "*", "access-control-allow-headers", "*"), ClassAgree, "",
		},
		{
			"a preflight the upstream answers 404 where the policy allows would open",
			preflight("/x", "PUT", app), append(reflect("https://app.example.com", "access-control-allow-methods", "PUT"), [2]string{":status", "404"})[1:], ClassWouldOpen,
			`cors: report would_open preflight from origin "https://app.example.com" method "PUT" headers "" credentialed false path "/x" (policy default): upstream: preflight status not ok; policy allowed`,
		},
		{
			"a preflight for a method the upstream does not list where the policy allows would open",
			preflight("/x", "PUT", app), reflect("https://app.example.com", "access-control-allow-methods", "GET"), ClassWouldOpen,
			`cors: report would_open preflight from origin "https://app.example.com" method "PUT" headers "" credentialed false path "/x" (policy default): upstream: method not allowed; policy allowed`,
		},
		{
			"a preflight from a denied origin where the upstream reflects everything would break",
			preflight("/x", "DELETE", evil), reflect("https://evil.example", "access-control-allow-methods", "DELETE"), ClassWouldBreak,
			`cors: report would_break preflight from origin "https://evil.example" method "DELETE" headers "" credentialed false path "/x" (policy default): upstream allowed origin; policy: origin not allowed`,
		},
		{
			"an invalid origin the upstream reflects would break",
			get("/x", "origin: https://APP.example.com"), reflect("https://APP.example.com"), ClassWouldBreak,
			`cors: report would_break actual from origin "https://APP.example.com" method "GET" headers "" credentialed false path "/x" (policy default): upstream allowed origin; policy: invalid origin`,
		},
		{
			"a preflight the policy forwards agrees whatever the upstream answers",
			preflight("/fwd/x", "PATCH", app), reflect("https://app.example.com", "access-control-allow-methods", "PATCH"), ClassAgree, "",
		},
		{
			"a crafted path and origin are quoted and cut",
			get("/x\r\nforged"+strings.Repeat("a", 200), "origin: https://evil.example\n"), reflect("https://evil.example\n"), ClassWouldBreak,
			`cors: report would_break actual from origin "https://evil.example\n" method "GET" headers "" credentialed false path "/x\r\nforged` + strings.Repeat("a", 118) + `"... (210 bytes) (policy default): upstream allowed origin; policy: invalid origin`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := cfg.Evaluate(tt.req)
			if !d.NeedsComparison() {
				t.Fatalf("no comparison for %+v", d)
			}
			c := d.Compare(tt.req, tt.upstream)
			if c.Class != tt.class {
				t.Errorf("class %s, want %s (upstream %q, policy %q)", c.Class, tt.class, c.Upstream, c.PolicyWhy)
			}
			if got := c.LogLine(); got != tt.line {
				t.Errorf("log line\n got %s\nwant %s", got, tt.line)
			}
		})
	}
}

func TestNoComparisonOutsideReportMode(t *testing.T) {
	r := reportRequest(":method: GET", ":path: /", "origin: https://evil.example")
	d := mustParse(t, `{"allowOrigins": ["https://app.example.com"]}`).Evaluate(r)
	if d.NeedsComparison() || d.Compare(r, [][2]string{{"access-control-allow-origin", "*"}}).Class != ClassNone {
		t.Error("enforce mode compares")
	}
	r = reportRequest(":method: GET", ":path: /")
	d = mustParse(t, `{"mode": "report", "allowOrigins": ["https://app.example.com"]}`).Evaluate(r)
	if d.NeedsComparison() {
		t.Error("a request without Origin is compared")
	}
}

func TestClassCounters(t *testing.T) {
	for _, c := range []struct {
		class  Class
		global string
		policy PolicyCounter
	}{
		{ClassAgree, "cors.report.agree", PolicyReportAgree},
		{ClassWouldBreak, "cors.report.would_break", PolicyReportWouldBreak},
		{ClassWouldOpen, "cors.report.would_open", PolicyReportWouldOpen},
	} {
		g, ok1 := c.class.Counter()
		p, ok2 := c.class.PolicyCounter()
		if !ok1 || !ok2 || g.Name() != c.global || p != c.policy {
			t.Errorf("%s: %s %d", c.class, g.Name(), p)
		}
	}
	if _, ok := ClassNone.Counter(); ok {
		t.Error("ClassNone counts")
	}
}

func TestCompareAndItsLogLineDoNotAllocate(t *testing.T) {
	cfg := mustParse(t, reportConfig)
	r := reportRequest(":method: OPTIONS", ":path: /admin/x", "origin: https://admin.example.com",
		"access-control-request-method: PATCH", "access-control-request-headers: x-a")
	resp := [][2]string{{":status", "204"}, {"access-control-allow-origin", "https://admin.example.com"}, {"access-control-allow-methods", "PATCH"}, {"access-control-allow-headers", "x-a"}}
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		d := cfg.Evaluate(r)
		c := d.Compare(r, resp)
		buf = c.AppendLogLine(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per comparison", allocs)
	}
}

func ExampleDecision_Compare() {
	cfg, _ := Parse([]byte(`{"mode": "report",
	  "policies": [{"name": "admin", "match": {"pathPrefixes": ["/admin/"]},
	    "allowOrigins": ["https://admin.example.com"], "allowMethods": ["GET"]}]}`))
	var r Request
	for _, h := range [][2]string{
		{":method", "OPTIONS"}, {":path", "/admin/things"}, {"origin", "https://admin.example.com"},
		{"access-control-request-method", "PATCH"},
	} {
		r.AddHeader(h[0], h[1])
	}
	d := cfg.Evaluate(&r)
	// What the upstream, which still does CORS, answered.
	upstream := [][2]string{{":status", "204"},
		{"access-control-allow-origin", "https://admin.example.com"}, {"access-control-allow-methods", "GET, PATCH"}}
	c := d.Compare(&r, upstream)
	fmt.Println(c.Class)
	fmt.Println(c.LogLine())
	// Output:
	// would_break
	// cors: report would_break preflight from origin "https://admin.example.com" method "PATCH" headers "" credentialed false path "/admin/things" (policy admin): upstream allowed method "PATCH"; policy: method not allowed
}
