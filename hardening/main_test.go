//go:build !wasip1

package hardening

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmhost"
)

// The modules under test (package testmodule), each built on first use,
// once per test binary.
func releaseWasm(tb testing.TB) []byte { return testmodule.Get(tb, testmodule.Release) } // as make build makes it (with the post-link step)
func faultWasm(tb testing.TB) []byte   { return testmodule.Get(tb, testmodule.Fault) }   // the same with -tags corswasm_faultinject

// The same two modules without make build's post-link step (package
// wasishim): they import sched_yield and poll_oneoff, and serve as the
// controls of the host-profile tests.
func rawReleaseWasm(tb testing.TB) []byte { return testmodule.Get(tb, testmodule.RawRelease) }
func rawFaultWasm(tb testing.TB) []byte   { return testmodule.Get(tb, testmodule.RawFault) }

// The policy most tests load, testmodule.RoutedPolicy: one allowed origin
// (app) with credentials, and a stricter policy (admin) for one route, so
// that the plugin reads the route name.
var testConfig = testmodule.RoutedPolicy

const (
	app   = "https://app.example.com"
	admin = "https://admin.example.com"
	evil  = "https://evil.example"
)

// request returns the request headers of method to api.example.com/v1/things
// plus extra name-value pairs.
func request(method string, extra ...string) wasmhost.Headers {
	h := wasmhost.NewHeaders(":method", method, ":scheme", "https", ":authority", "api.example.com", ":path", "/v1/things")
	return append(h, wasmhost.NewHeaders(extra...)...)
}

// actual is a cross-origin GET from origin.
func actual(origin string, extra ...string) wasmhost.Headers {
	return request("GET", append([]string{"origin", origin}, extra...)...)
}

// preflight is a CORS preflight from origin for method, with requested
// headers when acrh is not empty.
func preflight(origin, method, acrh string, extra ...string) wasmhost.Headers {
	kv := []string{"origin", origin, "access-control-request-method", method}
	if acrh != "" {
		kv = append(kv, "access-control-request-headers", acrh)
	}
	return request("OPTIONS", append(kv, extra...)...)
}

// upstream is a response that carries CORS headers of its own, which the
// plugin replaces (or, when it leaves the response alone, keeps).
var upstream = wasmhost.NewHeaders(":status", "200", "content-type", "text/plain",
	"access-control-allow-origin", "*", "vary", "accept-encoding", "x-request-id", "42")

// corslessUpstream is a response without CORS headers: the plugin adds its
// lines to it instead of writing the whole map back.
var corslessUpstream = wasmhost.NewHeaders(":status", "200", "content-type", "text/plain", "x-request-id", "42")

// newVM starts a VM of wasm with the shared compilation cache and closes it
// when the test ends.
func newVM(t testing.TB, wasm []byte, opts wasmhost.Options) *wasmhost.VM {
	t.Helper()
	opts.Cache = testmodule.Cache()
	vm, err := wasmhost.New(context.Background(), wasm, opts)
	if err != nil {
		t.Fatalf("wasmhost.New: %v", err)
	}
	t.Cleanup(func() {
		if err := vm.Close(context.Background()); err != nil && !errors.Is(err, wasmhost.ErrFailed) {
			t.Errorf("Close: %v", err)
		}
	})
	return vm
}

// startPlugin starts a VM of wasm with opts and a plugin with config.
func startPlugin(t testing.TB, wasm []byte, opts wasmhost.Options, config string) (*wasmhost.VM, *wasmhost.Plugin) {
	t.Helper()
	vm := newVM(t, wasm, opts)
	p, err := vm.StartPlugin([]byte(config))
	if err != nil {
		t.Fatalf("StartPlugin: %v", err)
	}
	return vm, p
}

// do runs one exchange and fails the test on a host error (a trap fails
// the VM, and Do returns its error).
func do(t testing.TB, p *wasmhost.Plugin, req, resp wasmhost.Headers) *wasmhost.Exchange {
	t.Helper()
	x, err := p.Do(req, resp)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	return x
}

// noTrap fails the test if the VM failed.
func noTrap(t testing.TB, vm *wasmhost.VM) {
	t.Helper()
	if err := vm.Err(); err != nil {
		t.Fatalf("the VM failed: %v", err)
	}
}

// metricsDelta returns after minus before, for every metric of after, and
// omits the zeros.
func metricsDelta(before, after map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for name, v := range after {
		if v != before[name] {
			d[name] = v - before[name]
		}
	}
	return d
}

// wantMetrics checks that the counters moved exactly by want (and no
// other counter moved). Per-policy counters (cors.policy.<segment>.<rest>)
// may move where want does not name them, but must add up, over the
// policies, to the move of the global counter cors.<rest>.
func wantMetrics(t testing.TB, got, want map[string]int64) {
	t.Helper()
	for name, v := range want {
		if got[name] != v {
			t.Errorf("metric %s moved by %d, want %d (all moves: %v)", name, got[name], v, got)
		}
	}
	perPolicy := map[string]int64{} // by global name
	for name, v := range got {
		_, named := want[name]
		if rest, ok := strings.CutPrefix(name, "cors.policy."); ok {
			if _, suffix, ok := strings.Cut(rest, "."); ok {
				perPolicy["cors."+suffix] += v
				continue
			}
		}
		if !named {
			t.Errorf("metric %s moved by %d, want 0 (all moves: %v)", name, v, got)
		}
	}
	for global, v := range perPolicy {
		if got[global] != v {
			t.Errorf("per-policy counters *.%s moved by %d in all, but %s by %d (all moves: %v)", strings.TrimPrefix(global, "cors."), v, global, got[global], got)
		}
	}
}

// problems returns the lines logged at warn level or above.
func problems(lines []wasmhost.LogLine) []wasmhost.LogLine {
	var out []wasmhost.LogLine
	for _, l := range lines {
		if l.Level >= wasmhost.LogWarn {
			out = append(out, l)
		}
	}
	return out
}

// wantOneProblem checks that exactly one warn or error line was logged and
// that it holds every one of substrs.
func wantOneProblem(t testing.TB, lines []wasmhost.LogLine, substrs ...string) {
	t.Helper()
	ps := problems(lines)
	if len(ps) != 1 {
		t.Errorf("%d warn/error lines, want 1: %v", len(ps), ps)
		return
	}
	for _, s := range substrs {
		if !strings.Contains(ps[0].Message, s) {
			t.Errorf("log line %q does not hold %q", ps[0], s)
		}
	}
}

// wantNoProblem checks that no warn or error line was logged.
func wantNoProblem(t testing.TB, lines []wasmhost.LogLine) {
	t.Helper()
	if ps := problems(lines); len(ps) > 0 {
		t.Errorf("unexpected warn/error lines: %v", ps)
	}
}

// wantSame checks that got equals want line by line.
func wantSame(t testing.TB, what string, got, want wasmhost.Headers) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s changed: %d lines, want %d\ngot:  %v\nwant: %v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s changed at line %d: %q, want %q\ngot:  %v\nwant: %v", what, i, got[i], want[i], got, want)
			return
		}
	}
}

// wantUntouched checks that the plugin left the exchange alone: no local
// reply, the request and the response as they came.
func wantUntouched(t testing.TB, x *wasmhost.Exchange, req, resp wasmhost.Headers) {
	t.Helper()
	if x.LocalReply != nil {
		t.Errorf("local reply %d %v, want none", x.LocalReply.Status, x.LocalReply.Headers)
	}
	if x.RequestAction != wasmhost.Continue || x.ResponseAction != wasmhost.Continue {
		t.Errorf("actions %v, %v, want Continue, Continue", x.RequestAction, x.ResponseAction)
	}
	wantSame(t, "request", x.Request, req.Clone())
	wantSame(t, "response", x.Response, resp.Clone())
}

// wantHeader checks the first value of name.
func wantHeader(t testing.TB, h wasmhost.Headers, name, want string) {
	t.Helper()
	if got, ok := h.Get(name); !ok || got != want {
		t.Errorf("%s = %q (present %v), want %q\nheaders: %v", name, got, ok, want, h)
	}
}

// wantNoCORS checks that the headers carry no access-control-* line.
func wantNoCORS(t testing.TB, h wasmhost.Headers) {
	t.Helper()
	for _, l := range h {
		if strings.HasPrefix(l.Name, "access-control-") {
			t.Errorf("%s: %q present, want no CORS header\nheaders: %v", l.Name, l.Value, h)
		}
	}
}

// wantServesNormally checks that the plugin (testConfig) still answers an
// allowed preflight and an allowed actual request as it should.
func wantServesNormally(t testing.TB, vm *wasmhost.VM, p *wasmhost.Plugin) {
	t.Helper()
	x := do(t, p, preflight(app, "PUT", "content-type"), nil)
	if x.LocalReply == nil || x.LocalReply.Status != 204 {
		t.Errorf("allowed preflight afterwards: local reply %+v, want 204", x.LocalReply)
	} else {
		wantHeader(t, x.LocalReply.Headers, "access-control-allow-origin", app)
	}
	x = do(t, p, actual(app), upstream)
	wantHeader(t, x.Response, "access-control-allow-origin", app)
	wantHeader(t, x.Response, "access-control-allow-credentials", "true")
	x = do(t, p, actual(evil), upstream)
	wantNoCORS(t, x.Response)
	noTrap(t, vm)
}
