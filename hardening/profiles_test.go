//go:build !wasip1

package hardening

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corswasm/corswasm/wasmhost"
)

// The module on each Envoy host profile of package wasmhost: on 1.39 it
// passes the functional checks and the soak (soak_test.go); on 1.33-1.38 it
// loads and the test records how far it gets; on 1.32 loading is refused,
// naming the missing WASI functions. README.md's compatibility table rests
// on these.

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
	vm, p := startPlugin(t, releaseWasm, wasmhost.Options{Profile: profile}, testConfig)
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

func TestFunctionalEnvoy139(t *testing.T) {
	runFunctional(t, wasmhost.Envoy139)
}

// TestHowFarOnEnvoy133to138 loads the module on the Envoy 1.33-1.38 profile
// (WASI poll_oneoff answers ENOSYS, as Envoy's stub does; the Go runtime
// throws "poll_oneoff failed" if it ever needs it), runs the functional
// checks, then the soak's mix until a tenth of the soak count (100 000
// exchanges by default) or until the VM fails, once with the default GOGC and
// once with GOGC=10 (ten times the garbage collections). It requires that
// the module loads and serves the functional checks and the first 1000
// exchanges; beyond that it records what happened.
func TestHowFarOnEnvoy133to138(t *testing.T) {
	t.Run("functional", func(t *testing.T) {
		runFunctional(t, wasmhost.Envoy133to138)
	})
	n := max(soakCount(t)/10, 2000)
	for _, env := range []map[string]string{nil, {"GOGC": "10"}} {
		name := "GOGC=default"
		if env != nil {
			name = "GOGC=" + env["GOGC"]
		}
		t.Run(name, func(t *testing.T) {
			vm, p := startPlugin(t, releaseWasm, wasmhost.Options{Profile: wasmhost.Envoy133to138, Env: env}, testConfig)
			start := time.Now()
			served, err := 0, error(nil)
			for i := range n {
				k := soakMix[i%len(soakMix)]
				var x *wasmhost.Exchange
				if x, err = p.Do(k.req, k.resp); err != nil {
					break
				}
				if msg := k.verdict(x); msg != "" {
					t.Fatalf("exchange %d (%s): %s", i, k.name, msg)
				}
				served++
			}
			elapsed := time.Since(start)
			calls := vm.Calls()
			wasiCalls := func(name string) int {
				return calls.Request[name] + calls.Response[name] + calls.Other[name]
			}
			t.Logf("%s, %s: served %d of %d exchanges in %v; memory %d KiB; poll_oneoff called %d times, sched_yield %d times",
				wasmhost.Envoy133to138, name, served, n, elapsed.Round(time.Millisecond), vm.MemorySize()>>10,
				wasiCalls("wasi_snapshot_preview1.poll_oneoff"), wasiCalls("wasi_snapshot_preview1.sched_yield"))
			if err != nil {
				t.Logf("the VM failed after %d exchanges: %v", served, err)
				var fatal []string
				for _, l := range vm.Logs() {
					if l.Level >= wasmhost.LogError {
						fatal = append(fatal, l.Message)
					}
				}
				t.Logf("its last error lines: %q", fatal[max(0, len(fatal)-5):])
			} else {
				t.Logf("the VM did not fail")
			}
			if served < 1000 {
				t.Errorf("only %d exchanges served before the VM failed (%v); want at least the first 1000", served, err)
			}
		})
	}
}

// wasi132 are the WASI functions Envoy 1.32 and older provide
// (proxy-wasm-cpp-host before #427), as wasmhost's profile documents them.
var wasi132 = []string{
	"fd_write", "fd_read", "fd_seek", "fd_close", "fd_fdstat_get",
	"environ_get", "environ_sizes_get", "args_get", "args_sizes_get",
	"clock_time_get", "random_get", "proc_exit", "path_open",
	"fd_prestat_get", "fd_prestat_dir_name",
}

// TestRefusedOnEnvoy132 checks that loading fails on the Envoy 1.32 profile
// and that the error names exactly the WASI functions the module imports
// and that host lacks.
func TestRefusedOnEnvoy132(t *testing.T) {
	imports, _ := moduleInterface(t, releaseWasm)
	var missing, present []string
	for _, imp := range imports {
		mod, name, _ := strings.Cut(imp, ".")
		switch {
		case mod != "wasi_snapshot_preview1":
		case slices.Contains(wasi132, name):
			present = append(present, imp)
		default:
			missing = append(missing, imp)
		}
	}
	if len(missing) == 0 {
		t.Fatal("the module imports only WASI functions Envoy 1.32 provides: README.md's table is out of date")
	}

	_, err := wasmhost.New(context.Background(), releaseWasm, wasmhost.Options{Profile: wasmhost.Envoy132, Cache: cache})
	if err == nil {
		t.Fatal("the Envoy 1.32 profile loaded the module")
	}
	msg := err.Error()
	for _, name := range missing {
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
	t.Logf("missing on Envoy 1.32: %s", strings.Join(missing, ", "))
	t.Logf("refused: %v", err)
}

// TestRuntimeTimerOnEnvoy133to138 is the control of TestHowFarOnEnvoy133to138:
// what the release module never does (it makes no poll_oneoff call), a Go
// runtime timer does. The fault build's "sleep" knob sleeps 1 ms inside
// proxy_on_request_headers: on the 1.39 profile the request goes on; on the
// 1.33-1.38 profile the runtime waits in poll_oneoff (the first time it has
// nothing else to run meanwhile), gets ENOSYS, throws "poll_oneoff failed"
// and the VM is lost, with every later request.
func TestRuntimeTimerOnEnvoy133to138(t *testing.T) {
	sleepy := actual(app, faultHeader, "sleep")
	t.Run(wasmhost.Envoy139.String(), func(t *testing.T) {
		vm, p := startPlugin(t, faultWasm, wasmhost.Options{Profile: wasmhost.Envoy139}, testConfig)
		wantServesNormally(t, vm, p)
		for range 3 {
			vm.ResetCalls()
			start := time.Now()
			x := do(t, p, sleepy, upstream)
			elapsed := time.Since(start)
			allowedActual(t, x)
			t.Logf("slept: the exchange took %v; poll_oneoff calls: %d", elapsed, vm.Calls().Request["wasi_snapshot_preview1.poll_oneoff"])
			if elapsed < time.Millisecond {
				t.Errorf("the exchange took %v: the knob did not sleep", elapsed)
			}
		}
		wantServesNormally(t, vm, p)
	})
	t.Run(wasmhost.Envoy133to138.String(), func(t *testing.T) {
		vm, p := startPlugin(t, faultWasm, wasmhost.Options{Profile: wasmhost.Envoy133to138}, testConfig)
		wantServesNormally(t, vm, p)
		// The runtime waits in poll_oneoff only when it has nothing else to
		// run: while a garbage collection left over from start-up still has
		// work, the sleep may pass without the wait. Sleep until it waits.
		var err error
		for i := 0; i < 10 && err == nil; i++ {
			_, err = p.Do(sleepy, upstream)
		}
		if err == nil {
			t.Fatal("the VM survived ten runtime timers on the Envoy 1.33-1.38 profile")
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
		t.Logf("on %s a runtime timer fails the VM: %s; the runtime said %q", wasmhost.Envoy133to138, first, "errno= 52 len(pollsubs)= 1 poll_oneoff failed")
	})
}
