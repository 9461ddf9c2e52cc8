//go:build !wasip1

package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	good := filepath.Join(root, "config.json")
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
