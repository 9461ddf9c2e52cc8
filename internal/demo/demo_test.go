package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
)

func call(t *testing.T, h http.Handler, method, target, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestUpstream(t *testing.T) {
	h := Upstream()
	for _, tc := range []struct {
		method, target, body string
		headers              []string
		status               int
		want                 string
	}{
		{"GET", "/v1/things", "", nil, 200, `[{"id":1,"name":"Teapot"},{"id":2,"name":"Lamp"},{"id":3,"name":"Kettle"}]`},
		{"PUT", "/v1/things/42", `{"name":"Renamed"}`, nil, 200, `{"id":42,"name":"Renamed"}`},
		{"GET", "/v1/things/42", "", nil, 200, `{"id":42,"name":"Renamed"}`},
		{"DELETE", "/v1/things/42", "", nil, 204, ``},
		{"GET", "/v1/things/42", "", nil, 404, `{"error":"no thing 42"}`},
		{"PUT", "/v1/things/7", `{}`, nil, 400, `send JSON`},
		{"GET", "/v1/things/x", "", nil, 400, `a thing's id is a number`},
		{"GET", "/v1/me", "", nil, 401, `sign in first`},
		{"GET", "/v1/me", "", []string{"Cookie", "demo_session=abc"}, 200, `{"session":"abc","user":"demo"}`},
		{"GET", "/public/status", "", nil, 200, `{"status":"ok"}`},
		{"GET", "/nothing", "", nil, 404, `no such endpoint: GET /nothing`},
	} {
		resp, body := call(t, h, tc.method, tc.target, tc.body, tc.headers...)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %q; want %d with %q", tc.method, tc.target, resp.StatusCode, body, tc.status, tc.want)
		}
		if resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("X-Upstream-Build") != "demo-1" {
			t.Errorf("%s %s: headers %v; want x-request-id and x-upstream-build", tc.method, tc.target, resp.Header)
		}
	}
	resp, _ := call(t, h, "GET", "/v1/things", "", "X-Request-Id", "req-7")
	if got := resp.Header.Get("X-Request-Id"); got != "req-7" {
		t.Errorf("x-request-id %q; want the request's, req-7", got)
	}
}

func TestPage(t *testing.T) {
	h := Page(`http://localhost:10000</script>`)
	resp, body := call(t, h, "GET", "/", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `const API = "http://localhost:10000\u003c/script\u003e";`) {
		t.Errorf("page: %d; want the API URL as an escaped JS string:\n%s", resp.StatusCode, body[:min(len(body), 300)])
	}
	if resp, _ := call(t, h, "GET", "/other", ""); resp.StatusCode != 404 {
		t.Errorf("GET /other: %d; want 404", resp.StatusCode)
	}
}

// custom is a policy unlike the example: only http://127.0.0.1:8080, on
// /v1/ only.
const custom = `{"policies": [{"match": {"pathPrefixes": ["/v1/"]}, "allowOrigins": ["http://127.0.0.1:8080"]}]}`

func TestDescribe(t *testing.T) {
	example, err := os.ReadFile("testdata/example.json")
	if err != nil {
		t.Fatal(err)
	}
	origins := PageOrigins("localhost:8080")
	if want := []string{"http://localhost:8080", "http://127.0.0.1:8080"}; !slices.Equal(origins, want) {
		t.Fatalf("PageOrigins(localhost:8080) = %q; want %q", origins, want)
	}
	for _, tc := range []struct {
		name, config string
		want         []string
	}{
		{"example", string(example), []string{
			"GET /v1/things: http://localhost:8080 is allowed by policy default; http://127.0.0.1:8080 is denied by policy default: origin not allowed.",
			"GET /public/status: http://localhost:8080 is allowed by policy policies[1]; http://127.0.0.1:8080 is allowed by policy policies[1].",
		}},
		{"custom", custom, []string{
			"GET /v1/things: http://localhost:8080 is denied by policy policies[0]: origin not allowed; http://127.0.0.1:8080 is allowed by policy policies[0].",
			"GET /public/status: http://localhost:8080 is not covered by any policy: the plugin leaves the answer untouched; http://127.0.0.1:8080 is not covered by any policy: the plugin leaves the answer untouched.",
		}},
		{"report", `{"allowOrigins": ["http://localhost:8080"], "mode": "report"}`, []string{
			"GET /v1/things: http://localhost:8080 is allowed by policy default; http://127.0.0.1:8080 is denied by policy default: origin not allowed.",
			"GET /public/status: http://localhost:8080 is allowed by policy default; http://127.0.0.1:8080 is denied by policy default: origin not allowed.",
			`mode "report": the plugin only logs and counts what it would do; the upstream's own CORS headers reach the browser.`,
		}},
	} {
		p, err := ParsePolicy("config.json", []byte(tc.config))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := p.Describe("http://localhost:10000", origins); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Describe =\n%s\nwant\n%s", tc.name, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

// TestPolicyPage checks that the page says what the policy it is given
// does to the origin it is served on and to the other one.
func TestPolicyPage(t *testing.T) {
	p, err := ParsePolicy("my.json", []byte(custom))
	if err != nil {
		t.Fatal(err)
	}
	h := PolicyPage("http://localhost:10000", p)
	req := httptest.NewRequest("GET", "http://localhost:8080/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.String()
	for _, want := range []string{
		"<code>my.json</code>",
		"<li>GET /v1/things: http://localhost:8080 is denied by policy policies[0]: origin not allowed; http://127.0.0.1:8080 is allowed by policy policies[0].</li>",
		`const VERDICTS = {"http://127.0.0.1:8080":"allowed by policy policies[0]","http://localhost:8080":"denied by policy policies[0]: origin not allowed"};`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, "example") {
		t.Errorf("the page still speaks of the example policy")
	}
	// Without a policy, the page says nothing of one.
	_, body = call(t, Page("http://localhost:10000"), "GET", "/", "")
	if strings.Contains(body, `id="policy"`) || !strings.Contains(body, "const VERDICTS = {};") {
		t.Errorf("Page without a policy describes one")
	}
}
