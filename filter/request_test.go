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

// TestReadsHeader holds Config.ReadsHeader to AddHeader: under a
// configuration that matches policies on hosts and paths it says yes to
// every name the engine reads, and every name it says no to leaves the
// request as it was; under one that does not, it says no to :authority
// and :path, and yes to :path again in report mode (its comparison logs
// the path).
func TestReadsHeader(t *testing.T) {
	read := []string{":method", ":authority", ":path", "origin", "cookie", "authorization",
		"access-control-request-method", "access-control-request-headers", "access-control-request-private-network"}
	all := mustParse(t, `{"policies": [{"match": {"hosts": ["api.example.com"], "pathPrefixes": ["/api/"]},
		"allowOrigins": ["https://app.example.com"]}]}`)
	for _, name := range read {
		var r Request
		r.AddHeader(name, "true")
		if reflect.DeepEqual(r, Request{}) {
			t.Errorf("AddHeader(%q) recorded nothing: not a name the engine reads", name)
		}
		if !all.ReadsHeader(name) {
			t.Errorf("ReadsHeader(%q) = false for a name the engine reads", name)
		}
	}
	for n := 0; n <= 100; n++ {
		if !all.ReadsHeader(strings.Repeat("x", n)) {
			for _, name := range read {
				if len(name) == n {
					t.Errorf("ReadsHeader says no to names of %d bytes, as long as %q", n, name)
				}
			}
		}
	}
	plain := mustParse(t, `{"allowOrigins": ["https://app.example.com"]}`)
	report := mustParse(t, `{"mode": "report", "allowOrigins": ["https://app.example.com"]}`)
	for _, tc := range []struct {
		cfg  *Config
		name string
		want bool
	}{
		{plain, ":authority", false}, {plain, ":path", false}, {plain, ":method", true}, {plain, "origin", true},
		{report, ":authority", false}, {report, ":path", true},
	} {
		if got := tc.cfg.ReadsHeader(tc.name); got != tc.want {
			t.Errorf("ReadsHeader(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
