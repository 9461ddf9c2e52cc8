package filter

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/cors"

	"github.com/corswasm/corswasm/internal/testmodule"
)

// The engine benchmarks put this engine and github.com/rs/cors through the
// same scenarios with equivalent policies, in the same run, so that their
// ratio means something on a noisy machine. Sub-benchmarks are named
// Engine/<scenario>/<implementation>; cmd/benchreport reads them.

// benchPolicy is the small policy the module benchmarks use too;
// benchRSCors is its rs/cors equivalent.
var benchPolicy = testmodule.BenchPolicy

func benchRSCors() *cors.Cors {
	return cors.New(cors.Options{
		AllowedOrigins:   []string{"https://app.example.com", "https://*.example.com"},
		AllowedMethods:   []string{"GET", "POST", "PUT", "DELETE"},
		AllowedHeaders:   []string{"content-type", "authorization"},
		ExposedHeaders:   []string{"x-request-id"},
		AllowCredentials: true,
		MaxAge:           600,
	})
}

// largePolicy has 100 exact origins, 20 wildcard patterns and 5 regexes
// (testmodule.LargePolicy), with its rs/cors equivalent.
func largePolicy() (config string, rs *cors.Cors) {
	origins, regexes := testmodule.LargeOrigins()
	config = testmodule.LargePolicy()

	// rs/cors ignores AllowedOrigins once AllowOriginFunc is set, so the
	// function does all three kinds of matching, as this engine does.
	exact := map[string]bool{}
	for _, o := range origins[:100] {
		exact[o] = true
	}
	var res []*regexp.Regexp
	for _, r := range regexes {
		res = append(res, regexp.MustCompile("^"+r+"$"))
	}
	rs = cors.New(cors.Options{
		AllowOriginFunc: func(origin string) bool {
			if exact[origin] {
				return true
			}
			for i := range 20 {
				if strings.HasPrefix(origin, "https://") && strings.HasSuffix(origin, ".tenant"+strconv.Itoa(i)+".example.org") {
					return true
				}
			}
			for _, re := range res {
				if re.MatchString(origin) {
					return true
				}
			}
			return false
		},
		AllowedMethods: []string{"PUT"},
		AllowedHeaders: []string{"content-type"},
	})
	return config, rs
}

type benchScenario struct {
	name    string
	large   bool // use largePolicy
	request [][2]string
}

var benchScenarios = []benchScenario{
	{"no origin", false, req("GET")},
	{"allowed actual", false, req("GET", "origin", "https://app.example.com")},
	{"denied actual", false, req("GET", "origin", "https://evil.net")},
	{"allowed preflight", false, preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type,authorization")},
	{"denied preflight", false, preflight("https://evil.net", "PUT")},
	{"large policy preflight", true, preflight("https://pr-7.preview4.example.com", "PUT", "access-control-request-headers", "content-type")},
	{"4 KiB request headers", false, preflight("https://app.example.com", "PUT", "access-control-request-headers", strings.Repeat("content-type,", 315))},
	// A preflight as Chrome sends it: the allowed preflight's lines among
	// nine the engine does not read.
	{"browser preflight", false, preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type,authorization",
		"accept", "*/*", "accept-encoding", "gzip, deflate, br, zstd", "accept-language", "en-US,en;q=0.9",
		"priority", "u=1, i", "referer", "https://app.example.com/", "sec-fetch-dest", "empty", "sec-fetch-mode", "cors",
		"sec-fetch-site", "same-site", "user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")},
}

func BenchmarkEngine(b *testing.B) {
	small := mustParse(b, benchPolicy)
	largeConfig, largeRS := largePolicy()
	large := mustParse(b, largeConfig)
	smallRS := benchRSCors()
	upstream := [][2]string{{":status", "200"}, {"content-type", "application/json"}}

	for _, s := range benchScenarios {
		cfg, rs := small, smallRS
		if s.large {
			cfg, rs = large, largeRS
		}
		b.Run(s.name+"/corswasm", func(b *testing.B) {
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
					hdrs, _ = d.RewriteResponse(upstream, out)
				}
			}
		})
		b.Run(s.name+"/rscors", func(b *testing.B) {
			b.ReportAllocs()
			handler := rs.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("content-type", "application/json")
			}))
			httpReq := httptest.NewRequest(s.request[0][1], "https://api.example.com/things", nil)
			for _, h := range s.request[3:] {
				httpReq.Header.Add(h[0], h[1])
			}
			w := &benchWriter{header: http.Header{}}
			for b.Loop() {
				clear(w.header)
				handler.ServeHTTP(w, httpReq)
			}
		})
	}
}

// benchWriter is a ResponseWriter that keeps nothing but its header map, so
// that the benchmark measures the middleware, not the recorder.
type benchWriter struct {
	header http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.header }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }
