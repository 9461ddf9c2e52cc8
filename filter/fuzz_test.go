package filter

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzParse checks that any input is either refused with a one-line error
// and no Config, or compiled into a Config that evaluates without panicking.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{mainConfig, policiesConfig, `{}`, `{"allowOrigins": ["*"]}`, `[`, `{"allowOrigins": ["https://*.a.com:*"]}`,
		`{"policies": [{"match": {"hosts": ["*.a.com"]}, "allowOriginRegexes": ["https://.*"]}]}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			if cfg != nil {
				t.Fatal("a Config came with an error")
			}
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error is empty or spans lines: %q", msg)
			}
			return
		}
		for _, request := range [][][2]string{
			req("GET", "origin", "https://a.com"),
			preflight("https://x.a.com", "PUT", "access-control-request-headers", "x-a, authorization"),
			req("GET"),
		} {
			var r Request
			for _, h := range request {
				r.AddHeader(h[0], h[1])
			}
			d := cfg.Evaluate(&r)
			d.LocalResponse(nil)
			d.RewriteResponse(okUpstream, nil)
		}
	})
}

var mainConfigAllows = regexp.MustCompile(`^(https://app\.example\.com|https://([a-z0-9_-]+\.)+example\.com|http://localhost(:[1-9][0-9]*)?|https://pr-[0-9]+\.preview\.example\.org)$`)

// FuzzEvaluate sends arbitrary request values through a credentialed and an
// any-origin policy and checks the properties a CORS policy must never break.
func FuzzEvaluate(f *testing.F) {
	f.Add("OPTIONS", "https://app.example.com", "PUT", "content-type", "")
	f.Add("OPTIONS", "https://a.example.com.evil.net", "PUT", "", "true")
	f.Add("GET", "http://localhost:8080", "", "", "")
	f.Add("OPTIONS", "https://pr-1.preview.example.org", "GET, PUT", "x,,y", "")
	f.Add("GET", "null", "", "", "")
	credentialed := mustParse(f, mainConfig)
	anyOrigin := mustParse(f, `{"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"], "exposeHeaders": ["*"]}`)
	f.Fuzz(func(t *testing.T, method, origin, acrm, acrh, pna string) {
		for _, cfg := range []*Config{credentialed, anyOrigin} {
			r := Request{Method: method, Origin: origin, HasOrigin: true, RequestMethod: acrm, HasRequestMethod: acrm != "",
				RequestHeaders: []string{acrh}, RequestPrivateNetwork: pna}
			d := cfg.Evaluate(&r)
			var hdrs [][2]string
			if _, local, ok := d.LocalResponse(nil); ok {
				hdrs = local
			} else {
				hdrs, _ = d.RewriteResponse(okUpstream, nil)
			}
			acao, credentials := "", false
			for _, h := range hdrs {
				if strings.ContainsAny(h[1], "\r\n\x00") {
					t.Fatalf("header %s carries a CR, LF or NUL: %q", h[0], h[1])
				}
				switch h[0] {
				case "access-control-allow-origin":
					if acao != "" {
						t.Fatal("two access-control-allow-origin headers")
					}
					acao = h[1]
				case "access-control-allow-credentials":
					credentials = true
				}
			}
			if acao == "*" && credentials {
				t.Fatal("* answered with credentials")
			}
			if acao != "" && acao != "*" && (acao != origin || cfg != credentialed || !mainConfigAllows.MatchString(origin)) {
				t.Fatalf("allowed origin %q, which the policy does not name", origin)
			}
			if d.Allowed != (acao != "") {
				t.Fatalf("decision allowed=%v but allow-origin %q", d.Allowed, acao)
			}
		}
	})
}
