package filter

// Fuzz targets. Each runs its seeds (f.Add and testdata/fuzz/<Target>/) on
// every `go test`; fuzz one with
//
//	go test -run '^$' -fuzz '^FuzzEvaluate$' -fuzztime 60s ./filter
//
// and keep what it finds in testdata/fuzz/<Target>/ (the go command writes it
// there). The targets:
//
//   - FuzzParse: any configuration document;
//   - FuzzOrigin: origin parsing, and an origin against any allowOrigins
//     entry and any allowOriginRegexes entry;
//   - FuzzRequestHeaders: Access-Control-Request-Headers parsing;
//   - FuzzEvaluate: a whole request through the engine under several
//     policies, as the plugin runs it.
//
// On every input they check: no panic; the engine's verdict equals the
// oracle's (attack_test.go: an independent reading of the policy), so an
// allowed origin is always one the policy names; "*" never goes with
// credentials; no header value carries CR, LF or NUL; no CORS header on a
// denial; and bounded work: evaluating a request and building its response
// allocates nothing (measured with testing.AllocsPerRun, on every seed and on
// one input in 16 while fuzzing, where measuring would dominate) and takes
// less than a bound far above its cost (the fastest of three runs, so a
// busy machine does not fail it).

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// requestBound is the time one request may take through the engine. A
	// request costs well under 10 µs; 50 ms means an algorithmic problem.
	requestBound = 50 * time.Millisecond
	// parseBound is the time one configuration may take to parse and compile.
	parseBound = 2 * time.Second
)

// slowerThan runs f and reports whether it takes longer than bound: a slow
// run is repeated twice and only the fastest counts.
func slowerThan(bound time.Duration, f func()) (time.Duration, bool) {
	best := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		f()
		best = min(best, time.Since(start))
		if best <= bound {
			return best, false
		}
	}
	return best, true
}

var isFuzzWorker = sync.OnceValue(func() bool {
	f := flag.Lookup("test.fuzzworker")
	return f != nil && f.Value.String() == "true"
})

var allocChecks atomic.Uint64

// allocCheckDue says whether to measure this input's allocations: for
// every input in a normal test run, every 16th while fuzzing.
func allocCheckDue() bool {
	return !isFuzzWorker() || allocChecks.Add(1)%16 == 0
}

// fuzzPolicy is a configuration under test with its oracle.
type fuzzPolicy struct {
	config string
	cfg    *Config
	orc    *oracle
	// replies are the preflight answers seen by LocalResponseKey, with the
	// value of their first header blanked (see checkFastPaths).
	replies sync.Map // int -> string
	// fixed are the whole answers of the keys whose KeyedValue is fixed.
	fixed sync.Map // int -> string
	// additions are the response additions seen by
	// UpstreamScan.AdditionsKey, their first value blanked.
	additions sync.Map // int -> string
}

// checkFastPaths checks that the plugin's shortcuts give what the general
// paths give: the additions of AppendResponseAdditions are what
// RewriteResponse appends, and decisions with the same LocalResponseKey get
// the same answer but for its first value, KeyedValue, and the same whole
// answer when KeyedValueFixed.
func checkFastPaths(t *testing.T, fp *fuzzPolicy, d *Decision, upstream [][2]string) {
	t.Helper()
	rewritten, changed := d.RewriteResponse(upstream, nil)
	if add, ok := d.AppendResponseAdditions(upstream, nil); ok {
		want := append(slices.Clone(upstream), add...)
		if !d.NeedsResponse() {
			want = nil
		}
		if !slices.Equal(rewritten, want) || changed != (len(add) > 0) {
			t.Errorf("additions %q to %q, but RewriteResponse gives %q (changed %v)", add, upstream, rewritten, changed)
		}
	}
	checkAdditionsKey(t, fp, d, upstream)
	status, hdrs, ok := d.LocalResponse(nil)
	key, keyed := d.LocalResponseKey()
	if !keyed {
		if ok && (d.Allowed || !d.debug) {
			t.Errorf("the answer %q (allowed %v, debug %v) has no LocalResponseKey", hdrs, d.Allowed, d.debug)
		}
		return
	}
	first := "access-control-allow-origin"
	if !d.Allowed {
		first = "vary"
	}
	if !ok || len(hdrs) == 0 || hdrs[0] != [2]string{first, d.KeyedValue()} {
		t.Errorf("LocalResponseKey %d for the answer %v %q (KeyedValue %q)", key, ok, hdrs, d.KeyedValue())
		return
	}
	if key < 0 || key >= 5*fp.cfg.NumPolicies() {
		t.Errorf("LocalResponseKey %d out of range for %d policies", key, fp.cfg.NumPolicies())
	}
	if d.KeyedValueFixed() {
		whole := strconv.Itoa(status) + fmt.Sprint(hdrs)
		if prev, loaded := fp.fixed.LoadOrStore(key, whole); loaded && prev != whole {
			t.Errorf("LocalResponseKey %d, whose KeyedValue is fixed, for two answers:\n  %s\n  %s", key, prev, whole)
		}
	}
	hdrs[0][1] = ""
	answer := strconv.Itoa(status) + fmt.Sprint(hdrs)
	if prev, loaded := fp.replies.LoadOrStore(key, answer); loaded && prev != answer {
		t.Errorf("LocalResponseKey %d for two answers:\n  %s\n  %s", key, prev, answer)
	}
}

// checkAdditionsKey checks that the scans with the same AdditionsKey add
// the same lines but for the first, access-control-allow-origin:
// KeyedValue.
func checkAdditionsKey(t *testing.T, fp *fuzzPolicy, d *Decision, upstream [][2]string) {
	t.Helper()
	u := d.ScanUpstream()
	for _, h := range upstream {
		if !u.Line(h[0], h[1]) {
			return
		}
	}
	key, ok := u.AdditionsKey()
	if !ok {
		return
	}
	lines := u.AppendAdditions(nil)
	if len(lines) == 0 || lines[0] != [2]string{"access-control-allow-origin", u.KeyedValue()} {
		t.Errorf("AdditionsKey %d for the additions %q (KeyedValue %q)", key, lines, u.KeyedValue())
		return
	}
	if key < 0 || key >= 2*fp.cfg.NumPolicies() {
		t.Errorf("AdditionsKey %d out of range for %d policies", key, fp.cfg.NumPolicies())
	}
	lines[0][1] = ""
	set := fmt.Sprint(lines)
	if prev, loaded := fp.additions.LoadOrStore(key, set); loaded && prev != set {
		t.Errorf("AdditionsKey %d for two sets of lines:\n  %s\n  %s", key, prev, set)
	}
}

func newFuzzPolicy(tb testing.TB, config string) *fuzzPolicy {
	tb.Helper()
	orc, err := newOracle([]byte(config))
	if err != nil {
		tb.Fatalf("oracle for %s: %v", config, err)
	}
	return &fuzzPolicy{config: config, cfg: mustParse(tb, config), orc: orc}
}

// checkWholeRequest runs one request through fp as the plugin does and checks
// every property on what reaches the browser.
func checkWholeRequest(t *testing.T, fp *fuzzPolicy, lines [][2]string, route string, upstream [][2]string) {
	t.Helper()
	var r Request
	r.RequestHeaders = make([]string, 0, 4)
	for _, h := range lines {
		r.AddHeader(h[0], h[1])
	}
	r.RouteName = route
	d := fp.cfg.Evaluate(&r)
	// With a memo, the first decision and the remembered one are Evaluate's.
	var m OriginMemo
	for i := range 2 {
		if dm := fp.cfg.EvaluateMemo(&r, &m); dm != d {
			t.Errorf("EvaluateMemo (request %d) decides %v (%v), Evaluate %v (%v)\n  policy %s\n  request %q", i, dm.Reason, dm.Allowed, d.Reason, d.Allowed, fp.config, lines)
		}
	}
	ex := exchangeOf(&d, upstream)
	for _, p := range checkExchange(fp.orc, lines, route, &d, ex) {
		t.Errorf("%s\n  policy %s\n  request %q", p, fp.config, lines)
	}
	// Explain takes the engine's own path to the origin verdict, and names
	// the entry that let an allowed origin in.
	if e := fp.cfg.Explain(&r); len(e.Checks) > 0 {
		o := e.Checks[0]
		if o.Passed != (d.Reason != ReasonOriginInvalid && d.Reason != ReasonOriginNotAllowed) || o.Passed && (o.By == "" || o.Entry == "") {
			t.Errorf("Explain's origin check %+v disagrees with the decision %v", o, d.Reason)
		}
	}
	if d.Allowed && d.Kind != KindActual && d.Kind != KindPreflight {
		t.Errorf("a %v request allowed", d.Kind)
	}
	if line := d.LogLine(); strings.ContainsAny(line, "\r\n\x00") {
		t.Errorf("log line spans lines: %q", line)
	}
	if (d.LogLine() != "") != (!d.Allowed && (d.Kind == KindActual || d.Kind == KindPreflight)) || (d.LogLine() != "") != d.Denied() {
		t.Errorf("log line %q for allowed=%v kind %v, Denied %v", d.LogLine(), d.Allowed, d.Kind, d.Denied())
	}
	checkFastPaths(t, fp, &d, upstream)

	hdrs := make([][2]string, 0, 32)
	counters := make([]Counter, 0, 4)
	request := func() {
		d := fp.cfg.Evaluate(&r)
		var ok bool
		if _, hdrs, ok = d.LocalResponse(hdrs[:0]); !ok {
			hdrs, _ = d.RewriteResponse(okUpstream, hdrs[:0])
		}
		counters = d.Counters(counters[:0])
	}
	if took, slow := slowerThan(requestBound, request); slow {
		t.Errorf("one request took %v, over the %v bound", took, requestBound)
	}
	if !allocCheckDue() || (fp.orc.debug && !d.Allowed) {
		return // a debug denial builds its reason header: allocating is its job
	}
	if n := testing.AllocsPerRun(1, request); n != 0 {
		t.Errorf("%v allocations per request, want 0\n  policy %s\n  request %q", n, fp.config, lines)
	}
}

// FuzzParse checks that any document is either refused with a one-line
// error and no Config, or compiled into a Config the oracle reads alike:
// probe requests derived from its own patterns get the oracle's verdict.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{mainConfig, policiesConfig, `{}`, `{"allowOrigins": ["*"]}`, `[`, `{"allowOrigins": ["https://*.a.com:*"]}`,
		`{"policies": [{"match": {"hosts": ["*.a.com"]}, "allowOriginRegexes": ["https://.*"]}]}`,
		`{"allowOrigins": ["HTTP://[0:0::1]:80", "null", "https://*.Example.com:8443"], "allowMethods": ["patch", "put"], "allowHeaders": ["*", "Authorization"], "allowPrivateNetwork": true, "maxAge": 6e2}`,
		`{"mode": "report", "allowOrigins": ["https://a.com"], "policies": [{"match": {"pathPrefixes": ["/x"], "routeNames": ["r"]}, "allowOrigins": ["*"], "unmatchedPreflights": "forward", "exposeHeaders": ["*"]}]}`,
		`{"allowOrigins": ["https://*.1.2.3"]}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg *Config
		var err error
		if took, slow := slowerThan(parseBound, func() { cfg, err = Parse(data) }); slow {
			t.Fatalf("Parse took %v, over the %v bound", took, parseBound)
		}
		if err != nil {
			var ce *ConfigError
			if cfg != nil || !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("refusal with Config %v, error %T", cfg != nil, err)
			}
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error is empty or spans lines: %q", msg)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted a document encoding/json finds invalid: %q", data)
		}
		if strings.ContainsAny(cfg.Summary(), "\r\n") {
			t.Fatalf("summary spans lines: %q", cfg.Summary())
		}
		for _, w := range cfg.Warnings() {
			if strings.ContainsAny(w.String(), "\r\n") {
				t.Fatalf("warning spans lines: %q", w.String())
			}
		}
		orc, err := newOracle(data)
		if err != nil {
			t.Fatalf("accepted a document the oracle cannot read: %v", err)
		}
		fp := &fuzzPolicy{config: string(data), cfg: cfg, orc: orc}
		checked := 0
		for _, p := range orc.policies {
			authority, path, route := p.probeTarget()
			for _, origin := range p.probeOrigins() {
				if checked++; checked > 64 {
					return
				}
				checkWholeRequest(t, fp, [][2]string{{":method", "GET"}, {":authority", authority}, {":path", path}, {"origin", origin}}, route, hostileUpstream)
				checkWholeRequest(t, fp, [][2]string{{":method", "OPTIONS"}, {":authority", authority}, {":path", path}, {"origin", origin},
					{"access-control-request-method", "PATCH"}, {"access-control-request-headers", "x-a, authorization"},
					{"access-control-request-private-network", "true"}}, route, hostileUpstream)
			}
			checkWholeRequest(t, fp, [][2]string{{":method", "GET"}, {":authority", authority}, {":path", path}}, route, hostileUpstream)
		}
	})
}

// probeTarget is a request target the policy's match holds for.
func (p *oraclePolicy) probeTarget() (authority, path, route string) {
	authority, path = "api.example.com", "/"
	switch {
	case len(p.hosts) > 0:
		authority = p.hosts[0]
	case len(p.hostSuffixes) > 0:
		authority = "x" + p.hostSuffixes[0]
	}
	if len(p.pathPrefixes) > 0 {
		path = p.pathPrefixes[0]
	}
	if len(p.routeNames) > 0 {
		route = p.routeNames[0]
	}
	return authority, path, route
}

// probeOrigins derives origins from the policy's own entries: each as a
// browser would send it, and look-alikes of it.
func (p *oraclePolicy) probeOrigins() []string {
	out := []string{"null", "https://evil.example", "https://app.example.com"}
	for i, e := range p.originEntries {
		if i == 8 {
			break
		}
		o := strings.ToLower(e)
		o = strings.Replace(o, "://*.", "://a.", 1)
		o = strings.TrimSuffix(o, ":*")
		o = strings.TrimSuffix(strings.TrimSuffix(o, ":443"), ":80")
		out = append(out, o, o+".evil.net", o+":8080", strings.Replace(o, "://", "://x", 1),
			strings.Replace(o, "://", "://a.b.", 1), strings.ToUpper(o), strings.Replace(o, "https://", "http://", 1), o+"/")
	}
	return out
}

var originParts = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://`)

// FuzzOrigin checks origin parsing against the oracle's grammar, and an
// origin against an allowOrigins entry and an allowOriginRegexes entry.
func FuzzOrigin(f *testing.F) {
	for _, s := range [][2]string{
		{"https://*.example.com", "https://a.example.com"},
		{"https://*.example.com", "https://example.com"},
		{"http://localhost:*", "http://localhost"},
		{"HTTP://[0:0::1]:80", "http://[::1]"},
		{"http://[::ffff:127.0.0.1]", "http://[::ffff:7f00:1]"},
		{"https://a.com", "https://a.com.evil.net"},
		{"https://api.example.com", "https://apixexample.com"},
		{"null", "null"},
		{"*", "https://x\r\n.com"},
		{"https://*.1.2.3", "https://4.1.2.3"},
		{"chrome-extension://abc", "chrome-extension://abc"},
		{"https://xn--bcher-kva.example", "https://b\u00fccher.example"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, origin string) {
		o, ok := parseOrigin(origin)
		if ok != wellFormedOrigin(origin) {
			t.Fatalf("parseOrigin(%q) = %v, the oracle's grammar says %v", origin, ok, !ok)
		}
		if ok {
			s := o.scheme + "://" + o.host
			if o.port != "" {
				s += ":" + o.port
			}
			if s != origin {
				t.Fatalf("parseOrigin(%q) = %+v, which serializes to %q", origin, o, s)
			}
		}
		if allocCheckDue() {
			if n := testing.AllocsPerRun(1, func() { o, ok = parseOrigin(origin) }); n != 0 {
				t.Fatalf("parseOrigin(%q) allocates %v times", origin, n)
			}
		}
		for _, field := range []string{"allowOrigins", "allowOriginRegexes"} {
			doc, _ := json.Marshal(map[string][]string{field: {pattern}})
			cfg, err := Parse(doc)
			if err != nil {
				continue
			}
			fp := &fuzzPolicy{config: string(doc), cfg: cfg}
			if fp.orc, err = newOracle(doc); err != nil {
				t.Fatalf("the engine accepts %s, the oracle cannot read it: %v", doc, err)
			}
			checkWholeRequest(t, fp, [][2]string{{":method", "GET"}, {":authority", "api.example.com"}, {":path", "/"}, {"origin", origin}}, "", hostileUpstream)
		}
	})
}

// FuzzRequestHeaders checks Access-Control-Request-Headers parsing: lines
// are the input split at '\n'.
func FuzzRequestHeaders(f *testing.F) {
	for _, s := range []string{"content-type", " Content-Type ,, X-TOKEN,", "content-type\nx-token", "authorization",
		"x-a\tx-b", "a,b,c,d", ",,,,", strings.Repeat(",", 9000), strings.Repeat("x-token,", 1023), "x-token, x_token", "x\x00y", "\u00e9",
		// Listed names matched where they stand (checkHeaders): followed by
		// more of a name, by whitespace, by a control byte, or a prefix of
		// another listed name.
		"content-typex", "content-typo", "CONTENT-TYPO", "content-type x,authorization", "CONTENT-TYPE \t,AUTHORIZATION\t", "content-type\x00",
		"x-prefix-abc,x-prefix-a", "x-prefix-a b", "authorization x", "Authorization\tx", "content-type,,content-type"} {
		f.Add(s)
	}
	policies := []*fuzzPolicy{
		newFuzzPolicy(f, `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"], "allowHeaders": ["content-type", "X-Token", "authorization"]}`),
		newFuzzPolicy(f, `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"], "allowHeaders": ["*"]}`),
		newFuzzPolicy(f, `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"], "allowHeaders": ["*", "authorization"]}`),
		newFuzzPolicy(f, `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"]}`),
		newFuzzPolicy(f, `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"], "allowHeaders": ["x-prefix-a", "x-prefix-abc", "content-type"]}`),
	}
	f.Fuzz(func(t *testing.T, acrh string) {
		lines := [][2]string{{":method", "OPTIONS"}, {":authority", "api.example.com"}, {":path", "/"},
			{"origin", "https://app.example.com"}, {"access-control-request-method", "PUT"}}
		for _, line := range strings.Split(acrh, "\n") {
			lines = append(lines, [2]string{"access-control-request-headers", line})
		}
		for _, fp := range policies {
			checkWholeRequest(t, fp, lines, "", okUpstream)
		}
	})
}

// The policies of FuzzEvaluate: credentials with exact, wildcard, any-port
// and regex origins; any origin with every "*"; several policies with
// matches; null, private network and forwarding; report mode; debug.
var evaluatePolicies = []string{
	mainConfig,
	`{"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"], "exposeHeaders": ["*"]}`,
	policiesConfig,
	`{"allowOrigins": ["null", "https://app.example.com", "http://[::1]:*"], "allowPrivateNetwork": true, "allowHeaders": ["*", "authorization"], "allowMethods": ["PATCH"], "preflightStatus": 200, "unmatchedPreflights": "forward"}`,
	`{"mode": "report", "allowOrigins": ["https://app.example.com"], "allowCredentials": true}`,
	`{"debug": true, "allowOrigins": ["https://app.example.com"], "allowOriginRegexes": ["https://[a-z]+\\.example\\.org"], "allowCredentials": true}`,
}

// FuzzEvaluate sends a whole request through the engine under each policy of
// evaluatePolicies. flags shapes the request: bit 0 drops Origin, bit 1 adds
// a second Origin line, bit 2 a second Access-Control-Request-Method line,
// bit 3 splits Access-Control-Request-Headers over two lines, bits 4-5 pick
// the authority, bits 6-7 the path, bit 8 sets the route name, bit 9 picks a
// hostile upstream and bit 10 one with a vary header.
func FuzzEvaluate(f *testing.F) {
	f.Add("OPTIONS", "https://app.example.com", "PUT", "content-type", "", uint16(0))
	f.Add("OPTIONS", "https://a.example.com.evil.net", "PUT", "", "true", uint16(0x200))
	f.Add("GET", "http://localhost:8080", "", "", "", uint16(0x400))
	f.Add("OPTIONS", "https://pr-1.preview.example.org", "GET, PUT", "x,,y", "", uint16(0x8))
	f.Add("GET", "null", "", "", "", uint16(0x2))
	f.Add("OPTIONS", "https://admin-ui.example.com", "PATCH", "authorization", "true", uint16(0x10))
	f.Add("OPTIONS", "https://partner.net", "DELETE", "", "", uint16(0x1a4))
	f.Add("OPTIONS", "https://anyone.net", "PUT", "", "", uint16(0x84))
	f.Add("GET", "https://evil.example\r\nx: y", "", "", "", uint16(0x200))
	f.Add("OPTIONS", "https://app.example.com", "PUT", strings.Repeat(",", 9000), "", uint16(0))
	policies := make([]*fuzzPolicy, 0, len(evaluatePolicies))
	for _, config := range evaluatePolicies {
		if _, err := Parse([]byte(config)); err != nil && strings.Contains(config, `"debug"`) {
			f.Logf("no debug mode in this engine (%v); fuzzing without it", err)
			continue
		}
		policies = append(policies, newFuzzPolicy(f, config))
	}
	authorities := []string{"api.example.com", "admin.example.com", "a.internal.example.com:8443", "ADMIN.example.com."}
	paths := []string{"/v1/things", "/public/x", "/", ""}
	upstreamVary := [][2]string{{":status", "200"}, {"vary", "accept-encoding"}, {"content-type", "text/plain"}}
	f.Fuzz(func(t *testing.T, method, origin, acrm, acrh, pna string, flags uint16) {
		lines := [][2]string{{":method", method}, {":authority", authorities[flags>>4&3]}, {":path", paths[flags>>6&3]}}
		if flags&1 == 0 {
			lines = append(lines, [2]string{"origin", origin})
		}
		if flags&2 != 0 {
			lines = append(lines, [2]string{"origin", "https://app.example.com"})
		}
		if acrm != "" || flags&4 != 0 {
			lines = append(lines, [2]string{"access-control-request-method", acrm})
		}
		if flags&4 != 0 {
			lines = append(lines, [2]string{"access-control-request-method", "PUT"})
		}
		if flags&8 != 0 {
			half := len(acrh) / 2
			lines = append(lines, [2]string{"access-control-request-headers", acrh[:half]}, [2]string{"access-control-request-headers", acrh[half:]})
		} else if acrh != "" {
			lines = append(lines, [2]string{"access-control-request-headers", acrh})
		}
		if pna != "" {
			lines = append(lines, [2]string{"access-control-request-private-network", pna})
		}
		route := ""
		if flags&0x100 != 0 {
			route = "partner-route"
		}
		upstream := okUpstream
		switch {
		case flags&0x200 != 0:
			upstream = hostileUpstream
		case flags&0x400 != 0:
			upstream = upstreamVary
		}
		for _, fp := range policies {
			checkWholeRequest(t, fp, lines, route, upstream)
		}
	})
}
