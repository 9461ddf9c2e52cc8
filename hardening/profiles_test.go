//go:build !wasip1

package hardening

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmhost"
)

// The module on each Envoy host profile of package wasmhost, one per band
// of Envoy releases (1.32 and older, 1.33-1.38, 1.39 and newer): it passes
// the functional checks and the soak (soak_test.go) on every profile, and a
// Go runtime timer, forced with the fault build's sleep knob, neither fails
// the request nor the VM on any of them. make build's post-link step
// (package internal/wasishim) is what makes this so: it defines
// wasi_snapshot_preview1.sched_yield and poll_oneoff inside the module, with
// Envoy 1.39's bodies, so the module imports neither. The controls run the
// same modules built without that step, to show that the profiles model the
// older hosts: 1.32 refuses them at load, naming exactly those two imports,
// and on 1.33-1.38 a runtime timer kills the VM in Envoy's ENOSYS stub.
// docs/compatibility.md's table rests on these.

// functionalCase is one exchange of the functional checks, on testConfig.
type functionalCase struct {
	name      string
	route     string
	req, resp wasmhost.Headers
	check     func(t *testing.T, x *wasmhost.Exchange)
	metrics   map[string]int64
}

// functionalCases are a representative set of allowed and denied preflights
// and actual requests.
func functionalCases() []functionalCase {
	reply := func(status int) func(t *testing.T, x *wasmhost.Exchange) {
		return func(t *testing.T, x *wasmhost.Exchange) {
			t.Helper()
			if x.LocalReply == nil || x.LocalReply.Status != status {
				t.Fatalf("local reply %+v, want %d", x.LocalReply, status)
			}
			if status == 403 {
				wantNoCORS(t, x.Response)
			}
			vary := strings.Join(x.Response.Values("vary"), ", ")
			if !strings.Contains(vary, "origin") || !strings.Contains(vary, "access-control-request-method") {
				t.Errorf("vary %q, want origin and access-control-request-method", vary)
			}
		}
	}
	deniedActual := func(t *testing.T, x *wasmhost.Exchange) {
		t.Helper()
		if x.LocalReply != nil {
			t.Fatalf("local reply %d, want none", x.LocalReply.Status)
		}
		wantNoCORS(t, x.Response) // the upstream's "*" is removed too
		if vary := strings.Join(x.Response.Values("vary"), ", "); !strings.Contains(vary, "origin") {
			t.Errorf("vary %q, want origin in it", vary)
		}
	}
	allowed := func(origin string) func(t *testing.T, x *wasmhost.Exchange) {
		return func(t *testing.T, x *wasmhost.Exchange) {
			t.Helper()
			if x.LocalReply != nil {
				t.Fatalf("local reply %d, want none", x.LocalReply.Status)
			}
			if vs := x.Response.Values("access-control-allow-origin"); len(vs) != 1 || vs[0] != origin {
				t.Errorf("access-control-allow-origin %q, want only %q", vs, origin)
			}
			vary := strings.Join(x.Response.Values("vary"), ", ")
			if !strings.Contains(vary, "origin") || !strings.Contains(vary, "accept-encoding") {
				t.Errorf("vary %q, want origin merged with accept-encoding", vary)
			}
		}
	}
	return []functionalCase{
		{name: "allowed preflight", req: preflight(app, "PUT", "content-type"),
			check: func(t *testing.T, x *wasmhost.Exchange) {
				reply(204)(t, x)
				h := x.LocalReply.Headers
				wantHeader(t, h, "access-control-allow-origin", app)
				wantHeader(t, h, "access-control-allow-credentials", "true")
				wantHeader(t, h, "access-control-allow-methods", "GET, PUT")
				wantHeader(t, h, "access-control-allow-headers", "content-type")
				wantHeader(t, h, "access-control-max-age", "600")
			},
			metrics: map[string]int64{preflightAllowed: 1}},
		{name: "allowed preflight, safelisted method in any case of headers", req: preflight(app, "GET", "Content-Type"),
			check: reply(204), metrics: map[string]int64{preflightAllowed: 1}},
		{name: "preflight from another origin", req: preflight(evil, "PUT", ""),
			check: reply(403), metrics: map[string]int64{preflightDenied: 1}},
		{name: "preflight from a look-alike origin", req: preflight("https://app.example.com.evil.net", "PUT", ""),
			check: reply(403), metrics: map[string]int64{preflightDenied: 1}},
		{name: "preflight from the http origin", req: preflight("http://app.example.com", "PUT", ""),
			check: reply(403), metrics: map[string]int64{preflightDenied: 1}},
		{name: "preflight for a method not allowed", req: preflight(app, "DELETE", ""),
			check: reply(403), metrics: map[string]int64{preflightDenied: 1}},
		{name: "preflight for a list of methods", req: preflight(app, "GET, DELETE", ""),
			check: reply(403), metrics: map[string]int64{preflightDenied: 1}},
		{name: "preflight for a header not allowed", req: preflight(app, "PUT", "content-type,x-secret"),
			check: reply(403), metrics: map[string]int64{preflightDenied: 1}},
		{name: "preflight from an upper-case origin", req: preflight("https://APP.example.com", "PUT", ""),
			check: reply(403), metrics: map[string]int64{preflightDenied: 1, originInvalid: 1}},
		{name: "preflight from null", req: preflight("null", "PUT", ""),
			check: reply(403), metrics: map[string]int64{preflightDenied: 1}},
		{name: "allowed actual", req: actual(app), resp: upstream,
			check: func(t *testing.T, x *wasmhost.Exchange) {
				allowed(app)(t, x)
				wantHeader(t, x.Response, "access-control-allow-credentials", "true")
				wantHeader(t, x.Response, "access-control-expose-headers", "x-request-id")
				wantKept(t, x.Response, upstream)
			},
			metrics: map[string]int64{actualAllowed: 1}},
		{name: "allowed actual, upstream error", req: actual(app),
			resp:  wasmhost.NewHeaders(":status", "503", "vary", "accept-encoding"),
			check: allowed(app), metrics: map[string]int64{actualAllowed: 1}},
		{name: "denied actual", req: actual(evil), resp: upstream,
			check: deniedActual, metrics: map[string]int64{actualDenied: 1}},
		{name: "actual with a trailing slash", req: actual(app + "/"), resp: upstream,
			check: deniedActual, metrics: map[string]int64{actualDenied: 1, originInvalid: 1}},
		{name: "actual with two Origin lines", req: actual(app, "origin", app), resp: upstream,
			check: deniedActual, metrics: map[string]int64{actualDenied: 1, originInvalid: 1}},
		{name: "no Origin", req: request("GET"), resp: upstream,
			check: func(t *testing.T, x *wasmhost.Exchange) {
				if vary := strings.Join(x.Response.Values("vary"), ", "); !strings.Contains(vary, "origin") {
					t.Errorf("vary %q, want origin in it", vary)
				}
				if _, ok := x.Response.Get("access-control-allow-credentials"); ok {
					t.Error("credentials allowed on a request without Origin")
				}
			},
			metrics: map[string]int64{}},
		{name: "the route's policy allows its origin", route: "admin-route", req: actual(admin), resp: upstream,
			check: allowed(admin), metrics: map[string]int64{actualAllowed: 1}},
		{name: "the route's policy denies the default's origin", route: "admin-route", req: actual(app), resp: upstream,
			check: deniedActual, metrics: map[string]int64{actualDenied: 1}},
		{name: "the route's policy refuses PUT", route: "admin-route", req: preflight(admin, "PUT", ""),
			check: reply(403), metrics: map[string]int64{preflightDenied: 1}},
	}
}

// runFunctional runs the functional checks on one VM of profile and returns
// it.
func runFunctional(t *testing.T, profile wasmhost.Profile) *wasmhost.VM {
	t.Helper()
	vm, p := startPlugin(t, releaseWasm(t), wasmhost.Options{Profile: profile}, testConfig)
	for _, c := range functionalCases() {
		t.Run(c.name, func(t *testing.T) {
			s := p.NewStream()
			if c.route != "" {
				s.SetProperty([]string{"xds", "route_name"}, []byte(c.route))
			}
			before := vm.Metrics()
			x := exchange(t, s, c.req, c.resp)
			noTrap(t, vm)
			c.check(t, x)
			wantMetrics(t, metricsDelta(before, vm.Metrics()), c.metrics)
			wantNoProblem(t, x.Logs)
		})
	}
	return vm
}

// exchange runs req and resp on the stream s as Plugin.Do does.
func exchange(t *testing.T, s *wasmhost.Stream, req, resp wasmhost.Headers) *wasmhost.Exchange {
	t.Helper()
	x := &wasmhost.Exchange{}
	var err error
	if x.RequestAction, err = s.RequestHeaders(req, true); err != nil {
		t.Fatalf("request headers: %v", err)
	}
	if x.LocalReply = s.LocalReply(); x.LocalReply == nil {
		if x.ResponseAction, err = s.ResponseHeaders(resp, true); err != nil {
			t.Fatalf("response headers: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	x.Request, x.Response, x.Logs = s.Request(), s.Response(), s.Logs()
	return x
}

func TestFunctionalOnEveryProfile(t *testing.T) {
	for _, profile := range everyProfile {
		t.Run(profile.String(), func(t *testing.T) {
			runFunctional(t, profile)
		})
	}
}

// shimmed are the WASI functions make build's post-link step defines
// inside the module instead of importing them.
var shimmed = []string{"wasi_snapshot_preview1.sched_yield", "wasi_snapshot_preview1.poll_oneoff"}

// TestPostLinkStepRemovesSchedYieldAndPollOneoff checks the modules under
// test: built as make build does, they import neither sched_yield nor
// poll_oneoff, and every WASI function they import is one that Envoy 1.32
// provides; built without the post-link step (the controls), they import
// both, and otherwise the same functions, and export the same names.
func TestPostLinkStepRemovesSchedYieldAndPollOneoff(t *testing.T) {
	for _, m := range []struct {
		name      string
		code, raw []byte
	}{
		{"release", releaseWasm(t), rawReleaseWasm(t)},
		{"fault injection", faultWasm(t), rawFaultWasm(t)},
	} {
		t.Run(m.name, func(t *testing.T) {
			imports, exports := moduleInterface(t, m.code)
			rawImports, rawExports := moduleInterface(t, m.raw)
			for _, imp := range imports {
				if slices.Contains(shimmed, imp) {
					t.Errorf("the module imports %s", imp)
				}
				if mod, name, _ := strings.Cut(imp, "."); mod == "wasi_snapshot_preview1" && !wasmhost.Envoy132.ProvidesWASI(name) {
					t.Errorf("the module imports %s, which Envoy 1.32 lacks", imp)
				}
			}
			for _, name := range shimmed {
				if !slices.Contains(rawImports, name) {
					t.Errorf("without the post-link step the module does not import %s: the controls control nothing", name)
				}
			}
			rest := slices.DeleteFunc(slices.Clone(rawImports), func(imp string) bool { return slices.Contains(shimmed, imp) })
			if !slices.Equal(imports, rest) {
				t.Errorf("imports %v, want those of the go build without %v: %v", imports, shimmed, rest)
			}
			if !slices.Equal(exports, rawExports) {
				t.Errorf("exports %v, want those of the go build: %v", exports, rawExports)
			}
			wasi := slices.DeleteFunc(slices.Clone(imports), func(imp string) bool { return !strings.HasPrefix(imp, "wasi_snapshot_preview1.") })
			t.Logf("WASI imports: %s", strings.Join(wasi, ", "))
		})
	}
}

// TestEnvoy132RefusesTheModuleWithoutThePostLinkStep is a control: the
// modules built without the post-link step are refused at load on the
// Envoy 1.32 profile, and the error names exactly the WASI functions that
// host lacks, sched_yield and poll_oneoff.
func TestEnvoy132RefusesTheModuleWithoutThePostLinkStep(t *testing.T) {
	for _, m := range []struct {
		name string
		code []byte
	}{
		{"release", rawReleaseWasm(t)},
		{"fault injection", rawFaultWasm(t)},
	} {
		t.Run(m.name, func(t *testing.T) {
			imports, _ := moduleInterface(t, m.code)
			var missing, present []string
			for _, imp := range imports {
				mod, name, _ := strings.Cut(imp, ".")
				switch {
				case mod != "wasi_snapshot_preview1":
				case wasmhost.Envoy132.ProvidesWASI(name):
					present = append(present, imp)
				default:
					missing = append(missing, imp)
				}
			}
			if !slices.Equal(slices.Sorted(slices.Values(missing)), slices.Sorted(slices.Values(shimmed))) {
				t.Errorf("the module imports %v that Envoy 1.32 lacks, want exactly %v", missing, shimmed)
			}

			_, err := wasmhost.New(context.Background(), m.code, wasmhost.Options{Profile: wasmhost.Envoy132, Cache: testmodule.Cache()})
			if err == nil {
				t.Fatal("the Envoy 1.32 profile loaded the module")
			}
			msg := err.Error()
			for _, name := range shimmed {
				if !strings.Contains(msg, name) {
					t.Errorf("the error does not name %s: %v", name, err)
				}
			}
			for _, name := range present {
				if strings.Contains(msg, name) {
					t.Errorf("the error names %s, which Envoy 1.32 provides: %v", name, err)
				}
			}
			if !strings.Contains(msg, "Envoy 1.32") || !strings.Contains(msg, "missing import") {
				t.Errorf("the error does not say which host refused it and how Envoy says it: %v", err)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// sleepyRequests is how many requests with x-corswasm-fault: sleep the
// runtime-timer tests send: enough for the runtime to wait in poll_oneoff
// at least once (see TestRuntimeTimerKillsTheModuleWithoutThePostLinkStepOnEnvoy133to138).
const sleepyRequests = 10

// TestRuntimeTimerSurvivesOnEveryProfile forces a Go runtime timer: the
// fault build's "sleep" knob sleeps 1 ms inside proxy_on_request_headers,
// and the runtime, with nothing else to run, waits for it in poll_oneoff,
// which the module now defines itself (0 events, success: the wait spins
// until the deadline). On every profile each sleepy request gets its
// normal CORS answer after at least 1 ms, the VM never fails, and normal
// requests still serve afterwards.
func TestRuntimeTimerSurvivesOnEveryProfile(t *testing.T) {
	sleepy := actual(app, faultHeader, "sleep")
	for _, profile := range everyProfile {
		t.Run(profile.String(), func(t *testing.T) {
			vm, p := startPlugin(t, faultWasm(t), wasmhost.Options{Profile: profile}, testConfig)
			wantServesNormally(t, vm, p)
			before := vm.Metrics()
			var slowest, fastest time.Duration
			for i := range sleepyRequests {
				start := time.Now()
				x, err := p.Do(sleepy, upstream)
				elapsed := time.Since(start)
				if err != nil {
					t.Fatalf("sleepy request %d: %v", i, err)
				}
				noTrap(t, vm)
				allowedActual(t, x)
				wantNoProblem(t, x.Logs)
				if elapsed < time.Millisecond {
					t.Errorf("sleepy request %d took %v: the knob did not sleep", i, elapsed)
				}
				if i == 0 || elapsed < fastest {
					fastest = elapsed
				}
				slowest = max(slowest, elapsed)
			}
			wantMetrics(t, metricsDelta(before, vm.Metrics()), map[string]int64{actualAllowed: sleepyRequests})
			wantServesNormally(t, vm, p)
			t.Logf("%d sleepy requests served on %s, in %v to %v each", sleepyRequests, profile, fastest, slowest)
		})
	}
}

// TestRuntimeTimerKillsTheModuleWithoutThePostLinkStepOnEnvoy133to138 is a
// control: the fault build without the post-link step imports poll_oneoff,
// which the Envoy 1.33-1.38 profile stubs with ENOSYS as Envoy does. The
// first time the runtime waits for the sleep knob's timer it gets ENOSYS,
// throws "poll_oneoff failed" and the VM is lost, with every later request.
func TestRuntimeTimerKillsTheModuleWithoutThePostLinkStepOnEnvoy133to138(t *testing.T) {
	sleepy := actual(app, faultHeader, "sleep")
	vm, p := startPlugin(t, rawFaultWasm(t), wasmhost.Options{Profile: wasmhost.Envoy133to138}, testConfig)
	wantServesNormally(t, vm, p)
	// The runtime waits in poll_oneoff only when it has nothing else to
	// run: while a garbage collection left over from start-up still has
	// work, the sleep may pass without the wait. Sleep until it waits.
	var err error
	for i := 0; i < sleepyRequests && err == nil; i++ {
		_, err = p.Do(sleepy, upstream)
	}
	if err == nil {
		t.Fatalf("the VM survived %d runtime timers on the %s profile", sleepyRequests, wasmhost.Envoy133to138)
	}
	if !errors.Is(err, wasmhost.ErrFailed) || !errors.Is(vm.Err(), wasmhost.ErrFailed) {
		t.Errorf("error %v, VM error %v; want the VM failed", err, vm.Err())
	}
	var out strings.Builder
	for _, l := range vm.Logs() {
		out.WriteString(l.Message)
	}
	if !strings.Contains(out.String(), "poll_oneoff failed") || !strings.Contains(out.String(), "errno= 52") {
		t.Errorf("the runtime's last words do not say poll_oneoff failed with ENOSYS (52):\n%.2000s", out.String())
	}
	if _, err := p.Do(actual(app), upstream); !errors.Is(err, wasmhost.ErrFailed) {
		t.Errorf("the next request: %v, want the VM's failure", err)
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	t.Logf("on %s a runtime timer fails the VM: %s", wasmhost.Envoy133to138, first)
}
