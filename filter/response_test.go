package filter

import (
	"fmt"
	"testing"
)

// TestLocalResponseKeySeparatesEveryAnswer runs allowed preflights that
// differ in what their answers carry, under two policies, and checks that
// two of them share a LocalResponseKey exactly when their answers are the
// same but for access-control-allow-origin.
func TestLocalResponseKeySeparatesEveryAnswer(t *testing.T) {
	cfg := mustParse(t, `{"policies": [
		{"name": "a", "match": {"pathPrefixes": ["/a"]}, "allowOrigins": ["https://x.test", "https://y.test"],
		 "allowMethods": ["PUT"], "allowHeaders": ["x-a"], "allowPrivateNetwork": true},
		{"name": "b", "match": {"pathPrefixes": ["/b"]}, "allowOrigins": ["https://x.test", "https://y.test"],
		 "allowMethods": ["PUT"], "allowHeaders": ["x-a"], "allowCredentials": true, "allowPrivateNetwork": true}]}`)
	seen := map[int]string{}
	answers := map[string]int{}
	for _, path := range []string{"/a", "/b"} {
		for _, origin := range []string{"https://x.test", "https://y.test"} {
			for _, acrh := range []string{"", "x-a"} {
				for _, pna := range []string{"", "true"} {
					var r Request
					r.AddHeaders([][2]string{{":method", "OPTIONS"}, {":path", path}, {"origin", origin},
						{"access-control-request-method", "PUT"}})
					if acrh != "" {
						r.AddHeader("access-control-request-headers", acrh)
					}
					if pna != "" {
						r.AddHeader("access-control-request-private-network", pna)
					}
					d := cfg.Evaluate(&r)
					key, ok := d.LocalResponseKey()
					status, hdrs, answered := d.LocalResponse(nil)
					if !ok || !answered || !d.Allowed {
						t.Fatalf("%s %s %q %q: key %v, answered %v, allowed %v", path, origin, acrh, pna, ok, answered, d.Allowed)
					}
					if hdrs[0] != [2]string{"access-control-allow-origin", origin} || d.KeyedValue() != origin {
						t.Fatalf("first header %q, KeyedValue %q; want the origin %q", hdrs[0], d.KeyedValue(), origin)
					}
					hdrs[0][1] = ""
					answer := fmt.Sprint(status, hdrs)
					if prev, dup := seen[key]; dup && prev != answer {
						t.Errorf("key %d for two answers:\n  %s\n  %s", key, prev, answer)
					}
					if k, dup := answers[answer]; dup && k != key {
						t.Errorf("keys %d and %d for one answer %s", k, key, answer)
					}
					seen[key], answers[answer] = answer, key
				}
			}
		}
	}
	if len(seen) != 8 {
		t.Errorf("%d keys for 2 policies x (with and without requested headers) x (with and without private network); want 8", len(seen))
	}
}

func TestNoLocalResponseKeyWithoutASharedAnswer(t *testing.T) {
	enforce := mustParse(t, `{"allowOrigins": ["https://x.test"], "allowMethods": ["PUT"]}`)
	report := mustParse(t, `{"mode": "report", "allowOrigins": ["https://x.test"], "allowMethods": ["PUT"]}`)
	debug := mustParse(t, `{"debug": true, "allowOrigins": ["https://x.test"], "allowMethods": ["PUT"]}`)
	forward := mustParse(t, `{"unmatchedPreflights": "forward", "allowOrigins": ["https://x.test"], "allowMethods": ["PUT"]}`)
	denied := [][2]string{{":method", "OPTIONS"}, {"origin", "https://evil.test"}, {"access-control-request-method", "PUT"}}
	for _, tt := range []struct {
		name  string
		cfg   *Config
		lines [][2]string
	}{
		{"a denied preflight under debug, whose answer names the reason", debug, denied},
		{"a denied preflight the policy forwards", forward, denied},
		{"an actual request", enforce, [][2]string{{":method", "GET"}, {"origin", "https://x.test"}}},
		{"a request without origin", enforce, [][2]string{{":method", "GET"}}},
		{"an allowed preflight in report mode", report, [][2]string{{":method", "OPTIONS"}, {"origin", "https://x.test"}, {"access-control-request-method", "PUT"}}},
	} {
		var r Request
		r.AddHeaders(tt.lines)
		d := tt.cfg.Evaluate(&r)
		if key, ok := d.LocalResponseKey(); ok {
			t.Errorf("%s: LocalResponseKey %d", tt.name, key)
		}
	}
	// A denial's answer is the policy's, whatever the request: one key, the
	// vary value open.
	var r Request
	r.AddHeaders(denied)
	d := enforce.Evaluate(&r)
	key, ok := d.LocalResponseKey()
	status, hdrs, _ := d.LocalResponse(nil)
	if !ok || key != 4 || status != 403 || len(hdrs) != 1 || hdrs[0] != [2]string{"vary", d.KeyedValue()} {
		t.Errorf("a denied preflight: key %d %v, answer %d %q, KeyedValue %q", key, ok, status, hdrs, d.KeyedValue())
	}
}

// TestKeyedValueFixedWhenEveryAnswerOfTheKeyIsTheSame runs preflights from
// three origins under a policy that lists two and one that allows any, and
// checks that KeyedValueFixed holds exactly for the keys whose whole
// answer is the same for every origin: a denial's, and a "*" policy's.
func TestKeyedValueFixedWhenEveryAnswerOfTheKeyIsTheSame(t *testing.T) {
	cfg := mustParse(t, `{"policies": [
		{"name": "listed", "match": {"pathPrefixes": ["/l"]}, "allowOrigins": ["https://x.test", "https://y.test"], "allowMethods": ["PUT"]},
		{"name": "any", "match": {"pathPrefixes": ["/a"]}, "allowOrigins": ["*"], "allowMethods": ["PUT"]}]}`)
	for _, tc := range []struct {
		path, method string
		wantFixed    bool
	}{
		{"/l", "PUT", false}, // two allowed origins, each echoed; the third denied
		{"/l", "PATCH", true},
		{"/a", "PUT", true},
		{"/a", "PATCH", true},
	} {
		answers := map[int]map[string]bool{}
		for _, origin := range []string{"https://x.test", "https://y.test", "https://z.test"} {
			var r Request
			r.AddHeaders([][2]string{{":method", "OPTIONS"}, {":path", tc.path}, {"origin", origin}, {"access-control-request-method", tc.method}})
			d := cfg.Evaluate(&r)
			key, ok := d.LocalResponseKey()
			status, hdrs, answered := d.LocalResponse(nil)
			if !ok || !answered {
				t.Fatalf("%s %s from %s: key %v, answered %v", tc.method, tc.path, origin, ok, answered)
			}
			if d.KeyedValueFixed() != (tc.wantFixed || !d.Allowed) {
				t.Errorf("%s %s from %s (allowed %v): KeyedValueFixed %v", tc.method, tc.path, origin, d.Allowed, d.KeyedValueFixed())
			}
			if answers[key] == nil {
				answers[key] = map[string]bool{}
			}
			answers[key][fmt.Sprint(status, hdrs)] = d.KeyedValueFixed()
		}
		for key, seen := range answers {
			for answer, fixed := range seen {
				if fixed && len(seen) > 1 {
					t.Errorf("%s %s: key %d has KeyedValueFixed but %d answers, %s among them", tc.method, tc.path, key, len(seen), answer)
				}
			}
			if !tc.wantFixed && key%5 != 4 && len(seen) != 2 {
				t.Errorf("%s %s: key %d has %d answers; want one per allowed origin", tc.method, tc.path, key, len(seen))
			}
		}
	}
}

// TestAdditionsKeySeparatesEveryLineSet runs actual requests from two
// origins, and requests without Origin, under three policies, to
// upstreams that vary by origin or not, and checks that two scans share
// an AdditionsKey only when their lines are the same but for
// access-control-allow-origin, that each policy and upstream gets a key,
// and that a debug denial has none.
func TestAdditionsKeySeparatesEveryLineSet(t *testing.T) {
	cfg := mustParse(t, `{"policies": [
		{"name": "a", "match": {"pathPrefixes": ["/a"]}, "allowOrigins": ["https://x.test", "https://y.test"], "allowCredentials": true, "exposeHeaders": ["x-id"]},
		{"name": "b", "match": {"pathPrefixes": ["/b"]}, "allowOrigins": ["https://x.test", "https://y.test"]},
		{"name": "any", "match": {"pathPrefixes": ["/c"]}, "allowOrigins": ["*"]}]}`)
	seen := map[int]string{}
	for _, path := range []string{"/a", "/b", "/c"} {
		for _, origin := range []string{"https://x.test", "https://y.test", ""} {
			for _, upstream := range [][][2]string{{{":status", "200"}}, {{":status", "200"}, {"vary", "Origin"}}} {
				var r Request
				r.AddHeaders([][2]string{{":method", "GET"}, {":path", path}})
				if origin != "" {
					r.AddHeader("origin", origin)
				}
				d := cfg.Evaluate(&r)
				u := d.ScanUpstream()
				for _, h := range upstream {
					if !u.Line(h[0], h[1]) {
						t.Fatalf("%s %q: the upstream's %q must go", path, origin, h)
					}
				}
				key, ok := u.AdditionsKey()
				lines := u.AppendAdditions(nil)
				if !ok {
					if origin != "" {
						t.Errorf("%s %q %q: no AdditionsKey for %q", path, origin, upstream, lines)
					}
					continue
				}
				if lines[0] != [2]string{"access-control-allow-origin", u.KeyedValue()} {
					t.Fatalf("%s %q: first line %q, KeyedValue %q", path, origin, lines[0], u.KeyedValue())
				}
				lines[0][1] = ""
				set := fmt.Sprint(lines)
				if prev, dup := seen[key]; dup && prev != set {
					t.Errorf("key %d for two sets:\n  %s\n  %s", key, prev, set)
				}
				seen[key] = set
			}
		}
	}
	// Two keys for a and b each (the upstream varies by origin or not),
	// one for "*", whose responses need no vary line.
	if len(seen) != 5 {
		t.Errorf("%d keys for the three policies; want 5", len(seen))
	}
	debug := mustParse(t, `{"debug": true, "allowOrigins": ["https://x.test"]}`)
	var r Request
	r.AddHeaders([][2]string{{":method", "GET"}, {"origin", "https://evil.test"}})
	d := debug.Evaluate(&r)
	u := d.ScanUpstream()
	if key, ok := u.AdditionsKey(); ok {
		t.Errorf("a debug denial's additions %q have AdditionsKey %d", u.AppendAdditions(nil), key)
	}
}
