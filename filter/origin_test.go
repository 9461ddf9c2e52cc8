package filter

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		name, in string
		want     origin
		ok       bool
	}{
		{"a plain https origin", "https://app.example.com", origin{"https", "app.example.com", ""}, true},
		{"an origin with a port", "http://localhost:8080", origin{"http", "localhost", "8080"}, true},
		{"an IPv4 host", "http://192.168.0.1:3000", origin{"http", "192.168.0.1", "3000"}, true},
		{"an IPv6 host", "http://[::1]:3000", origin{"http", "[::1]", "3000"}, true},
		{"an underscore in a label", "https://my_app.example.com", origin{"https", "my_app.example.com", ""}, true},
		{"punycode", "https://xn--bcher-kva.de", origin{"https", "xn--bcher-kva.de", ""}, true},
		{"a browser extension", "chrome-extension://abcdef", origin{"chrome-extension", "abcdef", ""}, true},
		{"the shortest http origin", "http://a", origin{"http", "a", ""}, true},
		{"the shortest https origin", "https://a", origin{"https", "a", ""}, true},
		{"https with nothing after the scheme", "https://", origin{}, false},
		{"http with an empty host and a port", "http://:8", origin{}, false},
		{"a scheme that starts as https", "httpss://a", origin{"httpss", "a", ""}, true},
		{"a scheme that starts as http", "httpx://a", origin{"httpx", "a", ""}, true},
		{"https with one slash", "https:/a.com", origin{}, false},
		{"http with a backslash", "http:\\\\a.com", origin{}, false},
		{"upper case in the host", "https://App.example.com", origin{}, false},
		{"upper case in the scheme", "HTTPS://app.example.com", origin{}, false},
		{"the default https port", "https://a.com:443", origin{}, false},
		{"the default http port", "http://a.com:80", origin{}, false},
		{"a leading zero in the port", "http://a.com:080", origin{}, false},
		{"a port out of range", "http://a.com:65536", origin{}, false},
		{"an empty port", "http://a.com:", origin{}, false},
		{"a trailing dot", "https://a.com.", origin{}, false},
		{"an empty label", "https://a..com", origin{}, false},
		{"a path", "https://a.com/x", origin{}, false},
		{"a trailing slash", "https://a.com/", origin{}, false},
		{"a query", "https://a.com?x", origin{}, false},
		{"a fragment", "https://a.com#x", origin{}, false},
		{"userinfo", "https://u:p@a.com", origin{}, false},
		{"a space", "https://a.com ", origin{}, false},
		{"a second value", "https://a.com, https://b.com", origin{}, false},
		{"a control character", "https://a.com\r\n", origin{}, false},
		{"a backtick after the host", "https://a.com`.evil.net", origin{}, false},
		{"an exclamation mark", "https://a.com!.evil.net", origin{}, false},
		{"a dollar sign", "https://a.com$.evil.net", origin{}, false},
		{"a brace", "https://a.com{.evil.net", origin{}, false},
		{"a percent-encoded host", "https://a%2ecom", origin{}, false},
		{"non-ASCII", "https://bücher.de", origin{}, false},
		{"a non-canonical IPv6 host", "http://[0:0::1]", origin{}, false},
		{"an IPv6 zone", "http://[fe80::1%25eth0]", origin{}, false},
		{"an unclosed IPv6 bracket", "http://[::1", origin{}, false},
		{"no scheme", "a.com", origin{}, false},
		{"an empty host", "https://", origin{}, false},
		{"a label longer than 63 bytes", "https://" + repeat("a", 64) + ".com", origin{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseOrigin(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseOrigin(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestOriginPatternMatches(t *testing.T) {
	tests := []struct {
		pattern, origin string
		want            bool
	}{
		{"https://*.example.com", "https://a.example.com", true},
		{"https://*.example.com", "https://a.b.example.com", true},
		{"https://*.example.com", "https://example.com", false},
		{"https://*.example.com", "https://aexample.com", false},
		{"https://*.example.com", "https://a.example.com.evil.net", false},
		{"https://*.example.com", "http://a.example.com", false},
		{"https://*.example.com", "https://a.example.com:8443", false},
		{"https://*.example.com:*", "https://a.example.com:8443", true},
		{"https://*.example.com:8443", "https://a.example.com:8443", true},
		{"http://localhost:*", "http://localhost:1", true},
		{"http://localhost:*", "http://localhost", true},
		{"http://localhost:*", "https://localhost:3000", false},
		{"http://localhost:*", "http://localhost.evil.net:3000", false},
		{"http://[::1]:*", "http://[::1]:3000", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" against "+tt.origin, func(t *testing.T) {
			pp, msg := parseOriginPattern(tt.pattern)
			if msg != "" || !pp.wild {
				t.Fatalf("parseOriginPattern(%q) = %+v, %q", tt.pattern, pp, msg)
			}
			o, ok := parseOrigin(tt.origin)
			if !ok {
				t.Fatalf("parseOrigin(%q) failed", tt.origin)
			}
			if got := pp.pattern.matches(o); got != tt.want {
				t.Errorf("matches = %v, want %v", got, tt.want)
			}
		})
	}
}

// hostLength is assembly in the Wasm build (origin_wasm.s): this test
// holds it, and hostLengthGo, to validHost and the first ':' there (the
// filter tests run as a Wasm module: internal/gojumps' test), on hosts
// built from every kind of byte, label and length around the limits.
func TestHostLength(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	hosts := []string{"", "a", "a.test", "app.example.com", "a_b-c.d9", "a..b", ".a", "a.", "A.test", "a b", "é.test",
		"127.0.0.1", "[::1]", label63 + ".test", label63 + "a.test", strings.Repeat(label63+".", 3) + strings.Repeat("b", 61),
		strings.Repeat(label63+".", 3) + strings.Repeat("b", 62)}
	tails := []string{"", ":", ":443", ":x", "/path", "::"}
	rng := rand.New(rand.NewPCG(7, 8))
	bytes := []byte("az09-_.:/A\x00\x80 ")
	for n := 0; n < 5000; n++ {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = bytes[rng.IntN(len(bytes))]
		}
		hosts = append(hosts, string(b))
	}
	for _, h := range hosts {
		for _, tail := range tails {
			s := h + tail
			want := strings.IndexByte(s, ':')
			if want < 0 {
				want = len(s)
			}
			if !validHost(s[:want]) {
				want = -1
			}
			if got := hostLength(s); got != want {
				t.Fatalf("hostLength(%q) = %d, want %d", s, got, want)
			}
			if got := hostLengthGo(s); got != want {
				t.Fatalf("hostLengthGo(%q) = %d, want %d", s, got, want)
			}
		}
	}
}
