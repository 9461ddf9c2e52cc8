package filter

// The attack corpus: testdata/attacks.jsonl holds one case a line, each with
// a policy (the plugin configuration), a request, the verdict and a one-line
// note naming the technique. Every case goes through the real engine path
// (Parse, Request.AddHeader, Evaluate, LocalResponse or RewriteResponse), and
// beyond its own verdict every response is held to the properties below,
// judged by an oracle that reads the policy with encoding/json and matches
// origins with regular expressions of its own, sharing no code with the engine:
//
//   - the engine's verdict is the oracle's;
//   - a denied request gets no access-control-* header, not even the
//     upstream's (the default upstream of a case sets hostile ones);
//   - an allowed response carries one access-control-allow-origin, either "*"
//     from an any-origin policy or the request's origin when the policy names
//     it; every other CORS value comes from the policy, never the request;
//   - "*" never goes with credentials;
//   - no header value carries CR, LF or NUL;
//   - evaluating the request and building its response allocates nothing.
//
// Verdicts: "allow", "deny", "refuse" (Parse refuses the policy, with a
// problem at "field" whose message contains "message") and "untouched" (no
// policy applies: the response is the upstream's, unchanged).
//
// Marks: "engineBug" says the case holds the correct verdict but the engine
// does not meet it yet: the test skips it with the failures and the reason,
// and fails once it holds, so the mark is removed. "knownGap" documents what a
// policy as written lets in (the verdict holds; the policy is the problem),
// and "wantWarning" the field where the validator must warn about it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

type attackCase struct {
	ID        string          `json:"id"`
	Technique string          `json:"technique"`
	Note      string          `json:"note"`
	Expect    string          `json:"expect"`
	Reason    string          `json:"reason,omitempty"`
	Request   attackRequest   `json:"request"`
	Upstream  [][2]string     `json:"upstream,omitempty"`
	Policy    json.RawMessage `json:"policy"`

	// allow: the expected access-control-allow-origin (default: the origin).
	AllowOrigin string `json:"allowOrigin,omitempty"`
	// Exact values some response headers must have, and headers that must be absent.
	Headers map[string]string `json:"headers,omitempty"`
	Absent  []string          `json:"absent,omitempty"`
	// refuse: the field path of the problem, and part of its message.
	Field   string `json:"field,omitempty"`
	Message string `json:"message,omitempty"`
	// Fields Parse must warn about.
	Warnings []string `json:"warnings,omitempty"`

	WantWarning string `json:"wantWarning,omitempty"`
	KnownGap    string `json:"knownGap,omitempty"`
	EngineBug   string `json:"engineBug,omitempty"`

	// Another filter removes Origin between the request and the response phase.
	OriginRemovedBeforeResponse bool `json:"originRemovedBeforeResponse,omitempty"`

	line int
}

// attackRequest is a request as header lines: method, authority and path
// (defaults GET, api.example.com, /v1/things), then origin, one
// access-control-request-method line, one line per acrh element, the private
// network header, any further lines, and lines built by repetition.
type attackRequest struct {
	Method    string      `json:"method,omitempty"`
	Authority string      `json:"authority,omitempty"`
	Path      string      `json:"path,omitempty"`
	Origin    *string     `json:"origin,omitempty"`
	ACRM      *string     `json:"acrm,omitempty"`
	ACRH      []string    `json:"acrh,omitempty"`
	PNA       *string     `json:"pna,omitempty"`
	Headers   [][2]string `json:"headers,omitempty"`
	Repeat    []struct {
		Name  string `json:"name"`
		Unit  string `json:"unit"`
		Times int    `json:"times"`
		Lines int    `json:"lines"` // that many lines of the repetition (default 1)
	} `json:"repeat,omitempty"`
}

func (a *attackRequest) lines() [][2]string {
	h := [][2]string{
		{":method", orDefault(a.Method, "GET")},
		{":authority", orDefault(a.Authority, "api.example.com")},
		{":path", orDefault(a.Path, "/v1/things")},
	}
	if a.Origin != nil {
		h = append(h, [2]string{"origin", *a.Origin})
	}
	if a.ACRM != nil {
		h = append(h, [2]string{"access-control-request-method", *a.ACRM})
	}
	for _, v := range a.ACRH {
		h = append(h, [2]string{"access-control-request-headers", v})
	}
	if a.PNA != nil {
		h = append(h, [2]string{"access-control-request-private-network", *a.PNA})
	}
	h = append(h, a.Headers...)
	for _, r := range a.Repeat {
		v := strings.Repeat(r.Unit, r.Times)
		for range max(r.Lines, 1) {
			h = append(h, [2]string{r.Name, v})
		}
	}
	return h
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// hostileUpstream sets the CORS headers a careless backend sets, so that every
// case also shows the filter replaces or strips them.
var hostileUpstream = [][2]string{
	{":status", "200"}, {"content-type", "text/plain"},
	{"access-control-allow-origin", "https://evil.example"},
	{"access-control-allow-credentials", "true"},
	{"access-control-allow-methods", "*"},
	{"access-control-allow-headers", "*"},
	{"access-control-expose-headers", "*"},
}

const attacksFile = "testdata/attacks.jsonl"

func readAttacks(t *testing.T) []attackCase {
	t.Helper()
	data, err := os.ReadFile(attacksFile)
	if err != nil {
		t.Fatal(err)
	}
	var cases []attackCase
	ids := map[string]int{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var c attackCase
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s line %d: %v", attacksFile, i+1, err)
		}
		c.line = i + 1
		if c.ID == "" || c.Technique == "" || c.Note == "" || len(c.Policy) == 0 {
			t.Fatalf("%s line %d: id, technique, note and policy are required", attacksFile, c.line)
		}
		if prev, dup := ids[c.ID]; dup {
			t.Fatalf("%s line %d: id %q already used on line %d", attacksFile, c.line, c.ID, prev)
		}
		ids[c.ID] = c.line
		switch c.Expect {
		case "allow", "deny", "untouched":
		case "refuse":
			if c.Field == "" && c.Message == "" {
				t.Fatalf("%s line %d: a refusal names its field or message", attacksFile, c.line)
			}
		default:
			t.Fatalf("%s line %d: unknown verdict %q", attacksFile, c.line, c.Expect)
		}
		cases = append(cases, c)
	}
	return cases
}

// attackTechniques are the techniques the corpus must cover (issue 5, item 1).
var attackTechniques = []string{
	"origin-reflection", "null-origin", "suffix-lookalike", "prefix-lookalike",
	"scheme-downgrade", "port-swap", "host-special-chars", "smuggled-components",
	"case-and-encoding", "idn-punycode", "ip-literal", "regex-unanchored",
	"regex-unescaped-dot", "wildcard-subdomain", "credentials-wildcard",
	"rs/cors CVE-2025-47908", "rs/cors CVE-2018-20744", "jub0bs/cors GHSA-vhxv-fg4m-p2w8",
	"go-zero CVE-2024-27302", "gin-contrib/cors CVE-2019-25211", "koa/cors CVE-2023-49803",
	"flask-cors CVE-2024-6221", "list-valued access-control-request-method", "envoy CVE-2023-35943",
}

const minAttackCases = 150

func TestAttackCorpus(t *testing.T) {
	cases := readAttacks(t)
	counts := map[string]int{}
	bugs, gaps := 0, 0
	for _, c := range cases {
		counts[c.Technique]++
		if c.EngineBug != "" {
			bugs++
		}
		if c.KnownGap != "" {
			gaps++
		}
		t.Run(c.ID, func(t *testing.T) {
			problems, cfg := runAttack(&c)
			switch {
			case c.EngineBug != "" && len(problems) > 0:
				t.Skipf("KNOWN ENGINE BUG, %s line %d (%s): %s\n  %s", attacksFile, c.line, c.Technique, c.EngineBug, strings.Join(problems, "\n  "))
			case c.EngineBug != "":
				t.Errorf("%s line %d now holds: the engine bug is fixed, remove the case's engineBug mark", attacksFile, c.line)
			case len(problems) > 0:
				t.Errorf("%s line %d (%s): %s\n  %s", attacksFile, c.line, c.Technique, c.Note, strings.Join(problems, "\n  "))
			}
			if c.WantWarning != "" && cfg != nil && !hasWarning(cfg, c.WantWarning) {
				t.Errorf("%s line %d: the validator does not warn at %s: %s", attacksFile, c.line, c.WantWarning, c.KnownGap)
			}
		})
	}
	if len(cases) < minAttackCases {
		t.Errorf("%d attack cases, want at least %d", len(cases), minAttackCases)
	}
	for _, tech := range attackTechniques {
		if counts[tech] == 0 {
			t.Errorf("no attack case for technique %q", tech)
		}
	}
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
		if !slices.Contains(attackTechniques, name) {
			t.Errorf("technique %q is not in attackTechniques", name)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%d attack cases (%d marked engineBug, %d knownGap):", len(cases), bugs, gaps)
	for _, name := range names {
		fmt.Fprintf(&b, "\n  %3d  %s", counts[name], name)
	}
	t.Log(b.String())
}

func hasWarning(cfg *Config, path string) bool {
	for _, w := range cfg.Warnings() {
		if w.Path == path {
			return true
		}
	}
	return false
}

// runAttack runs one case and lists what does not hold.
func runAttack(c *attackCase) (problems []string, cfg *Config) {
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	cfg, err := Parse(c.Policy)
	if c.Expect == "refuse" {
		var ce *ConfigError
		switch {
		case err == nil:
			fail("the policy was accepted; want it refused at %s (%q)", c.Field, c.Message)
		case cfg != nil:
			fail("Parse returned a Config with its error")
		case !errors.As(err, &ce):
			fail("error %T is not a *ConfigError", err)
		case strings.ContainsAny(err.Error(), "\r\n"):
			fail("the error spans lines: %q", err.Error())
		default:
			found := false
			for _, p := range ce.Problems {
				if (c.Field == "" || p.Path == c.Field) && strings.Contains(p.Message, c.Message) {
					found = true
				}
			}
			if !found {
				fail("refused, but not at %s with %q: %v", c.Field, c.Message, err)
			}
		}
		return problems, nil
	}
	if err != nil {
		fail("the policy was refused: %v", err)
		return problems, nil
	}
	for _, w := range c.Warnings {
		if !hasWarning(cfg, w) {
			fail("no warning at %s; warnings: %v", w, cfg.Warnings())
		}
	}
	orc, err := newOracle(c.Policy)
	if err != nil {
		fail("oracle: %v", err)
		return problems, cfg
	}
	request := c.Request.lines()
	upstream := c.Upstream
	if upstream == nil {
		upstream = hostileUpstream
	}
	var r Request
	for _, h := range request {
		r.AddHeader(h[0], h[1])
	}
	d := cfg.Evaluate(&r)
	if c.OriginRemovedBeforeResponse {
		// A later filter removes Origin: the request as the response phase
		// would see it has none. The engine must not look at it again.
		r.Reset()
		for _, h := range request {
			if h[0] != "origin" {
				r.AddHeader(h[0], h[1])
			}
		}
	}
	ex := exchangeOf(&d, upstream)
	for _, p := range checkExchange(orc, request, "", &d, ex) {
		fail("%s", p)
	}

	if c.Reason != "" && d.Reason.String() != c.Reason {
		fail("reason %q, want %q", d.Reason, c.Reason)
	}
	acao, nACAO := ex.get("access-control-allow-origin")
	switch c.Expect {
	case "allow":
		want := c.AllowOrigin
		if want == "" && c.Request.Origin != nil {
			want = *c.Request.Origin
		}
		switch {
		case !d.Allowed:
			fail("denied (%s, %v), want allowed", d.Reason, d.Kind)
		case nACAO != 1 || acao != want:
			fail("access-control-allow-origin %q (%d lines), want %q", acao, nACAO, want)
		case d.Kind == KindPreflight && !(ex.local && (ex.status == 204 || ex.status == 200)):
			fail("allowed preflight answered %d (local %v), want a local 200 or 204", ex.status, ex.local)
		}
	case "deny":
		if d.Allowed {
			fail("allowed (access-control-allow-origin %q), want denied", acao)
		}
		if d.Kind == KindPreflight && !(ex.local && ex.status == 403) {
			fail("denied preflight answered %d (local %v), want a local 403", ex.status, ex.local)
		}
		if d.Kind == KindUncovered || d.Kind == KindNoOrigin {
			fail("kind %v: the denial is not the engine's", d.Kind)
		}
	case "untouched":
		if d.Kind != KindUncovered || ex.changed {
			fail("kind %v, changed %v: want the upstream's response untouched", d.Kind, ex.changed)
		}
	}
	for name, want := range c.Headers {
		if got, n := ex.get(name); n != 1 || got != want {
			fail("%s: %q (%d lines), want %q", name, got, n, want)
		}
	}
	for _, name := range c.Absent {
		if got, n := ex.get(name); n > 0 {
			fail("%s: %q, want no such header", name, got)
		}
	}
	if n := allocsPerRequest(cfg, request, upstream); n != 0 {
		fail("%v allocations per request, want 0", n)
	}
	return problems, cfg
}

// allocsPerRequest counts the allocations of evaluating request and building
// its response into reused buffers, as the plugin does.
func allocsPerRequest(cfg *Config, request, upstream [][2]string) float64 {
	var r Request
	r.RequestHeaders = make([]string, 0, 8)
	for _, h := range request {
		r.AddHeader(h[0], h[1])
	}
	hdrs := make([][2]string, 0, 32)
	counters := make([]Counter, 0, 4)
	return testing.AllocsPerRun(20, func() {
		d := cfg.Evaluate(&r)
		var ok bool
		if _, hdrs, ok = d.LocalResponse(hdrs[:0]); !ok {
			hdrs, _ = d.RewriteResponse(upstream, hdrs[:0])
		}
		counters = d.Counters(counters[:0])
	})
}

// exchangeResult is what reaches the browser.
type exchangeResult struct {
	local   bool // the filter answered (a preflight)
	changed bool // the filter changed the upstream's headers
	status  int
	headers [][2]string // without :status
}

func (e *exchangeResult) get(name string) (value string, lines int) {
	for _, h := range e.headers {
		if h[0] == name {
			value, lines = h[1], lines+1
		}
	}
	return value, lines
}

func exchangeOf(d *Decision, upstream [][2]string) exchangeResult {
	if status, hdrs, ok := d.LocalResponse(nil); ok {
		return exchangeResult{local: true, changed: true, status: status, headers: hdrs}
	}
	out, changed := d.RewriteResponse(upstream, nil)
	if !changed {
		out = upstream
	}
	ex := exchangeResult{changed: changed}
	for _, h := range out {
		if h[0] == ":status" {
			ex.status, _ = strconv.Atoi(h[1])
			continue
		}
		ex.headers = append(ex.headers, h)
	}
	return ex
}

// checkExchange checks the properties every response must have, whatever the
// request: see the comment at the top of the file.
func checkExchange(orc *oracle, request [][2]string, route string, d *Decision, ex exchangeResult) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, h := range ex.headers {
		if strings.ContainsAny(h[1], "\r\n\x00") || strings.ContainsAny(h[0], "\r\n\x00") {
			fail("header %q carries CR, LF or NUL: %q", h[0], h[1])
		}
	}
	req := readRequest(request)
	op := orc.selectPolicy(req.authority, req.path, route)
	if name := d.Policy(); (op == nil) != (name == "") || (op != nil && op.name != name) {
		want := "none"
		if op != nil {
			want = op.name
		}
		fail("policy %q applies, the oracle says %s", name, want)
		return problems
	}
	if op != nil && req.hasOrigin {
		if want := op.allows(&req); d.Allowed != want {
			fail("the engine says allowed=%v (%s), the oracle %v", d.Allowed, d.Reason, want)
		}
		if (d.Kind == KindPreflight) != req.preflight() {
			fail("kind %v, the oracle says preflight=%v", d.Kind, req.preflight())
		}
	}
	forwarded := d.Kind == KindPreflight && !d.Allowed && op != nil && op.unmatched == "forward"
	if op == nil || orc.mode == "report" || forwarded {
		// The engine leaves the response alone, as it must here.
		if ex.changed {
			fail("the response changed, though no policy applies, in report mode or for a forwarded preflight")
		}
		return problems
	}
	if d.Kind == KindPreflight && !ex.local {
		fail("a preflight was not answered by the filter")
	}
	// From here on the filter wrote the CORS headers.
	var cors [][2]string
	for _, h := range ex.headers {
		if strings.HasPrefix(h[0], "access-control-") {
			cors = append(cors, h)
		}
	}
	if d.Kind == KindNoOrigin && !op.anyOrigin {
		// Not a CORS request: the upstream's headers pass, vary: origin is added.
		if !varyNamesOrigin(ex.headers) {
			fail("a request without Origin lacks vary: origin")
		}
		return problems
	}
	corsDue := d.Allowed || (d.Kind == KindNoOrigin && op.anyOrigin)
	if !corsDue {
		for _, h := range cors {
			fail("denied (%s), yet %s: %q", d.Reason, h[0], h[1])
		}
		if !ex.local || ex.status == 403 {
			if v, _ := ex.get("vary"); !varyNamesOrigin(ex.headers) {
				fail("denied without vary: origin (vary %q)", v)
			}
		}
		return problems
	}
	acao, n := ex.get("access-control-allow-origin")
	_, credentialed := ex.get("access-control-allow-credentials")
	switch {
	case n != 1:
		fail("%d access-control-allow-origin lines, want 1", n)
	case acao == "*":
		if !op.anyOrigin {
			fail("answered * though the policy lists origins")
		}
		if credentialed > 0 {
			fail("* answered with credentials")
		}
	case !req.hasOrigin || acao != req.origin:
		fail("access-control-allow-origin %q is not the request's origin %q", acao, req.origin)
	case req.originLines > 1:
		fail("reflected an origin sent on %d lines", req.originLines)
	case !op.names(acao):
		fail("reflected %q, which the policy does not name", acao)
	}
	for _, h := range cors {
		switch h[0] {
		case "access-control-allow-origin":
		case "access-control-allow-credentials":
			if !op.credentials || h[1] != "true" {
				fail("%s: %q, policy credentials %v", h[0], h[1], op.credentials)
			}
		case "access-control-allow-methods":
			for _, m := range splitList(h[1]) {
				if !slices.Contains(op.methods, m) {
					fail("%s names %q, which the policy does not", h[0], m)
				}
			}
		case "access-control-allow-headers":
			for _, name := range splitList(h[1]) {
				if !slices.Contains(op.headers, name) {
					fail("%s names %q, which the policy does not", h[0], name)
				}
			}
		case "access-control-expose-headers":
			for _, name := range splitList(h[1]) {
				if !slices.Contains(op.expose, name) {
					fail("%s names %q, which the policy does not", h[0], name)
				}
			}
		case "access-control-max-age":
			if op.maxAge == nil || h[1] != strconv.Itoa(*op.maxAge) {
				fail("%s: %q, policy maxAge %v", h[0], h[1], op.maxAge)
			}
		case "access-control-allow-private-network":
			if !op.privateNetwork || h[1] != "true" || req.pna != "true" || !ex.local {
				fail("%s: %q, though the policy allows it %v and the request asked %q", h[0], h[1], op.privateNetwork, req.pna)
			}
		default:
			fail("unexpected %s: %q", h[0], h[1])
		}
	}
	if ex.local {
		if !d.Allowed || d.Kind != KindPreflight {
			fail("a local answer for a %v request (allowed %v)", d.Kind, d.Allowed)
		}
		if _, n := ex.get("access-control-allow-methods"); n == 0 && len(op.methods) > 0 {
			fail("an allowed preflight without access-control-allow-methods")
		}
	}
	return problems
}

func varyNamesOrigin(hdrs [][2]string) bool {
	for _, h := range hdrs {
		if h[0] != "vary" {
			continue
		}
		for _, e := range splitList(h[1]) {
			if strings.EqualFold(e, "origin") || e == "*" {
				return true
			}
		}
	}
	return false
}

func splitList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.Trim(e, " \t"); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// oracleRequest is what the oracle reads of a request's header lines.
type oracleRequest struct {
	authority, path string
	origin          string
	hasOrigin       bool
	originLines     int
	pna             string
	method          string
	reqMethod       string // the access-control-request-method lines, joined by ","
	reqMethodLines  int
	reqHeaders      []string // the access-control-request-headers lines
}

func readRequest(lines [][2]string) oracleRequest {
	var q oracleRequest
	for _, h := range lines {
		switch h[0] {
		case ":method":
			q.method = h[1]
		case ":authority":
			q.authority = h[1]
		case ":path":
			q.path = h[1]
		case "origin":
			q.origin, q.hasOrigin = h[1], true
			q.originLines++
		case "access-control-request-method":
			if q.reqMethodLines > 0 {
				q.reqMethod += ","
			}
			q.reqMethod += h[1]
			q.reqMethodLines++
		case "access-control-request-headers":
			q.reqHeaders = append(q.reqHeaders, h[1])
		case "access-control-request-private-network":
			q.pna = h[1]
		}
	}
	return q
}

// preflight says whether the request is a CORS preflight: OPTIONS with
// Origin and a non-empty access-control-request-method.
func (q *oracleRequest) preflight() bool {
	return q.hasOrigin && q.method == "OPTIONS" && q.reqMethod != ""
}

// tchars are RFC 9110's token characters.
const tchars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var tcharSet = func() (set [256]bool) {
	for _, c := range []byte(tchars) {
		set[c] = true
	}
	return set
}()

func httpToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tcharSet[s[i]] {
			return false
		}
	}
	return s != ""
}

// allows is the oracle's verdict on a request with Origin under p, from the
// README's rules: the origin, then for preflights the method (one token,
// safelisted, listed, or any), the headers (at most 8 KiB of lines, each
// element a listed token; "*" covers all but authorization) and private
// network access.
func (p *oraclePolicy) allows(q *oracleRequest) bool {
	switch {
	case p.anyOrigin:
	case q.originLines > 1:
		return false
	case !p.names(q.origin):
		return false
	}
	if !q.preflight() {
		return true
	}
	m := q.reqMethod
	if !httpToken(m) {
		return false
	}
	if m != "GET" && m != "HEAD" && m != "POST" && !slices.Contains(p.methods, "*") && !slices.Contains(p.methods, m) {
		return false
	}
	total := 0
	for _, line := range q.reqHeaders {
		total += len(line) + 1
	}
	if total > 8192 {
		return false
	}
	for _, line := range q.reqHeaders {
		for _, e := range strings.Split(line, ",") {
			e = strings.Trim(e, " \t")
			if e == "" {
				continue
			}
			if !httpToken(e) {
				return false
			}
			name := strings.ToLower(e)
			if !(slices.Contains(p.headers, "*") && name != "authorization") && !slices.Contains(p.headers, name) {
				return false
			}
		}
	}
	if q.pna == "true" && !p.privateNetwork {
		return false
	}
	return true
}

// The oracle: an independent reading of a configuration. It decodes the JSON
// with encoding/json, selects policies as the README describes, and turns
// each allowOrigins entry into a regular expression over the serialized
// origins browsers send, checked by a grammar of its own.

type oracleSpec struct {
	Match *struct {
		Hosts        []string `json:"hosts"`
		PathPrefixes []string `json:"pathPrefixes"`
		RouteNames   []string `json:"routeNames"`
	} `json:"match"`
	AllowOrigins        []string     `json:"allowOrigins"`
	AllowOriginRegexes  []string     `json:"allowOriginRegexes"`
	AllowMethods        []string     `json:"allowMethods"`
	AllowHeaders        []string     `json:"allowHeaders"`
	ExposeHeaders       []string     `json:"exposeHeaders"`
	AllowCredentials    bool         `json:"allowCredentials"`
	MaxAge              *json.Number `json:"maxAge"`
	AllowPrivateNetwork bool         `json:"allowPrivateNetwork"`
	UnmatchedPreflights string       `json:"unmatchedPreflights"`
}

type oracle struct {
	mode     string
	debug    bool            // denials carry a reason header
	policies []*oraclePolicy // in match order, the default last
}

type oraclePolicy struct {
	name                          string
	hosts, hostSuffixes           []string // lower case; suffixes with their leading dot
	pathPrefixes, routeNames      []string
	anyOrigin, allowNull          bool
	origins                       []*regexp.Regexp // one per entry, and one per regex
	methods, headers, expose      []string         // what a response may name
	credentials, privateNetwork   bool
	maxAge                        *int
	unmatched                     string
	originEntries, regexesEntries []string
}

func newOracle(config []byte) (*oracle, error) {
	var doc struct {
		oracleSpec
		Mode     string       `json:"mode"`
		Debug    bool         `json:"debug"`
		Policies []oracleSpec `json:"policies"`
	}
	if err := json.Unmarshal(config, &doc); err != nil {
		return nil, err
	}
	o := &oracle{mode: doc.Mode, debug: doc.Debug}
	for i, s := range doc.Policies {
		p, err := compileOraclePolicy("policies["+strconv.Itoa(i)+"]", s)
		if err != nil {
			return nil, err
		}
		o.policies = append(o.policies, p)
	}
	if len(doc.AllowOrigins)+len(doc.AllowOriginRegexes) > 0 {
		p, err := compileOraclePolicy("default", doc.oracleSpec)
		if err != nil {
			return nil, err
		}
		o.policies = append(o.policies, p)
	}
	return o, nil
}

// browserNormalizedMethods are upper-cased by browsers (Fetch, "normalize").
var browserNormalizedMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"}

func compileOraclePolicy(name string, s oracleSpec) (*oraclePolicy, error) {
	p := &oraclePolicy{name: name, credentials: s.AllowCredentials, privateNetwork: s.AllowPrivateNetwork,
		unmatched: s.UnmatchedPreflights, originEntries: s.AllowOrigins, regexesEntries: s.AllowOriginRegexes}
	if s.Match != nil {
		for _, h := range s.Match.Hosts {
			h = strings.ToLower(h)
			if rest, ok := strings.CutPrefix(h, "*."); ok {
				p.hostSuffixes = append(p.hostSuffixes, "."+rest)
			} else {
				p.hosts = append(p.hosts, h)
			}
		}
		p.pathPrefixes, p.routeNames = s.Match.PathPrefixes, s.Match.RouteNames
	}
	for _, e := range s.AllowOrigins {
		switch e {
		case "*":
			p.anyOrigin = true
		case "null":
			p.allowNull = true
		default:
			re, err := oraclePatternRegexp(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			p.origins = append(p.origins, re)
		}
	}
	for _, e := range s.AllowOriginRegexes {
		re, err := regexp.Compile(`^(?:` + e + `)$`)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		p.origins = append(p.origins, re)
	}
	for _, m := range s.AllowMethods {
		for _, n := range browserNormalizedMethods {
			if strings.EqualFold(m, n) {
				m = n
			}
		}
		p.methods = append(p.methods, m)
	}
	for _, h := range s.AllowHeaders {
		p.headers = append(p.headers, strings.ToLower(h))
	}
	for _, h := range s.ExposeHeaders {
		p.expose = append(p.expose, strings.ToLower(h))
	}
	if s.MaxAge != nil {
		f, err := s.MaxAge.Float64()
		if err != nil {
			return nil, err
		}
		n := int(f)
		p.maxAge = &n
	}
	return p, nil
}

// oraclePatternRegexp turns an allowOrigins entry into a regular expression
// over serialized origins: scheme and host lower-cased, the default port
// dropped, IPv6 in its serialized form, "*." standing for one or more labels
// and ":*" for any port or none.
func oraclePatternRegexp(entry string) (*regexp.Regexp, error) {
	e := strings.ToLower(entry)
	scheme, rest, ok := strings.Cut(e, "://")
	if !ok {
		return nil, fmt.Errorf("pattern %q has no scheme", entry)
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, fmt.Errorf("pattern %q: unclosed bracket", entry)
		}
		host, port = rest[:end+1], rest[end+1:]
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		host, port = rest[:i], rest[i:]
	}
	var re strings.Builder
	re.WriteString("^" + regexp.QuoteMeta(scheme) + "://")
	switch {
	case strings.HasPrefix(host, "["):
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return nil, fmt.Errorf("pattern %q: bad IPv6 address", entry)
		}
		re.WriteString(regexp.QuoteMeta("[" + serializeIPv6(a) + "]"))
	case strings.HasPrefix(host, "*."):
		re.WriteString(`(?:[a-z0-9_-]+\.)+` + regexp.QuoteMeta(host[2:]))
	default:
		re.WriteString(regexp.QuoteMeta(host))
	}
	switch {
	case port == "":
	case port == ":*":
		re.WriteString(`(?::[0-9]+)?`)
	case port == ":"+webDefaultPort(scheme):
	default:
		re.WriteString(regexp.QuoteMeta(port))
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()), nil
}

// serializeIPv6 writes an address as the URL standard serializes IPv6 hosts:
// eight pieces in lower-case hex without leading zeros, the first longest run
// of two or more zero pieces compressed to "::".
func serializeIPv6(a netip.Addr) string {
	b := a.As16()
	var pieces [8]int
	for i := range pieces {
		pieces[i] = int(b[2*i])<<8 | int(b[2*i+1])
	}
	bestStart, bestLen := -1, 1
	for i := 0; i < 8; i++ {
		j := i
		for j < 8 && pieces[j] == 0 {
			j++
		}
		if j-i > bestLen {
			bestStart, bestLen = i, j-i
		}
	}
	var parts []string
	out := ""
	for i := 0; i < 8; i++ {
		if i == bestStart {
			out += strings.Join(parts, ":") + "::"
			parts = nil
			i += bestLen - 1
			continue
		}
		parts = append(parts, strconv.FormatInt(int64(pieces[i]), 16))
	}
	return out + strings.Join(parts, ":")
}

func webDefaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return "-"
}

// browserOrigin is the grammar of a serialized tuple origin as browsers send it.
var browserOrigin = regexp.MustCompile(`^([a-z][a-z0-9+.-]*)://(?:\[([0-9a-f:]+)\]|([a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*))(?::([1-9][0-9]{0,4}))?$`)

// wellFormedOrigin says whether s is a serialized origin a browser could
// send, "null" aside.
func wellFormedOrigin(s string) bool {
	if len(s) > 1024 {
		return false
	}
	m := browserOrigin.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	scheme, v6, host, port := m[1], m[2], m[3], m[4]
	if v6 != "" {
		a, err := netip.ParseAddr(v6)
		if err != nil || !a.Is6() || serializeIPv6(a) != v6 {
			return false
		}
	} else if len(host) > 253 {
		return false
	}
	if port != "" {
		if n, _ := strconv.Atoi(port); n > 65535 || port == webDefaultPort(scheme) {
			return false
		}
	}
	return true
}

// names says whether the policy allows origin by name: the engine may
// reflect it. An any-origin policy names none: it answers "*".
func (p *oraclePolicy) names(origin string) bool {
	if origin == "null" {
		return p.allowNull
	}
	if !wellFormedOrigin(origin) {
		return false
	}
	for _, re := range p.origins {
		if re.MatchString(origin) {
			return true
		}
	}
	return false
}

// oracleHost reads the host of an :authority as net/url does (RFC 3986:
// host [":" port], brackets around an IPv6 address dropped), then drops a
// trailing dot and folds the case, as match.hosts is compared. It shares
// nothing with the engine's hostOf. Where the two read a malformed
// authority differently ("a.com:x", whose port is not a number), neither
// reading names a host that match.hosts can hold, except that hostOf cuts
// at the last ':' whatever follows; TestOracleHost pins both readings.
func oracleHost(authority string) string {
	u := url.URL{Host: authority}
	return strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
}

// selectPolicy picks the first policy whose match holds, else the default.
func (o *oracle) selectPolicy(authority, path, route string) *oraclePolicy {
	host := oracleHost(authority)
	for _, p := range o.policies {
		if p.name == "default" {
			return p
		}
		if len(p.hosts)+len(p.hostSuffixes) > 0 {
			ok := slices.Contains(p.hosts, host)
			for _, s := range p.hostSuffixes {
				ok = ok || (strings.HasSuffix(host, s) && len(host) > len(s))
			}
			if !ok {
				continue
			}
		}
		if len(p.pathPrefixes) > 0 && !slices.ContainsFunc(p.pathPrefixes, func(pre string) bool { return strings.HasPrefix(path, pre) }) {
			continue
		}
		if len(p.routeNames) > 0 && !slices.Contains(p.routeNames, route) {
			continue
		}
		return p
	}
	return nil
}

// TestOracleHost pins how the oracle and the engine read the host of an
// :authority, so that neither can drift: they agree on every authority a
// client sends, and differ only where the port is not a number.
func TestOracleHost(t *testing.T) {
	for _, c := range []struct{ authority, oracle, engine string }{
		{"api.example.com", "api.example.com", "api.example.com"},
		{"api.example.com:8443", "api.example.com", "api.example.com"},
		{"API.Example.COM", "api.example.com", "API.Example.COM"}, // the engine folds case when it compares
		{"api.example.com.", "api.example.com", "api.example.com"},
		{"api.example.com.:443", "api.example.com", "api.example.com"},
		{"[::1]:8080", "::1", "[::1]"},
		{"[::1]", "::1", "[::1]"},
		{"", "", ""},
		{"a.com:x", "a.com:x", "a.com"}, // not a port: the engine still cuts at the last ':'
	} {
		if got := oracleHost(c.authority); got != c.oracle {
			t.Errorf("oracleHost(%q) = %q, want %q", c.authority, got, c.oracle)
		}
		if got := hostOf(c.authority); got != c.engine {
			t.Errorf("hostOf(%q) = %q, want %q", c.authority, got, c.engine)
		}
	}
	// And through policy selection, where the readings meet.
	cfg := mustParse(t, `{"policies": [{"match": {"hosts": ["api.example.com", "*.example.net"]}, "allowOrigins": ["https://a.com"]}]}`)
	orc, err := newOracle([]byte(`{"policies": [{"match": {"hosts": ["api.example.com", "*.example.net"]}, "allowOrigins": ["https://a.com"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"api.example.com", "API.example.com:443", "api.example.com.", "x.example.net:80", "example.net", "api.example.com.evil", "[::1]:80", "evil.com:api.example.com"} {
		engine := cfg.Evaluate(&Request{Authority: a}).Kind != KindUncovered
		oracle := orc.selectPolicy(a, "/", "") != nil
		if engine != oracle {
			t.Errorf("authority %q: engine covers it %v, oracle %v", a, engine, oracle)
		}
	}
}

// TestCheckExchangeCatchesLeaks makes sure the corpus's property checks are
// not vacuous: responses that break a property, built by hand, are caught.
func TestCheckExchangeCatchesLeaks(t *testing.T) {
	policy := []byte(`{"allowOrigins": ["https://app.example.com"], "allowMethods": ["PUT"], "allowCredentials": true}`)
	anyPolicy := []byte(`{"allowOrigins": ["*"]}`)
	tests := []struct {
		name    string
		policy  []byte
		request [][2]string
		mutate  func(ex *exchangeResult)
	}{
		{"a denial that keeps the upstream's allow-origin", policy, req("GET", "origin", "https://evil.example"),
			func(ex *exchangeResult) {
				ex.headers = append(ex.headers, [2]string{"access-control-allow-origin", "https://evil.example"})
			}},
		{"an allowed response reflecting another origin", policy, req("GET", "origin", "https://app.example.com"),
			func(ex *exchangeResult) { setHeader(ex, "access-control-allow-origin", "https://evil.example") }},
		{"an allowed response with a second allow-origin", policy, req("GET", "origin", "https://app.example.com"),
			func(ex *exchangeResult) {
				ex.headers = append(ex.headers, [2]string{"access-control-allow-origin", "https://app.example.com"})
			}},
		{"* with credentials", anyPolicy, req("GET", "origin", "https://evil.example"),
			func(ex *exchangeResult) {
				ex.headers = append(ex.headers, [2]string{"access-control-allow-credentials", "true"})
			}},
		{"a method the policy does not name", policy, preflight("https://app.example.com", "PUT"),
			func(ex *exchangeResult) { setHeader(ex, "access-control-allow-methods", "PUT, DELETE") }},
		{"an echoed header list", policy, preflight("https://app.example.com", "PUT"),
			func(ex *exchangeResult) {
				ex.headers = append(ex.headers, [2]string{"access-control-allow-headers", "x-evil"})
			}},
		{"a line break in a value", policy, req("GET", "origin", "https://app.example.com"),
			func(ex *exchangeResult) { setHeader(ex, "access-control-expose-headers", "x\r\nset-cookie: a") }},
		{"a private network grant nobody asked for", policy, preflight("https://app.example.com", "PUT"),
			func(ex *exchangeResult) {
				ex.headers = append(ex.headers, [2]string{"access-control-allow-private-network", "true"})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, string(tt.policy))
			orc, err := newOracle(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			var r Request
			for _, h := range tt.request {
				r.AddHeader(h[0], h[1])
			}
			d := cfg.Evaluate(&r)
			ex := exchangeOf(&d, okUpstream)
			if p := checkExchange(orc, tt.request, "", &d, ex); len(p) > 0 {
				t.Fatalf("the engine's own response fails: %v", p)
			}
			ex.headers = slices.Clone(ex.headers)
			tt.mutate(&ex)
			if p := checkExchange(orc, tt.request, "", &d, ex); len(p) == 0 {
				t.Errorf("not caught: %v", ex.headers)
			}
		})
	}
}

func setHeader(ex *exchangeResult, name, value string) {
	for i, h := range ex.headers {
		if h[0] == name {
			ex.headers[i][1] = value
			return
		}
	}
	ex.headers = append(ex.headers, [2]string{name, value})
}
