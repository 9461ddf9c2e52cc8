//go:build !wasip1

package wasmhost

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// The tests in this file run the real plugin.wasm.

const origin = "https://app.example.com"

func request(method string, extra ...string) Headers {
	h := NewHeaders(":method", method, ":scheme", "https", ":authority", "api.example.com", ":path", "/v1/things")
	return append(h, NewHeaders(extra...)...)
}

var (
	preflight   = request("OPTIONS", "origin", origin, "access-control-request-method", "PUT", "access-control-request-headers", "content-type")
	actual      = request("GET", "origin", origin)
	noOrigin    = request("GET")
	upstream    = NewHeaders(":status", "200", "content-type", "text/plain", "access-control-allow-origin", "*", "vary", "accept-encoding")
	upstream404 = NewHeaders(":status", "404")
)

// startPlugin starts a VM of the plugin with testmodule.RoutedPolicy.
func startPlugin(t testing.TB, opts Options) (*VM, *Plugin) {
	t.Helper()
	return startPluginWith(t, opts, testmodule.RoutedPolicy)
}

func startPluginWith(t testing.TB, opts Options, config string) (*VM, *Plugin) {
	t.Helper()
	vm := newVM(t, pluginWasm(t), opts)
	p, err := vm.StartPlugin([]byte(config))
	if err != nil {
		t.Fatalf("StartPlugin: %v", err)
	}
	return vm, p
}

func do(t testing.TB, p *Plugin, req, resp Headers) *Exchange {
	t.Helper()
	x, err := p.Do(req, resp)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	return x
}

func wantHeader(t *testing.T, h Headers, name, want string) {
	t.Helper()
	if got, ok := h.Get(name); !ok || got != want {
		t.Errorf("%s = %q (present %v), want %q\nheaders: %v", name, got, ok, want, h)
	}
}

func TestPreflightGetsLocalReply(t *testing.T) {
	_, p := startPlugin(t, Options{})
	x := do(t, p, preflight, nil)
	r := x.LocalReply
	if r == nil {
		t.Fatalf("no local reply; response %v, logs %v", x.Response, x.Logs)
	}
	if r.Status != 204 || len(r.Body) != 0 || r.Details != "cors_preflight" || r.GRPCStatus != -1 {
		t.Errorf("local reply %d %q details %q grpc %d, want 204, no body, cors_preflight, -1", r.Status, r.Body, r.Details, r.GRPCStatus)
	}
	wantHeader(t, r.Headers, "access-control-allow-origin", origin)
	wantHeader(t, r.Headers, "access-control-allow-credentials", "true")
	wantHeader(t, r.Headers, "access-control-max-age", "600")
	if m, _ := r.Headers.Get("access-control-allow-methods"); !strings.Contains(m, "PUT") {
		t.Errorf("access-control-allow-methods = %q, want PUT in it", m)
	}
	if h, _ := r.Headers.Get("access-control-allow-headers"); !strings.Contains(h, "content-type") {
		t.Errorf("access-control-allow-headers = %q, want content-type in it", h)
	}
	// The reply went through the response-headers callback: the final
	// headers are the reply's, with its status.
	wantHeader(t, x.Response, ":status", "204")
	wantHeader(t, x.Response, "access-control-allow-origin", origin)
	if x.RequestAction != Pause || x.ResponseAction != Continue {
		t.Errorf("actions %v, %v, want Pause after a local reply, then Continue", x.RequestAction, x.ResponseAction)
	}
}

func TestActualRequestResponseRewritten(t *testing.T) {
	_, p := startPlugin(t, Options{})
	x := do(t, p, actual, upstream)
	if x.LocalReply != nil {
		t.Fatalf("unexpected local reply %+v", x.LocalReply)
	}
	wantHeader(t, x.Response, ":status", "200")
	wantHeader(t, x.Response, "access-control-allow-origin", origin)
	wantHeader(t, x.Response, "access-control-allow-credentials", "true")
	wantHeader(t, x.Response, "access-control-expose-headers", "x-request-id")
	if vs := x.Response.Values("access-control-allow-origin"); len(vs) != 1 {
		t.Errorf("access-control-allow-origin lines %q, want the plugin's only", vs)
	}
	vary := strings.Join(x.Response.Values("vary"), ", ")
	if !strings.Contains(vary, "origin") || !strings.Contains(vary, "accept-encoding") {
		t.Errorf("vary %q, want origin merged with accept-encoding", vary)
	}
	if x.RequestAction != Continue || x.ResponseAction != Continue {
		t.Errorf("actions %v, %v, want Continue, Continue", x.RequestAction, x.ResponseAction)
	}
}

// A denial's line is logged at debug level, and built only when the host
// keeps that level (Envoy's default is info).
func TestDenialLinesFollowTheHostsLogLevel(t *testing.T) {
	denied := request("OPTIONS", "origin", "https://evil.example", "access-control-request-method", "PUT")
	const line = `cors: denied preflight from origin "https://evil.example"`
	for _, tc := range []struct {
		level  LogLevel
		logged bool
	}{{LogTrace, true}, {LogDebug, true}, {LogInfo, false}, {LogWarn, false}} {
		t.Run("host at "+tc.level.String(), func(t *testing.T) {
			vm, p := startPlugin(t, Options{LogLevel: tc.level})
			do(t, p, denied, nil) // first-use paths
			vm.ResetCalls()
			x := do(t, p, denied, nil)
			if x.LocalReply == nil || x.LocalReply.Status != 403 {
				t.Fatalf("local reply %+v, want a 403", x.LocalReply)
			}
			logged := slices.ContainsFunc(x.Logs, func(l LogLine) bool {
				return l.Level == LogDebug && strings.HasPrefix(l.Message, line)
			})
			if logged != tc.logged {
				t.Errorf("denial line logged %v, want %v; logs %v", logged, tc.logged, x.Logs)
			}
			calls := vm.Calls()
			if asked := calls.Request["proxy_get_log_level"]; asked != 1 {
				t.Errorf("the log level asked %d times, want once per denial", asked)
			}
			if logs := calls.Request["proxy_log"]; logs > 0 != tc.logged {
				t.Errorf("%d proxy_log calls, want a line: %v", logs, tc.logged)
			}
		})
	}
}

// TestHostCallCounts counts the proxy-wasm calls of one exchange (WASI calls,
// the Go runtime's clock reads, are not counted), under a configuration
// without a route-name policy and under one with it.
func TestHostCallCounts(t *testing.T) {
	type limits struct{ req, resp, total int }
	cases := []struct {
		name      string
		req, resp Headers
		max       limits // under SimplePolicy
		exact     bool   // max is the exact count
	}{
		// Without Origin the decision was made at configuration: the
		// request side only looks for origin (1 call), the response side
		// only adds vary: origin (1 call), whatever vary the upstream
		// sent.
		{"no origin, no vary upstream", noOrigin, NewHeaders(":status", "200", "content-type", "text/plain"), limits{1, 1, 2}, true},
		{"no origin, upstream vary", noOrigin, upstream, limits{1, 1, 2}, true},
		{"allowed preflight", preflight, nil, limits{6, 6, 6}, false},
		{"allowed actual", actual, upstream, limits{2, 4, 6}, false},
		// A request with Origin counts twice: the global counter and its
		// policy's (cors.policy.<name>.*), one proxy_increment_metric each.
		// A denial asks the host's log level, and logs its debug line when
		// the level shows it (this host reports trace).
		{"disallowed actual", request("GET", "origin", "https://evil.example"), upstream404, limits{2, 6, 8}, false},
	}
	type counted struct{ req, resp int }
	simple := map[string]counted{}
	for _, cfg := range []struct{ name, config string }{{"simple config", testmodule.SimplePolicy}, {"route-name policy", testmodule.RoutedPolicy}} {
		vm, p := startPluginWith(t, Options{}, cfg.config)
		do(t, p, actual, upstream) // warm up the module's first-use paths
		for _, c := range cases {
			vm.ResetCalls()
			do(t, p, c.req, c.resp)
			calls := vm.Calls()
			req, resp, total := calls.Request.Proxy(), calls.Response.Proxy(), calls.Proxy()
			t.Logf("%s, %s: request %d, response %d, total %d proxy calls\n\t%v", cfg.name, c.name, req, resp, total, calls)
			_, hasOrigin := c.req.Get("origin")
			if cfg.config == testmodule.SimplePolicy {
				simple[c.name] = counted{req, resp}
				if calls.Request["proxy_get_property"] != 0 {
					t.Errorf("%s, %s: the plugin read a property, though no policy needs the route name", cfg.name, c.name)
				}
				if c.exact && (req != c.max.req || resp != c.max.resp || total != c.max.total) {
					t.Errorf("%s: %d request-side, %d response-side, %d in all; want exactly %d, %d, %d", c.name, req, resp, total, c.max.req, c.max.resp, c.max.total)
				}
				if req > c.max.req || resp > c.max.resp || total > c.max.total {
					t.Errorf("%s: %d request-side, %d response-side, %d in all; want at most %d, %d, %d", c.name, req, resp, total, c.max.req, c.max.resp, c.max.total)
				}
				continue
			}
			// The route-name policy costs one call, the property read, on
			// the request side of a request with Origin, and nothing else.
			want := simple[c.name]
			reads := 0
			if hasOrigin {
				want.req++
				reads = 1
			}
			if got := calls.Request["proxy_get_property"]; got != reads {
				t.Errorf("%s, %s: %d property reads, want %d", cfg.name, c.name, got, reads)
			}
			if req != want.req || resp != want.resp {
				t.Errorf("%s, %s: %d request-side and %d response-side calls, want %d and %d (the simple config's, plus the route-name read on a request with Origin)", cfg.name, c.name, req, resp, want.req, want.resp)
			}
		}
	}
}

func TestRefusedConfiguration(t *testing.T) {
	var sink strings.Builder
	vm := newVM(t, pluginWasm(t), Options{Log: &sink})
	_, err := vm.StartPlugin([]byte(`{"allowOrigins": ["https://app.example.com/path"]}`))
	if err == nil {
		t.Fatal("configuration with a path in an origin was accepted")
	}
	if !strings.Contains(err.Error(), "cors: refusing configuration:") || !strings.Contains(err.Error(), "allowOrigins") {
		t.Errorf("error %q, want the plugin's error line", err)
	}
	t.Logf("refused: %v", err)
	if !strings.Contains(sink.String(), "error: cors: refusing configuration:") {
		t.Errorf("the log sink did not get the error line:\n%s", sink.String())
	}
	if vm.Err() != nil {
		t.Errorf("a refused configuration failed the VM: %v", vm.Err())
	}
	// The VM goes on: a good configuration loads in it.
	if _, err := vm.StartPlugin([]byte(testmodule.RoutedPolicy)); err != nil {
		t.Errorf("StartPlugin after a refusal: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	vm, p := startPlugin(t, Options{})
	names := []string{"cors.preflight.allowed", "cors.preflight.denied", "cors.actual.allowed", "cors.actual.denied",
		"cors.origin.invalid", "cors.report.would_deny", "cors.internal_error"}
	ms := vm.Metrics()
	for _, n := range names {
		if v, ok := ms[n]; !ok || v != 0 {
			t.Errorf("metric %s = %d (defined %v), want defined and 0", n, v, ok)
		}
	}
	do(t, p, preflight, nil)
	do(t, p, preflight, nil)
	do(t, p, actual, upstream)
	do(t, p, request("GET", "origin", "https://evil.example"), upstream)
	ms = vm.Metrics()
	for n, want := range map[string]int64{"cors.preflight.allowed": 2, "cors.actual.allowed": 1, "cors.actual.denied": 1, "cors.internal_error": 0} {
		if ms[n] != want {
			t.Errorf("metric %s = %d, want %d", n, ms[n], want)
		}
	}
}

func TestRouteNameProperty(t *testing.T) {
	admin := request("GET", "origin", "https://admin.example.com")
	t.Run("vm", func(t *testing.T) {
		vm, p := startPlugin(t, Options{})
		vm.SetProperty([]string{"xds", "route_name"}, []byte("admin-route"))
		wantHeader(t, do(t, p, admin, upstream).Response, "access-control-allow-origin", "https://admin.example.com")
		if _, ok := do(t, p, actual, upstream).Response.Get("access-control-allow-origin"); ok {
			t.Error("the admin route's policy allowed the default policy's origin")
		}
		vm.SetProperty([]string{"xds", "route_name"}, nil)
		wantHeader(t, do(t, p, actual, upstream).Response, "access-control-allow-origin", origin)
	})
	t.Run("stream", func(t *testing.T) {
		_, p := startPlugin(t, Options{})
		s := p.NewStream()
		s.SetProperty([]string{"xds", "route_name"}, []byte("admin-route"))
		if _, err := s.RequestHeaders(admin, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResponseHeaders(upstream, true); err != nil {
			t.Fatal(err)
		}
		wantHeader(t, s.Response(), "access-control-allow-origin", "https://admin.example.com")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStreamsInterleave(t *testing.T) {
	_, p := startPlugin(t, Options{})
	a, b := p.NewStream(), p.NewStream()
	for _, step := range []func() error{
		func() error { _, err := a.RequestHeaders(actual, true); return err },
		func() error { _, err := b.RequestHeaders(noOrigin, true); return err },
		func() error { _, err := b.ResponseHeaders(upstream, true); return err },
		func() error { _, err := a.ResponseHeaders(upstream, true); return err },
		b.Close, a.Close,
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	wantHeader(t, a.Response(), "access-control-allow-origin", origin)
	if vary := strings.Join(b.Response().Values("vary"), ", "); !strings.Contains(vary, "origin") {
		t.Errorf("request without Origin: vary %q, want origin in it", vary)
	}
	if _, err := a.RequestHeaders(actual, true); err == nil {
		t.Error("a closed stream ran a callback")
	}
}

// TestPluginServesOnEveryProfile loads plugin.wasm, built as make build
// builds it (its post-link step defines sched_yield and poll_oneoff inside
// the module), on every host profile, and checks that it imports neither
// function and serves a preflight and an actual request on each.
func TestPluginServesOnEveryProfile(t *testing.T) {
	m, err := binary.DecodeModule(pluginWasm(t), wasm.CoreFeaturesV2)
	if err != nil {
		t.Fatalf("decoding plugin.wasm: %v", err)
	}
	for _, imp := range m.ImportSection {
		if imp.Module == wasiModule && (imp.Name == "sched_yield" || imp.Name == "poll_oneoff") {
			t.Errorf("plugin.wasm imports %s.%s", imp.Module, imp.Name)
		}
	}
	for _, profile := range []Profile{Envoy139, Envoy133to138, Envoy132} {
		t.Run(profile.String(), func(t *testing.T) {
			vm, p := startPlugin(t, Options{Profile: profile})
			x := do(t, p, preflight, nil)
			if x.LocalReply == nil || x.LocalReply.Status != 204 {
				t.Errorf("preflight: local reply %+v, want 204", x.LocalReply)
			} else {
				wantHeader(t, x.LocalReply.Headers, "access-control-allow-origin", origin)
			}
			x = do(t, p, actual, upstream)
			wantHeader(t, x.Response, "access-control-allow-origin", origin)
			if err := vm.Err(); err != nil {
				t.Errorf("VM failed: %v", err)
			}
		})
	}
}

// TestMemoryStaysFlat runs many exchanges and checks that the module's
// linear memory levels off: real clocks let Go's GC pace itself. It runs
// 100k exchanges (20k with -short) on the Envoy 1.39 profile, and a fifth
// of that on each of the 1.33-1.38 and 1.32 profiles, whose shorter
// restricted-phase allow-lists the module's garbage collections must
// respect.
func TestMemoryStaysFlat(t *testing.T) {
	exchanges := 100_000
	if testing.Short() {
		exchanges = 20_000
	}
	kinds := []struct{ req, resp Headers }{
		{preflight, nil}, {actual, upstream}, {noOrigin, upstream}, {request("GET", "origin", "https://evil.example"), upstream404},
	}
	for _, profile := range []Profile{Envoy139, Envoy133to138, Envoy132} {
		total := exchanges
		if profile != Envoy139 {
			total /= 5
		}
		t.Run(profile.String(), func(t *testing.T) {
			vm, p := startPlugin(t, Options{Profile: profile})
			var at1k, half uint32
			start := time.Now()
			for i := range total {
				k := kinds[i%len(kinds)]
				if _, err := p.Do(k.req, k.resp); err != nil {
					t.Fatalf("exchange %d: %v", i, err)
				}
				switch i + 1 {
				case 1000:
					at1k = vm.MemorySize()
				case total / 2:
					half = vm.MemorySize()
				}
			}
			elapsed := time.Since(start)
			final := vm.MemorySize()
			t.Logf("%s: memory %d KiB after 1k exchanges, %d KiB after %dk, %d KiB after %dk; %v per exchange",
				profile, at1k>>10, half>>10, total/2000, final>>10, total/1000, elapsed/time.Duration(total))
			if final > half+1<<20 || final > 16<<20 {
				t.Errorf("memory still grows: %d KiB after %d exchanges, %d KiB after %d", half>>10, total/2, final>>10, total)
			}
			if err := vm.Err(); err != nil {
				t.Errorf("VM failed: %v", err)
			}
		})
	}
}

// TestConcurrentStreams drives one VM from several goroutines; their
// callbacks interleave as on one Envoy worker. Run it with -race.
func TestConcurrentStreams(t *testing.T) {
	vm, p := startPlugin(t, Options{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				x, err := p.Do(actual, upstream)
				if err != nil {
					t.Errorf("goroutine %d, exchange %d: %v", g, i, err)
					return
				}
				if v, _ := x.Response.Get("access-control-allow-origin"); v != origin {
					t.Errorf("goroutine %d, exchange %d: access-control-allow-origin %q", g, i, v)
				}
			}
		})
	}
	wg.Wait()
	if got := vm.Metrics()["cors.actual.allowed"]; got != 200 {
		t.Errorf("cors.actual.allowed = %d, want 200", got)
	}
}

func TestCloseNotifiesPlugins(t *testing.T) {
	vm, _ := startPlugin(t, Options{})
	if err := vm.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := vm.StartPlugin([]byte(testmodule.RoutedPolicy)); !errors.Is(err, errClosed) {
		t.Errorf("StartPlugin on a closed VM: %v, want %v", err, errClosed)
	}
}

func BenchmarkDo(b *testing.B) {
	for _, k := range []struct {
		name      string
		req, resp Headers
	}{{"no-origin", noOrigin, upstream}, {"preflight", preflight, nil}, {"actual", actual, upstream}} {
		b.Run(k.name, func(b *testing.B) {
			vm, p := startPlugin(b, Options{})
			vm.ResetCalls()
			for b.Loop() {
				if _, err := p.Do(k.req, k.resp); err != nil {
					b.Fatal(err)
				}
			}
			calls := vm.Calls()
			b.ReportMetric(float64(calls.Proxy())/float64(b.N), "proxycalls/op")
			b.ReportMetric(float64(calls.Request.Total()+calls.Response.Total()+calls.Other.Total())/float64(b.N), "hostcalls/op")
		})
	}
}

// TestNoOriginVary checks the vary a response to a request without Origin
// gets: one line "vary: origin" added with one host call, the upstream's
// lines kept as they are and not read (a name repeated in vary means the
// same to a cache).
func TestNoOriginVary(t *testing.T) {
	vm, p := startPluginWith(t, Options{}, testmodule.SimplePolicy)
	cases := []struct {
		name     string
		upstream Headers
		want     []string
	}{
		{"no vary upstream", NewHeaders(":status", "200"), []string{"origin"}},
		{"vary naming origin", NewHeaders(":status", "200", "vary", "Origin"), []string{"Origin", "origin"}},
		{"vary without origin", NewHeaders(":status", "200", "vary", "accept-encoding"), []string{"accept-encoding", "origin"}},
		{"two vary lines without origin", NewHeaders(":status", "200", "vary", "accept", "vary", "cookie"), []string{"accept", "cookie", "origin"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vm.ResetCalls()
			x := do(t, p, noOrigin, c.upstream)
			if got := x.Response.Values("vary"); !slices.Equal(got, c.want) {
				t.Errorf("vary lines %q, want %q", got, c.want)
			}
			if n := vm.Calls().Response.Proxy(); n != 1 {
				t.Errorf("%d response-side host calls, want 1", n)
			}
		})
	}
}
