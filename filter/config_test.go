package filter

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   string // the problem's "path: message" must contain this
	}{
		{"an empty configuration", ``, "the configuration is empty"},
		{"invalid JSON, with its position", `{"allowOrigins": ["https://a.com",]}`, "invalid JSON at line 1, column 35"},
		{"trailing data after the document", `{"allowOrigins": ["https://a.com"]} {}`, "after the end of the document"},
		{"a document that is not an object", `["https://a.com"]`, "must be a JSON object, not an array"},
		{"an unknown field, suggesting the right one", `{"allowOrigin": ["https://a.com"]}`, `allowOrigin: unknown field; did you mean "allowOrigins"?`},
		{"a snake_case field, suggesting camelCase", `{"allow_origins": ["https://a.com"]}`, `did you mean "allowOrigins"?`},
		{"an unknown field in a match", `{"policies": [{"match": {"host": ["a"]}, "allowOrigins": ["https://a.com"]}]}`, `policies[0].match.host: unknown field; did you mean "hosts"?`},
		{"a field given twice", `{"allowOrigins": ["https://a.com"], "allowOrigins": ["https://b.com"]}`, "allowOrigins: appears twice"},
		{"a string where an array belongs", `{"allowOrigins": "https://a.com"}`, "allowOrigins: must be an array of strings, not a string"},
		{"a number in a string array", `{"allowOrigins": [1]}`, "allowOrigins[0]: must be a string, not a number"},
		{"a string where a boolean belongs", `{"allowOrigins": ["https://a.com"], "allowCredentials": "true"}`, "allowCredentials: must be true or false, not a string"},
		{"a fractional maxAge", `{"allowOrigins": ["https://a.com"], "maxAge": 1.5}`, "maxAge: must be a whole number from -1e9 to 1e9, not 1.5"},
		{"null for a field", `{"allowOrigins": null}`, "allowOrigins: must be an array of strings, not null"},
		{"no origin anywhere", `{"allowMethods": ["GET"]}`, "allowMethods: has no effect without top-level allowOrigins"},
		{"an empty object", `{}`, "allowOrigins: no origin is allowed anywhere"},
		{"a policy without origins", `{"policies": [{"match": {"hosts": ["a.com"]}, "allowMethods": ["PUT"]}]}`, "policies[0].allowOrigins: a policy must allow at least one origin"},
		{"an upper-case policy name", `{"policies": [{"match": {"hosts": ["a.com"]}, "allowOrigins": ["https://a.com"]}, {"name": "Admin", "match": {"hosts": ["b.com"]}, "allowOrigins": ["https://a.com"]}]}`, `policies[1].name: "Admin" is not a valid policy name (1 to 63 characters, starting and ending with a letter or digit); use lower-case letters, digits and '-'`},
		{"a policy name with an underscore", `{"policies": [{"name": "a_b", "match": {"hosts": ["a.com"]}, "allowOrigins": ["https://a.com"]}]}`, `policies[0].name: "a_b" is not a valid policy name`},
		{"a policy name ending in '-'", `{"policies": [{"name": "admin-", "match": {"hosts": ["a.com"]}, "allowOrigins": ["https://a.com"]}]}`, `policies[0].name: "admin-" is not a valid policy name`},
		{"a policy name of 64 characters", `{"policies": [{"name": "` + strings.Repeat("a", 64) + `", "match": {"hosts": ["a.com"]}, "allowOrigins": ["https://a.com"]}]}`, `is not a valid policy name`},
		{"a policy named default", `{"policies": [{"name": "default", "match": {"hosts": ["a.com"]}, "allowOrigins": ["https://a.com"]}]}`, `policies[0].name: "default" is reserved for the top-level policy`},
		{"two policies with one name", `{"policies": [{"name": "api", "match": {"hosts": ["a.com"]}, "allowOrigins": ["https://a.com"]}, {"name": "api", "match": {"hosts": ["b.com"]}, "allowOrigins": ["https://a.com"]}]}`, `policies[1].name: "api" is already the name of policies[0]; names must be unique`},
		{"an empty policy name", `{"policies": [{"name": "", "match": {"hosts": ["a.com"]}, "allowOrigins": ["https://a.com"]}]}`, `policies[0].name: is empty; leave it out, and the policy is called policies[0] in logs and metrics`},
		{"a policy name that is not a string", `{"policies": [{"name": 1, "match": {"hosts": ["a.com"]}, "allowOrigins": ["https://a.com"]}]}`, `policies[0].name: must be a string, not a number`},
		{"a name at the top level", `{"name": "api", "allowOrigins": ["https://a.com"]}`, `name: only an entry of policies has a name; the top-level policy is always called default`},
		{"a policy without match", `{"policies": [{"allowOrigins": ["https://a.com"]}]}`, "policies[0].match: required"},
		{"a match naming nothing", `{"policies": [{"match": {}, "allowOrigins": ["https://a.com"]}]}`, "policies[0].match: names no hosts"},
		{"a host with a port in a match", `{"policies": [{"match": {"hosts": ["a.com:80"]}, "allowOrigins": ["https://a.com"]}]}`, "policies[0].match.hosts[0]: invalid host"},
		{"a path prefix without slash", `{"policies": [{"match": {"pathPrefixes": ["v1"]}, "allowOrigins": ["https://a.com"]}]}`, "policies[0].match.pathPrefixes[0]: must start with '/'"},
		{"an origin with a path", `{"allowOrigins": ["https://a.com/app"]}`, `allowOrigins[0]: "https://a.com/app": an origin has no path`},
		{"an origin with a trailing slash", `{"allowOrigins": ["https://a.com/"]}`, `an origin has no path`},
		{"an origin with a query", `{"allowOrigins": ["https://a.com?x"]}`, `an origin has no query`},
		{"an origin with a fragment", `{"allowOrigins": ["https://a.com#x"]}`, `an origin has no fragment`},
		{"an origin with userinfo", `{"allowOrigins": ["https://u@a.com"]}`, `no userinfo`},
		{"an origin without scheme", `{"allowOrigins": ["a.com"]}`, `allowOrigins[0]: "a.com": no scheme`},
		{"an origin with a bad scheme", `{"allowOrigins": ["1http://a.com"]}`, `invalid scheme`},
		{"an origin with a bad port", `{"allowOrigins": ["https://a.com:99999"]}`, `invalid port "99999"`},
		{"an origin with a misplaced wildcard", `{"allowOrigins": ["https://a*.example.com"]}`, `misplaced '*'`},
		{"a wildcard in the middle of a host", `{"allowOrigins": ["https://a.*.example.com"]}`, `misplaced '*'`},
		{"a wildcard over a top-level domain", `{"allowOrigins": ["https://*.com"]}`, `at least two labels`},
		{"an origin with a trailing dot", `{"allowOrigins": ["https://a.com."]}`, `trailing dot`},
		{"an internationalized host not in punycode", `{"allowOrigins": ["https://bücher.de"]}`, `punycode`},
		{"an empty origin", `{"allowOrigins": [""]}`, `allowOrigins[0]: "": empty origin`},
		{"a * origin beside others", `{"allowOrigins": ["*", "https://a.com"]}`, `allowOrigins[0]: "*" allows every origin, so it must be the only origin`},
		{"an invalid regex", `{"allowOriginRegexes": ["https://(a.com"]}`, `allowOriginRegexes[0]: invalid regular expression "https://(a.com": missing ) for the ( at offset 8`},
		{"a regex with flags", `{"allowOrigins": ["https://a.com"], "allowOriginRegexes": ["https://b\\.com", "(?i)https://C\\.com"]}`, "allowOriginRegexes[1]: invalid regular expression \"(?i)https://C\\\\.com\": flags `(?i)` at offset 0: flags are not supported; origins reach the filter in lower case"},
		{"a regex with a Unicode host", `{"allowOriginRegexes": ["https://bücher\\.de"]}`, `allowOriginRegexes[0]: invalid regular expression "https://bücher\\.de": non-ASCII character 'ü' at offset 9: origins are ASCII: write an internationalized host in its punycode form, xn--...`},
		{"a regex with a word boundary", `{"allowOriginRegexes": ["https://a\\.com\\b"]}`, "word boundary `\\b` at offset 14"},
		{"a regex too large for the module", `{"allowOriginRegexes": ["https://[a-z]{300}\\.[a-z]{300}\\.com"]}`, "the expression is too large"},
		{"* origin with credentials", `{"allowOrigins": ["*"], "allowCredentials": true}`, `allowOrigins[0]: "*" cannot be used with allowCredentials`},
		{"* methods with credentials", `{"allowOrigins": ["https://a.com"], "allowMethods": ["*"], "allowCredentials": true}`, `allowMethods[0]: "*" cannot be used with allowCredentials`},
		{"* headers with credentials", `{"allowOrigins": ["https://a.com"], "allowHeaders": ["*"], "allowCredentials": true}`, `allowHeaders[0]: "*" cannot be used with allowCredentials`},
		{"* expose headers with credentials", `{"allowOrigins": ["https://a.com"], "exposeHeaders": ["*"], "allowCredentials": true}`, `exposeHeaders[0]: "*" cannot be used with allowCredentials`},
		{"CONNECT in allowMethods", `{"allowOrigins": ["https://a.com"], "allowMethods": ["GET", "CONNECT"]}`, `allowMethods[1]: "CONNECT" is a method browsers never let pages send`},
		{"TRACE in allowMethods, any case", `{"allowOrigins": ["https://a.com"], "allowMethods": ["trace"]}`, `allowMethods[0]: "trace" is a method browsers never`},
		{"TRACK in allowMethods", `{"allowOrigins": ["https://a.com"], "allowMethods": ["TRACK"]}`, `allowMethods[0]: "TRACK"`},
		{"a method that is not a token", `{"allowOrigins": ["https://a.com"], "allowMethods": ["GET PUT"]}`, `allowMethods[0]: "GET PUT" is not a valid method name`},
		{"an empty method", `{"allowOrigins": ["https://a.com"], "allowMethods": [""]}`, `allowMethods[0]: "" is not a valid method name`},
		{"set-cookie in exposeHeaders", `{"allowOrigins": ["https://a.com"], "exposeHeaders": ["Set-Cookie"]}`, `exposeHeaders[0]: "Set-Cookie" is never exposed`},
		{"set-cookie2 in exposeHeaders", `{"allowOrigins": ["https://a.com"], "exposeHeaders": ["set-cookie2"]}`, `exposeHeaders[0]: "set-cookie2" is never exposed`},
		{"a header name that is not a token", `{"allowOrigins": ["https://a.com"], "allowHeaders": ["x foo"]}`, `allowHeaders[0]: "x foo" is not a valid header name`},
		{"a non-ASCII header name", `{"allowOrigins": ["https://a.com"], "allowHeaders": ["résumé"]}`, `allowHeaders[0]: "résumé" is not a valid header name`},
		{"an expose header name that is not a token", `{"allowOrigins": ["https://a.com"], "exposeHeaders": ["x:y"]}`, `exposeHeaders[0]: "x:y" is not a valid header name`},
		{"a forbidden request header", `{"allowOrigins": ["https://a.com"], "allowHeaders": ["Connection"]}`, `allowHeaders[0]: "Connection" is a forbidden request header`},
		{"a sec- request header", `{"allowOrigins": ["https://a.com"], "allowHeaders": ["Sec-Foo"]}`, `is a forbidden request header`},
		{"a CORS header in allowHeaders", `{"allowOrigins": ["https://a.com"], "allowHeaders": ["Access-Control-Allow-Origin"]}`, `is a CORS protocol header`},
		{"maxAge below 0", `{"allowOrigins": ["https://a.com"], "maxAge": -1}`, `maxAge: must be from 0 to 86400 seconds, not -1`},
		{"maxAge above 86400", `{"allowOrigins": ["https://a.com"], "maxAge": 86401}`, `maxAge: must be from 0 to 86400 seconds, not 86401`},
		{"preflightStatus other than 200 or 204", `{"allowOrigins": ["https://a.com"], "preflightStatus": 201}`, `preflightStatus: must be 200 or 204, not 201`},
		{"an unknown mode", `{"allowOrigins": ["https://a.com"], "mode": "audit"}`, `mode: unknown mode "audit"; use "enforce" or "report"`},
		{"an unknown unmatchedPreflights", `{"allowOrigins": ["https://a.com"], "unmatchedPreflights": "allow"}`, `unmatchedPreflights: unknown value "allow"`},
		{"private network with any origin", `{"allowOrigins": ["*"], "allowPrivateNetwork": true}`, `allowPrivateNetwork: cannot be used with the "*" origin`},
		{"policies that is not an array", `{"allowOrigins": ["https://a.com"], "policies": {}}`, `policies: must be an array of policies`},
		{"a problem deep in a policy", `{"policies": [{"match": {"hosts": ["a.com"]}, "allowOrigins": ["https://a.com"]}, {"match": {"hosts": ["b.com"]}, "allowOrigins": ["https://b.com", "ftp//x"]}]}`, `policies[1].allowOrigins[1]: "ftp//x": no scheme`},
		{"nesting deeper than the bound", strings.Repeat("[", 100) + strings.Repeat("]", 100), "nesting deeper than 32 levels"},
		{"a control character in a string", "{\"allowOrigins\": [\"https://a.com\x01\"]}", "control character in string"},
		{"invalid UTF-8", "{\"allowOrigins\": [\"https://a.com\xff\"]}", "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.config))
			if err == nil {
				t.Fatalf("Parse accepted %s", tt.config)
			}
			if cfg != nil {
				t.Errorf("Parse returned a Config with its error")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %T %v, want *ConfigError with problems", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`{"allowOrigins": ["https://a.com/", "http://b.com"], "allowMethods": ["CONNECT"], "maxAge": 90000, "exposeHeaders": ["set-cookie"]}`))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *ConfigError", err)
	}
	var paths []string
	for _, p := range ce.Problems {
		paths = append(paths, p.Path)
	}
	if got, want := strings.Join(paths, " "), "allowOrigins[0] allowMethods[0] exposeHeaders[0] maxAge"; got != want {
		t.Errorf("problems at %q, want %q (%v)", got, want, err)
	}
}

func TestParseWarns(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   string // "" means no warning
	}{
		{"an http origin with credentials", `{"allowOrigins": ["http://a.com"], "allowCredentials": true}`, `allowOrigins[0]: "http://a.com" is plain http with allowCredentials`},
		{"an http wildcard with credentials", `{"allowOrigins": ["http://*.a.com"], "allowCredentials": true}`, `plain http with allowCredentials`},
		{"no warning for http on loopback with credentials", `{"allowOrigins": ["http://localhost:*", "http://127.0.0.1:3000"], "allowCredentials": true}`, ""},
		{"no warning for http without credentials", `{"allowOrigins": ["http://a.com"]}`, ""},
		{"the null origin", `{"allowOrigins": ["null"]}`, `allowOrigins[0]: the "null" origin is sent by sandboxed iframes`},
		{"maxAge above what Chromium caches", `{"allowOrigins": ["https://a.com"], "maxAge": 9000}`, `maxAge: 9000 seconds exceeds what Chromium caches (7200)`},
		{"a duplicate origin", `{"allowOrigins": ["https://a.com", "https://A.com:443"]}`, `allowOrigins[1]: "https://A.com:443" is listed twice`},
		{"a regex with an unescaped dot", `{"allowOriginRegexes": ["https://api.example\\.com"]}`, `allowOriginRegexes[0]: "https://api.example\\.com" has an unescaped '.' between letters`},
		{"a regex that matches any site", `{"allowOriginRegexes": ["https://[a-z.-]+"]}`, `matches origins of any site`},
		{"a regex ending in .*", `{"allowOriginRegexes": ["https://a\\.example\\.com.*"]}`, `ends in .* or .+`},
		{"a regex ending in .+ and $", `{"allowOriginRegexes": ["https://a\\.example\\.com(:.+)$"]}`, `ends in .* or .+`},
		{"no warning for a regex ending at the port", `{"allowOriginRegexes": ["https://a\\.example\\.com(:[0-9]+)?"]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, tt.config)
			var got []string
			for _, w := range cfg.Warnings() {
				got = append(got, w.String())
			}
			all := strings.Join(got, "\n")
			if tt.want == "" && all != "" || !strings.Contains(all, tt.want) {
				t.Errorf("warnings %q, want %q", all, tt.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name   string
		config string
	}{
		{"the README's example", `{
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
  "policies": [
    {"match": {"hosts": ["api.example.com", "*.internal.example.com"], "pathPrefixes": ["/v1/"], "routeNames": ["admin-route"]},
     "allowOrigins": ["https://admin.example.com"], "allowMethods": ["GET"]}
  ]
}`},
		{"integral numbers in any spelling, as protobuf Struct writes them", `{"allowOrigins": ["https://a.com"], "maxAge": 6e2, "preflightStatus": 204.0}`},
		{"escapes in strings", `{"allowOrigins": ["https:\/\/a.com", "https://\u0062.com"]}`},
		{"only policies, no default", `{"policies": [{"match": {"pathPrefixes": ["/"]}, "allowOriginRegexes": ["https://.*\\.a\\.com"]}]}`},
		{"ports, IPv4 and IPv6 hosts", `{"allowOrigins": ["http://10.0.0.1:8080", "http://[::1]:*", "https://*.a.com:8443"]}`},
		{"other schemes such as browser extensions", `{"allowOrigins": ["chrome-extension://abcdefghijklmnop", "capacitor://localhost"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustParse(t, tt.config)
		})
	}
}

func TestSummary(t *testing.T) {
	cfg := mustParse(t, policiesConfig)
	want := "cors: configuration loaded: mode enforce; policies[0] (1 origin patterns, 0 regexes); policies[1] (any origin); policies[2] (1 origin patterns, 0 regexes); default (1 origin patterns, 0 regexes)"
	if got := cfg.Summary(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestWholeNumber(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"600", 600, true}, {"-1", -1, true}, {"0", 0, true}, {"-0", 0, true}, {"600.0", 600, true}, {"6e2", 600, true},
		{"6E+2", 600, true}, {"60000e-2", 600, true}, {"0.0e-5", 0, true}, {"1000000000", 1e9, true},
		{"1.5", 0, false}, {"15e-1", 0, false}, {"1000000001", 0, false}, {"1e10", 0, false}, {"1e400", 0, false},
		{"0.000001", 0, false}, {"123456789012345678901234567890", 0, false},
	}
	for _, tt := range tests {
		got, ok := wholeNumber(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("wholeNumber(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
