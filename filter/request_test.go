package filter

import (
	"math/rand/v2"
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
	read := LineNames[:]
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
		// A name of the same length but one byte is another name.
		other := name[:len(name)-1] + "_"
		r = Request{}
		r.AddHeader(other, "true")
		if !reflect.DeepEqual(r, Request{}) {
			t.Errorf("AddHeader(%q) recorded %+v: the engine reads only LineNames", other, r)
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

// TestSetLinesIsResetThenAddHeader holds SetLines to what it stands for:
// on a request left by a random earlier one (several lines of a name
// included, as AddHeader records them), setting random lines of distinct
// names through a map and its spans gives the Request that Reset, then AddHeader of
// each line, gives, for every subset of LineNames a plugin picks (the
// lines of the others count as absent).
func TestSetLinesIsResetThenAddHeader(t *testing.T) {
	values := []string{"", "OPTIONS", "https://a.example", "x-a, x-b", "true", "api.example.com", "/p"}
	rng := rand.New(rand.NewPCG(3, 4))
	var r Request
	for round := range 5000 {
		// What the last request left.
		if rng.IntN(2) == 0 {
			r.RouteName = "route" // which the plugin sets after SetLines
		}
		for range rng.IntN(4) {
			r.AddHeader(LineNames[rng.IntN(NumLines)], values[rng.IntN(len(values))])
		}
		// This one: distinct names, in random order, among other lines.
		picked := uint16(rng.IntN(1 << NumLines))
		var lines [][2]string
		for _, i := range rng.Perm(NumLines)[:rng.IntN(NumLines+1)] {
			lines = append(lines, [2]string{LineNames[i], values[rng.IntN(len(values))]})
		}
		lines = append(lines, [2]string{"user-agent", "x"})
		var spans [MaxLines]uint64
		var present uint16
		var m strings.Builder
		for _, h := range lines {
			m.WriteString(h[0] + ":")
			for i, name := range LineNames {
				if name == h[0] && picked&(1<<i) != 0 {
					present |= 1 << i
					spans[i] = uint64(m.Len())<<32 | uint64(len(h[1]))
				}
			}
			m.WriteString(h[1] + "\n")
		}
		var want Request
		for _, h := range lines {
			for i, name := range LineNames {
				if name == h[0] && picked&(1<<i) != 0 {
					want.AddHeader(h[0], h[1])
				}
			}
		}
		r.SetLines(m.String(), &spans, present)
		got := r
		got.RequestHeaders, want.RequestHeaders = nil, nil
		if !reflect.DeepEqual(got, want) || !slicesEqual(r.RequestHeaders, wantLines(lines, picked)) {
			t.Fatalf("round %d: lines %q picked %b: SetLines gives %+v %q, want %+v %q", round, lines, picked, got, r.RequestHeaders, want, wantLines(lines, picked))
		}
		if c := r.RequestHeaders[len(r.RequestHeaders):cap(r.RequestHeaders)]; len(c) > 0 && c[0] != "" {
			t.Fatalf("round %d: SetLines keeps a view of an earlier request's line past its lines: %q", round, c[0])
		}
	}
}

// wantLines is the Access-Control-Request-Headers lines of lines, when
// picked holds its bit.
func wantLines(lines [][2]string, picked uint16) []string {
	var out []string
	for _, h := range lines {
		if h[0] == LineNames[LineRequestHeaders] && picked&(1<<LineRequestHeaders) != 0 {
			out = append(out, h[1])
		}
	}
	return out
}

func slicesEqual(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}
