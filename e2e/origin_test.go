package e2e

import "testing"

// How the example configuration's origin patterns match, seen through actual
// requests whose upstream sets CORS headers of its own.
func TestOriginMatching(t *testing.T) {
	type verdict int
	const (
		allowed    verdict = iota
		notAllowed         // a well-formed origin no pattern allows
		invalid            // not an origin as a browser serializes it
		refused            // either of the two: only the response is checked
	)
	cases := []struct {
		name   string
		origin string
		want   verdict
	}{
		{"an exact origin is allowed", "https://app.example.com", allowed},
		{"a subdomain matches the wildcard pattern", "https://api.example.com", allowed},
		{"several subdomain labels match the wildcard pattern", "https://a.b.c.example.com", allowed},
		{"a localhost port matches the any-port pattern", "http://localhost:3000", allowed},
		{"another localhost port matches the any-port pattern", "http://localhost:65535", allowed},
		{"an origin the regex matches whole is allowed", "https://pr-42.preview.example.com", allowed},

		{"the apex does not match the wildcard pattern", "https://example.com", notAllowed},
		{"a suffix after an allowed host is not allowed", "https://app.example.com.evil.net", notAllowed},
		{"a host merely ending in the wildcard's domain is not allowed", "https://evilexample.com", notAllowed},
		{"http is not https", "http://app.example.com", notAllowed},
		{"http is not https for the wildcard either", "http://api.example.com", notAllowed},
		{"an explicit port is not the default port", "https://app.example.com:8443", notAllowed},
		{"a port on a wildcard subdomain is not allowed", "https://api.example.com:8443", notAllowed},
		{"https is not the http of the localhost pattern", "https://localhost:3000", notAllowed},
		{"a lookalike of localhost is not allowed", "http://localhost.evil.net:3000", notAllowed},
		{"another domain is not allowed", "https://app.example.org", notAllowed},
		{"the null origin is not allowed unless listed", "null", notAllowed},

		{"an upper-case host is not an origin a browser sends", "https://APP.example.com", invalid},
		{"an origin with a trailing slash is invalid", "https://app.example.com/", invalid},
		{"an origin with a path is invalid", "https://app.example.com/login", invalid},
		{"an origin with userinfo is invalid", "https://user@app.example.com", invalid},
		{"an origin without a scheme is invalid", "app.example.com", invalid},
		{"a list of origins is invalid", "https://app.example.com, https://evil.example.net", invalid},
		{"an origin with a query is invalid", "https://app.example.com?x=1", invalid},

		{"an explicit default port is refused", "https://app.example.com:443", refused},
		{"an upper-case scheme is refused", "HTTPS://app.example.com", refused},
		{"a literal wildcard is refused", "https://*.example.com", refused},
		{"a literal any-port pattern is refused", "http://localhost:*", refused},
		{"a trailing dot is refused", "https://app.example.com.", refused},
		{"a space inside is refused", "https://app .example.com", refused},
		{"an empty port is refused", "http://localhost:", refused},
	}
	var table []corsCase
	for _, c := range cases {
		cc := corsCase{name: c.name, req: crossOrigin("GET", c.origin), upstream: corsUpstream}
		switch c.want {
		case allowed:
			cc.want = actualAnswer{origin: c.origin, credentials: true, expose: []string{"x-request-id"}, vary: []string{"accept-encoding"}}.checks()
			cc.counters = counts{"cors.actual.allowed": 1}
		case notAllowed:
			cc.want = denied("accept-encoding")
			cc.counters = counts{"cors.actual.denied": 1}
		case invalid:
			cc.want = denied("accept-encoding")
			cc.counters = counts{"cors.actual.denied": 1, "cors.origin.invalid": 1}
		case refused:
			cc.want = denied("accept-encoding")
		}
		table = append(table, cc)
	}
	runCases(t, table)
}

// Regexes must match the whole origin. The configuration has no wildcard, so
// only the regex can allow these.
func TestOriginRegexes(t *testing.T) {
	const config = `{"allowOrigins": ["https://app.example.com"],
		"allowOriginRegexes": ["https://pr-[0-9]+\\.preview\\.example\\.com", "http://10\\.0\\.0\\.[0-9]{1,3}:8080"],
		"allowCredentials": true}`
	allow := func(name, origin string) corsCase {
		return corsCase{
			name: name, config: config, req: crossOrigin("GET", origin), upstream: corsUpstream,
			want:     actualAnswer{origin: origin, credentials: true, vary: []string{"accept-encoding"}}.checks(),
			counters: counts{"cors.actual.allowed": 1},
		}
	}
	deny := func(name, origin string) corsCase {
		return corsCase{
			name: name, config: config, req: crossOrigin("GET", origin), upstream: corsUpstream,
			want:     denied("accept-encoding"),
			counters: counts{"cors.actual.denied": 1},
		}
	}
	runCases(t, []corsCase{
		allow("an origin the first regex matches is allowed", "https://pr-7.preview.example.com"),
		allow("a longer number matches too", "https://pr-12345.preview.example.com"),
		allow("an origin the second regex matches is allowed", "http://10.0.0.12:8080"),
		deny("a regex matching only a prefix of the origin does not allow it", "https://pr-7.preview.example.com.evil.net"),
		deny("a regex matching a prefix up to a longer TLD does not allow it", "https://pr-7.preview.example.community"),
		deny("a regex does not allow an added port", "https://pr-7.preview.example.com:8443"),
		deny("a regex's escaped dot is not any character", "https://pr-7xpreviewxexample.com"),
		deny("a non-matching label is not allowed", "https://pr-x.preview.example.com"),
		deny("the second regex does not allow another port", "http://10.0.0.12:8081"),
		{
			name: "a preflight from an origin a regex matches is answered with 204", config: config,
			req:      preflight("https://pr-7.preview.example.com", "POST"),
			answer:   204,
			want:     preflightAnswer{origin: "https://pr-7.preview.example.com", method: "POST", credentials: true}.checks(),
			counters: counts{"cors.preflight.allowed": 1},
		},
	})
}
