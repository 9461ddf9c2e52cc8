package filter

import (
	"reflect"
	"strings"
	"testing"
)

func TestResetDropsTheLastRequestsLines(t *testing.T) {
	var r Request
	r.AddHeaders([][2]string{{":method", "OPTIONS"}, {"origin", "https://a.test"},
		{"access-control-request-headers", "x-a"}, {"access-control-request-headers", "x-b"}})
	r.Reset()
	lines := r.RequestHeaders
	if !reflect.DeepEqual(r, Request{RequestHeaders: lines}) || len(lines) != 0 || cap(lines) < 2 {
		t.Fatalf("after Reset: %+v (cap %d)", r, cap(lines))
	}
	if kept := lines[:2]; kept[0] != "" || kept[1] != "" {
		t.Fatalf("Reset keeps views of the last request's lines: %q", kept)
	}
}

// TestReadsHeader holds ReadsHeader to AddHeader: it says yes to every
// name the engine reads, and every name it says no to leaves the request
// as it was.
func TestReadsHeader(t *testing.T) {
	read := []string{":method", ":authority", ":path", "origin", "cookie", "authorization",
		"access-control-request-method", "access-control-request-headers", "access-control-request-private-network"}
	for _, name := range read {
		var r Request
		r.AddHeader(name, "true")
		if reflect.DeepEqual(r, Request{}) {
			t.Errorf("AddHeader(%q) recorded nothing: not a name the engine reads", name)
		}
		if !ReadsHeader(name) {
			t.Errorf("ReadsHeader(%q) = false for a name the engine reads", name)
		}
	}
	for n := 0; n <= 100; n++ {
		name := strings.Repeat("x", n)
		if !ReadsHeader(name) {
			for _, real := range read {
				if len(real) == n {
					t.Errorf("ReadsHeader says no to names of %d bytes, as long as %q", n, real)
				}
			}
		}
	}
}
