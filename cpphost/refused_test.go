//go:build !wasip1

package cpphost

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// refusedConfigs are the files of testdata/refused and what the plugin's
// error line must name in each.
var refusedConfigs = map[string][]string{
	"invalid-json.json":              {"invalid JSON at line 2, column 1"},
	"unknown-field.json":             {"allowMethod: unknown field", `did you mean "allowMethods"`},
	"origin-without-scheme.json":     {`allowOrigins[1]: "admin.example.com": no scheme`},
	"wildcard-with-credentials.json": {`allowOrigins[0]: "*" cannot be used with allowCredentials`},
	"invalid-regex.json":             {"allowOriginRegexes[0]: invalid regular expression", "missing )"},
	"policy-regex-flags.json":        {"policies[0].allowOriginRegexes[0]: invalid regular expression", "(?i)"},
	"no-origins.json":                {"allowMethods: has no effect without top-level allowOrigins", "allowOrigins: no origin is allowed anywhere"},
	"max-age-too-large.json":         {"maxAge: must be from 0 to 86400 seconds, not 86401"},
	"unknown-mode.json":              {`mode: unknown mode "audit"`},
}

// refusalLine starts the one error line the plugin logs for a refused
// configuration, as pwhost prints it.
const refusalLine = "[plugin error] cors: refusing configuration: "

// TestRefusedConfigurations loads each configuration of testdata/refused
// with --expect-refuse (exit 0: proxy_on_configure returned false) and
// checks that the plugin's error line names the offending field.
func TestRefusedConfigurations(t *testing.T) {
	files, err := filepath.Glob(testdata("refused/*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for name := range refusedConfigs {
		if !slices.Contains(names, name) {
			t.Errorf("testdata/refused/%s is missing", name)
		}
	}
	forEachHost(t, func(t *testing.T, h host) {
		for _, name := range names {
			t.Run(strings.TrimSuffix(name, ".json")+" is refused", func(t *testing.T) {
				t.Parallel()
				want, ok := refusedConfigs[name]
				if !ok {
					t.Fatalf("testdata/refused/%s has no entry in refusedConfigs", name)
				}
				r := pwhost(t, h, releaseWasm, testdata("refused/"+name), nil, "--expect-refuse")
				wantCode(t, r, 0)
				line := refusal(r.stderr)
				if line == "" {
					t.Fatalf("no line %q in the standard error:\n%s", refusalLine, r.tail())
				}
				for _, s := range want {
					if !strings.Contains(line, s) {
						t.Errorf("the refusal does not say %q: %s", s, line)
					}
				}
				if !strings.Contains(r.stderr, "RESULT: the configuration was refused") {
					t.Errorf("pwhost does not report a refusal:\n%s", r.tail())
				}
			})
		}
	})
}

// refusal returns the plugin's refusal line in stderr, "" if there is none.
func refusal(stderr string) string {
	for line := range strings.SplitSeq(stderr, "\n") {
		if strings.HasPrefix(line, refusalLine) {
			return line
		}
	}
	return ""
}

// TestControls shows that these tests can fail: pwhost's exit status means
// what the tests take it to mean, and the Go checks reject the wrong
// outcome.
func TestControls(t *testing.T) {
	forEachHost(t, func(t *testing.T, h host) {
		t.Run("a valid configuration run with --expect-refuse exits 3", func(t *testing.T) {
			t.Parallel()
			r := pwhost(t, h, releaseWasm, testdata("policy.json"), nil, "--expect-refuse")
			wantCode(t, r, 3)
			if !strings.Contains(r.stderr, "the configuration was accepted, but --expect-refuse") {
				t.Errorf("pwhost does not say the configuration was accepted:\n%s", r.tail())
			}
		})
		t.Run("a refused configuration run without --expect-refuse exits 3", func(t *testing.T) {
			t.Parallel()
			r := pwhost(t, h, releaseWasm, testdata("refused/unknown-field.json"), []exchange{{Request: actual(app)}})
			wantCode(t, r, 3)
			if len(r.outs) != 0 {
				t.Errorf("%d exchanges served on a refused configuration", len(r.outs))
			}
		})
		t.Run("an exchange that misses pwhost's expect exits 4", func(t *testing.T) {
			t.Parallel()
			local := true
			x := exchange{Name: "allowed", Request: preflight(app, "PUT", ""), Expect: &expect{Status: 403, LocalReply: &local}}
			r := pwhost(t, h, releaseWasm, testdata("policy.json"), []exchange{x})
			wantCode(t, r, 4)
			if len(r.outs) != 1 || r.outs[0].ExpectOK == nil || *r.outs[0].ExpectOK {
				t.Errorf("the output line does not say expect_ok false: %+v", r.outs)
			}
		})
		t.Run("the checks of a denied preflight and of its counters reject an allowed one", func(t *testing.T) {
			t.Parallel()
			r := pwhost(t, h, releaseWasm, testdata("policy.json"), []exchange{{Request: preflight(app, "PUT", "content-type")}})
			wantServed(t, r, 1)
			if ps := allowedPreflight(&r.outs[0]); len(ps) > 0 {
				t.Fatalf("the allowed preflight is not what the control needs: %q", ps)
			}
			if ps := deniedPreflight(&r.outs[0]); len(ps) == 0 {
				t.Error("the denied-preflight check accepts an allowed preflight")
			} else {
				t.Logf("the denied-preflight check says: %q", ps)
			}
			if ps := counterProblems(r.counters, counts{preflightDenied: 1}); len(ps) == 0 {
				t.Error("the counters check accepts cors.preflight.allowed = 1 for a denied preflight")
			}
		})
	})
}
