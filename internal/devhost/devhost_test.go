//go:build !wasip1

package devhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/testmodule"
)

// pluginWasm returns the real plugin, built once per test binary.
func pluginWasm(tb testing.TB) []byte { return testmodule.Get(tb, testmodule.Release) }

// policy is the configuration most tests load.
var policy = testmodule.SimplePolicy

// upstreamSeen is what the test upstream got.
type upstreamSeen struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (u *upstreamSeen) last(t *testing.T) (*http.Request, string) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("the upstream got no request")
	}
	return u.reqs[len(u.reqs)-1], u.body[len(u.body)-1]
}

// newHost starts a host with the policy in front of a test upstream that
// answers 200 with "access-control-allow-origin: *" of its own (which the
// plugin must replace) and returns the host's URL.
func newHost(t *testing.T, config string) (*Handler, string, *upstreamSeen) {
	t.Helper()
	seen := &upstreamSeen{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen.mu.Lock()
		seen.reqs, seen.body = append(seen.reqs, r.Clone(context.Background())), append(seen.body, string(b))
		seen.mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("X-Upstream", "yes")
		io.WriteString(w, "hello from upstream")
	}))
	t.Cleanup(up.Close)
	h, err := New(context.Background(), Options{Wasm: pluginWasm(t), Config: []byte(config), Upstream: up.URL, Cache: testmodule.Cache()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL, seen
}

func do(t *testing.T, method, url string, body io.Reader, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPreflightAnsweredByThePlugin(t *testing.T) {
	h, url, seen := newHost(t, policy)
	resp, _ := do(t, "OPTIONS", url+"/v1/things", nil,
		"Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "content-type")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		resp.Header.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("preflight: %d %v; want 204 from the plugin with its CORS headers", resp.StatusCode, resp.Header)
	}
	if len(seen.reqs) != 0 {
		t.Errorf("the upstream got the preflight")
	}
	ds := h.Decisions(0)
	if len(ds) != 1 || ds[0].Kind != "preflight" || ds[0].Answer != "plugin" || !ds[0].Allowed || ds[0].RequestMethod != "PUT" {
		t.Errorf("decisions: %+v", ds)
	}
}

func TestDeniedPreflight(t *testing.T) {
	h, url, _ := newHost(t, policy)
	resp, _ := do(t, "OPTIONS", url+"/v1/things", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "PATCH")
	if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("denied preflight: %d %v; want 403 without CORS headers", resp.StatusCode, resp.Header)
	}
	ds := h.Decisions(0)
	if len(ds) != 1 || len(ds[0].Plugin) != 1 || !strings.Contains(ds[0].Plugin[0], `method not allowed "PATCH"`) {
		t.Errorf("decision: %+v; want the plugin's reason", ds)
	}
}

func TestActualRequestForwarded(t *testing.T) {
	_, url, seen := newHost(t, policy)
	resp, body := do(t, "PUT", url+"/v1/things/1?x=1", strings.NewReader(`{"name":"a"}`),
		"Origin", "https://app.example.com", "Content-Type", "application/json",
		"Connection", "X-Hop", "X-Hop", "dropped", "X-Request-Id", "req-1", "User-Agent", "test-agent")
	if resp.StatusCode != 200 || body != "hello from upstream" {
		t.Fatalf("PUT: %d %q", resp.StatusCode, body)
	}
	if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "https://app.example.com" {
		t.Errorf("access-control-allow-origin: %q; want the plugin's, replacing the upstream's *", got)
	}
	if resp.Header.Get("Access-Control-Expose-Headers") != "x-request-id" || resp.Header.Get("X-Upstream") != "yes" {
		t.Errorf("response headers: %v", resp.Header)
	}
	r, sent := seen.last(t)
	if r.Method != "PUT" || r.URL.RequestURI() != "/v1/things/1?x=1" || sent != `{"name":"a"}` {
		t.Errorf("upstream got %s %s %q", r.Method, r.URL.RequestURI(), sent)
	}
	if r.Header.Get("X-Request-Id") != "req-1" || r.Header.Get("X-Forwarded-Proto") != "http" ||
		r.Header.Get("X-Hop") != "" || r.Header.Get("Origin") != "https://app.example.com" || r.Header.Get("User-Agent") != "test-agent" {
		t.Errorf("upstream got headers %v", r.Header)
	}
	if !strings.HasPrefix(r.Host, "127.0.0.1:") {
		t.Errorf("upstream got Host %q; want the client's", r.Host)
	}
}

func TestGeneratedRequestID(t *testing.T) {
	_, url, seen := newHost(t, policy)
	do(t, "GET", url+"/", nil)
	r, _ := seen.last(t)
	if id := r.Header.Get("X-Request-Id"); len(id) != 36 || id[14] != '4' {
		t.Errorf("x-request-id %q; want a generated UUID, as Envoy sends", id)
	}
}

func TestDisallowedOriginGetsNoCORSHeaders(t *testing.T) {
	h, url, _ := newHost(t, policy)
	resp, _ := do(t, "GET", url+"/v1/things", nil, "Origin", "https://evil.example")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Vary") != "origin" {
		t.Errorf("GET from a disallowed origin: %d %v; want 200 without CORS headers (the upstream's removed), vary: origin", resp.StatusCode, resp.Header)
	}
	ds := h.Decisions(0)
	if len(ds) != 1 || ds[0].Allowed || !strings.Contains(strings.Join(ds[0].Plugin, ""), "origin not allowed") {
		t.Errorf("decisions: %+v", ds)
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	h, err := New(context.Background(), Options{Wasm: pluginWasm(t), Config: []byte(policy), Upstream: "http://" + addr, Cache: testmodule.Cache(), VMs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, body := do(t, "GET", srv.URL+"/v1/things", nil, "Origin", "https://app.example.com")
	if resp.StatusCode != 502 || !strings.Contains(body, "upstream http://"+addr+" unreachable") || !strings.Contains(body, "connection refused") {
		t.Errorf("upstream down: %d %q; want 502 with the reason", resp.StatusCode, body)
	}
	// The 502 goes through the plugin, so a browser can read it.
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("the 502 has no CORS headers: %v", resp.Header)
	}
}

func TestRefusedConfiguration(t *testing.T) {
	_, err := New(context.Background(), Options{Wasm: pluginWasm(t), Config: []byte(`{"allowOrigins": ["https://a.example/path"]}`), Upstream: "http://127.0.0.1:1", Cache: testmodule.Cache()})
	var refused *RefusedError
	if !errors.As(err, &refused) || len(refused.Lines) != 1 || !strings.HasPrefix(refused.Lines[0], "cors: refusing configuration: allowOrigins[0]") {
		t.Fatalf("New with a bad origin: %v; want a RefusedError with the plugin's line", err)
	}
}

func TestBadUpstream(t *testing.T) {
	_, err := New(context.Background(), Options{Wasm: pluginWasm(t), Config: []byte(policy), Upstream: "127.0.0.1:8081"})
	if err == nil || !strings.Contains(err.Error(), "not a URL such as http://127.0.0.1:8081") {
		t.Fatalf("New with upstream 127.0.0.1:8081: %v", err)
	}
}

func TestDecisionsEndpoint(t *testing.T) {
	_, url, _ := newHost(t, policy)
	do(t, "GET", url+"/one", nil, "Origin", "https://app.example.com")
	do(t, "GET", url+"/two", nil, "Origin", "https://evil.example")
	resp, body := do(t, "GET", url+ReservedPrefix+"decisions?after=1", nil, "Origin", "http://localhost:8080")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("decisions: %d %v", resp.StatusCode, resp.Header)
	}
	var got struct{ Decisions []Decision }
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decisions: %v\n%s", err, body)
	}
	if len(got.Decisions) != 1 || got.Decisions[0].ID != 2 || got.Decisions[0].Path != "/two" || got.Decisions[0].Allowed {
		t.Errorf("decisions after 1: %+v", got.Decisions)
	}
	resp, body = do(t, "GET", url+ReservedPrefix+"metrics", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"cors.actual.denied": 1`) {
		t.Errorf("metrics: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", url+ReservedPrefix+"nothing", nil); resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}

func TestConcurrentRequests(t *testing.T) {
	_, url, _ := newHost(t, policy)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			origin := "https://app.example.com"
			if i%2 == 1 {
				origin = "https://evil.example"
			}
			req, _ := http.NewRequest("GET", url+"/c", nil)
			req.Header.Set("Origin", origin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if got, want := resp.Header.Get("Access-Control-Allow-Origin"), map[bool]string{true: origin, false: ""}[i%2 == 0]; got != want {
				errs <- fmt.Errorf("origin %s got access-control-allow-origin %q", origin, got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestStale checks the staleness of plugin.wasm in a small module shaped
// like this one: its sources are the files of the module's packages that
// package "." imports, directly or not, with go.mod and go.sum; test files
// and packages the build does not import do not count.
func TestStale(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                        "module example.com/plugin\n\ngo 1.24\n",
		"go.sum":                        "",
		"main.go":                       "package main\n\nimport (\n\t_ \"example.com/plugin/filter\"\n)\n\nfunc main() {}\n",
		"filter/engine.go":              "package filter\n\nimport _ \"example.com/plugin/internal/originre\"\n",
		"filter/engine_test.go":         "package filter\n",
		"internal/originre/originre.go": "package originre\n",
		"cmd/tool/main.go":              "package main\n\nfunc main() {}\n",
	}
	for f, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755)
		if err := os.WriteFile(filepath.Join(root, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wasm := filepath.Join(root, "plugin.wasm")
	if why, err := Stale(root, wasm); why != "missing" {
		t.Errorf("no module: %q, %v; want missing", why, err)
	}
	os.WriteFile(wasm, nil, 0o644)
	old, newer := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	for f := range files {
		os.Chtimes(filepath.Join(root, f), old, old)
	}
	for _, f := range []string{"filter/engine_test.go", "cmd/tool/main.go"} {
		os.Chtimes(filepath.Join(root, f), newer, newer)
	}
	if why, err := Stale(root, wasm); why != "" || err != nil {
		t.Errorf("fresh module: %q, %v; want \"\" (test files and packages the build does not import do not count)", why, err)
	}
	for _, f := range []string{"internal/originre/originre.go", "go.sum", "filter/engine.go"} {
		os.Chtimes(filepath.Join(root, f), newer, newer)
		if why, err := Stale(root, wasm); why != "older than "+f {
			t.Errorf("after an edit of %s: %q, %v; want \"older than %s\"", f, why, err, f)
		}
		os.Chtimes(filepath.Join(root, f), old, old)
	}
}

// TestSourcesOfThisModule checks that the sources of plugin.wasm are those
// the build compiles in, here: every package of this module that package
// "." imports, the post-link step, go.mod and go.sum.
func TestSourcesOfThisModule(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := Sources(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"go.mod", "go.sum", "main.go", "abi/", "filter/", "internal/originre/", "internal/suggest/", "internal/wasishim/", "internal/wasmbuild/"} {
		if !slices.ContainsFunc(srcs, func(s string) bool { return s == want || strings.HasSuffix(want, "/") && strings.HasPrefix(s, want) }) {
			t.Errorf("the sources lack %s: %q", want, srcs)
		}
	}
	for _, s := range srcs {
		if strings.HasSuffix(s, "_test.go") || strings.HasPrefix(s, "cmd/") || strings.HasPrefix(s, "internal/devhost/") {
			t.Errorf("%s is among the sources, but the build does not compile it in", s)
		}
	}
}

// TestNoOriginPasses checks that a request without Origin, which the plugin
// lets through untouched, shows as passed in /_corsdev/decisions (not as
// a denial), next to an allowed and a denied one. The upstream, like the
// demo API, sends no CORS headers of its own.
func TestNoOriginPasses(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	t.Cleanup(up.Close)
	h, err := New(context.Background(), Options{Wasm: pluginWasm(t), Config: []byte(policy), Upstream: up.URL, Cache: testmodule.Cache()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	url := srv.URL
	do(t, "GET", url+"/plain", nil)
	do(t, "GET", url+"/ok", nil, "Origin", "https://app.example.com")
	do(t, "GET", url+"/no", nil, "Origin", "https://evil.example")
	_, body := do(t, "GET", url+ReservedPrefix+"decisions", nil)
	var got struct {
		Decisions []map[string]any
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decisions: %v\n%s", err, body)
	}
	want := []struct {
		path, kind, outcome string
		allowed             bool
	}{
		{"/plain", "no origin", "passed", true},
		{"/ok", "actual", "allowed", true},
		{"/no", "actual", "denied", false},
	}
	if len(got.Decisions) != len(want) {
		t.Fatalf("decisions: %s", body)
	}
	for i, w := range want {
		d := got.Decisions[i]
		if d["path"] != w.path || d["kind"] != w.kind || d["outcome"] != w.outcome || d["allowed"] != w.allowed {
			t.Errorf("decision %d: %v; want path %s, kind %q, outcome %q, allowed %v", i, d, w.path, w.kind, w.outcome, w.allowed)
		}
	}
}
