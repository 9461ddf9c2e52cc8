package filter

import (
	"reflect"
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
