package filter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestCompileDecodedSpec checks that decoding then compiling a document
// gives what Parse gives, for every configuration the tests use.
func TestCompileDecodedSpec(t *testing.T) {
	docs := append([]string{mainConfig, policiesConfig}, evaluatePolicies...)
	for _, doc := range docs {
		want, err := Parse([]byte(doc))
		if err != nil {
			continue
		}
		spec, err := DecodeSpec([]byte(doc))
		if err != nil {
			t.Fatalf("DecodeSpec(%s): %v", doc, err)
		}
		got, err := Compile(spec)
		if err != nil {
			t.Fatalf("Compile(DecodeSpec(%s)): %v", doc, err)
		}
		if g, w := describeConfig(got), describeConfig(want); g != w {
			t.Errorf("%s:\n Compile %s\n Parse   %s", doc, g, w)
		}
	}
}

func describeConfig(c *Config) string {
	return fmt.Sprintf("%s %+v %v %v %v", c.Summary(), c.Policies(), c.Warnings(), c.NeedsRouteName(), c.NeedsHeadersWithoutOrigin())
}

// TestDecodeSpecRefuses checks that DecodeSpec reports what stops it
// reading, and leaves the rules to Compile.
func TestDecodeSpecRefuses(t *testing.T) {
	for doc, want := range map[string]string{
		`{"allowOrigins": 5}`:                   "allowOrigins: must be an array of strings, not a number",
		`{"mode": "strict"}`:                    `mode: unknown mode "strict"; use "enforce" or "report"`,
		`{"policies": [{"match": [], "x": 1}]}`: `policies[0].x: unknown field; known fields are name, match, allowOrigins, allowOriginRegexes, allowMethods, allowHeaders, exposeHeaders, allowCredentials, maxAge, allowPrivateNetwork, preflightStatus, unmatchedPreflights; policies[0].match: must be an object with hosts, pathPrefixes or routeNames, not an array`,
		`[]`:                                    "the configuration must be a JSON object, not an array",
	} {
		_, err := DecodeSpec([]byte(doc))
		var ce *ConfigError
		if !errors.As(err, &ce) || err.Error() != want {
			t.Errorf("DecodeSpec(%s) = %v, want %s", doc, err, want)
		}
	}
	// Rules are Compile's.
	spec, err := DecodeSpec([]byte(`{"allowOrigins": ["https://a.com/"]}`))
	if err != nil || len(spec.AllowOrigins) != 1 {
		t.Fatalf("DecodeSpec = %+v, %v", spec, err)
	}
	if _, err := Compile(spec); err == nil {
		t.Error("Compile accepted an origin with a path")
	}
}

// TestCompileSpecInCode covers what only a Spec built in code can hold.
func TestCompileSpecInCode(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{Mode: 7, PolicySpec: PolicySpec{AllowOrigins: []string{"*"}}}, "mode: unknown mode 7; use ModeEnforce or ModeReport"},
		{Spec{PolicySpec: PolicySpec{Match: &MatchSpec{Hosts: []string{"a.com"}}, AllowOrigins: []string{"*"}}}, "match: only an entry of policies has a match"},
		{Spec{PolicySpec: PolicySpec{AllowCredentials: true}, Policies: []PolicySpec{{}}}, "policies[0].match: required"},
		{Spec{PolicySpec: PolicySpec{AllowCredentials: true, AllowMethods: []string{}}}, "allowMethods: has no effect without top-level allowOrigins"},
		{Spec{}, "allowOrigins: no origin is allowed anywhere"},
	} {
		_, err := Compile(c.spec)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Compile(%+v) = %v, want %s...", c.spec, err, c.want)
		}
	}
}

// TestCompileCopies checks that a Config does not share the Spec's slices:
// editing a Spec after Compile changes nothing the engine reads.
func TestCompileCopies(t *testing.T) {
	spec := Spec{Policies: []PolicySpec{{
		Match:        &MatchSpec{PathPrefixes: []string{"/v1"}, RouteNames: []string{"r"}},
		AllowOrigins: []string{"https://a.com"},
		AllowHeaders: []string{"x-a"},
	}}}
	cfg, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	before := describeConfig(cfg)
	spec.Policies[0].Match.PathPrefixes[0] = "/v2"
	spec.Policies[0].Match.RouteNames[0] = "s"
	spec.Policies[0].AllowOrigins[0] = "https://b.com"
	spec.Policies[0].AllowHeaders[0] = "x-b"
	if after := describeConfig(cfg); after != before {
		t.Errorf("editing the Spec changed the Config:\n before %s\n after  %s", before, after)
	}
}
