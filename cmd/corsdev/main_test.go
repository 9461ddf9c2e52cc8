//go:build !wasip1

package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/demo"
	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmbuild"
)

func TestBrowserHost(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:10000": "localhost:10000",
		"0.0.0.0:10000":   "localhost:10000",
		":10000":          "localhost:10000",
		"[::1]:10000":     "localhost:10000",
		"10.1.2.3:10000":  "10.1.2.3:10000",
	} {
		if got := browserHost(addr); got != want {
			t.Errorf("browserHost(%q) = %q; want %q", addr, got, want)
		}
	}
}

// TestStartErrors checks the errors corsdev stops with before it serves.
func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	root, err := wasmbuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	wasm := testmodule.WriteFile(t, testmodule.Release, dir, "plugin.wasm")
	good := filepath.Join(root, "cmd/corsdev/testdata/example.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"allowOrigins": ["https://app.example.com/"], "maxAge": -1}`), 0o644)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing config", []string{"-config", filepath.Join(dir, "none.json")},
			[]string{"no plugin configuration at", "pass -config FILE"}},
		{"refused config", []string{"-config", bad},
			[]string{"bad.json refused; the plugin says:\n  cors: refusing configuration: ", "allowOrigins[0]", "maxAge", "corsctl check"}},
		{"port in use", []string{"-config", good, "-listen", busy.Addr().String()},
			[]string{"the embedded host cannot listen on " + busy.Addr().String() + ": the port is in use", "pass -listen"}},
		{"argument", []string{"extra"}, []string{`unexpected argument "extra"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(append([]string{"-embedded", "-wasm", wasm}, tc.args...), io.Discard)
			if err == nil {
				t.Fatal("run succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestRenderEnvoy checks the splice of a policy into envoy.yaml: the inline
// policy is replaced, the module's filename too, and nothing else changes.
func TestRenderEnvoy(t *testing.T) {
	root, err := wasmbuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	yaml, err := os.ReadFile(filepath.Join(root, "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	policy := "{\n  \"allowOrigins\": [\"http://127.0.0.1:8080\"],\n\n  \"maxAge\": 5\n}\n"
	out, err := renderEnvoy(yaml, []byte(policy), "/tmp/my dir/plugin.wasm")
	if err != nil {
		t.Fatal(err)
	}
	in, got := strings.Split(string(yaml), "\n"), strings.Split(string(out), "\n")
	start := slices.IndexFunc(in, func(l string) bool { return strings.TrimSpace(l) == "value: |" }) + 1
	indent := in[start][:len(in[start])-len(strings.TrimLeft(in[start], " "))]
	want := []string{indent + "{", indent + `  "allowOrigins": ["http://127.0.0.1:8080"],`, "", indent + `  "maxAge": 5`, indent + "}"}
	if !slices.Equal(in[:start], got[:start]) || !slices.Equal(got[start:start+len(want)], want) {
		t.Fatalf("rendered:\n%s", out)
	}
	end := start
	for strings.HasPrefix(in[end], indent) {
		end++
	}
	rest, gotRest := strings.Join(in[end:], "\n"), strings.Join(got[start+len(want):], "\n")
	if strings.Replace(rest, "{filename: plugin.wasm}", `{filename: "/tmp/my dir/plugin.wasm"}`, 1) != gotRest {
		t.Errorf("the rest of envoy.yaml changed:\n%s", gotRest)
	}
	if _, err := renderEnvoy([]byte("static_resources: {}\n"), []byte(policy), "plugin.wasm"); err == nil {
		t.Error("renderEnvoy without an inline policy succeeded")
	}
}

// TestBanner checks that the banner says what the policy loaded does to
// the page's origins: config.json's as the engine decides it, and a custom
// one's.
func TestBanner(t *testing.T) {
	root, err := wasmbuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(filepath.Join(root, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		config []byte
		want   []string
	}{
		{"config.json", config, nil},
		{"custom", []byte(`{"allowOrigins": ["http://127.0.0.1:8080"]}`), []string{
			"  GET /v1/things: http://localhost:8080 is denied by policy default: origin not allowed; http://127.0.0.1:8080 is allowed by policy default.\n",
		}},
	} {
		p, err := demo.ParsePolicy("config.json", tc.config)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.want == nil {
			// The statements for config.json come from the engine.
			for _, origin := range []string{"http://localhost:8080", "http://127.0.0.1:8080"} {
				v := p.Verdict("http://localhost:10000", origin, "/v1/things")
				tc.want = append(tc.want, origin+" is "+v.Short())
			}
		}
		var b strings.Builder
		banner(&b, o, "", "", "http://localhost:10000", p)
		for _, w := range append(tc.want, "What config.json does to the demo page's origins", "same page, other origin  http://127.0.0.1:8080/") {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: the banner lacks %q:\n%s", tc.name, w, b.String())
			}
		}
		if strings.Contains(b.String(), "example") {
			t.Errorf("%s: the banner speaks of the example policy:\n%s", tc.name, b.String())
		}
	}
	var b strings.Builder
	p, _ := demo.ParsePolicy("config.json", config)
	banner(&b, o, "/usr/bin/envoy", "/tmp/corsdev-envoy-1.yaml", "http://localhost:10000", p)
	if want := "Envoy (/usr/bin/envoy) runs plugin.wasm with config.json, rendered into a copy of envoy.yaml (/tmp/corsdev-envoy-1.yaml)"; !strings.Contains(b.String(), want) {
		t.Errorf("the Envoy banner lacks %q:\n%s", want, b.String())
	}
}
