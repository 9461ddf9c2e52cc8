//go:build !wasip1

package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/corswasm/corswasm/internal/devhost"
	"github.com/corswasm/corswasm/internal/testmodule"
)

// testPolicy is the plugin configuration of these tests; %[1]s is the
// page's origin, the only one allowed. /nocreds/ is served without
// credentials, /nocache/ with preflights not cached.
const testPolicy = `{
  "allowOrigins": ["%[1]s"],
  "allowMethods": ["GET", "PUT", "DELETE"],
  "allowHeaders": ["content-type", "x-allowed"],
  "exposeHeaders": ["x-exposed"],
  "allowCredentials": true,
  "maxAge": 600,
  "policies": [
    {"match": {"pathPrefixes": ["/nocreds/"]}, "allowOrigins": ["%[1]s"], "allowMethods": ["GET"]},
    {"match": {"pathPrefixes": ["/nocache/"]}, "allowOrigins": ["%[1]s"], "allowMethods": ["PUT"],
     "allowHeaders": ["content-type"], "maxAge": 0}
  ]
}`

// suite is what the tests share: one browser, one page server reachable
// from two origins, the host with the plugin, and the upstream.
type suite struct {
	browser context.Context
	page    string // the page's origin, which the policy allows: http://localhost:PORT
	blocked string // the same page from an origin the policy does not allow: http://127.0.0.1:PORT
	api     string // the host's origin: http://localhost:PORT
	host    *devhost.Handler
	atHost  *recorder // every request the host got, preflights included
	atUp    *recorder // every request the upstream got
}

var (
	envOnce sync.Once
	shared  *suite
	envErr  error
)

// env returns the shared environment, starting it on first use, or skips
// the test when Chromium is not installed.
func env(t *testing.T) *suite {
	t.Helper()
	if chromium == "" {
		t.Skip(skipNote)
	}
	envOnce.Do(func() { shared, envErr = newSuite() })
	if envErr != nil {
		t.Fatal(envErr)
	}
	return shared
}

func newSuite() (*suite, error) {
	s := &suite{atHost: &recorder{}, atUp: &recorder{}}
	pagePort, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>corswasm browser test</title><p>The tests run fetch() here.</p>")
	}))
	if err != nil {
		return nil, err
	}
	s.page, s.blocked = "http://localhost:"+pagePort, "http://127.0.0.1:"+pagePort

	upPort, err := serve(s.atUp.wrap(http.HandlerFunc(upstream)))
	if err != nil {
		return nil, err
	}
	wasm, err := testmodule.Module(testmodule.Release)
	if err != nil {
		return nil, err
	}
	s.host, err = devhost.New(context.Background(), devhost.Options{
		Wasm:     wasm,
		Config:   []byte(fmt.Sprintf(testPolicy, s.page)),
		Upstream: "http://127.0.0.1:" + upPort,
		Cache:    testmodule.Cache(),
	})
	if err != nil {
		return nil, fmt.Errorf("starting the host: %w", err)
	}
	onClose(func() { s.host.Close() })
	hostPort, err := serve(s.atHost.wrap(s.host))
	if err != nil {
		return nil, err
	}
	s.api = "http://localhost:" + hostPort

	if s.browser, err = startBrowser(); err != nil {
		return nil, err
	}
	return s, nil
}

// upstream answers every request with JSON naming the method, the path and
// the cookie it got; 401 for paths ending in /private. It sets headers the
// policy exposes (x-exposed) and does not (x-hidden), and an
// "access-control-allow-origin: *" of its own, which the plugin must replace
// or remove.
func upstream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Exposed", "exposed-value")
	w.Header().Set("X-Hidden", "hidden-value")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/json")
	if path.Base(r.URL.Path) == "private" {
		w.WriteHeader(http.StatusUnauthorized)
	}
	json.NewEncoder(w).Encode(map[string]string{"method": r.Method, "path": r.URL.Path, "cookie": r.Header.Get("Cookie")})
}

// recorder keeps the requests a handler got.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rec *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Clone(context.Background()))
		rec.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// got returns the requests with this method and path.
func (rec *recorder) got(method, path string) []*http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []*http.Request
	for _, r := range rec.reqs {
		if r.Method == method && r.URL.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// pathFor returns a new path of the test's own, so that no other test's
// request (or cached preflight) counts, even with -count.
func pathFor(t *testing.T, prefix string) string {
	return fmt.Sprintf("%s%s-%d", prefix, strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()), paths.Add(1))
}

var paths atomic.Int64

// pluginSaid returns the plugin's log lines for requests to path.
func (s *suite) pluginSaid(path string) string {
	var lines []string
	for _, d := range s.host.Decisions(0) {
		if strings.HasPrefix(d.Path, path) {
			lines = append(lines, d.Plugin...)
		}
	}
	return strings.Join(lines, "\n")
}

func TestAllowedSimpleGET(t *testing.T) {
	s := env(t)
	tb := openTab(t, s.browser, s.page)
	p := pathFor(t, "/t/")
	got := tb.fetch(t, s.api+p, nil)
	if !got.OK || got.Status != 200 || !strings.Contains(got.Body, `"method":"GET"`) {
		t.Fatalf("GET from the allowed origin %s: %v; want the upstream's 200 readable", s.page, got)
	}
	if n := len(s.atHost.got("OPTIONS", p)); n != 0 {
		t.Errorf("a simple GET was preflighted (%d OPTIONS at the host)", n)
	}
}

func TestBlockedOrigin(t *testing.T) {
	s := env(t)
	tb := openTab(t, s.browser, s.blocked)

	t.Run("simple GET", func(t *testing.T) {
		p := pathFor(t, "/t/")
		got := tb.fetch(t, s.api+p, nil)
		if got.OK || !strings.HasPrefix(got.Error, "TypeError") {
			t.Fatalf("GET from %s, which the policy does not allow: %v; want a rejection (TypeError), "+
				"though the upstream sends access-control-allow-origin: *", s.blocked, got)
		}
		// A simple request is sent; CORS keeps the page from reading the answer.
		if n := len(s.atUp.got("GET", p)); n != 1 {
			t.Errorf("the upstream got %d GETs; want 1", n)
		}
		if said := s.pluginSaid(p); !strings.Contains(said, "origin not allowed") {
			t.Errorf("the plugin logged %q; want origin not allowed", said)
		}
		tb.waitConsole(t, "CORS policy")
	})

	t.Run("preflighted PUT", func(t *testing.T) {
		p := pathFor(t, "/t/")
		got := tb.fetch(t, s.api+p, map[string]any{
			"method": "PUT", "headers": map[string]string{"content-type": "application/json"}, "body": "{}",
		})
		if got.OK {
			t.Fatalf("PUT from %s: %v; want a rejection", s.blocked, got)
		}
		if n := len(s.atUp.got("PUT", p)); n != 0 {
			t.Errorf("the upstream got %d PUTs; want none: the preflight was denied", n)
		}
	})
}

func TestCredentials(t *testing.T) {
	s := env(t)
	tb := openTab(t, s.browser, s.page)
	// A cookie of the page's site, localhost: the API, on another port of
	// localhost, is the same site, so a credentialed fetch sends it.
	if _, err := chromedpEval[string](tb, `document.cookie = "session=abc123; path=/; SameSite=Lax"`); err != nil {
		t.Fatalf("setting a cookie: %v", err)
	}

	t.Run("include", func(t *testing.T) {
		p := pathFor(t, "/t/")
		got := tb.fetch(t, s.api+p, map[string]any{"credentials": "include"})
		if !got.OK || got.Status != 200 || !strings.Contains(got.Body, `session=abc123`) {
			t.Fatalf(`credentials: "include": %v; want the upstream's answer, which names the cookie, readable`, got)
		}
		// The demo page's test sets a cookie for localhost too.
		if c := header(s.atUp.got("GET", p), "Cookie"); !slices.Contains(strings.Split(c, "; "), "session=abc123") {
			t.Errorf("the upstream got cookie %q; want session=abc123", c)
		}
	})

	t.Run("same-origin sends no cookie", func(t *testing.T) {
		p := pathFor(t, "/t/")
		got := tb.fetch(t, s.api+p, nil)
		if !got.OK || !strings.Contains(got.Body, `"cookie":""`) {
			t.Fatalf("fetch without credentials: %v; want a readable answer, without the cookie", got)
		}
	})

	t.Run("policy without credentials", func(t *testing.T) {
		p := pathFor(t, "/nocreds/")
		got := tb.fetch(t, s.api+p, map[string]any{"credentials": "include"})
		if got.OK {
			t.Fatalf(`credentials: "include" where the policy has no allowCredentials: %v; want a rejection`, got)
		}
		tb.waitConsole(t, "Access-Control-Allow-Credentials")
		got = tb.fetch(t, s.api+p+"-anonymous", nil)
		if !got.OK {
			t.Fatalf("the same path without credentials: %v; want it readable", got)
		}
	})
}

func TestExposedHeaders(t *testing.T) {
	s := env(t)
	tb := openTab(t, s.browser, s.page)
	got := tb.fetch(t, s.api+pathFor(t, "/t/"), nil, "x-exposed", "x-hidden", "content-type")
	if !got.OK {
		t.Fatalf("GET: %v", got)
	}
	for name, want := range map[string]string{
		"x-exposed":    "exposed-value",    // in exposeHeaders
		"x-hidden":     "<null>",           // sent by the upstream, not exposed
		"content-type": "application/json", // CORS-safelisted response header
	} {
		if v := got.header(name); v != want {
			t.Errorf("the page read %s: %s; want %s", name, v, want)
		}
	}
}

func TestPreflightCachedWithinMaxAge(t *testing.T) {
	s := env(t)
	tb := openTab(t, s.browser, s.page)
	put := map[string]any{"method": "PUT", "headers": map[string]string{"content-type": "application/json"}, "body": "{}"}
	for _, tc := range []struct {
		prefix    string
		preflight int
	}{
		{"/t/", 1},       // maxAge 600: the second PUT reuses the first preflight's answer
		{"/nocache/", 2}, // maxAge 0: every PUT is preflighted
	} {
		p := pathFor(t, tc.prefix)
		for i := range 2 {
			if got := tb.fetch(t, s.api+p, put); !got.OK {
				t.Fatalf("PUT %s #%d: %v", p, i+1, got)
			}
		}
		if n := len(s.atHost.got("OPTIONS", p)); n != tc.preflight {
			t.Errorf("two PUTs to %s: the host got %d preflights; want %d", p, n, tc.preflight)
		}
		if n := len(s.atUp.got("PUT", p)); n != 2 {
			t.Errorf("the upstream got %d PUTs to %s; want 2", n, p)
		}
	}
}

func TestErrorStatusReadable(t *testing.T) {
	s := env(t)
	tb := openTab(t, s.browser, s.page)
	// The plugin puts CORS headers on every status: the page sees the real
	// 401, not a CORS error.
	got := tb.fetch(t, s.api+pathFor(t, "/t/")+"/private", nil)
	if !got.OK || got.Status != 401 {
		t.Fatalf("GET of a path the upstream answers with 401: %v; want 401 readable", got)
	}
}

func TestPreflightedPUT(t *testing.T) {
	s := env(t)
	tb := openTab(t, s.browser, s.page)

	t.Run("allowed", func(t *testing.T) {
		p := pathFor(t, "/t/")
		got := tb.fetch(t, s.api+p, map[string]any{
			"method":  "PUT",
			"headers": map[string]string{"content-type": "application/json", "x-allowed": "yes"},
			"body":    `{"name":"x"}`,
		})
		if !got.OK || got.Status != 200 || !strings.Contains(got.Body, `"method":"PUT"`) {
			t.Fatalf("PUT with content-type and x-allowed: %v; want the upstream's 200 readable", got)
		}
		if n := len(s.atHost.got("OPTIONS", p)); n != 1 {
			t.Errorf("the host got %d preflights; want 1", n)
		}
		puts := s.atUp.got("PUT", p)
		if len(puts) != 1 || puts[0].Header.Get("X-Allowed") != "yes" {
			t.Errorf("the upstream got %d PUTs (x-allowed %q); want 1 with x-allowed: yes", len(puts), header(puts, "X-Allowed"))
		}
	})

	t.Run("header not allowed", func(t *testing.T) {
		p := pathFor(t, "/t/")
		got := tb.fetch(t, s.api+p, map[string]any{
			"method":  "PUT",
			"headers": map[string]string{"content-type": "application/json", "x-forbidden": "1"},
			"body":    `{}`,
		})
		if got.OK || !strings.HasPrefix(got.Error, "TypeError") {
			t.Fatalf("PUT with x-forbidden: %v; want a rejection (TypeError)", got)
		}
		if n := len(s.atHost.got("OPTIONS", p)); n != 1 {
			t.Errorf("the host got %d preflights; want 1", n)
		}
		if n := len(s.atUp.got("PUT", p)); n != 0 {
			t.Errorf("the upstream got %d PUTs after a denied preflight; want none", n)
		}
		if said := s.pluginSaid(p); !strings.Contains(said, `header not allowed "x-forbidden"`) {
			t.Errorf("the plugin logged %q; want its reason, header not allowed \"x-forbidden\"", said)
		}
		tb.waitConsole(t, "CORS policy")
	})

	t.Run("method not allowed", func(t *testing.T) {
		p := pathFor(t, "/t/")
		got := tb.fetch(t, s.api+p, map[string]any{"method": "PATCH"})
		if got.OK {
			t.Fatalf("PATCH: %v; want a rejection", got)
		}
		if n := len(s.atUp.got("PATCH", p)); n != 0 {
			t.Errorf("the upstream got %d PATCHes after a denied preflight; want none", n)
		}
		if said := s.pluginSaid(p); !strings.Contains(said, "method not allowed") {
			t.Errorf("the plugin logged %q; want method not allowed", said)
		}
	})
}

// chromedpEval evaluates a script in the tab.
func chromedpEval[T any](tb *tab, script string) (T, error) {
	return chromedp.Run(tb.ctx, chromedp.Evaluate[T](script))
}

// header returns the first request's header name, or "".
func header(reqs []*http.Request, name string) string {
	if len(reqs) == 0 {
		return ""
	}
	return reqs[0].Header.Get(name)
}
