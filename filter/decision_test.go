package filter

import (
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

// TestByteLoops checks the module's comparisons (bytes.go: equalLoop for
// is, equalLower for isFold) against the native ones.
func TestByteLoops(t *testing.T) {
	words := []string{"", "a", "ab", "origin", "Origin", "origim", ":method", "access-control-request-method", "access-control-request-headers", "a,b", ",", "x,"}
	for _, s := range words {
		for _, u := range words {
			if got, want := equalLoop(s, u), s == u; got != want {
				t.Errorf("equalLoop(%q, %q) = %v, want %v", s, u, got, want)
			}
			if got, want := equalLower(s, strings.ToLower(u)), strings.EqualFold(s, u); got != want {
				t.Errorf("equalLower(%q, %q) = %v, want %v", s, strings.ToLower(u), got, want)
			}
		}
	}
}
