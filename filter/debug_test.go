package filter

import (
	"strconv"
	"strings"
	"testing"
)

// The "debug" option: an x-cors-reason header on every response the plugin
// denies, never on others, and never carrying raw request bytes.

const debugConfig = `{
  "debug": true,
  "allowOrigins": ["https://app.example.com"],
  "allowMethods": ["PUT"],
  "allowHeaders": ["content-type"],
  "policies": [
    {"match": {"pathPrefixes": ["/fwd/"]}, "allowOrigins": ["https://app.example.com"], "unmatchedPreflights": "forward"}
  ]
}`

func TestDebugHeaderOnDenials(t *testing.T) {
	cfg := mustParse(t, debugConfig)
	vary := "vary: origin, access-control-request-method, access-control-request-headers"
	tests := []struct {
		name     string
		request  [][2]string
		upstream [][2]string
		want     string
	}{
		{"a preflight from an origin not allowed",
			preflight("https://evil.example", "PUT"), nil,
			`403 | ` + vary + ` | x-cors-reason: origin not allowed: "https://evil.example" (policy default)`},
		{"a preflight with a method not allowed",
			preflight("https://app.example.com", "PATCH"), nil,
			`403 | ` + vary + ` | x-cors-reason: method not allowed: "PATCH" (policy default)`},
		{"a preflight with a header not allowed",
			preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type,x-secret"), nil,
			`403 | ` + vary + ` | x-cors-reason: header not allowed: "x-secret" (policy default)`},
		{"a preflight asking for private network access",
			preflight("https://app.example.com", "PUT", "access-control-request-private-network", "true"), nil,
			`403 | ` + vary + ` | x-cors-reason: private network access not allowed: "true" (policy default)`},
		{"an invalid origin",
			preflight("https://APP.example.com", "PUT"), nil,
			`403 | ` + vary + ` | x-cors-reason: invalid origin: "https://APP.example.com" (policy default)`},
		{"an actual request from an origin not allowed, the upstream's CORS headers stripped",
			req("GET", "origin", "https://evil.example"),
			[][2]string{{":status", "200"}, {"access-control-allow-origin", "*"}},
			`200 | vary: origin | x-cors-reason: origin not allowed: "https://evil.example" (policy default)`},
		{"an allowed preflight has no reason",
			preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type"), nil,
			"204 | access-control-allow-headers: content-type | access-control-allow-methods: PUT | " +
				"access-control-allow-origin: https://app.example.com | " + vary},
		{"an allowed actual request has no reason",
			req("GET", "origin", "https://app.example.com"), okUpstream,
			"200 | access-control-allow-origin: https://app.example.com | content-type: application/json | vary: origin"},
		{"a request without origin has no reason",
			req("GET"), okUpstream,
			"200 | content-type: application/json | vary: origin"},
		{"a forwarded preflight is left to the upstream",
			append(preflight("https://evil.example", "PUT"), [2]string{":path", "/fwd/x"}),
			[][2]string{{":status", "204"}}, "204"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exchange(t, cfg, tt.request, tt.upstream); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDebugOffSendsNoReason(t *testing.T) {
	cfg := mustParse(t, strings.Replace(debugConfig, `"debug": true`, `"debug": false`, 1))
	if cfg.Debug() {
		t.Fatal("Debug() is true with \"debug\": false")
	}
	if len(cfg.Warnings()) > 0 {
		t.Errorf("\"debug\": false warns: %v", cfg.Warnings())
	}
	for _, request := range [][][2]string{
		preflight("https://evil.example", "PUT"),
		req("GET", "origin", "https://evil.example"),
	} {
		if got := exchange(t, cfg, request, okUpstream); strings.Contains(got, ReasonHeader) {
			t.Errorf("debug off, yet: %s", got)
		}
	}
}

func TestDebugInReportModeChangesNothing(t *testing.T) {
	cfg := mustParse(t, `{"debug": true, "mode": "report", "allowOrigins": ["https://app.example.com"]}`)
	var r Request
	for _, h := range preflight("https://evil.example", "PUT") {
		r.AddHeader(h[0], h[1])
	}
	d := cfg.Evaluate(&r)
	if _, _, ok := d.LocalResponse(nil); ok {
		t.Error("report mode answered a preflight")
	}
	if d.NeedsResponse() {
		t.Error("report mode rewrites a response")
	}
}

// TestDebugReasonIsASafeHeaderValue sends hostile values: the reason must be
// one printable ASCII line, whatever the request carried.
func TestDebugReasonIsASafeHeaderValue(t *testing.T) {
	cfg := mustParse(t, debugConfig)
	hostile := []string{
		"https://evil.example\r\nset-cookie: a=b",
		"https://evil.example\x00",
		"https://evil.example\n",
		"https://évil.example",
		"\xff\xfe",
		"https://" + strings.Repeat("a", 5000) + ".example",
	}
	for _, origin := range hostile {
		for _, request := range [][][2]string{
			preflight(origin, "PUT"),
			preflight("https://app.example.com", "PUT", "access-control-request-headers", origin),
			preflight("https://app.example.com", origin),
			req("GET", "origin", origin),
		} {
			var r Request
			for _, h := range request {
				r.AddHeader(h[0], h[1])
			}
			d := cfg.Evaluate(&r)
			hdrs, ok := [][2]string(nil), false
			if _, hdrs, ok = d.LocalResponse(nil); !ok {
				hdrs, _ = d.RewriteResponse(okUpstream, nil)
			}
			found := false
			for _, h := range hdrs {
				if h[0] != ReasonHeader {
					continue
				}
				found = true
				for i := 0; i < len(h[1]); i++ {
					if c := h[1][i]; c < 0x20 || c > 0x7e {
						t.Errorf("reason for %q holds byte %#x: %q", origin, c, h[1])
						break
					}
				}
				if len(h[1]) > 2*maxQuotedValue+100 {
					t.Errorf("reason for a %d-byte value is %d bytes long", len(origin), len(h[1]))
				}
			}
			if !found {
				t.Errorf("no reason for the denied request %q", request)
			}
		}
	}
}

func TestDebugReasonTruncatesLongValues(t *testing.T) {
	cfg := mustParse(t, debugConfig)
	long := "https://" + strings.Repeat("abcdefgh.", 20) + "example" // valid, and longer than the limit
	got := exchange(t, cfg, preflight(long, "PUT"), nil)
	want := `x-cors-reason: origin not allowed: "` + long[:maxQuotedValue] + `"... (` + strconv.Itoa(len(long)) + ` bytes) (policy default)`
	if !strings.Contains(got, want) {
		t.Errorf("got  %s\nwant it to contain %s", got, want)
	}
}

func TestDebugOption(t *testing.T) {
	cfg := mustParse(t, debugConfig)
	if !cfg.Debug() {
		t.Error("Debug() is false with \"debug\": true")
	}
	if w := cfg.Warnings(); len(w) != 1 || w[0].Path != "debug" || !strings.Contains(w[0].Message, "never in production") {
		t.Errorf("warnings: %v, want one on debug that warns against production", w)
	}
	if s := cfg.Summary(); !strings.HasPrefix(s, "cors: configuration loaded: mode enforce with debug headers; ") {
		t.Errorf("summary %q does not mention debug", s)
	}
	refused := []struct{ config, want string }{
		{`{"debug": "yes", "allowOrigins": ["https://a.com"]}`, "debug: must be true or false, not a string"},
		{`{"allowOrigins": ["https://a.com"], "policies": [{"match": {"hosts": ["a.com"]}, "allowOrigins": ["https://a.com"], "debug": true}]}`,
			"policies[0].debug: unknown field"},
		{`{"debug": true, "debug": false, "allowOrigins": ["https://a.com"]}`, "debug: appears twice"},
	}
	for _, tt := range refused {
		_, err := Parse([]byte(tt.config))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", tt.config, err, tt.want)
		}
	}
}

// TestDebugOffDoesNotAllocate keeps the hot path of a denial as it was.
func TestDebugOffDoesNotAllocate(t *testing.T) {
	cfg := mustParse(t, strings.Replace(debugConfig, `"debug": true,`, "", 1))
	for _, request := range [][][2]string{
		preflight("https://evil.example", "PUT"),
		req("GET", "origin", "https://evil.example"),
	} {
		var r Request
		r.RequestHeaders = make([]string, 0, 4)
		hdrs := make([][2]string, 0, 16)
		allocs := testing.AllocsPerRun(100, func() {
			r.Reset()
			for _, h := range request {
				r.AddHeader(h[0], h[1])
			}
			d := cfg.Evaluate(&r)
			if _, out, ok := d.LocalResponse(hdrs[:0]); !ok {
				d.RewriteResponse(okUpstream, out)
			}
		})
		if allocs != 0 {
			t.Errorf("%d allocations per denied request with debug off", int(allocs))
		}
	}
}
