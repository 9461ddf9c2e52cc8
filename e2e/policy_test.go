package e2e

import "testing"

const (
	admin   = "https://admin.example.com"
	partner = "https://partner.example.org"
	ops     = "https://ops.example.com"
)

// One criterion per policy, so each can be tested alone, after a default
// policy made of the top-level fields.
const policiesConfig = `{
  "allowOrigins": ["https://app.example.com"],
  "allowMethods": ["GET", "PUT"],
  "policies": [
    {"match": {"hosts": ["api.example.com", "*.internal.example.com"]}, "allowOrigins": ["https://admin.example.com"], "allowMethods": ["GET"]},
    {"match": {"pathPrefixes": ["/v1/", "/v2/public/"]}, "allowOrigins": ["https://partner.example.org"], "allowMethods": ["PUT"], "maxAge": 30},
    {"match": {"routeNames": ["admin-route", "ops-route"]}, "allowOrigins": ["https://ops.example.com"], "allowCredentials": true}
  ]
}`

// A request is matched to a policy; the test then shows which one applied by
// which origin it allows.
func TestPolicySelection(t *testing.T) {
	// allows: the policy that applies allows origin; refuses: it does not.
	allows := func(name string, r request, origin string, opts ...option) corsCase {
		return corsCase{name: name, config: policiesConfig, opts: opts, req: r.with("origin", origin),
			want:     actualAnswer{origin: origin, credentials: origin == ops}.checks(),
			counters: counts{"cors.actual.allowed": 1}}
	}
	refuses := func(name string, r request, origin string, opts ...option) corsCase {
		return corsCase{name: name, config: policiesConfig, opts: opts, req: r.with("origin", origin),
			upstream: corsUpstream, want: denied("accept-encoding"),
			counters: counts{"cors.actual.denied": 1}}
	}
	get := newRequest("GET")
	runCases(t, []corsCase{
		allows("a request to a listed host gets the host policy", get.to("api.example.com", "/"), admin),
		refuses("a request to a listed host does not get the default policy", get.to("api.example.com", "/"), app),
		allows("hosts match case-insensitively", get.to("API.Example.COM", "/"), admin),
		allows("hosts match whatever the port", get.to("api.example.com:8443", "/"), admin),
		allows("a *. host matches a subdomain", get.to("db.internal.example.com", "/"), admin),
		allows("a *. host matches a deeper subdomain", get.to("a.b.internal.example.com:443", "/"), admin),
		allows("a *. host does not match its apex", get.to("internal.example.com", "/"), app),
		allows("a host with a suffix does not match", get.to("api.example.com.evil.net", "/"), app),
		allows("a host that only ends like a *. host does not match", get.to("xinternal.example.com", "/"), app),

		allows("a request under a path prefix gets the path policy", get.to(defaultAuthority, "/v1/users?id=3"), partner),
		allows("any of the path prefixes matches", get.to(defaultAuthority, "/v2/public/feed"), partner),
		allows("a path equal to the prefix without its slash does not match", get.to(defaultAuthority, "/v1"), app),
		allows("a path that only starts like a prefix does not match", get.to(defaultAuthority, "/v10/users"), app),
		allows("path prefixes are case-sensitive", get.to(defaultAuthority, "/V1/users"), app),
		allows("a path under another prefix does not match", get.to(defaultAuthority, "/v2/private/x"), app),

		allows("a request on a listed route gets the route policy", get, ops, withRouteName("admin-route")),
		allows("any of the route names matches", get, ops, withRouteName("ops-route")),
		allows("a request on another route does not match", get, app, withRouteName("public-route")),
		allows("a request without a route name does not match a route policy", get, app),

		allows("the first matching policy applies", get.to("api.example.com", "/v1/users"), admin, withRouteName("admin-route")),
		refuses("a later matching policy does not", get.to("api.example.com", "/v1/users"), partner, withRouteName("admin-route")),
		allows("a request no policy matches gets the default policy", get, app),
		refuses("the default policy does not allow a policy's origins", get, admin),

		{
			name: "a policy's own methods apply to its preflights", config: policiesConfig,
			req:    preflight(admin, "PUT").to("api.example.com", "/"),
			answer: 403, want: []check{noCORSHeaders()},
			counters: counts{"cors.preflight.denied": 1},
		},
		{
			name: "a policy's own settings apply to its preflights", config: policiesConfig,
			req:      preflight(partner, "PUT").to(defaultAuthority, "/v1/users"),
			answer:   204,
			want:     preflightAnswer{origin: partner, method: "PUT", maxAge: "30"}.checks(),
			counters: counts{"cors.preflight.allowed": 1},
		},
		{
			name: "the default policy's settings apply outside the policies", config: policiesConfig,
			req:      preflight(app, "PUT"),
			answer:   204,
			want:     preflightAnswer{origin: app, method: "PUT"}.checks(),
			counters: counts{"cors.preflight.allowed": 1},
		},
	})
}

// A policy whose match names several criteria applies only when all hold:
// the example configuration's admin policy needs host, path and route. (The
// top level sets no credentials or expose headers here, so the answers are
// the same whether or not a policy inherits top-level fields.)
func TestPolicyCriteriaMustAllHold(t *testing.T) {
	const config = `{
	  "allowOrigins": ["https://app.example.com"],
	  "allowMethods": ["GET", "POST", "PUT", "DELETE"],
	  "policies": [{
	    "match": {"hosts": ["api.example.com", "*.internal.example.com"], "pathPrefixes": ["/v1/"], "routeNames": ["admin-route"]},
	    "allowOrigins": ["https://admin.example.com"],
	    "allowMethods": ["GET"]
	  }]
	}`
	adminPolicy := actualAnswer{origin: admin}.checks()
	cases := []struct {
		name, authority, path, route string
		applies                      bool
	}{
		{"host, path and route all match", "api.example.com", "/v1/users", "admin-route", true},
		{"a *. host, path and route all match", "db.internal.example.com", "/v1/", "admin-route", true},
		{"the route does not match", "api.example.com", "/v1/users", "public-route", false},
		{"there is no route name", "api.example.com", "/v1/users", "", false},
		{"the path does not match", "api.example.com", "/v2/users", "admin-route", false},
		{"the host does not match", "www.example.com", "/v1/users", "admin-route", false},
	}
	var table []corsCase
	for _, c := range cases {
		var opts []option
		if c.route != "" {
			opts = append(opts, withRouteName(c.route))
		}
		r := newRequest("GET").to(c.authority, c.path)
		if c.applies {
			table = append(table,
				corsCase{name: c.name + ": the policy's origin is allowed", config: config, opts: opts, req: r.with("origin", admin),
					want: adminPolicy, counters: counts{"cors.actual.allowed": 1}},
				corsCase{name: c.name + ": the default policy's origin is not", config: config, opts: opts, req: r.with("origin", app),
					upstream: corsUpstream, want: denied("accept-encoding"), counters: counts{"cors.actual.denied": 1}},
				corsCase{name: c.name + ": the policy's methods apply", config: config, opts: opts, req: preflight(admin, "PUT").to(c.authority, c.path),
					answer: 403, want: []check{noCORSHeaders()}, counters: counts{"cors.preflight.denied": 1}},
			)
		} else {
			table = append(table,
				corsCase{name: c.name + ": the default policy applies", config: config, opts: opts, req: r.with("origin", app),
					want:     actualAnswer{origin: app}.checks(),
					counters: counts{"cors.actual.allowed": 1}},
				corsCase{name: c.name + ": the policy's origin is not allowed", config: config, opts: opts, req: r.with("origin", admin),
					upstream: corsUpstream, want: denied("accept-encoding"), counters: counts{"cors.actual.denied": 1}},
			)
		}
	}
	runCases(t, table)
}

// Without top-level origins there is no default policy: a request no policy
// matches passes through untouched, CORS headers of the upstream included.
func TestRequestsNoPolicyCoversPassUntouched(t *testing.T) {
	const config = `{"policies": [{"match": {"hosts": ["api.example.com"]}, "allowOrigins": ["https://admin.example.com"], "allowMethods": ["PUT"]}]}`
	runCases(t, []corsCase{
		{
			name: "a preflight no policy covers goes upstream and its response is untouched", config: config,
			req: preflight(admin, "PUT"), upstream: corsUpstream, untouched: true, counters: counts{},
		},
		{
			name: "a preflight from a bad origin no policy covers goes upstream untouched", config: config,
			req: preflight("https://user@evil.example.net", "PUT"), upstream: corsUpstream, untouched: true, counters: counts{},
		},
		{
			name: "an actual request no policy covers is untouched", config: config,
			req: crossOrigin("GET", "https://evil.example.net"), upstream: corsUpstream, untouched: true, counters: counts{},
		},
		{
			name: "a request without Origin no policy covers is untouched", config: config,
			req: sameOrigin("GET"), upstream: corsUpstream, untouched: true, counters: counts{},
		},
		{
			name: "a preflight the policy covers is answered", config: config,
			req: preflight(admin, "PUT").to("api.example.com", "/"), answer: 204,
			want:     preflightAnswer{origin: admin, method: "PUT"}.checks(),
			counters: counts{"cors.preflight.allowed": 1},
		},
		{
			name: "a request without Origin the policy covers varies on origin", config: config,
			req: sameOrigin("GET").to("api.example.com", "/"), upstream: plainUpstream,
			want: []check{noCORSHeaders(), vary("origin")}, counters: counts{},
		},
	})
}

// The README's example: its admin policy applies on the admin route of the
// API host under /v1/, and allows only GET there.
func TestTheExamplePolicy(t *testing.T) {
	on := func(r request) request { return r.to("api.example.com", "/v1/users") }
	route := withRouteName("admin-route")

	p := startPlugin(t, exampleConfig, route)
	expectHeaders(t, "the answer to the admin origin's GET preflight", p.send(on(preflight(admin, "GET"))).expectAnswered(204),
		header("access-control-allow-origin", admin))
	expectHeaders(t, "the answer to the admin origin's PUT preflight", p.send(on(preflight(admin, "PUT"))).expectAnswered(403),
		noCORSHeaders())
	expectHeaders(t, "the answer to the default origin's preflight", p.send(on(preflight(app, "GET"))).expectAnswered(403),
		noCORSHeaders())
	p.expectCounters("after three preflights", counts{"cors.preflight.allowed": 1, "cors.preflight.denied": 2})
}
