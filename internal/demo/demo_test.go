package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
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
