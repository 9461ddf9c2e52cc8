//go:build !wasip1

package hardening

import (
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/wasmhost"
)

// A refused configuration update leaves no half-applied state. Envoy applies
// an update by creating a new root context with the new configuration in
// the running VM; if its proxy_on_configure returns false, Envoy keeps the
// plugin it had. Here: a plugin serves; updates with bad policies are
// refused, with the plugin's error line, and the serving plugin keeps its
// policy; a good update then serves its own policy beside the old one.
func TestRefusedConfigurationUpdate(t *testing.T) {
	vm, old := startPlugin(t, releaseWasm(t), wasmhost.Options{}, testConfig)
	const other = "https://other.example.com"
	const newConfig = `{"allowOrigins": ["https://other.example.com"], "allowMethods": ["DELETE"], "maxAge": 60}`

	// servesOld checks the first plugin's policy: app allowed with
	// credentials, PUT allowed, other denied.
	servesOld := func(t *testing.T) {
		t.Helper()
		x := do(t, old, preflight(app, "PUT", "content-type"), nil)
		if x.LocalReply == nil || x.LocalReply.Status != 204 {
			t.Fatalf("old plugin: allowed preflight got %+v", x.LocalReply)
		}
		wantHeader(t, x.LocalReply.Headers, "access-control-max-age", "600")
		wantHeader(t, x.LocalReply.Headers, "access-control-allow-credentials", "true")
		x = do(t, old, actual(app), upstream)
		wantHeader(t, x.Response, "access-control-allow-origin", app)
		x = do(t, old, preflight(other, "DELETE", ""), nil)
		if x.LocalReply == nil || x.LocalReply.Status != 403 {
			t.Errorf("old plugin: preflight from %s got %+v, want 403", other, x.LocalReply)
		}
	}
	servesOld(t)

	bad := []struct {
		name, config string
		field        string // named in the error line
	}{
		{"invalid JSON", `{"allowOrigins": ["https://app.example.com"]`, ""},
		{"empty", ``, ""},
		{"unknown field", `{"allowOrigins": ["https://other.example.com"], "allowOrigin": ["x"]}`, "allowOrigin"},
		{"a path in an origin", `{"allowOrigins": ["https://other.example.com/v1"]}`, "allowOrigins"},
		{"* with credentials", `{"allowOrigins": ["*"], "allowCredentials": true}`, "allowCredentials"},
		{"a good default and a bad second policy", `{"allowOrigins": ["https://other.example.com"],
			"policies": [{"match": {"hosts": ["a.example.com"]}, "allowOrigins": ["https://a.example.com"]},
			             {"match": {"hosts": ["b.example.com"]}, "allowOrigins": ["https://b.example.com"], "allowMethods": ["TRACE"]}]}`, "policies[1]"},
		{"an invalid regex after valid fields", `{"allowOrigins": ["https://other.example.com"], "allowMethods": ["DELETE"], "allowOriginRegexes": ["https://(a"]}`, "allowOriginRegexes"},
	}
	metricsBefore := vm.Metrics()
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			vm.ResetLogs()
			p, err := vm.StartPlugin([]byte(b.config))
			if err == nil {
				p.Close()
				t.Fatalf("configuration accepted: %s", b.config)
			}
			if !strings.Contains(err.Error(), "cors: refusing configuration:") || !strings.Contains(err.Error(), b.field) {
				t.Errorf("error %q, want the plugin's error line naming %q", err, b.field)
			}
			var errLines int
			for _, l := range problems(vm.Logs()) {
				if l.Level >= wasmhost.LogError {
					errLines++
				}
			}
			if errLines != 1 {
				t.Errorf("%d error lines, want 1: %v", errLines, vm.Logs())
			}
			t.Logf("refused: %v", err)
			noTrap(t, vm)
			servesOld(t)
		})
	}
	// The refusals counted nothing and defined no metric.
	after := vm.Metrics()
	if len(after) != len(metricsBefore) {
		t.Errorf("metrics %v after the refusals, want the same names as %v", after, metricsBefore)
	}

	// A good update serves its own policy; the old plugin keeps its own
	// until it is closed (Envoy drains it).
	updated, err := vm.StartPlugin([]byte(newConfig))
	if err != nil {
		t.Fatalf("good update refused: %v", err)
	}
	x := do(t, updated, preflight(other, "DELETE", ""), nil)
	if x.LocalReply == nil || x.LocalReply.Status != 204 {
		t.Fatalf("new plugin: preflight from %s got %+v, want 204", other, x.LocalReply)
	}
	wantHeader(t, x.LocalReply.Headers, "access-control-allow-origin", other)
	wantHeader(t, x.LocalReply.Headers, "access-control-max-age", "60")
	if v, ok := x.LocalReply.Headers.Get("access-control-allow-credentials"); ok {
		t.Errorf("new plugin: access-control-allow-credentials %q, want none (its policy has no credentials)", v)
	}
	x = do(t, updated, preflight(app, "PUT", ""), nil)
	if x.LocalReply == nil || x.LocalReply.Status != 403 {
		t.Errorf("new plugin: preflight from %s got %+v, want 403", app, x.LocalReply)
	}
	x = do(t, updated, actual(app), upstream)
	wantNoCORS(t, x.Response)
	servesOld(t)

	if err := old.Close(); err != nil {
		t.Fatalf("closing the old plugin: %v", err)
	}
	x = do(t, updated, actual(other), upstream)
	wantHeader(t, x.Response, "access-control-allow-origin", other)
	noTrap(t, vm)
}
