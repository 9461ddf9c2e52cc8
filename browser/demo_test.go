//go:build !wasip1

package browser

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/corswasm/corswasm/internal/demo"
	"github.com/corswasm/corswasm/internal/devhost"
	"github.com/corswasm/corswasm/internal/testmodule"
)

// demoRow is one call's row of the demo page, as shown.
type demoRow struct {
	Key     string `json:"key"`
	Verdict string `json:"verdict"`
	Read    string `json:"read"`
	Why     string `json:"why"`
}

// TestDemoPage runs the demo of `make run` (the demo API behind the host
// with the example policy, and the demo page) and checks what the page shows
// from an origin the policy allows and from one it does not. The policy is
// testdata/policy.json, the repository's example config.json as written:
// never config.json itself, which users edit.
func TestDemoPage(t *testing.T) {
	s := env(t)
	config, err := os.ReadFile("testdata/policy.json")
	if err != nil {
		t.Fatal(err)
	}
	upPort, err := serve(demo.Upstream())
	if err != nil {
		t.Fatal(err)
	}
	host, err := devhost.New(context.Background(), devhost.Options{
		Wasm: testmodule.Get(t, testmodule.Release), Config: config, Upstream: "http://127.0.0.1:" + upPort, Cache: testmodule.Cache(),
	})
	if err != nil {
		t.Fatalf("testdata/policy.json: %v", err)
	}
	t.Cleanup(func() { host.Close() })
	hostPort, err := serve(host)
	if err != nil {
		t.Fatal(err)
	}
	pagePort, err := serve(demo.Page("http://localhost:" + hostPort))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, origin string
		readable     []string // the calls the page can read; the others are blocked
		shot         string
	}{
		{"allowed origin", "http://localhost:" + pagePort, []string{"get", "put", "delete", "creds", "expose", "401", "public"}, *screenshot},
		{"blocked origin", "http://127.0.0.1:" + pagePort, []string{"public"}, besides(*screenshot, "-blocked")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := openTab(t, s.browser, tc.origin)
			rows := demoRows(t, tb)
			if tc.shot != "" {
				png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("screenshot: %v", err)
				}
				if err := os.WriteFile(tc.shot, png, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("screenshot of %s: %s", tc.origin, tc.shot)
			}
			if len(rows) < 9 {
				t.Fatalf("the page shows %d calls; want 9: %+v", len(rows), rows)
			}
			for _, r := range rows {
				want := "blocked"
				if slices.Contains(tc.readable, r.Key) {
					want = "read"
				}
				if r.Verdict != want {
					t.Errorf("call %s: the page shows %q (%s); want %q", r.Key, r.Verdict, r.Read, want)
				}
				if strings.TrimSpace(r.Why) == "" {
					t.Errorf("call %s: no reason shown", r.Key)
				}
				if want == "blocked" && !strings.Contains(r.Why, "plugin: denied") {
					t.Errorf("call %s is blocked but the page shows no plugin reason: %q", r.Key, r.Why)
				}
			}
			byKey := map[string]demoRow{}
			for _, r := range rows {
				byKey[r.Key] = r
			}
			if tc.name == "allowed origin" {
				for key, want := range map[string]string{
					"creds":  `"session":"s-`,              // the upstream saw the cookie
					"expose": "x-upstream-build: null",     // not exposed
					"401":    "401 · ",                     // the real status, not a CORS error
					"public": `{"status":"ok"}`,            // the any-origin policy
					"get":    `200 · [{"id":1,"name":"Tea`, // the body
				} {
					if !strings.Contains(byKey[key].Read, want) {
						t.Errorf("call %s: the page read %q; want it to contain %q", key, byKey[key].Read, want)
					}
				}
				if strings.Contains(byKey["expose"].Read, "x-request-id: null") {
					t.Errorf("call expose: the exposed x-request-id is not readable: %q", byKey["expose"].Read)
				}
				if !strings.Contains(byKey["header"].Why, `header not allowed "x-debug"`) {
					t.Errorf("call header: the page shows %q; want the plugin's reason, header not allowed \"x-debug\"", byKey["header"].Why)
				}
				// Run again: the browser reuses the preflight answers it cached.
				if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("again").click()`)); err != nil {
					t.Fatal(err)
				}
				again := demoRows(t, tb)
				if why := again[1].Why; again[1].Key != "put" || again[1].Verdict != "read" || !strings.Contains(why, "No preflight this time") {
					t.Errorf("run again, call %s: the page shows %q, %q; want the PUT read without a preflight", again[1].Key, again[1].Verdict, why)
				}
			} else if !strings.Contains(byKey["get"].Why, "origin not allowed") {
				t.Errorf("call get: the page shows %q; want the plugin's reason, origin not allowed", byKey["get"].Why)
			}
		})
	}
}

// demoRows waits for the demo page's calls to end and returns its rows.
func demoRows(t *testing.T, tb *tab) []demoRow {
	t.Helper()
	rows, err := chromedp.Run(tb.ctx, chromedp.Poll[[]demoRow](`document.body.dataset.done === "true" &&
		[...document.querySelectorAll("#rows tr")].map((tr) => ({
			key: tr.id.replace("call-", ""),
			verdict: tr.querySelector(".verdict").innerText,
			read: tr.querySelector(".read").innerText,
			why: tr.querySelector(".why").innerText,
		}))`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("waiting for the page's calls: %v", err)
	}
	return rows
}

// besides returns path with suffix before its extension, or "" for "".
func besides(path, suffix string) string {
	if path == "" {
		return ""
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + suffix + ext
}
