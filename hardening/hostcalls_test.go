//go:build !wasip1

package hardening

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/wasmhost"
)

// Host calls that fail or return nothing, on the release module. The plugin
// makes these calls: proxy_get_header_map_value (Origin, request phase),
// proxy_get_header_map_pairs (request and response), proxy_get_property
// (the route name, for a policy that matches routes),
// proxy_send_local_response (preflights), proxy_add_header_map_value and
// proxy_set_header_map_pairs (response), proxy_define_metric (configure),
// proxy_increment_metric and proxy_log.

// faultOn makes the calls named name in phase ph (any phase if empty) do f.
func faultOn(name string, ph wasmhost.Phase, f wasmhost.Fault) wasmhost.FaultFunc {
	return func(c wasmhost.HostCall) wasmhost.Fault {
		if c.Name == name && (ph == "" || c.Phase == ph) {
			return f
		}
		return wasmhost.Fault{}
	}
}

var (
	badArgument     = wasmhost.Fault{Fail: wasmhost.StatusBadArgument}
	internalFailure = wasmhost.Fault{Fail: wasmhost.StatusInternalFailure}
	nothing         = wasmhost.Fault{Nothing: true}
	foreignAddress  = wasmhost.Fault{ForeignAddress: true}
)

// Counter names, as the plugin defines them.
const (
	preflightAllowed = "cors.preflight.allowed"
	preflightDenied  = "cors.preflight.denied"
	actualAllowed    = "cors.actual.allowed"
	actualDenied     = "cors.actual.denied"
	originInvalid    = "cors.origin.invalid"
	internalError    = "cors.internal_error"
)

const (
	getValue  = "proxy_get_header_map_value"
	getPairs  = "proxy_get_header_map_pairs"
	setPairs  = "proxy_set_header_map_pairs"
	addValue  = "proxy_add_header_map_value"
	sendLocal = "proxy_send_local_response"
	getProp   = "proxy_get_property"
)

// hostCase is one exchange under a fault.
type hostCase struct {
	name      string
	fault     wasmhost.FaultFunc // nil: none
	route     string             // the xds.route_name property, if set
	req, resp wasmhost.Headers
	// untouched: the plugin must leave the exchange alone (no local reply,
	// request and response as they came); otherwise check runs.
	untouched bool
	check     func(t *testing.T, x *wasmhost.Exchange)
	metrics   map[string]int64
	// problem: the substrings of the one warn/error line logged; nil for
	// none.
	problem []string
}

// failSafe checks that no CORS header of the plugin reached the client:
// no local reply, and the response's access-control-* lines are the
// upstream's.
func failSafe(t *testing.T, x *wasmhost.Exchange) {
	t.Helper()
	if x.LocalReply != nil {
		t.Errorf("local reply %d %v, want none", x.LocalReply.Status, x.LocalReply.Headers)
	}
	for _, l := range x.Response {
		if strings.HasPrefix(l.Name, "access-control-") && l.Value != "*" {
			t.Errorf("%s: %q in the response, want no CORS header of the plugin\nresponse: %v", l.Name, l.Value, x.Response)
		}
	}
}

// allowedActual checks an actual request's allowed response for app.
func allowedActual(t *testing.T, x *wasmhost.Exchange) {
	t.Helper()
	if x.LocalReply != nil {
		t.Errorf("local reply %d, want none", x.LocalReply.Status)
	}
	wantHeader(t, x.Response, "access-control-allow-origin", app)
	wantHeader(t, x.Response, "access-control-allow-credentials", "true")
}

func TestHostCallFailures(t *testing.T) {
	cases := []hostCase{
		// The request headers.
		{name: "request pairs refused (BadArgument), allowed actual",
			fault: faultOn(getPairs, wasmhost.PhaseRequest, badArgument), req: actual(app), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: reading request headers:", "bad argument"}},
		{name: "request pairs refused (InternalFailure), allowed preflight",
			fault: faultOn(getPairs, wasmhost.PhaseRequest, internalFailure), req: preflight(app, "PUT", "content-type"), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: reading request headers:", "internal failure"}},
		{name: "request pairs refused (InternalFailure), denied preflight",
			fault: faultOn(getPairs, wasmhost.PhaseRequest, internalFailure), req: preflight(evil, "PUT", ""), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: reading request headers:", "internal failure"}},
		{name: "request pairs at an address the module never allocated",
			fault: faultOn(getPairs, wasmhost.PhaseRequest, foreignAddress), req: actual(app), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: reading request headers:", "not allocated by proxy_on_memory_allocate"}},
		{name: "request pairs empty although Origin is there",
			fault: faultOn(getPairs, wasmhost.PhaseRequest, nothing), req: actual(app), resp: upstream,
			check: failSafe, metrics: map[string]int64{}},
		{name: "Origin refused (BadArgument), allowed actual",
			fault: faultOn(getValue, wasmhost.PhaseRequest, badArgument), req: actual(app), resp: upstream,
			check: failSafe, metrics: map[string]int64{internalError: 1},
			problem: []string{"abi: proxy_get_header_map_value(origin):", "bad argument"}},
		{name: "Origin refused (InternalFailure), allowed preflight",
			fault: faultOn(getValue, wasmhost.PhaseRequest, internalFailure), req: preflight(app, "PUT", ""), resp: upstream,
			check: failSafe, metrics: map[string]int64{internalError: 1},
			problem: []string{"abi: proxy_get_header_map_value(origin):", "internal failure"}},
		{name: "Origin at an address the module never allocated",
			fault: faultOn(getValue, wasmhost.PhaseRequest, foreignAddress), req: actual(app), resp: upstream,
			check: failSafe, metrics: map[string]int64{internalError: 1},
			problem: []string{"abi: proxy_get_header_map_value(origin):", "not allocated"}},
		{name: "Origin value returned empty (the pairs carry it)",
			fault: faultOn(getValue, wasmhost.PhaseRequest, nothing), req: actual(app), resp: upstream,
			check: allowedActual, metrics: map[string]int64{actualAllowed: 1}},
		// A route name the plugin cannot read leaves the policy that
		// applies unknown: guessing the default could allow what the
		// route's policy denies, so the request is left untouched.
		{name: "route name refused (InternalFailure): the request is left untouched",
			fault: faultOn(getProp, "", internalFailure), route: "admin-route", req: actual(admin), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: reading the route name:", "internal failure"}},
		{name: "route name at an address the module never allocated: the request is left untouched",
			fault: faultOn(getProp, "", foreignAddress), route: "admin-route", req: actual(admin), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: reading the route name:", "not allocated"}},
		{name: "route name refused (BadArgument): the default policy is not guessed",
			fault: faultOn(getProp, "", badArgument), route: "admin-route", req: actual(app), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: reading the route name:", "bad argument"}},
		{name: "route name returned empty: the route's origin is denied",
			fault: faultOn(getProp, "", nothing), route: "admin-route", req: actual(admin), resp: upstream,
			check: failSafe, metrics: map[string]int64{actualDenied: 1}},

		// The preflight answer.
		{name: "local response refused (BadArgument), allowed preflight",
			fault: faultOn(sendLocal, "", badArgument), req: preflight(app, "PUT", "content-type"), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: sending the preflight response:", "bad argument"}},
		{name: "local response refused (InternalFailure), denied preflight",
			fault: faultOn(sendLocal, "", internalFailure), req: preflight(evil, "PUT", ""), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: sending the preflight response:", "internal failure"}},
		// A host that says OK and sends nothing: the plugin paused the
		// request for its answer (Envoy would wait for the stream timeout).
		{name: "local response dropped by the host",
			fault: faultOn(sendLocal, "", nothing), req: preflight(app, "PUT", ""), resp: upstream,
			check: func(t *testing.T, x *wasmhost.Exchange) {
				if x.LocalReply != nil || x.RequestAction != wasmhost.Pause {
					t.Errorf("local reply %v, action %v, want none and Pause", x.LocalReply, x.RequestAction)
				}
				wantSame(t, "response", x.Response, upstream)
			},
			metrics: map[string]int64{preflightAllowed: 1}},

		// The response headers.
		{name: "response pairs refused (BadArgument)",
			fault: faultOn(getPairs, wasmhost.PhaseResponse, badArgument), req: actual(app), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: reading response headers:", "bad argument"}},
		{name: "response pairs refused (InternalFailure), denied actual",
			fault: faultOn(getPairs, wasmhost.PhaseResponse, internalFailure), req: actual(evil), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: reading response headers:", "internal failure"}},
		{name: "response pairs at an address the module never allocated",
			fault: faultOn(getPairs, wasmhost.PhaseResponse, foreignAddress), req: actual(app), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1},
			problem: []string{"cors: reading response headers:", "not allocated"}},
		// A host that under-reports the response map: the plugin sees no
		// line of the upstream's to drop, so it adds its own beside them
		// (proxy_add_header_map_value). The upstream's "*" stays too, and a
		// browser refuses a response with two access-control-allow-origin
		// values: it fails closed.
		{name: "response pairs empty although the upstream sent headers",
			fault: faultOn(getPairs, wasmhost.PhaseResponse, nothing), req: actual(app), resp: upstream,
			check: func(t *testing.T, x *wasmhost.Exchange) {
				if got := x.Response.Values("access-control-allow-origin"); !slices.Equal(got, []string{"*", app}) {
					t.Errorf("access-control-allow-origin lines %q, want the upstream's and the plugin's", got)
				}
				if _, ok := x.Response.Get("content-type"); !ok {
					t.Errorf("response %v: the plugin dropped lines it was not shown", x.Response)
				}
			},
			metrics: map[string]int64{actualAllowed: 1}},
		// An upstream without CORS lines: the ABI layer adds the plugin's
		// lines one by one (abi.StreamAddsToResponse), stops at the first
		// the host refuses, and reports it.
		{name: "response line refused (InternalFailure), upstream without CORS lines",
			fault: faultOn(addValue, wasmhost.PhaseResponse, internalFailure), req: actual(app), resp: corslessUpstream,
			untouched: true, metrics: map[string]int64{internalError: 1, actualAllowed: 1},
			problem: []string{"proxy_add_header_map_value(access-control-allow-origin)", "internal failure"}},
		{name: "response lines dropped by the host, upstream without CORS lines",
			fault: faultOn(addValue, wasmhost.PhaseResponse, nothing), req: actual(app), resp: corslessUpstream,
			untouched: true, metrics: map[string]int64{actualAllowed: 1}},
		{name: "response write refused (BadArgument)",
			fault: faultOn(setPairs, wasmhost.PhaseResponse, badArgument), req: actual(app), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1, actualAllowed: 1},
			problem: []string{"cors: writing response headers:", "bad argument"}},
		{name: "response write refused (InternalFailure), denied actual",
			fault: faultOn(setPairs, wasmhost.PhaseResponse, internalFailure), req: actual(evil), resp: upstream,
			untouched: true, metrics: map[string]int64{internalError: 1, actualDenied: 1},
			problem: []string{"cors: writing response headers:", "internal failure"}},
		{name: "response write dropped by the host",
			fault: faultOn(setPairs, wasmhost.PhaseResponse, nothing), req: actual(app), resp: upstream,
			untouched: true, metrics: map[string]int64{actualAllowed: 1}},

		// Logging.
		{name: "every log line refused",
			fault: faultOn("proxy_log", "", internalFailure), req: actual(evil), resp: upstream,
			check: failSafe, metrics: map[string]int64{actualDenied: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runHostCase(t, c) })
	}
}

// runHostCase runs c on a fresh VM, then checks that the VM, with the
// faults removed, serves normally.
func runHostCase(t *testing.T, c hostCase) {
	t.Helper()
	vm, p := startPlugin(t, releaseWasm(t), wasmhost.Options{}, testConfig)
	if c.route != "" {
		vm.SetProperty([]string{"xds", "route_name"}, []byte(c.route))
	}
	before := vm.Metrics()
	vm.SetFaults(c.fault)
	x := do(t, p, c.req, c.resp)
	vm.SetFaults(nil)
	noTrap(t, vm)
	if c.untouched {
		wantUntouched(t, x, c.req, c.resp)
	}
	if c.check != nil {
		c.check(t, x)
	}
	wantMetrics(t, metricsDelta(before, vm.Metrics()), c.metrics)
	if c.problem == nil {
		wantNoProblem(t, x.Logs)
	} else {
		wantOneProblem(t, x.Logs, c.problem...)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("logs: %v", x.Logs)
		t.Logf("response: %v", x.Response)
	}
	vm.SetProperty([]string{"xds", "route_name"}, nil)
	wantServesNormally(t, vm, p)
}

// Missing and empty headers, with a host that works: no internal error, the
// verdicts of the engine.
func TestMissingAndEmptyHeaders(t *testing.T) {
	denied := func(t *testing.T, x *wasmhost.Exchange) {
		t.Helper()
		if x.LocalReply != nil {
			t.Errorf("local reply %d, want none", x.LocalReply.Status)
		}
		wantNoCORS(t, x.Response)
	}
	refused := func(t *testing.T, x *wasmhost.Exchange) {
		t.Helper()
		if x.LocalReply == nil || x.LocalReply.Status != 403 {
			t.Fatalf("local reply %+v, want 403", x.LocalReply)
		}
		wantNoCORS(t, x.Response)
	}
	cases := []hostCase{
		{name: "empty Origin, actual: invalid, denied",
			req: actual(""), resp: upstream, check: denied,
			metrics: map[string]int64{actualDenied: 1, originInvalid: 1}},
		{name: "empty Origin, preflight: invalid, refused",
			req: preflight("", "PUT", ""), resp: upstream, check: refused,
			metrics: map[string]int64{preflightDenied: 1, originInvalid: 1}},
		{name: "Origin as a second, empty line: invalid",
			req: actual(app, "origin", ""), resp: upstream, check: denied,
			metrics: map[string]int64{actualDenied: 1, originInvalid: 1}},
		{name: "empty Access-Control-Request-Method: not a preflight",
			req: preflight(app, "", ""), resp: upstream, check: allowedActual,
			metrics: map[string]int64{actualAllowed: 1}},
		{name: "empty Access-Control-Request-Headers: a preflight asking no header",
			req: preflight(app, "PUT", "", "access-control-request-headers", ""), check: func(t *testing.T, x *wasmhost.Exchange) {
				if x.LocalReply == nil || x.LocalReply.Status != 204 {
					t.Fatalf("local reply %+v, want 204", x.LocalReply)
				}
				if v, ok := x.LocalReply.Headers.Get("access-control-allow-headers"); ok {
					t.Errorf("access-control-allow-headers %q, want none", v)
				}
			},
			metrics: map[string]int64{preflightAllowed: 1}},
		{name: "no request headers at all",
			req: wasmhost.Headers{}, resp: upstream, check: func(t *testing.T, x *wasmhost.Exchange) {
				wantHeader(t, x.Response, "access-control-allow-origin", "*") // the upstream's
			},
			metrics: map[string]int64{}},
		{name: "Origin and no pseudo-headers",
			req: wasmhost.NewHeaders("origin", app), resp: upstream, check: allowedActual,
			metrics: map[string]int64{actualAllowed: 1}},
		{name: "empty upstream response",
			req: actual(app), resp: wasmhost.Headers{}, check: allowedActual,
			metrics: map[string]int64{actualAllowed: 1}},
		{name: "empty values everywhere",
			req: request("", ":authority", "", ":path", "", "origin", app, "access-control-request-method", ""), resp: wasmhost.NewHeaders(":status", "", "vary", ""),
			check: allowedActual, metrics: map[string]int64{actualAllowed: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runHostCase(t, c) })
	}
}

// Metrics the host refuses to define: the plugin still loads and serves,
// logging one error line per counter; a later configuration defines them.
// testConfig has two policies: 10 global counters, and in enforce mode 4
// per policy (preflight and actual, allowed and denied).
const definedCounters = 10 + 2*4

func TestMetricDefinitionRefused(t *testing.T) {
	vm := newVM(t, releaseWasm(t), wasmhost.Options{})
	vm.SetFaults(faultOn("proxy_define_metric", "", internalFailure))
	p, err := vm.StartPlugin([]byte(testConfig))
	vm.SetFaults(nil)
	if err != nil {
		t.Fatalf("StartPlugin with metrics refused: %v", err)
	}
	var defining []string
	for _, l := range problems(vm.Logs()) {
		if !strings.HasPrefix(l.Message, "cors: defining metric cors.") || l.Level != wasmhost.LogError {
			t.Errorf("unexpected line %v", l)
		}
		defining = append(defining, l.Message)
	}
	if len(defining) != definedCounters {
		t.Errorf("%d error lines, want one per counter (%d): %q", len(defining), definedCounters, defining)
	}
	if ms := vm.Metrics(); len(ms) != 0 {
		t.Errorf("metrics %v, want none defined", ms)
	}
	wantServesNormally(t, vm, p)
	if ms := vm.Metrics(); len(ms) != 0 {
		t.Errorf("metrics %v, want none defined", ms)
	}

	// A second configuration, with a host that works, defines them; both
	// plugins count into them.
	p2, err := vm.StartPlugin([]byte(testConfig))
	if err != nil {
		t.Fatalf("second StartPlugin: %v", err)
	}
	do(t, p, actual(app), upstream)
	do(t, p2, actual(app), upstream)
	if got := vm.Metrics()[actualAllowed]; got != 2 || len(vm.Metrics()) != definedCounters {
		t.Errorf("metrics %v, want %d defined and %s = 2", vm.Metrics(), definedCounters, actualAllowed)
	}
	noTrap(t, vm)
}

// Metric IDs returned as 0, and increments the host refuses: the plugin
// serves as ever and says nothing (abi.IncrementCounter ignores failures).
func TestMetricIncrementRefused(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault wasmhost.FaultFunc
		when  string
	}{
		{"increments refused", faultOn("proxy_increment_metric", "", internalFailure), "serving"},
		{"increments refused (BadArgument)", faultOn("proxy_increment_metric", "", badArgument), "serving"},
		{"IDs returned as 0", faultOn("proxy_define_metric", "", nothing), "configuring"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vm := newVM(t, releaseWasm(t), wasmhost.Options{})
			if c.when == "configuring" {
				vm.SetFaults(c.fault)
			}
			p, err := vm.StartPlugin([]byte(testConfig))
			if err != nil {
				t.Fatalf("StartPlugin: %v", err)
			}
			vm.SetFaults(c.fault)
			vm.ResetLogs()
			wantServesNormally(t, vm, p)
			x := do(t, p, actual(app), upstream)
			allowedActual(t, x)
			wantNoProblem(t, vm.Logs())
			for name, v := range vm.Metrics() {
				if v != 0 {
					t.Errorf("metric %s = %d, want 0: every increment failed", name, v)
				}
			}
			calls := vm.Calls()
			if n := calls.Request["proxy_increment_metric"] + calls.Response["proxy_increment_metric"]; n == 0 {
				t.Error("the plugin made no proxy_increment_metric call")
			}
		})
	}
}

// TestFaultHookSeesCalls checks what the fault hook is told: every
// proxy-wasm call of an exchange, with its phase, header map and number.
func TestFaultHookSeesCalls(t *testing.T) {
	vm, p := startPlugin(t, releaseWasm(t), wasmhost.Options{}, testConfig)
	var seen []wasmhost.HostCall
	vm.SetFaults(func(c wasmhost.HostCall) wasmhost.Fault {
		seen = append(seen, c)
		return wasmhost.Fault{}
	})
	allowedActual(t, do(t, p, actual(app), upstream))
	vm.SetFaults(nil)
	do(t, p, actual(app), upstream)

	var got []string
	for _, c := range seen {
		got = append(got, fmt.Sprintf("%s %s map=%d #%d", c.Phase, c.Name, c.MapType, c.Seq))
	}
	want := []string{
		"request proxy_get_header_map_value map=0 #1",
		"request proxy_get_header_map_pairs map=0 #1",
		"request proxy_get_property map=-1 #1",
		"response proxy_get_header_map_pairs map=2 #2",
		"response proxy_set_header_map_pairs map=2 #1",
		"response proxy_increment_metric map=-1 #1", // cors.actual.allowed
		"response proxy_increment_metric map=-1 #2", // cors.policy.default.actual.allowed
	}
	if !slices.Equal(got, want) {
		t.Errorf("the hook saw\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if calls := vm.Calls(); calls.Request.Proxy()+calls.Response.Proxy() != 2*len(want) {
		t.Errorf("calls %v: want the faulted exchange's calls counted too (%d)", calls, 2*len(want))
	}
}
