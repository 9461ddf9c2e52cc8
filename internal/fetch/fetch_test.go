package fetch

import (
	"strings"
	"testing"
)

func TestIsToken(t *testing.T) {
	for _, s := range []string{"GET", "x-custom", "!#$%&'*+-.^_`|~09azAZ"} {
		if !IsToken(s) {
			t.Errorf("IsToken(%q) = false", s)
		}
	}
	for _, s := range []string{"", "a b", "a,b", "a:b", "é", "a\x00", "(x)", "a/b"} {
		if IsToken(s) {
			t.Errorf("IsToken(%q) = true", s)
		}
	}
	for c := 0; c < 256; c++ {
		want := c > 0x20 && c < 0x7f && !strings.ContainsRune("\"(),/:;<=>?@[\\]{}", rune(c))
		if IsTokenChar(byte(c)) != want {
			t.Errorf("IsTokenChar(%q) = %v", byte(c), !want)
		}
	}
}

func TestMethods(t *testing.T) {
	for in, want := range map[string]string{"get": "GET", "Delete": "DELETE", "options": "OPTIONS", "patch": "patch", "PATCH": "PATCH", "poſt": "poſt", "": ""} {
		if got := NormalizeMethod(in); got != want {
			t.Errorf("NormalizeMethod(%q) = %q, want %q", in, got, want)
		}
	}
	for m, want := range map[string]bool{"GET": true, "HEAD": true, "POST": true, "get": false, "PUT": false} {
		if IsSafelistedMethod(m) != want {
			t.Errorf("IsSafelistedMethod(%q) = %v", m, !want)
		}
	}
	for m, want := range map[string]bool{"CONNECT": true, "trace": true, "Track": true, "GET": false, "TRACES": false} {
		if IsForbiddenMethod(m) != want {
			t.Errorf("IsForbiddenMethod(%q) = %v", m, !want)
		}
	}
}

func TestHeaders(t *testing.T) {
	for h, want := range map[string]bool{"Cookie": true, "host": true, "Sec-Fetch-Mode": true, "proxy-authorization": true,
		"content-type": false, "authorization": false, "x-sec": false, "proxy": false} {
		if IsForbiddenRequestHeader(h) != want {
			t.Errorf("IsForbiddenRequestHeader(%q) = %v", h, !want)
		}
	}
	for h, want := range map[string]bool{"Cache-Control": true, "content-length": true, "PRAGMA": true, "expires": true,
		"content-disposition": false, "x-request-id": false, "set-cookie": false} {
		if IsSafelistedResponseHeader(h) != want {
			t.Errorf("IsSafelistedResponseHeader(%q) = %v", h, !want)
		}
	}
	for h, want := range map[string]bool{"Set-Cookie": true, "set-cookie2": true, "cookie": false} {
		if IsForbiddenResponseHeader(h) != want {
			t.Errorf("IsForbiddenResponseHeader(%q) = %v", h, !want)
		}
	}
	for _, c := range []struct {
		name, value string
		want        bool
	}{
		{"Accept", "application/json", true},
		{"accept", "a(b", false},
		{"accept", strings.Repeat("a", 129), false},
		{"accept-language", "en-GB, fr;q=0.8", true},
		{"content-language", "en/GB", false},
		{"Content-Type", "text/plain; charset=utf-8", true},
		{"content-type", " Multipart/Form-Data ", true},
		{"content-type", "application/json", false},
		{"range", "bytes=0-", true},
		{"range", "bytes=5-10", true},
		{"range", "bytes=10-5", false},
		{"range", "bytes=-5", false},
		{"range", "bytes=0-99999999999999999999", false},
		{"x-custom", "1", false},
	} {
		if got := IsSafelistedRequestHeader(c.name, c.value); got != c.want {
			t.Errorf("IsSafelistedRequestHeader(%q, %q) = %v", c.name, c.value, got)
		}
	}
}

func TestAllocationFree(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		IsToken("x-custom-header")
		NormalizeMethod("delete")
		IsForbiddenRequestHeader("Sec-Fetch-Mode")
		IsSafelistedRequestHeader("content-type", "text/plain")
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}
