package filter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/testmodule"
)

// memoConfig gives the same origin different verdicts under its two
// policies: https://*.other.org is allowed on /admin/ only.
const memoConfig = `{
  "allowOrigins": ["https://app.example.com", "https://*.example.com"],
  "allowOriginRegexes": ["https://nothing\\.example\\.org", "https://pr-[0-9]+\\.preview\\.example\\.org"],
  "policies": [{"match": {"pathPrefixes": ["/admin/"]}, "allowOrigins": ["https://*.other.org"]}]
}`

// memoOrigins returns origins of every verdict, many of each length, so
// that entries of the same length and policy share slots: allowed by a
// pattern, by a regex, not allowed, invalid, too short and too long to be
// remembered.
func memoOrigins() []string {
	var origins []string
	for i := range 200 {
		origins = append(origins,
			fmt.Sprintf("https://a%d.example.com", i),
			fmt.Sprintf("https://a%d.other.org", i),
			fmt.Sprintf("https://pr-%d.preview.example.org", i),
			fmt.Sprintf("https://a%d.evil.net", i),
			fmt.Sprintf("https://a%d.example.com:x", i),
			fmt.Sprintf("https://A%d.example.com", i),
			fmt.Sprintf("http://%d", i%10),
			fmt.Sprintf("https://a%d.%s.example.com", i, strings.Repeat("b", 40)))
	}
	return append(origins, "https://app.example.com", "null", "", "https://")
}

func TestEvaluateMemoDecidesAsEvaluate(t *testing.T) {
	cfg := mustParse(t, memoConfig)
	var m OriginMemo
	origins := memoOrigins()
	// Twice over, in two orders: the second pass finds some verdicts
	// remembered and others evicted by an origin of the same slot.
	for pass := range 2 {
		for k := range origins {
			o := origins[k]
			if pass == 1 {
				o = origins[len(origins)-1-k]
			}
			for _, path := range []string{"/", "/admin/x"} {
				r := Request{Method: "OPTIONS", Path: path, Origin: o, HasOrigin: true, RequestMethod: "GET", HasRequestMethod: true}
				want := cfg.Evaluate(&r)
				if got := cfg.EvaluateMemo(&r, &m); got != want {
					t.Fatalf("pass %d, origin %q on %s: with the memo %v (%v), without %v (%v)", pass, o, path, got.Reason, got.Allowed, want.Reason, want.Allowed)
				}
				// What the memo holds besides the reason: the entry that let
				// the origin in, as Explain names it.
				p := cfg.selectPolicy(&r)
				reason, by, i := p.checkOrigin(&r, &m)
				if wr, wb, wi := p.checkOrigin(&r, nil); reason != wr || by != wb || i != wi {
					t.Fatalf("pass %d, origin %q on %s: checkOrigin with the memo %v %v %d, without %v %v %d", pass, o, path, reason, by, i, wr, wb, wi)
				}
			}
		}
	}
}

func TestOriginMemoAnswersARepeatFromItsEntry(t *testing.T) {
	cfg := mustParse(t, memoConfig)
	var m OriginMemo
	r := Request{Method: "GET", Path: "/", Origin: "https://evil.net", HasOrigin: true}
	if d := cfg.EvaluateMemo(&r, &m); d.Reason != ReasonOriginNotAllowed {
		t.Fatalf("first request: %v, want %v", d.Reason, ReasonOriginNotAllowed)
	}
	// Rewrite the remembered verdict: the repeat must take it from there.
	e, key := m.slot(cfg.policies[len(cfg.policies)-1], r.Origin)
	if e == nil || !e.holds(key, r.Origin) {
		t.Fatalf("the memo does not hold %q after its first request", r.Origin)
	}
	e.reason, e.by = ReasonAllowed, byPattern
	if d := cfg.EvaluateMemo(&r, &m); !d.Allowed {
		t.Fatalf("repeat: %v, want the remembered verdict (allowed)", d.Reason)
	}
	if d := cfg.Evaluate(&r); d.Allowed {
		t.Fatalf("without the memo: allowed, want %v", ReasonOriginNotAllowed)
	}
}

func TestOriginMemoEmptiesForAnotherConfig(t *testing.T) {
	allow := mustParse(t, `{"allowOrigins": ["https://*.example.com"]}`)
	deny := mustParse(t, `{"allowOrigins": ["https://*.example.net"]}`)
	var m OriginMemo
	r := Request{Method: "GET", Origin: "https://a.example.com", HasOrigin: true}
	for i, tt := range []struct {
		cfg  *Config
		want bool
	}{{allow, true}, {deny, false}, {allow, true}, {allow, true}} {
		if d := tt.cfg.EvaluateMemo(&r, &m); d.Allowed != tt.want {
			t.Fatalf("request %d: allowed %v, want %v", i, d.Allowed, tt.want)
		}
	}
}

func TestEvaluateMemoDoesNotAllocate(t *testing.T) {
	cfg := mustParse(t, memoConfig)
	m := new(OriginMemo)
	origins := memoOrigins()
	r := Request{Method: "GET", Path: "/", HasOrigin: true}
	if n := testing.AllocsPerRun(10, func() {
		for _, o := range origins {
			r.Origin = o
			cfg.EvaluateMemo(&r, m)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}

// BenchmarkOriginMemo prices the memo natively for an origin that takes
// the parse (matched by the large policy's last regex, or denied by the
// small one): Evaluate without a memo, EvaluateMemo with the origin
// remembered (a repeat), and EvaluateMemo with a new origin at every
// request (1,024 in turn over the memo's 64 entries: misses that replace
// an entry). BENCHMARKS.md reports the ratios.
func BenchmarkOriginMemo(b *testing.B) {
	for _, tc := range []struct {
		name, config, origin string
		variant              func(i int) string
	}{
		{"regex", testmodule.LargePolicy(), "https://pr-7.preview4.example.com",
			func(i int) string { return fmt.Sprintf("https://pr-%d.preview4.example.com", i) }},
		{"denied", benchPolicy, "https://evil.net", func(i int) string { return fmt.Sprintf("https://evil%d.net", i) }},
	} {
		cfg := mustParse(b, tc.config)
		varied := make([]string, 1024)
		for i := range varied {
			varied[i] = tc.variant(i)
		}
		r := Request{Method: "GET", Origin: tc.origin, HasOrigin: true}
		b.Run(tc.name+"/no memo", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				cfg.Evaluate(&r)
			}
		})
		b.Run(tc.name+"/repeat", func(b *testing.B) {
			var m OriginMemo
			b.ReportAllocs()
			for range b.N {
				cfg.EvaluateMemo(&r, &m)
			}
		})
		b.Run(tc.name+"/new origin each time", func(b *testing.B) {
			var m OriginMemo
			v := r
			b.ReportAllocs()
			for i := range b.N {
				v.Origin = varied[i&1023]
				cfg.EvaluateMemo(&v, &m)
			}
		})
	}
}
