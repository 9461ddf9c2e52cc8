package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The configuration from the README: the tests' default.
const exampleConfig = `{
  "allowOrigins": ["https://app.example.com", "https://*.example.com", "http://localhost:*"],
  "allowOriginRegexes": ["https://pr-[0-9]+\\.preview\\.example\\.com"],
  "allowMethods": ["GET", "POST", "PUT", "DELETE"],
  "allowHeaders": ["content-type", "authorization"],
  "exposeHeaders": ["x-request-id"],
  "allowCredentials": true,
  "maxAge": 600,
  "allowPrivateNetwork": false,
  "preflightStatus": 204,
  "unmatchedPreflights": "reject",
  "mode": "enforce",
  "policies": [{
    "match": {"hosts": ["api.example.com", "*.internal.example.com"], "pathPrefixes": ["/v1/"], "routeNames": ["admin-route"]},
    "allowOrigins": ["https://admin.example.com"],
    "allowMethods": ["GET"]
  }]
}`

// withSettings returns the example configuration with top-level fields
// replaced or added, each given as JSON members: withSettings(`"mode":
// "report"`). A member whose value is null is removed instead.
func withSettings(members ...string) string {
	var cfg map[string]any
	if err := json.Unmarshal([]byte(exampleConfig), &cfg); err != nil {
		panic(err)
	}
	for _, m := range members {
		var fields map[string]any
		if err := json.Unmarshal([]byte("{"+m+"}"), &fields); err != nil {
			panic(fmt.Sprintf("test bug: withSettings(%q): %v", m, err))
		}
		for k, v := range fields {
			if v == nil {
				delete(cfg, k)
			} else {
				cfg[k] = v
			}
		}
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// ---------------------------------------------------------------------------
// What an answered preflight must carry.

type preflightAnswer struct {
	origin      string   // the expected access-control-allow-origin ("*" for an any-origin policy)
	method      string   // the requested method
	headers     []string // the requested header names; none: no access-control-allow-headers
	credentials bool     // access-control-allow-credentials: true
	maxAge      string   // access-control-max-age; "": absent
	pna         bool     // access-control-allow-private-network: true
}

var safelistedMethods = []string{"GET", "HEAD", "POST"}

// checks lists every property of the answer: the exact set of
// access-control-* headers, their values, and Vary.
func (a preflightAnswer) checks() []check {
	required := []string{"access-control-allow-origin"}
	var optional []string
	cs := []check{header("access-control-allow-origin", a.origin)}
	if slices.Contains(safelistedMethods, a.method) {
		// A browser needs no access-control-allow-methods for a safelisted method.
		optional = append(optional, "access-control-allow-methods")
	} else {
		required = append(required, "access-control-allow-methods")
	}
	cs = append(cs, allowsMethod(a.method, a.credentials))
	if a.credentials {
		required = append(required, "access-control-allow-credentials")
		cs = append(cs, header("access-control-allow-credentials", "true"))
	}
	if len(a.headers) > 0 {
		required = append(required, "access-control-allow-headers")
		cs = append(cs, allowsHeaders(a.credentials, a.headers...))
	}
	if a.maxAge != "" {
		required = append(required, "access-control-max-age")
		cs = append(cs, header("access-control-max-age", a.maxAge))
	}
	if a.pna {
		required = append(required, "access-control-allow-private-network")
		cs = append(cs, header("access-control-allow-private-network", "true"))
	}
	cs = append(cs, corsHeadersAmong(required, optional))
	// The answer may also vary on the private network request header.
	varies := []string{"access-control-request-method", "access-control-request-headers"}
	mayVary := []string{"access-control-request-private-network"}
	if a.origin == "*" {
		// An any-origin answer does not depend on Origin.
		mayVary = append(mayVary, "origin")
	} else {
		varies = append(varies, "origin")
	}
	return append(cs, listOf("vary", varies, mayVary))
}

// ---------------------------------------------------------------------------
// What the response to an actual request must carry.

type actualAnswer struct {
	origin      string   // the expected access-control-allow-origin ("*" for an any-origin policy)
	credentials bool     // access-control-allow-credentials: true
	expose      []string // access-control-expose-headers; none: absent
	vary        []string // the upstream's Vary tokens, which must be kept
}

func (a actualAnswer) checks() []check {
	names := []string{"access-control-allow-origin"}
	cs := []check{header("access-control-allow-origin", a.origin)}
	if a.credentials {
		names = append(names, "access-control-allow-credentials")
		cs = append(cs, header("access-control-allow-credentials", "true"))
	}
	if len(a.expose) > 0 {
		names = append(names, "access-control-expose-headers")
		cs = append(cs, list("access-control-expose-headers", a.expose...))
	}
	cs = append(cs, corsHeaders(names...))
	if a.origin == "*" {
		cs = append(cs, listOf("vary", a.vary, []string{"origin"}))
	} else {
		cs = append(cs, vary(append(slices.Clone(a.vary), "origin")...))
	}
	return cs
}

// denied is what a response to a request from an origin the policy does not
// allow must look like: no access-control-* header at all, Vary: Origin
// merged with the upstream's Vary.
func denied(upstreamVary ...string) []check {
	return []check{noCORSHeaders(), vary(append(slices.Clone(upstreamVary), "origin")...)}
}

// corsHeadersAmong: every required access-control-* header is present once,
// optional ones at most once, and no other.
func corsHeadersAmong(required, optional []string) check {
	return func(h [][2]string) string {
		var problems []string
		seen := map[string]int{}
		for _, kv := range h {
			if strings.HasPrefix(kv[0], "access-control-") {
				seen[kv[0]]++
			}
		}
		for _, n := range required {
			if seen[n] == 0 {
				problems = append(problems, n+" is missing")
			}
		}
		var names []string
		for n := range seen {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			switch {
			case !slices.Contains(required, n) && !slices.Contains(optional, n):
				problems = append(problems, n+" is present but not expected")
			case seen[n] > 1:
				problems = append(problems, fmt.Sprintf("%s appears %d times", n, seen[n]))
			}
		}
		return strings.Join(problems, "; ")
	}
}

// listOf: the header's tokens include every required one, may include the
// optional ones, and nothing else, each once (case-insensitive).
func listOf(name string, required, optional []string) check {
	return func(h [][2]string) string {
		got := tokens(h, name)
		count := map[string]int{}
		for _, g := range got {
			count[strings.ToLower(g)]++
		}
		var problems []string
		for _, r := range required {
			if count[strings.ToLower(r)] == 0 {
				problems = append(problems, "lacks "+r)
			}
		}
		for tok, n := range count {
			ok := slices.ContainsFunc(append(slices.Clone(required), optional...), func(w string) bool { return strings.EqualFold(w, tok) })
			switch {
			case !ok:
				problems = append(problems, "names "+tok+" unexpectedly")
			case n > 1:
				problems = append(problems, "names "+tok+" more than once")
			}
		}
		if len(problems) > 0 {
			sort.Strings(problems)
			return fmt.Sprintf("%s %q: %s (want %q, optionally %q)", name, values(h, name), strings.Join(problems, ", "), required, optional)
		}
		return ""
	}
}

// ---------------------------------------------------------------------------
// Table-driven cases: one request through a freshly configured plugin.

type corsCase struct {
	name   string
	config string   // "": exampleConfig
	opts   []option // properties and the like
	req    request

	// What the upstream answers when the request continues: status (0: 200)
	// and headers (nil: plainUpstream).
	status   int
	upstream [][2]string

	answer    int     // > 0: the plugin answers locally with this status
	untouched bool    // the request continues and its response is exactly the upstream's
	want      []check // on the local answer, or on the response after the plugin
	counters  counts  // every counter after the exchange; nil: not checked
}

// plainUpstream is an upstream response without CORS headers.
var plainUpstream = [][2]string{{"content-type", "application/json"}, {"x-request-id", "r-1"}}

// corsUpstream is an upstream response that sets CORS headers of its own.
var corsUpstream = [][2]string{
	{"content-type", "application/json"},
	{"access-control-allow-origin", "*"},
	{"access-control-allow-credentials", "true"},
	{"access-control-expose-headers", "x-secret"},
	{"vary", "accept-encoding"},
}

func runCases(t *testing.T, cases []corsCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
	}
}

func (c corsCase) run(t *testing.T) {
	t.Helper()
	cfg := c.config
	if cfg == "" {
		cfg = exampleConfig
	}
	p := startPlugin(t, cfg, c.opts...)
	x := p.send(c.req)
	if c.answer > 0 {
		h := x.expectAnswered(c.answer)
		expectHeaders(t, fmt.Sprintf("the local %d answer to the request%s", c.answer, c.req), h, c.want...)
	} else {
		x.expectContinues()
		upstream := c.upstream
		if upstream == nil {
			upstream = plainUpstream
		}
		status := c.status
		if status == 0 {
			status = 200
		}
		got := x.respond(status, upstream...)
		checks := c.want
		if c.untouched {
			checks = append(slices.Clone(checks), sameAs(x.upstream))
		} else {
			checks = append(slices.Clone(checks), keepsOtherHeaders(x.upstream))
		}
		expectHeaders(t, fmt.Sprintf("the response after the plugin, for the request%s\n  and the upstream's response\n%s", c.req, dump(x.upstream)), got, checks...)
	}
	if c.counters != nil {
		p.expectCounters("after the exchange", c.counters)
	}
}

// keepsOtherHeaders: every upstream header that is neither access-control-*
// nor vary is still there, unchanged, and nothing else was added but those.
func keepsOtherHeaders(upstream [][2]string) check {
	other := func(hs [][2]string) [][2]string {
		return slices.DeleteFunc(slices.Clone(hs), func(kv [2]string) bool {
			return kv[0] == "vary" || strings.HasPrefix(kv[0], "access-control-")
		})
	}
	return func(h [][2]string) string {
		if !sameHeaders(other(h), other(upstream)) {
			return fmt.Sprintf("headers other than access-control-* and vary changed; the upstream sent:\n%s", dump(upstream))
		}
		return ""
	}
}
