package filter

import (
	"strings"
	"testing"
)

// BenchmarkEvaluate runs each scenario the way the plugin does: fill a
// Request, evaluate it, build the headers.
func BenchmarkEvaluate(b *testing.B) {
	cfg := mustParse(b, mainConfig)
	scenarios := []struct {
		name    string
		request [][2]string
	}{
		{"no origin", req("GET")},
		{"allowed actual", req("GET", "origin", "https://app.example.com")},
		{"denied actual", req("GET", "origin", "https://evil.net")},
		{"allowed preflight", preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type,authorization")},
		{"denied preflight", preflight("https://evil.net", "PUT")},
		{"4 KiB request headers", preflight("https://app.example.com", "PUT", "access-control-request-headers", strings.Repeat("content-type,", 315))},
	}
	for _, s := range scenarios {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			var r Request
			r.RequestHeaders = make([]string, 0, 4)
			hdrs := make([][2]string, 0, 16)
			for b.Loop() {
				r.Reset()
				for _, h := range s.request {
					r.AddHeader(h[0], h[1])
				}
				d := cfg.Evaluate(&r)
				if _, out, ok := d.LocalResponse(hdrs[:0]); !ok {
					hdrs, _ = d.RewriteResponse(okUpstream, out)
				}
			}
		})
	}
}
