package filter

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestAppendQuotedWritesWhatStrconvWrites checks the fast path of
// appendQuoted against strconv.QuoteToASCII: every single byte, every
// two-byte string of interesting bytes, and some origins.
func TestAppendQuotedWritesWhatStrconvWrites(t *testing.T) {
	var inputs []string
	for c := range 256 {
		inputs = append(inputs, string(rune(c)), string([]byte{byte(c)}))
	}
	edge := []byte{0, '\t', '\n', ' ', '!', '"', '\'', '\\', '~', 0x7f, 0x80, 0xc3, 0xa9, 0xff}
	for _, a := range edge {
		for _, b := range edge {
			inputs = append(inputs, string([]byte{a, b}))
		}
	}
	inputs = append(inputs, "", "https://evil.net", `https://a"b`, "https://ex\u00e4mple.test", strings.Repeat("a", maxQuotedValue))
	for _, v := range inputs {
		if got, want := string(appendQuoted([]byte("x"), v)), "x"+strconv.QuoteToASCII(v); got != want {
			t.Errorf("appendQuoted(%q) = %s, want %s", v, got, want)
		}
	}
}

// TestByteComparisons checks the module's comparisons (bytes.go: is, in
// WebAssembly there, and equalLower for isFold) against Go's: on words of
// every length around the eight bytes is compares at a time, and on
// strings that differ in one byte at each place.
func TestByteComparisons(t *testing.T) {
	words := []string{"", "a", "ab", "origin", "Origin", "origim", ":method", "options", "OPTIONS", "access-control-request-method",
		"access-control-request-headers", "a,b", ",", "x,", "https://a.test", "https://app.example.com", "https://app.example.con"}
	for _, s := range words {
		for _, u := range words {
			if got, want := is(s, u), s == u; got != want {
				t.Errorf("is(%q, %q) = %v, want %v", s, u, got, want)
			}
			if got, want := equalLower(s, strings.ToLower(u)), strings.EqualFold(s, u); got != want {
				t.Errorf("equalLower(%q, %q) = %v, want %v", s, strings.ToLower(u), got, want)
			}
		}
	}
	base := "https://app.example.com:8443"
	for n := 0; n <= len(base); n++ {
		s := base[:n]
		if !is(s, strings.Clone(s)) {
			t.Errorf("is(%q, itself) = false", s)
		}
		for at := range n {
			u := s[:at] + string(s[at]^0x20) + s[at+1:]
			if is(s, u) || is(u, s) {
				t.Errorf("is(%q, %q) = true", s, u)
			}
		}
	}
}

// TestPlainASCIIAgreesWithStrconv checks the word-at-a-time plainASCII
// against what strconv.QuoteToASCII does: every byte value at every place
// of a plain string of 1 to 20 bytes (in a word and in the tail), and
// random strings of bytes around the special ones.
func TestPlainASCIIAgreesWithStrconv(t *testing.T) {
	want := func(v string) bool { return strconv.QuoteToASCII(v) == `"`+v+`"` }
	base := "https://app.example"
	for n := 1; n <= len(base); n++ {
		for at := range n {
			for b := range 256 {
				v := base[:at] + string([]byte{byte(b)}) + base[at+1:n]
				if got := plainASCII(v); got != want(v) {
					t.Fatalf("plainASCII(%q) = %v, want %v", v, got, !got)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	special := []byte{0, 0x1F, ' ', '!', '"', '#', '[', '\\', ']', '~', 0x7F, 0x80, 0xFF, 'a', 'Z'}
	for range 20000 {
		v := make([]byte, r.IntN(24))
		for i := range v {
			v[i] = special[r.IntN(len(special))]
		}
		if got := plainASCII(string(v)); got != want(string(v)) {
			t.Fatalf("plainASCII(%q) = %v, want %v", v, got, !got)
		}
	}
}

// TestCountersKeyGroupsDecisionsThatCountAlike evaluates requests of every
// kind and outcome under configurations of one and two policies, in both
// modes, and checks that decisions with the same CountersKey count the
// same, that keys stay below 8 per policy, and that a decision without a
// key counts nothing.
func TestCountersKeyGroupsDecisionsThatCountAlike(t *testing.T) {
	configs := []string{
		`{"allowOrigins": ["https://app.example.com", "https://*.example.com"], "allowMethods": ["PUT"], "allowHeaders": ["x-a"]}`,
		`{"mode": "report", "allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"]}`,
		`{"allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"],
			"policies": [{"match": {"hosts": ["admin.example.com"]}, "allowOrigins": ["https://admin.example.com"]}]}`,
	}
	type counted struct {
		counters string
		policy   PolicyCounter
		hasPC    bool
	}
	for _, config := range configs {
		cfg := mustParse(t, config)
		seen := map[int]counted{}
		for _, host := range []string{"api.example.com", "admin.example.com"} {
			for _, origin := range []string{"", "https://app.example.com", "https://admin.example.com", "https://x.example.com", "https://evil.net", "https://EVIL.net", "null"} {
				for _, method := range []string{"GET", "OPTIONS"} {
					for _, acrm := range []string{"", "PUT", "DELETE"} {
						for _, acrh := range []string{"", "x-a", "x-b"} {
							var r Request
							r.AddHeaders([][2]string{{":method", method}, {":authority", host}, {":path", "/"}})
							if origin != "" {
								r.AddHeader("origin", origin)
							}
							if acrm != "" {
								r.AddHeader("access-control-request-method", acrm)
							}
							if acrh != "" {
								r.AddHeader("access-control-request-headers", acrh)
							}
							d := cfg.Evaluate(&r)
							pc, hasPC := d.PolicyCounter()
							got := counted{fmt.Sprint(d.Counters(nil)), pc, hasPC}
							key, ok := d.CountersKey()
							if !ok {
								if len(d.Counters(nil)) != 0 || hasPC {
									t.Errorf("%s: %+v has no key but counts %+v", config, d, got)
								}
								continue
							}
							if key < 0 || key >= 8*cfg.NumPolicies() {
								t.Errorf("%s: key %d outside [0, %d)", config, key, 8*cfg.NumPolicies())
							}
							if want, ok := seen[key]; ok && want != got {
								t.Errorf("%s: key %d counts %+v for %+v, %+v for an earlier decision", config, key, got, d, want)
							}
							seen[key] = got
						}
					}
				}
			}
		}
		if len(seen) < 4 {
			t.Errorf("%s: only %d keys seen: the requests do not cover the outcomes", config, len(seen))
		}
	}
}
