//go:build !wasip1

package hardening

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/wasmhost"
)

// Header values and maps at the host's size limits. Envoy passes header maps
// of up to 1 MiB and 1024 pairs to a Wasm module; the engine denies an
// Access-Control-Request-Headers longer than 8 KiB (all lines, one byte per
// line for the separator) without reading it.

const (
	mib = 1 << 20
	// acrhBound is the engine's bound on Access-Control-Request-Headers:
	// the lines' lengths plus one per line.
	acrhBound = 8192
)

// padded returns "content-type" followed by commas (empty elements, which
// the engine skips) up to n bytes.
func padded(n int) string {
	return "content-type" + strings.Repeat(",", n-len("content-type"))
}

// fillers returns n header lines x-filler-i of size bytes each.
func fillers(n, size int) []string {
	kv := make([]string, 0, 2*n)
	for i := range n {
		kv = append(kv, fmt.Sprintf("x-filler-%d", i), strings.Repeat("v", size))
	}
	return kv
}

// bigHost is an origin of n bytes shaped like a subdomain of example.com:
// labels "a" of one byte each, so only the host's total length is wrong.
func bigHost(n int) string {
	const prefix, suffix = "https://", "example.com"
	labels := strings.Repeat("a.", (n-len(prefix)-len(suffix))/2)
	if len(prefix)+len(labels)+len(suffix) < n {
		labels = "a" + labels
	}
	return prefix + labels + suffix
}

// pairsSize is the size of h serialized as the ABI passes header maps.
func pairsSize(h wasmhost.Headers) int {
	n := 4 + 8*len(h)
	for _, l := range h {
		n += len(l.Name) + len(l.Value) + 2
	}
	return n
}

// withSize appends a header x-pad to h that makes its serialized size n.
func withSize(h wasmhost.Headers, n int) wasmhost.Headers {
	h = append(h.Clone(), wasmhost.Header{Name: "x-pad"})
	h[len(h)-1].Value = strings.Repeat("p", n-pairsSize(h))
	return h
}

func TestSizeLimits(t *testing.T) {
	const wildcardConfig = `{"allowOrigins": ["https://*.example.com"], "allowMethods": ["PUT"], "allowHeaders": ["content-type"]}`
	allowedPreflight := func(t *testing.T, x *wasmhost.Exchange) {
		t.Helper()
		if x.LocalReply == nil || x.LocalReply.Status != 204 {
			t.Fatalf("local reply %+v, want 204", x.LocalReply)
		}
		wantHeader(t, x.LocalReply.Headers, "access-control-allow-origin", app)
		wantHeader(t, x.LocalReply.Headers, "access-control-allow-headers", "content-type")
	}
	refusedPreflight := func(t *testing.T, x *wasmhost.Exchange) {
		t.Helper()
		if x.LocalReply == nil || x.LocalReply.Status != 403 {
			t.Fatalf("local reply %+v, want 403", x.LocalReply)
		}
		wantNoCORS(t, x.Response)
	}
	deniedActual := func(t *testing.T, x *wasmhost.Exchange) {
		t.Helper()
		if x.LocalReply != nil {
			t.Fatalf("local reply %d, want none", x.LocalReply.Status)
		}
		wantNoCORS(t, x.Response)
	}
	bigOrigin := "https://" + strings.Repeat("a", mib-len("https://"))
	binOrigin := "https://" + strings.Repeat("\xff", mib-len("https://"))
	manyHeaders := func(base wasmhost.Headers, total int) wasmhost.Headers {
		return append(base, wasmhost.NewHeaders(fillers(total-len(base), 100)...)...)
	}
	bigResponse := append(upstream.Clone(), wasmhost.NewHeaders(fillers(1024-len(upstream), 100)...)...)
	hugeValueResponse := append(upstream.Clone(), wasmhost.Header{Name: "x-big", Value: strings.Repeat("b", mib)})

	cases := []struct {
		name      string
		config    string
		req, resp wasmhost.Headers
		check     func(t *testing.T, x *wasmhost.Exchange)
		metrics   map[string]int64
	}{
		{name: "a 1 MiB Origin, actual", req: actual(bigOrigin), resp: upstream,
			check: deniedActual, metrics: map[string]int64{actualDenied: 1, originInvalid: 1}},
		{name: "a 1 MiB Origin, preflight", req: preflight(bigOrigin, "PUT", ""),
			check: refusedPreflight, metrics: map[string]int64{preflightDenied: 1, originInvalid: 1}},
		{name: "a 1 MiB Origin of 0xff bytes", req: actual(binOrigin), resp: upstream,
			check: deniedActual, metrics: map[string]int64{actualDenied: 1, originInvalid: 1}},
		{name: "a 1 MiB subdomain against a wildcard", config: wildcardConfig,
			req:   preflight(bigHost(mib), "PUT", ""),
			check: refusedPreflight, metrics: map[string]int64{preflightDenied: 1, originInvalid: 1}},
		{name: "a 253-byte subdomain against a wildcard (the longest host)", config: wildcardConfig,
			req: preflight("https://"+strings.Repeat("a.", (253-len("example.com"))/2)+"example.com", "PUT", "content-type"),
			check: func(t *testing.T, x *wasmhost.Exchange) {
				if x.LocalReply == nil || x.LocalReply.Status != 204 {
					t.Fatalf("local reply %+v, want 204", x.LocalReply)
				}
			},
			metrics: map[string]int64{preflightAllowed: 1}},
		{name: "Access-Control-Request-Headers at the bound (8191 bytes, one line)",
			req:   preflight(app, "PUT", padded(acrhBound-1)),
			check: allowedPreflight, metrics: map[string]int64{preflightAllowed: 1}},
		{name: "Access-Control-Request-Headers one byte over (8192 bytes)",
			req:   preflight(app, "PUT", padded(acrhBound)),
			check: refusedPreflight, metrics: map[string]int64{preflightDenied: 1}},
		{name: "Access-Control-Request-Headers at the bound in two lines",
			req:   preflight(app, "PUT", padded(acrhBound/2-1), "access-control-request-headers", padded(acrhBound/2-1)),
			check: allowedPreflight, metrics: map[string]int64{preflightAllowed: 1}},
		{name: "Access-Control-Request-Headers one byte over in two lines",
			req:   preflight(app, "PUT", padded(acrhBound/2-1), "access-control-request-headers", padded(acrhBound/2)),
			check: refusedPreflight, metrics: map[string]int64{preflightDenied: 1}},
		{name: "Access-Control-Request-Headers of 1 MiB",
			req:   preflight(app, "PUT", padded(mib)),
			check: refusedPreflight, metrics: map[string]int64{preflightDenied: 1}},
		{name: "1024 request header lines, allowed actual",
			req: manyHeaders(actual(app), 1024), resp: upstream, check: allowedActual,
			metrics: map[string]int64{actualAllowed: 1}},
		{name: "1024 request header lines, Origin last",
			req: append(manyHeaders(request("GET"), 1023), wasmhost.Header{Name: "origin", Value: app}), resp: upstream, check: allowedActual,
			metrics: map[string]int64{actualAllowed: 1}},
		{name: "1024 request header lines, allowed preflight",
			req:   manyHeaders(preflight(app, "PUT", "content-type"), 1024),
			check: allowedPreflight, metrics: map[string]int64{preflightAllowed: 1}},
		{name: "1024 Origin lines",
			req: manyOrigins(1024), resp: upstream, check: deniedActual,
			metrics: map[string]int64{actualDenied: 1, originInvalid: 1}},
		{name: "a 1 MiB request map of 1024 lines",
			req: withSize(manyHeaders(actual(app), 1023), mib), resp: upstream, check: allowedActual,
			metrics: map[string]int64{actualAllowed: 1}},
		{name: "a 1 MiB response map of 1024 lines",
			req: actual(app), resp: withSize(bigResponse[:1023], mib),
			check: func(t *testing.T, x *wasmhost.Exchange) {
				allowedActual(t, x)
				wantKept(t, x.Response, withSize(bigResponse[:1023], mib))
			},
			metrics: map[string]int64{actualAllowed: 1}},
		{name: "1024 response header lines",
			req: actual(app), resp: bigResponse,
			check: func(t *testing.T, x *wasmhost.Exchange) {
				allowedActual(t, x)
				wantKept(t, x.Response, bigResponse)
			},
			metrics: map[string]int64{actualAllowed: 1}},
		{name: "a 1 MiB response header value",
			req: actual(app), resp: hugeValueResponse,
			check: func(t *testing.T, x *wasmhost.Exchange) {
				allowedActual(t, x)
				wantKept(t, x.Response, hugeValueResponse)
			},
			metrics: map[string]int64{actualAllowed: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			config := c.config
			if config == "" {
				config = testConfig
			}
			vm, p := startPlugin(t, releaseWasm(t), wasmhost.Options{}, config)
			before := vm.Metrics()
			start := time.Now()
			x := do(t, p, c.req, c.resp)
			elapsed := time.Since(start)
			noTrap(t, vm)
			c.check(t, x)
			wantMetrics(t, metricsDelta(before, vm.Metrics()), c.metrics)
			wantNoProblem(t, x.Logs)
			longest := 0
			for _, l := range x.Logs {
				longest = max(longest, len(l.Message))
			}
			t.Logf("%v; memory %d KiB; longest log line %d bytes", elapsed.Round(time.Microsecond), vm.MemorySize()>>10, longest)
		})
	}
}

// manyOrigins is a GET with n Origin lines of the allowed origin.
func manyOrigins(n int) wasmhost.Headers {
	h := request("GET")
	for range n - len(h) {
		h = append(h, wasmhost.Header{Name: "origin", Value: app})
	}
	return h
}

// wantKept checks that every line of upstream that is not a CORS header is
// in the response, in order.
func wantKept(t *testing.T, resp, upstream wasmhost.Headers) {
	t.Helper()
	var want wasmhost.Headers
	for _, l := range upstream {
		if !strings.HasPrefix(l.Name, "access-control-") && l.Name != "vary" {
			want = append(want, l)
		}
	}
	var got wasmhost.Headers
	for _, l := range resp {
		if !strings.HasPrefix(l.Name, "access-control-") && l.Name != "vary" {
			got = append(got, l)
		}
	}
	wantSame(t, "the response's other lines", got, want)
}

// TestSizeLimitsMemoryBounded repeats the largest requests on one VM: the
// module's memory levels off instead of growing with each.
func TestSizeLimitsMemoryBounded(t *testing.T) {
	const rounds = 100
	vm, p := startPlugin(t, releaseWasm(t), wasmhost.Options{}, testConfig)
	bigOrigin := "https://" + strings.Repeat("a", mib-len("https://"))
	binOrigin := "https://" + strings.Repeat("\xff", mib-len("https://"))
	kinds := []struct{ req, resp wasmhost.Headers }{
		{actual(bigOrigin), upstream},
		{preflight(app, "PUT", padded(mib)), nil},
		{actual(binOrigin), upstream},
		{actual(app), append(upstream.Clone(), wasmhost.Header{Name: "x-big", Value: strings.Repeat("b", mib)})},
	}
	var half uint32
	start := time.Now()
	for i := range rounds {
		k := kinds[i%len(kinds)]
		do(t, p, k.req, k.resp)
		if i+1 == rounds/2 {
			half = vm.MemorySize()
		}
	}
	elapsed := time.Since(start)
	noTrap(t, vm)
	final := vm.MemorySize()
	t.Logf("%d exchanges of about 1 MiB each in %v (%v each): memory %d KiB after %d, %d KiB after %d",
		rounds, elapsed.Round(time.Millisecond), (elapsed / rounds).Round(time.Microsecond), half>>10, rounds/2, final>>10, rounds)
	if final > half+4*mib || final > 64*mib {
		t.Errorf("memory %d KiB after %d exchanges, %d KiB after %d: not bounded", half>>10, rounds/2, final>>10, rounds)
	}
}
