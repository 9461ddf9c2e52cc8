package filter

import (
	"reflect"
	"strings"
	"testing"
)

// TestExplainAgreesWithEvaluate runs many requests through Explain and
// checks that its checks tell the same story as Evaluate's decision.
func TestExplainAgreesWithEvaluate(t *testing.T) {
	configs := []string{
		mainConfig,
		debugConfig,
		`{"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"]}`,
		`{"allowOrigins": ["https://a.com", "null"], "allowHeaders": ["*", "authorization"], "allowPrivateNetwork": true}`,
		`{"policies": [{"match": {"hosts": ["*.example.com"], "pathPrefixes": ["/v1/"], "routeNames": ["r"]}, "allowOrigins": ["https://a.com"]}]}`,
	}
	origins := []string{"", "https://app.example.com", "https://a.b.example.com", "http://localhost:3000",
		"https://pr-7.preview.example.org", "https://evil.net", "null", "https://APP.example.com", "https://a.com"}
	methods := []string{"GET", "PUT", "PATCH", "put", "GET, PUT"}
	headerLists := [][]string{nil, {"content-type"}, {"x-custom, content-type"}, {"authorization", "x-one"}, {"bad header"}, {strings.Repeat("a,", 5000)}}
	n := 0
	for _, config := range configs {
		cfg := mustParse(t, config)
		for _, origin := range origins {
			for _, method := range methods {
				for _, hl := range headerLists {
					for _, pna := range []string{"", "true"} {
						for _, authority := range []string{"api.example.com", "x.example.com"} {
							r := Request{Method: "OPTIONS", Authority: authority, Path: "/v1/x", RouteName: "r",
								RequestMethod: method, HasRequestMethod: true, RequestHeaders: hl, RequestPrivateNetwork: pna}
							r.AddHeader(":method", "OPTIONS")
							if origin != "" {
								r.AddHeader("origin", origin)
							}
							checkExplanation(t, cfg, &r)
							r.Method = "GET"
							checkExplanation(t, cfg, &r)
							n += 2
						}
					}
				}
			}
		}
	}
	t.Logf("%d requests explained", n)
}

func checkExplanation(t *testing.T, cfg *Config, r *Request) {
	t.Helper()
	e := cfg.Explain(r)
	if d := cfg.Evaluate(r); !reflect.DeepEqual(e.Decision, d) {
		t.Fatalf("Explain's decision %+v differs from Evaluate's %+v", e.Decision, d)
	}
	d := e.Decision
	if (e.Policy >= 0) != (d.Kind != KindUncovered) {
		t.Fatalf("policy %d for a %s decision", e.Policy, d.Kind)
	}
	if e.Policy >= 0 && cfg.Policies()[e.Policy].Name != d.Policy() {
		t.Fatalf("explained policy %s, decided %s", cfg.Policies()[e.Policy].Name, d.Policy())
	}
	for i, m := range e.Tried {
		if m.Matched != (i == e.Policy) {
			t.Fatalf("tried %+v, applied %d", e.Tried, e.Policy)
		}
	}
	if d.Kind == KindUncovered || d.Kind == KindNoOrigin {
		if len(e.Checks) > 0 {
			t.Fatalf("checks %+v for a %s request", e.Checks, d.Kind)
		}
		return
	}
	var failed *Check
	for i := range e.Checks {
		c := &e.Checks[i]
		if c.Passed != (c.Reason == ReasonAllowed) || c.Passed == (c.By == "") {
			t.Fatalf("inconsistent check %+v", *c)
		}
		if !c.Passed && failed == nil {
			failed = c
		}
		if c.Name == CheckHeaders && !c.Passed && c.Reason != ReasonHeadersInvalid && len(c.Denied) == 0 {
			t.Fatalf("failed header check without denied names: %+v", *c)
		}
	}
	if d.Allowed != (failed == nil) {
		t.Fatalf("decision allowed=%v (%s), checks %+v", d.Allowed, d.Reason, e.Checks)
	}
	if failed != nil && (failed.Reason != d.Reason || failed.Detail != d.Detail) {
		t.Fatalf("first failed check %+v, decision %s %q", *failed, d.Reason, d.Detail)
	}
}

func TestExplainNamesWhatAllowedAnOrigin(t *testing.T) {
	cfg := mustParse(t, mainConfig)
	for origin, want := range map[string]string{
		"https://app.example.com":          "exact https://app.example.com",
		"https://x.example.com":            "pattern https://*.example.com",
		"http://localhost":                 "pattern http://localhost:*",
		"https://pr-1.preview.example.org": `regex https://pr-[0-9]+\.preview\.example\.org`,
	} {
		r := Request{Method: "GET", Origin: origin, HasOrigin: true}
		c := cfg.Explain(&r).Checks[0]
		if got := c.By + " " + c.Entry; got != want {
			t.Errorf("%s: allowed by %q, want %q", origin, got, want)
		}
	}
}

func TestExplainListsEveryDeniedHeader(t *testing.T) {
	cfg := mustParse(t, mainConfig)
	r := Request{Method: "OPTIONS", Origin: "https://evil.net", HasOrigin: true, RequestMethod: "PATCH",
		RequestHeaders: []string{"x-one, content-type", "X-Two"}}
	e := cfg.Explain(&r)
	var got []string
	for _, c := range e.Checks {
		got = append(got, c.Name+"="+c.Reason.String()+" "+strings.Join(c.Denied, ","))
	}
	want := []string{"origin=origin not allowed ", "method=method not allowed ", "headers=header not allowed x-one,X-Two"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestPolicies(t *testing.T) {
	cfg := mustParse(t, `{
	  "allowOrigins": ["https://B.example.com:443", "https://a.example.com", "null", "https://*.example.com", "http://localhost:*", "https://x.com:8443"],
	  "allowOriginRegexes": ["https://pr-[0-9]+\\.example\\.com"],
	  "allowMethods": ["get", "PATCH"], "allowHeaders": ["*", "Authorization"], "exposeHeaders": ["X-Id"],
	  "maxAge": 60, "preflightStatus": 200, "unmatchedPreflights": "forward",
	  "policies": [{"match": {"hosts": ["API.example.com", "*.internal.example.com"], "pathPrefixes": ["/v1/"], "routeNames": ["r1"]},
	                "allowOrigins": ["*"]}]
	}`)
	got := cfg.Policies()
	want := []PolicyInfo{
		{Name: "policies[0]", Hosts: []string{"api.example.com", "*.internal.example.com"}, PathPrefixes: []string{"/v1/"},
			RouteNames: []string{"r1"}, AnyOrigin: true, PreflightStatus: 204, UnmatchedPreflights: "reject"},
		{Name: "default",
			Origins:   []string{"https://b.example.com", "https://a.example.com", "https://x.com:8443", "null", "https://*.example.com", "http://localhost:*"},
			Regexes:   []string{`https://pr-[0-9]+\.example\.com`},
			Methods:   []string{"GET", "PATCH"},
			AnyHeader: true, Headers: []string{"authorization"},
			AllowMethods: "GET, PATCH", AllowHeaders: "*, authorization", ExposeHeaders: "x-id", MaxAge: "60",
			PreflightStatus: 200, UnmatchedPreflights: "forward"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
