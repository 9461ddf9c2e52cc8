package e2e

import (
	"strings"
	"testing"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

func TestGoodConfigurationStartsWithAnInfoSummary(t *testing.T) {
	p := startPlugin(t, exampleConfig)
	if warns := p.host.GetWarnLogs(); len(warns) > 0 {
		t.Errorf("the example configuration logged warnings, want none\n%s", p.logDump())
	}
	info := p.host.GetInfoLogs()
	if len(info) == 0 || strings.TrimSpace(strings.Join(info, "")) == "" {
		t.Errorf("a good configuration logged no info summary line\n%s", p.logDump())
	}
}

// The first plugin started in a fresh module instance defines every counter,
// at 0, with nothing defined in the host beforehand.
func TestAFreshModuleDefinesEveryCounterWhenItStarts(t *testing.T) {
	p := startPlugin(t, exampleConfig, withOwnModule())
	p.expectCounters("right after the plugin started (every counter is defined, at 0)", counts{})
	x := p.send(preflight(app, "PUT"))
	x.expectAnswered(204)
	p.expectCounters("after one preflight (the first counter the module defined counts too)", counts{"cors.preflight.allowed": 1})
}

func TestMinimalConfigurationsStart(t *testing.T) {
	for _, c := range []struct{ name, config string }{
		{"one exact origin", `{"allowOrigins": ["https://app.example.com"]}`},
		{"any origin", `{"allowOrigins": ["*"]}`},
		{"regexes only", `{"allowOriginRegexes": ["https://[a-z]+\\.example\\.com"]}`},
		{"policies only", `{"policies": [{"match": {"hosts": ["api.example.com"]}, "allowOrigins": ["https://app.example.com"]}]}`},
		{"report mode", `{"allowOrigins": ["https://app.example.com"], "mode": "report"}`},
		{"forwarded unmatched preflights", `{"allowOrigins": ["https://app.example.com"], "unmatchedPreflights": "forward"}`},
		{"preflight status 200", `{"allowOrigins": ["https://app.example.com"], "preflightStatus": 200}`},
		{"any method and header", `{"allowOrigins": ["https://app.example.com"], "allowMethods": ["*"], "allowHeaders": ["*"]}`},
		{"every field of the README", exampleConfig},
	} {
		t.Run(c.name, func(t *testing.T) {
			startPlugin(t, c.config)
		})
	}
}

// Each refused configuration makes proxy_on_configure return false and logs
// exactly one error line, which names the offending field.
func TestRefusedConfigurations(t *testing.T) {
	const origin = `"allowOrigins": ["https://app.example.com"]`
	cases := []struct {
		name   string
		config string
		names  []string // the error line contains at least one of these
	}{
		{"invalid JSON", `{"allowOrigins": ["https://app.example.com"]`, nil},
		{"not a JSON object", `["https://app.example.com"]`, nil},
		{"an empty configuration", ``, nil},
		{"an unknown field", `{` + origin + `, "frobnicate": true}`, []string{"frobnicate"}},
		{"a wrong type", `{` + origin + `, "maxAge": "600"}`, []string{"maxAge"}},
		{"origins not a list", `{"allowOrigins": "https://app.example.com"}`, []string{"allowOrigins"}},
		{"no origins anywhere", `{"allowMethods": ["GET"]}`, []string{"allowOrigins"}},
		{"an empty origin list", `{"allowOrigins": []}`, []string{"allowOrigins"}},
		{"a policy without origins", `{` + origin + `, "policies": [{"match": {"hosts": ["api.example.com"]}, "allowMethods": ["GET"]}]}`, []string{"policies[0]"}},
		{"an origin with a path", `{"allowOrigins": ["https://app.example.com/path"]}`, []string{"allowOrigins[0]"}},
		{"an origin with a trailing slash", `{"allowOrigins": ["https://app.example.com", "https://b.example.com/"]}`, []string{"allowOrigins[1]"}},
		{"an origin without a scheme", `{"allowOrigins": ["app.example.com"]}`, []string{"allowOrigins[0]"}},
		{"an invalid origin in a policy", `{` + origin + `, "policies": [{"match": {"hosts": ["api.example.com"]}, "allowOrigins": ["https://a.example.com/x"]}]}`, []string{"policies[0].allowOrigins[0]"}},
		{"any origin with credentials", `{"allowOrigins": ["*"], "allowCredentials": true}`, []string{"allowOrigins[0]", "allowCredentials"}},
		// Browsers read "*" literally on credentialed requests, so the plugin
		// refuses it with allowCredentials rather than echo what is requested.
		{"any method with credentials", `{` + origin + `, "allowMethods": ["*"], "allowCredentials": true}`, []string{"allowMethods[0]"}},
		{"any header with credentials", `{` + origin + `, "allowHeaders": ["*"], "allowCredentials": true}`, []string{"allowHeaders[0]"}},
		{"CONNECT in allowMethods", `{` + origin + `, "allowMethods": ["GET", "CONNECT"]}`, []string{"allowMethods[1]"}},
		{"set-cookie in exposeHeaders", `{` + origin + `, "exposeHeaders": ["set-cookie"]}`, []string{"exposeHeaders[0]"}},
		{"maxAge 100000", `{` + origin + `, "maxAge": 100000}`, []string{"maxAge"}},
		{"a negative maxAge", `{` + origin + `, "maxAge": -1}`, []string{"maxAge"}},
		{"preflightStatus 201", `{` + origin + `, "preflightStatus": 201}`, []string{"preflightStatus"}},
		{"an unknown mode", `{` + origin + `, "mode": "audit"}`, []string{"mode"}},
		{"an unknown unmatchedPreflights", `{` + origin + `, "unmatchedPreflights": "drop"}`, []string{"unmatchedPreflights"}},
		{"a policy without match", `{` + origin + `, "policies": [{"allowOrigins": ["https://admin.example.com"]}]}`, []string{"policies[0]"}},
		{"an invalid regex", `{` + origin + `, "allowOriginRegexes": ["https://(unclosed"]}`, []string{"allowOriginRegexes[0]"}},
		{"an invalid regex in a policy", `{` + origin + `, "policies": [{"match": {"pathPrefixes": ["/v1/"]}, "allowOrigins": ["https://admin.example.com"], "allowOriginRegexes": ["[z-a]"]}]}`, []string{"policies[0].allowOriginRegexes[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPlugin(t, c.config)
			if status := p.configure(); status != types.OnPluginStartStatusFailed {
				t.Fatalf("the plugin accepted a configuration it must refuse\nconfiguration: %s\n%s", c.config, p.logDump())
			}
			errs := p.host.GetErrorLogs()
			if len(errs) != 1 {
				t.Fatalf("the refusal logged %d error lines, want exactly 1\nconfiguration: %s\n%s", len(errs), c.config, p.logDump())
			}
			if len(c.names) > 0 && !containsAny(errs[0], c.names) {
				t.Errorf("the error line does not name the field (want one of %q)\nerror: %s\nconfiguration: %s", c.names, errs[0], c.config)
			}
		})
	}
}

func TestARefusalListsEveryProblemOnOneLine(t *testing.T) {
	config := `{"allowOrigins": ["https://app.example.com/"], "maxAge": 100000, "mode": "audit"}`
	p := newPlugin(t, config)
	if status := p.configure(); status != types.OnPluginStartStatusFailed {
		t.Fatalf("the plugin accepted a configuration with three problems\n%s", p.logDump())
	}
	errs := p.host.GetErrorLogs()
	if len(errs) != 1 {
		t.Fatalf("the refusal logged %d error lines, want exactly 1\n%s", len(errs), p.logDump())
	}
	for _, field := range []string{"allowOrigins[0]", "maxAge", "mode"} {
		if !strings.Contains(errs[0], field) {
			t.Errorf("the error line does not name %s: %s", field, errs[0])
		}
	}
}

// A configuration that is allowed but likely unintended starts, and says why
// in a warning that names the field.
func TestConfigurationsWithWarnings(t *testing.T) {
	cases := []struct {
		name   string
		config string
		names  []string
	}{
		{"an http origin with credentials", `{"allowOrigins": ["https://app.example.com", "http://app.example.com"], "allowCredentials": true}`, []string{"allowOrigins[1]"}},
		{"the null origin", `{"allowOrigins": ["null"]}`, []string{"allowOrigins[0]"}},
		{"a maxAge above two hours", `{"allowOrigins": ["https://app.example.com"], "maxAge": 9000}`, []string{"maxAge"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startPlugin(t, c.config)
			warns := p.host.GetWarnLogs()
			if len(warns) == 0 {
				t.Fatalf("no warning logged\nconfiguration: %s\n%s", c.config, p.logDump())
			}
			if !containsAny(strings.Join(warns, "\n"), c.names) {
				t.Errorf("no warning names the field (want one of %q)\n%s", c.names, p.logDump())
			}
		})
	}
}

// Envoy gives each configuration its own plugin (root) context in the same
// VM. A refused one must leave no trace in the others.
func TestARefusedPluginContextLeavesAGoodOneServing(t *testing.T) {
	// The refused configuration would change every answer if any of it stuck.
	const bad = `{"allowOrigins": ["https://evil.example.net"], "allowMethods": ["*"], "maxAge": 5,
		"mode": "report", "unmatchedPreflights": "forward", "preflightStatus": 200, "policies": [{"allowOrigins": ["https://evil.example.net"]}]}`

	good := startPlugin(t, exampleConfig)
	goodRoot := good.vm.root
	expectHeaders(t, "the good plugin's answer before", good.send(preflight("https://app.example.com", "PUT")).expectAnswered(204),
		preflightAnswer{origin: "https://app.example.com", method: "PUT", credentials: true, maxAge: "600"}.checks()...)
	good.close()

	refused := newPlugin(t, bad)
	if status := refused.configure(); status != types.OnPluginStartStatusFailed {
		t.Fatalf("the second plugin context accepted a bad configuration\n%s", refused.logDump())
	}
	refused.close()

	again := newPlugin(t, "", attachedTo(goodRoot))
	expectHeaders(t, "the good plugin's answer after the refusal", again.send(preflight("https://app.example.com", "PUT")).expectAnswered(204),
		preflightAnswer{origin: "https://app.example.com", method: "PUT", credentials: true, maxAge: "600"}.checks()...)
	expectHeaders(t, "the good plugin's answer to the refused configuration's origin", again.send(preflight("https://evil.example.net", "PUT")).expectAnswered(403),
		noCORSHeaders())
	x := again.send(crossOrigin("GET", "https://evil.example.net"))
	x.expectContinues()
	expectHeaders(t, "the good plugin's response for the refused configuration's origin", x.respond(200, plainUpstream...),
		denied()...)
}

func TestAGoodPluginContextStartsAfterARefusedOne(t *testing.T) {
	refused := newPlugin(t, `{"allowOrigins": ["https://evil.example.net"], "mode": "report", "maxAge": 100000}`)
	if status := refused.configure(); status != types.OnPluginStartStatusFailed {
		t.Fatalf("the plugin accepted a bad configuration\n%s", refused.logDump())
	}
	refused.close()

	p := startPlugin(t, exampleConfig)
	expectHeaders(t, "the good plugin's answer", p.send(preflight("https://app.example.com", "DELETE")).expectAnswered(204),
		preflightAnswer{origin: "https://app.example.com", method: "DELETE", credentials: true, maxAge: "600"}.checks()...)
	p.send(preflight("https://evil.example.net", "DELETE")).expectAnswered(403)
}

// Two plugin contexts of one VM and one host, the second one's configuration
// cut short (so it is invalid JSON): the first keeps serving with its counters.
func TestTwoPluginContextsInOneHost(t *testing.T) {
	p := startPlugin(t, exampleConfig)
	second := p.vm.shared.vm
	p.vm.shared.nextRootID++
	var status types.OnPluginStartStatus
	p.guard("proxy_on_context_create and proxy_on_configure for a second plugin context", func() {
		status = second.NewPluginContext(p.vm.shared.nextRootID).OnPluginStart(len(exampleConfig) / 2)
	})
	if status != types.OnPluginStartStatusFailed {
		t.Fatalf("the second plugin context accepted half a configuration\n%s", p.logDump())
	}
	if errs := p.host.GetErrorLogs(); len(errs) != 1 {
		t.Errorf("the refusal logged %d error lines, want exactly 1\n%s", len(errs), p.logDump())
	}
	x := p.send(crossOrigin("GET", "https://app.example.com"))
	x.expectContinues()
	expectHeaders(t, "the first plugin's response", x.respond(200, plainUpstream...),
		actualAnswer{origin: "https://app.example.com", credentials: true, expose: []string{"x-request-id"}}.checks()...)
	p.expectCounters("after one allowed request on the first plugin", counts{"cors.actual.allowed": 1})
}

func containsAny(s string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
