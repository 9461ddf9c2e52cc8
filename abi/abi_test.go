//go:build !wasip1

package abi

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// testHost is a fake proxy-wasm host: it returns data the way a real host
// does, through allocate, and records what the plugin sends.
type testHost struct {
	config     []byte
	request    [][2]string
	properties map[string]string
	failStatus uint32 // returned by every data host call when non-zero
	level      uint32 // the log level the host reports

	logs      []string
	set       [][2]string
	added     [][2]string
	local     *localResponse
	metrics   []string
	increment map[uint32]int64
	// response, when not nil, is the response headers' map (the request's
	// otherwise); pairsReads counts the reads of a map; addStatus, when
	// not 0, is what adds return.
	response   [][2]string
	pairsReads int
	addStatus  uint32
}

type localResponse struct {
	code    uint32
	details string
	body    string
	headers [][2]string
}

// give copies b into guest memory as a host does, through the built
// module's proxy_on_memory_allocate (fastAllocate).
func give(b []byte) (st, data, size uint32) {
	if len(b) == 0 {
		return 0, 0, 0
	}
	addr := fastAllocate(uint32(len(b)))
	dst, err := peek(addr)
	if err != nil {
		panic(err)
	}
	copy(dst, b)
	return 0, addr, uint32(len(b))
}

// peek returns the unclaimed allocation at addr without claiming it.
func peek(addr uint32) ([]byte, error) {
	if addr == 0 || addr != cb.last {
		return nil, errBadAddress
	}
	in := rootData
	if c := cb.stream; c != nil {
		in = c.mem.chunk
	}
	off := addr - addrOf(in)
	return in[off : off+cb.lastSize], nil
}

func (h *testHost) Log(level uint32, msg string) uint32 {
	h.logs = append(h.logs, []string{"trace", "debug", "info", "warn", "error", "critical"}[level]+": "+msg)
	return 0
}

func (h *testHost) GetLogLevel() (st, level uint32) { return h.failStatus, h.level }

func (h *testHost) GetHeaderMapValue(mapType uint32, key string) (st, data, size uint32) {
	if h.failStatus != 0 {
		return h.failStatus, 0, 0
	}
	for _, kv := range h.request {
		if kv[0] == key {
			return give([]byte(kv[1]))
		}
	}
	return statusNotFound, 0, 0
}

func (h *testHost) GetHeaderMapPairs(mapType uint32) (st, data, size uint32) {
	h.pairsReads++
	if h.failStatus != 0 {
		return h.failStatus, 0, 0
	}
	if mapType == uint32(MapResponseHeaders) && h.response != nil {
		return give(AppendPairs(nil, h.response))
	}
	return give(AppendPairs(nil, h.request))
}

func (h *testHost) SetHeaderMapPairs(mapType uint32, pairs []byte) uint32 {
	got, err := ParsePairs(nil, slices.Clone(pairs))
	if err != nil {
		return 2
	}
	h.set = got
	return 0
}

func (h *testHost) AddHeaderMapValue(mapType uint32, key, value string) uint32 {
	if h.failStatus != 0 {
		return h.failStatus
	}
	if h.addStatus != 0 {
		return h.addStatus
	}
	h.added = append(h.added, [2]string{key, value})
	return 0
}

func (h *testHost) SendLocalResponse(code uint32, details string, body, headers []byte) uint32 {
	got, err := ParsePairs(nil, slices.Clone(headers))
	if err != nil {
		return 2
	}
	h.local = &localResponse{code, details, string(body), got}
	return 0
}

func (h *testHost) GetProperty(path []byte) (st, data, size uint32) {
	if h.failStatus != 0 {
		return h.failStatus, 0, 0
	}
	v, ok := h.properties[string(path)]
	if !ok {
		return statusNotFound, 0, 0
	}
	return give([]byte(v))
}

func (h *testHost) DefineMetric(metricType uint32, name string) (st, id uint32) {
	h.metrics = append(h.metrics, name)
	return 0, uint32(len(h.metrics) - 1)
}

func (h *testHost) IncrementMetric(id uint32, delta int64) uint32 {
	if h.increment == nil {
		h.increment = map[uint32]int64{}
	}
	h.increment[id] += delta
	return 0
}

func (h *testHost) GetBufferBytes(bufferType, start, maxSize uint32) (st, data, size uint32) {
	if h.failStatus != 0 {
		return h.failStatus, 0, 0
	}
	if bufferType != bufferPluginConfiguration {
		return 2, 0, 0
	}
	b := h.config[start:]
	if uint32(len(b)) > maxSize {
		b = b[:maxSize]
	}
	return give(b)
}

// install resets the package state and makes h the host for one test.
func install(t *testing.T, h *testHost, newRootContext func(uint32) Root) *int {
	t.Helper()
	errs := new(int)
	fakeHost = h
	SetPlugin(newRootContext)
	SetInternalErrorHook(func() { *errs++ })
	roots, cb.streams = nil, contexts{}
	spare, cb.spareBytes, cb.parked = nil, 0, 0
	cb.reuse = false
	t.Cleanup(func() {
		cb.reuse = false
		fakeHost = nil
		SetPlugin(nil)
		SetInternalErrorHook(nil)
		roots, cb.streams = nil, contexts{}
		if depth != 0 || rootData != nil || cb.last != 0 || cb.stream != nil {
			t.Errorf("after the test: depth %d, an unclaimed allocation %v, a current arena %v", depth, rootData != nil || cb.last != 0, cb.stream != nil)
		}
	})
	return errs
}

// testRoot and testStream record calls and panic on request.
type testRoot struct {
	id       uint32
	started  int
	config   []string
	panicOn  string
	streams  map[uint32]*testStream
	noStream bool
	// doneAfter names the callback after which streams call StreamDone.
	doneAfter string
	created   int  // NewStream calls
	readAgain bool // streams read origin twice
}

func (r *testRoot) maybePanic(what string) {
	if r.panicOn == what {
		panic(errors.New("boom in " + what))
	}
}

func (r *testRoot) OnVMStart(int) bool { r.started++; r.maybePanic("vmstart"); return true }
func (r *testRoot) OnConfigure(c []byte) bool {
	r.maybePanic("configure")
	r.config = append(r.config, string(c))
	return true
}
func (r *testRoot) NewStream(id uint32) Stream {
	r.maybePanic("newstream")
	if r.noStream {
		return nil
	}
	r.created++
	s := &testStream{root: r}
	if r.streams == nil {
		r.streams = map[uint32]*testStream{}
	}
	r.streams[id] = s
	return s
}

type testStream struct {
	response       [][2]string // the response headers it read
	root           *testRoot
	calls          []string
	origin, header string
}

func (s *testStream) OnRequestHeaders(n int, eos bool) types.Action {
	s.calls = append(s.calls, "request")
	s.root.maybePanic("request")
	s.origin, _ = GetHeader(MapRequestHeaders, "origin")
	if s.root.readAgain {
		s.origin, _ = GetHeader(MapRequestHeaders, "origin")
	}
	switch s.root.doneAfter {
	case "request":
		StreamDone()
	case "request, adding vary":
		StreamDoneAdding("vary", "origin")
	case "request, handing over":
		StreamAddsToResponse([2]string{"access-control-allow-origin", s.origin}, handedLines, []uint32{7, 8})
	}
	return types.ActionPause
}

// handedLines are the lines the test streams hand over after their first.
var handedLines = [][2]string{{"access-control-allow-credentials", "true"}, {"vary", "origin"}}

func (s *testStream) OnResponseHeaders(n int, eos bool) types.Action {
	s.calls = append(s.calls, "response")
	s.root.maybePanic("response")
	if s.root.doneAfter == "request, handing over" {
		if ps, err := ReadHeaders(MapResponseHeaders); err == nil {
			s.response = ps.Append(nil)
		}
	}
	if s.root.doneAfter == "response" {
		StreamDone()
	}
	return types.ActionPause
}
func (s *testStream) OnDelete() { s.calls = append(s.calls, "delete"); s.root.maybePanic("delete") }

func TestLifecycle(t *testing.T) {
	h := &testHost{config: []byte(`{"policies":[]}`), request: [][2]string{{"origin", "https://a.test"}}}
	var r *testRoot
	errs := install(t, h, func(id uint32) Root { r = &testRoot{id: id}; return r })

	// Envoy: the root context first, then vm_start with its ID.
	onContextCreate(1, 0)
	if r == nil || r.id != 1 {
		t.Fatalf("root not created: %+v", r)
	}
	if !onVMStart(1, 0) || r.started != 1 {
		t.Fatal("vm_start not delivered")
	}
	if !onConfigure(1, uint32(len(h.config))) || !slices.Equal(r.config, []string{string(h.config)}) {
		t.Fatalf("configure got %q", r.config)
	}
	onContextCreate(2, 1)
	if got := onRequestHeaders(2, 1, 0); got != types.ActionPause {
		t.Fatalf("request headers = %v", got)
	}
	if s := r.streams[2]; s.origin != "https://a.test" {
		t.Fatalf("origin = %q", s.origin)
	}
	onResponseHeaders(2, 0, 1)
	onDelete(2)
	if got := r.streams[2].calls; !slices.Equal(got, []string{"request", "response", "delete"}) {
		t.Fatalf("stream calls = %q", got)
	}
	if cb.streams.get(2) != nil {
		t.Fatal("stream not deleted")
	}
	// Callbacks for a deleted or unknown stream are no-ops.
	if got := onRequestHeaders(2, 1, 0); got != types.ActionContinue {
		t.Fatalf("unknown stream: %v", got)
	}
	onDelete(99)
	onDelete(1)
	if len(roots) != 0 || *errs != 0 || len(h.logs) != 0 {
		t.Fatalf("roots %v, internal errors %d, logs %q", roots, *errs, h.logs)
	}
}

func TestEmulatorOrder(t *testing.T) {
	// The SDK's emulator calls vm_start with root ID 0, before or after
	// creating the root context.
	h := &testHost{}
	var created []uint32
	install(t, h, func(id uint32) Root { created = append(created, id); return &testRoot{id: id} })
	if !onVMStart(0, 0) {
		t.Fatal("vm_start(0) before any context = false")
	}
	onContextCreate(1, 0)
	if !onVMStart(0, 0) {
		t.Fatal("vm_start(0) after the root = false")
	}
	if !onConfigure(1, 0) {
		t.Fatal("configure without configuration = false")
	}
	// A host that configures a root it never announced still gets one.
	if !onConfigure(7, 0) {
		t.Fatal("configure of an unannounced root = false")
	}
	if !slices.Equal(created, []uint32{1, 7}) {
		t.Fatalf("roots created: %v", created)
	}
	// A stream whose parent is unknown is ignored.
	onContextCreate(5, 0)
	onContextCreate(6, 42)
	if got := onRequestHeaders(6, 0, 0); got != types.ActionContinue {
		t.Fatalf("orphan stream: %v", got)
	}
}

func TestNilStream(t *testing.T) {
	install(t, &testHost{}, func(id uint32) Root { return &testRoot{id: id, noStream: true} })
	onContextCreate(1, 0)
	onContextCreate(2, 1)
	if got := onRequestHeaders(2, 0, 0); got != types.ActionContinue {
		t.Fatalf("stream the plugin declined: %v", got)
	}
}

func TestPanicsAreRecovered(t *testing.T) {
	tests := []struct {
		panicOn string
		call    func() any
		want    any
	}{
		{"vmstart", func() any { return onVMStart(1, 0) }, false},
		{"configure", func() any { return onConfigure(1, 0) }, false},
		// NewStream runs in the stream's first callback.
		{"newstream", func() any { return onRequestHeaders(2, 0, 0) }, types.ActionContinue},
		{"request", func() any { return onRequestHeaders(2, 0, 0) }, types.ActionContinue},
		{"response", func() any { return onResponseHeaders(2, 0, 0) }, types.ActionContinue},
		{"delete", func() any { onRequestHeaders(2, 0, 0); onDelete(2); return nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.panicOn, func(t *testing.T) {
			h := &testHost{request: [][2]string{{"origin", "o"}}}
			r := &testRoot{id: 1}
			errs := install(t, h, func(uint32) Root { return r })
			onContextCreate(1, 0)
			onContextCreate(2, 1)
			r.panicOn = tt.panicOn
			if got := tt.call(); got != tt.want {
				t.Fatalf("returned %v, want %v", got, tt.want)
			}
			if *errs != 1 {
				t.Fatalf("internal error hook called %d times", *errs)
			}
			if len(h.logs) != 1 || !strings.HasPrefix(h.logs[0], "error: abi: panic in proxy_on_") || !strings.HasSuffix(h.logs[0], "boom in "+tt.panicOn) {
				t.Fatalf("logs = %q", h.logs)
			}
		})
	}
}

func TestPanickingHookDoesNotTrap(t *testing.T) {
	h := &testHost{}
	r := &testRoot{id: 1, panicOn: "configure"}
	install(t, h, func(uint32) Root { return r })
	SetInternalErrorHook(func() { panic("hook") })
	if onConfigure(1, 0) {
		t.Fatal("configure = true after a panic")
	}
}

func TestPanicString(t *testing.T) {
	var nilMap map[string]int
	err := func() (v any) {
		defer func() { v = recover() }()
		nilMap["x"] = 1
		return nil
	}()
	for _, tt := range []struct {
		v    any
		want string
	}{
		{"text", "text"},
		{errors.New("an error"), "an error"},
		{err, "assignment to entry in nil map"},
		{42, "42"},
		{struct{}{}, "(a panic value of a type that cannot be printed)"},
	} {
		if got := panicString(tt.v); got != tt.want {
			t.Errorf("panicString(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestConfigureReadFailure(t *testing.T) {
	h := &testHost{config: []byte("{}"), failStatus: 10}
	r := &testRoot{id: 1}
	install(t, h, func(uint32) Root { return r })
	onContextCreate(1, 0)
	if onConfigure(1, 2) {
		t.Fatal("configure = true when the configuration cannot be read")
	}
	if len(r.config) != 0 || len(h.logs) != 1 || !strings.Contains(h.logs[0], "reading the plugin configuration") {
		t.Fatalf("config %q, logs %q", r.config, h.logs)
	}
}

// inCallback runs f as an exported callback does.
func inCallback(f func()) {
	enter()
	defer leave()
	f()
}

func TestHostCalls(t *testing.T) {
	h := &testHost{
		request:    [][2]string{{":method", "OPTIONS"}, {"origin", "https://a.test"}, {"x-empty", ""}, {"origin", "https://b.test"}},
		properties: map[string]string{"xds\x00route_name": "r1"},
	}
	errs := install(t, h, nil)
	inCallback(func() {
		if v, ok := GetHeader(MapRequestHeaders, "origin"); !ok || v != "https://a.test" {
			t.Errorf("GetHeader(origin) = %q, %v", v, ok)
		}
		if v, ok := GetHeader(MapRequestHeaders, "x-empty"); !ok || v != "" {
			t.Errorf("GetHeader(x-empty) = %q, %v", v, ok)
		}
		if _, ok := GetHeader(MapRequestHeaders, "absent"); ok {
			t.Error("GetHeader(absent) found")
		}
		hdrs, err := GetHeaders(MapRequestHeaders)
		if err != nil || !slices.Equal(hdrs, h.request) {
			t.Errorf("GetHeaders = %q, %v", hdrs, err)
		}
		if v, ok, err := GetProperty("xds", "route_name"); !ok || err != nil || string(v) != "r1" {
			t.Errorf("GetProperty = %q, %v, %v", v, ok, err)
		}
		if _, ok, err := GetProperty("xds", "cluster_name"); ok || err != nil {
			t.Errorf("GetProperty(absent) = %v, %v; want not found and no error", ok, err)
		}
		if err := AddHeader(MapResponseHeaders, "vary", "origin"); err != nil || !slices.Equal(h.added, [][2]string{{"vary", "origin"}}) {
			t.Errorf("AddHeader: %v, added %q", err, h.added)
		}
		h.added = nil
		lines := [][2]string{{"access-control-allow-origin", "https://a.test"}, {"vary", "origin"}}
		if failed, err := AddHeaders(MapResponseHeaders, lines); failed != "" || err != nil || !slices.Equal(h.added, lines) {
			t.Errorf("AddHeaders = %q, %v; added %q", failed, err, h.added)
		}
		if err := SetHeaders(MapResponseHeaders, [][2]string{{"vary", "origin"}}); err != nil || !slices.Equal(h.set, [][2]string{{"vary", "origin"}}) {
			t.Errorf("SetHeaders: %v, host got %q", err, h.set)
		}
		err = SendLocalResponse(204, [][2]string{{"access-control-allow-origin", "https://a.test"}}, nil, "cors_preflight")
		if err != nil || h.local == nil || h.local.code != 204 || h.local.details != "cors_preflight" || h.local.body != "" ||
			!slices.Equal(h.local.headers, [][2]string{{"access-control-allow-origin", "https://a.test"}}) {
			t.Errorf("SendLocalResponse: %v, host got %+v", err, h.local)
		}
		if err := SendLocalResponse(42, nil, nil, ""); err == nil {
			t.Error("SendLocalResponse(42) succeeded")
		}
		denial := [][2]string{{"vary", "origin, access-control-request-method"}, {"content-length", "0"}}
		err = SendLocalResponseSerialized(403, AppendPairs(nil, denial), "cors_preflight_denied")
		if err != nil || h.local == nil || h.local.code != 403 || h.local.details != "cors_preflight_denied" || h.local.body != "" ||
			!slices.Equal(h.local.headers, denial) {
			t.Errorf("SendLocalResponseSerialized: %v, host got %+v", err, h.local)
		}
		if err := SendLocalResponseSerialized(1000, nil, ""); err == nil {
			t.Error("SendLocalResponseSerialized(1000) succeeded")
		}
		id, err := DefineCounter("cors.x")
		if err != nil || id != 0 || !slices.Equal(h.metrics, []string{"cors.x"}) {
			t.Errorf("DefineCounter = %d, %v", id, err)
		}
		IncrementCounter(id, 3)
		if h.increment[id] != 3 {
			t.Errorf("counter = %d", h.increment[id])
		}
		Log(LogInfo, "hello")
		if h.logs[len(h.logs)-1] != "info: hello" {
			t.Errorf("logs = %q", h.logs)
		}
	})
	if *errs != 0 {
		t.Fatalf("internal errors: %d", *errs)
	}
}

func TestHostCallFailures(t *testing.T) {
	h := &testHost{request: [][2]string{{"origin", "o"}}, failStatus: 10}
	errs := install(t, h, nil)
	inCallback(func() {
		if _, ok := GetHeader(MapRequestHeaders, "origin"); ok {
			t.Error("GetHeader succeeded")
		}
		if _, _, err := GetProperty("xds", "route_name"); !errors.Is(err, types.ErrorInternalFailure) {
			t.Errorf("GetProperty err = %v", err)
		}
		if _, err := GetHeaders(MapRequestHeaders); !errors.Is(err, types.ErrorInternalFailure) {
			t.Errorf("GetHeaders err = %v", err)
		}
		if failed, err := AddHeaders(MapResponseHeaders, [][2]string{{"vary", "origin"}}); failed != "vary" || !errors.Is(err, types.ErrorInternalFailure) {
			t.Errorf("AddHeaders = %q, %v", failed, err)
		}
	})
	// GetHeader cannot return the error: it logs it and reports it to the
	// hook. GetProperty returns it, like GetHeaders.
	if *errs != 1 || len(h.logs) != 1 || !strings.HasPrefix(h.logs[0], "warn: abi: proxy_get_header_map_value(origin): ") {
		t.Fatalf("internal errors %d, logs %q", *errs, h.logs)
	}
}

func TestNotInHost(t *testing.T) {
	if _, err := GetHeaders(MapRequestHeaders); !errors.Is(err, ErrNotInHost) {
		t.Fatalf("GetHeaders natively: %v", err)
	}
	if err := SetHeaders(MapRequestHeaders, nil); !errors.Is(err, ErrNotInHost) {
		t.Fatalf("SetHeaders natively: %v", err)
	}
	if _, err := DefineCounter("x"); !errors.Is(err, ErrNotInHost) {
		t.Fatalf("DefineCounter natively: %v", err)
	}
}

func TestStatusError(t *testing.T) {
	for st, want := range map[uint32]error{
		0: nil, 1: types.ErrorStatusNotFound, 2: types.ErrorStatusBadArgument,
		7: types.ErrorStatusEmpty, 10: types.ErrorInternalFailure, 12: types.ErrorUnimplemented,
		statusNotInHost: ErrNotInHost,
	} {
		if got := statusError(st); got != want {
			t.Errorf("statusError(%d) = %v, want %v", st, got, want)
		}
	}
	if got := statusError(6).Error(); got != "proxy-wasm host status 6 (invalid memory access)" {
		t.Errorf("statusError(6) = %q", got)
	}
	if got := statusError(99).Error(); got != "proxy-wasm host status 99" {
		t.Errorf("statusError(99) = %q", got)
	}
}

func TestLogEnabledAsksTheHostsLevel(t *testing.T) {
	for _, tc := range []struct {
		name       string
		host       uint32 // the level the host reports
		failStatus uint32
		level      LogLevel
		want       bool
	}{
		{"a debug line with the host at trace", 0, 0, LogDebug, true},
		{"a debug line with the host at debug", 1, 0, LogDebug, true},
		{"a debug line with the host at info", 2, 0, LogDebug, false},
		{"an info line with the host at info", 2, 0, LogInfo, true},
		{"an error line with the host at critical", 5, 0, LogError, false},
		{"a debug line when the host cannot say", 2, 10, LogDebug, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			install(t, &testHost{level: tc.host, failStatus: tc.failStatus}, nil)
			if got := LogEnabled(tc.level); got != tc.want {
				t.Errorf("LogEnabled(%d) = %v, want %v", tc.level, got, tc.want)
			}
		})
	}
}

func TestStreamDoneEndsTheStreamsCallbacks(t *testing.T) {
	for _, tc := range []struct {
		doneAfter string
		want      []string
	}{
		{"", []string{"request", "response", "delete"}},
		{"request", []string{"request"}},
		{"response", []string{"request", "response"}},
	} {
		t.Run("done after "+cmp.Or(tc.doneAfter, "nothing"), func(t *testing.T) {
			h := &testHost{request: [][2]string{{"origin", "https://a.test"}}}
			r := &testRoot{doneAfter: tc.doneAfter}
			install(t, h, func(id uint32) Root { r.id = id; return r })
			onContextCreate(1, 0)
			onContextCreate(2, 1)
			onRequestHeaders(2, 1, 0)
			if got := onResponseHeaders(2, 0, 1); tc.doneAfter == "request" && got != types.ActionContinue {
				t.Errorf("response headers of a done stream = %v, want Continue", got)
			}
			onDelete(2)
			if got := r.streams[2].calls; !slices.Equal(got, tc.want) {
				t.Errorf("stream calls = %q, want %q", got, tc.want)
			}
			if cb.streams.get(2) != nil || len(spare) != 1 || spare[0].done {
				t.Errorf("the stream's context is not released afresh: live %v, %d spare", cb.streams.get(2) != nil, len(spare))
			}
			// The next stream in the released context gets every callback.
			r.doneAfter = ""
			onContextCreate(3, 1)
			onRequestHeaders(3, 1, 0)
			onResponseHeaders(3, 0, 1)
			onDelete(3)
			if got := r.streams[3].calls; !slices.Equal(got, []string{"request", "response", "delete"}) {
				t.Errorf("the next stream's calls = %q", got)
			}
		})
	}
	StreamDone() // outside a callback: nothing to end, and no panic
}

func TestStreamDoneAddingAddsTheLineWithoutCallingTheStream(t *testing.T) {
	for _, reused := range []bool{false, true} {
		t.Run("streams reused "+strconv.FormatBool(reused), func(t *testing.T) {
			testStreamDoneAdding(t, reused)
		})
	}
	StreamDoneAdding("vary", "origin") // outside a callback: nothing to end, and no panic
}

func testStreamDoneAdding(t *testing.T, reused bool) {
	h := &testHost{request: [][2]string{{"origin", "https://a.test"}}}
	r := &testRoot{doneAfter: "request, adding vary"}
	errs := install(t, h, func(id uint32) Root { r.id = id; return r })
	cb.reuse = reused
	onContextCreate(1, 0)
	exchange := func(id uint32, response bool) {
		onContextCreate(id, 1)
		onRequestHeaders(id, 1, 0)
		if response {
			if got := onResponseHeaders(id, 0, 1); got != types.ActionContinue {
				t.Errorf("response headers of stream %d = %v, want Continue", id, got)
			}
		}
		onDelete(id)
	}

	exchange(2, true)
	if got := r.streams[2].calls; !slices.Equal(got, []string{"request"}) {
		t.Errorf("stream calls = %q, want the request's only", got)
	}
	if want := [][2]string{{"vary", "origin"}}; !slices.Equal(h.added, want) {
		t.Errorf("response lines added = %q, want %q", h.added, want)
	}
	// A line asked for by a stream whose response never came is not added
	// to the next stream's response (the context is handed on).
	h.added = nil
	exchange(3, false)
	r.doneAfter = "request"
	exchange(4, true)
	if len(h.added) != 0 {
		t.Errorf("a stream that called StreamDone got a line asked for before: %q", h.added)
	}
	// A failed add is logged and counted; the response goes on.
	r.doneAfter = "request, adding vary"
	onContextCreate(5, 1)
	onRequestHeaders(5, 1, 0)
	h.failStatus = 10 // InternalFailure
	before := *errs
	if got := onResponseHeaders(5, 0, 1); got != types.ActionContinue {
		t.Errorf("response headers when the add fails = %v, want Continue", got)
	}
	if *errs != before+1 || len(h.logs) == 0 || !strings.Contains(h.logs[len(h.logs)-1], "proxy_add_header_map_value(vary)") {
		t.Errorf("a failed add: %d internal errors, logs %q", *errs-before, h.logs)
	}
	onDelete(5)
}

// TestReuseStreamsHandsAStreamToTheNextStreamOfItsRoot runs streams whose
// IDs land in the same slot of the table (16 slots at first), where a
// finished stream's context stays parked for the next one of its root.
func TestReuseStreamsHandsAStreamToTheNextStreamOfItsRoot(t *testing.T) {
	h := &testHost{request: [][2]string{{"origin", "https://a.test"}}}
	rs := map[uint32]*testRoot{}
	install(t, h, func(id uint32) Root { rs[id] = &testRoot{id: id}; return rs[id] })
	ReuseStreams()
	onContextCreate(1, 0)
	onContextCreate(10, 0)
	r := rs[1]
	exchange := func(id, root uint32) *testStream {
		onContextCreate(id, root)
		onRequestHeaders(id, 1, 0)
		s := cb.streams.get(id).Stream.(*testStream)
		onResponseHeaders(id, 0, 1)
		onDelete(id)
		return s
	}
	const slots = 16
	first := exchange(2, 1)
	if second := exchange(2+slots, 1); second != first || r.created != 1 {
		t.Fatalf("the next stream of the root in the slot got a new Stream (NewStream calls: %d)", r.created)
	}
	if other := exchange(2+2*slots, 10); other == first || rs[10].created != 1 {
		t.Fatal("a stream of another root got the first root's Stream")
	}
	// The other root's stream took the slot: the first root's context went
	// to the spare ones, and its next stream, in another slot, gets it.
	if again := exchange(3, 1); again != first || r.created != 1 {
		t.Fatalf("a stream of the root did not get the context the other root's stream put aside (NewStream calls: %d)", r.created)
	}
	// A stream whose reads outgrew its arena's chunk may view memory the
	// arena dropped: its Stream is not kept.
	h.request[0][1] = strings.Repeat("x", arenaChunk*3/4)
	r.readAgain = true
	grew := exchange(4, 1)
	r.readAgain = false
	h.request[0][1] = "https://a.test"
	if after := exchange(4+slots, 1); after == grew {
		t.Fatal("a Stream that viewed a replaced chunk was kept")
	}
	// Nor one whose arena's chunk is not kept.
	h.request[0][1] = strings.Repeat("x", arenaKeep+1)
	big := exchange(8, 1)
	h.request[0][1] = "https://a.test"
	if after := exchange(8+slots, 1); after == big {
		t.Fatal("a Stream that viewed a dropped chunk was kept")
	}
	// A stream whose OnDelete panicked is not reused.
	r.panicOn = "delete"
	panicked := exchange(6, 1)
	r.panicOn = ""
	if after := exchange(6+slots, 1); after == panicked {
		t.Fatal("a Stream whose OnDelete panicked was reused")
	}
	// A stream that read nothing into its arena (the host returned no
	// data) is kept too.
	h.request = nil
	nothing := exchange(12, 1)
	if after := exchange(12+slots, 1); after != nothing {
		t.Fatal("a Stream that read nothing was not kept")
	}
	// A stream that ends itself (StreamDone) is parked the same way, with
	// the arenas' bytes counted.
	h.request = [][2]string{{"origin", "https://a.test"}}
	r.doneAfter = "response"
	ended := exchange(14, 1)
	after := exchange(14+slots, 1)
	if after != ended || !slices.Equal(after.calls[len(after.calls)-4:], []string{"request", "response", "request", "response"}) {
		t.Fatalf("a stream that ended itself was not kept, or got OnDelete: %q", after.calls)
	}
	r.doneAfter = ""
	checkSpareBytes(t)
	// Deleting a root drops the Streams the released contexts keep of it,
	// parked or spare.
	onDelete(1)
	for _, c := range spare {
		if c.Stream != nil && c.rootID == 1 {
			t.Fatal("a released context keeps a Stream of a deleted root")
		}
	}
	for _, s := range cb.streams.direct {
		if s.id == 0 && s.c != nil && s.c.rootID == 1 {
			t.Fatal("a parked context keeps a Stream of a deleted root")
		}
	}
	checkSpareBytes(t)
}

// checkSpareBytes checks that cb.spareBytes and cb.parked count what the
// released contexts hold, spare and parked.
func checkSpareBytes(t *testing.T) {
	t.Helper()
	kept, parked := 0, 0
	for _, c := range spare {
		kept += len(c.mem.chunk)
	}
	for _, s := range cb.streams.direct {
		if s.id == 0 && s.c != nil {
			kept += len(s.c.mem.chunk)
			parked++
		}
	}
	if kept != cb.spareBytes || parked != cb.parked {
		t.Fatalf("released arenas hold %d bytes, counted %d; %d contexts parked, counted %d", kept, cb.spareBytes, parked, cb.parked)
	}
}

// TestReuseStreamsKeepsEachRootsStreams checks that roots taking turns (two
// plugin configurations in one VM, one stream at a time) keep their
// Streams: NewStream runs once per root, not once per turn.
func TestReuseStreamsKeepsEachRootsStreams(t *testing.T) {
	for _, ends := range []bool{false, true} {
		t.Run("streams that end themselves "+strconv.FormatBool(ends), func(t *testing.T) {
			h := &testHost{request: [][2]string{{"origin", "https://a.test"}}}
			rs := map[uint32]*testRoot{}
			install(t, h, func(id uint32) Root { rs[id] = &testRoot{id: id}; return rs[id] })
			ReuseStreams()
			onContextCreate(1, 0)
			onContextCreate(2, 0)
			if ends {
				rs[1].doneAfter, rs[2].doneAfter = "response", "response"
			}
			exchange := func(id, root uint32) {
				onContextCreate(id, root)
				onRequestHeaders(id, 1, 0)
				onResponseHeaders(id, 0, 1)
				onDelete(id)
			}
			// Streams of IDs in sequence, one at a time. A stream that got
			// OnDelete leaves its context in spare, for the next stream of
			// its root; one that ended itself parks it in its slot of the
			// table (16 slots), so the roots' streams get a Stream per slot
			// at first (8 per root), and none after.
			for id := uint32(10); id < 200; id++ {
				exchange(id, 1+id%2)
			}
			want, wantParked, wantSpare := 1, 0, 2
			if ends {
				want, wantParked, wantSpare = 8, 16, 0
			}
			if rs[1].created != want || rs[2].created != want || cb.parked != wantParked || len(spare) != wantSpare {
				t.Errorf("NewStream calls: %d and %d, want %d each; %d contexts parked, %d spare, want %d and %d",
					rs[1].created, rs[2].created, want, cb.parked, len(spare), wantParked, wantSpare)
			}
			checkSpareBytes(t)
			// Roots taking turns in one slot: the first turns may need one
			// more Stream (the other root's contexts are parked elsewhere),
			// then the two hand theirs over through spare.
			turns := func(from uint32) {
				for id := from; id < from+160; id += 16 {
					exchange(id, 1+(id/16)%2)
				}
			}
			turns(300)
			one, two := rs[1].created, rs[2].created
			if one > want+1 || two > want+1 {
				t.Errorf("roots taking turns in a slot: NewStream calls %d and %d, want at most %d each", one, two, want+1)
			}
			turns(460) // the same slot
			if rs[1].created != one || rs[2].created != two {
				t.Errorf("roots taking turns in a slot again: NewStream calls %d and %d, want still %d and %d", rs[1].created, rs[2].created, one, two)
			}
			checkSpareBytes(t)
		})
	}
}

// TestParkedContextsAreBoundedAndCounted runs bursts of streams that end
// themselves: the table grows under parked contexts, which go to spare
// then, and no more than maxParked stay parked, the arenas' bytes counted
// throughout.
func TestParkedContextsAreBoundedAndCounted(t *testing.T) {
	h := &testHost{request: [][2]string{{"origin", "https://a.test"}}}
	var r *testRoot
	install(t, h, func(id uint32) Root { r = &testRoot{id: id, doneAfter: "response"}; return r })
	ReuseStreams()
	onContextCreate(1, 0)
	burst := func(from, n uint32) {
		for id := from; id < from+n; id++ {
			onContextCreate(id, 1)
			onRequestHeaders(id, 1, 0)
			onResponseHeaders(id, 0, 1)
		}
		for id := from; id < from+n; id++ {
			onDelete(id)
		}
	}
	burst(10, 40)
	if cb.parked != 40 || cb.streams.n != 0 {
		t.Fatalf("after 40 streams: %d parked, %d live; want 40 and 0", cb.parked, cb.streams.n)
	}
	checkSpareBytes(t)
	before := len(cb.streams.direct)
	burst(1000, 100) // grows the table, which puts the parked contexts in spare
	if len(cb.streams.direct) <= before {
		t.Fatalf("100 streams at once did not grow the table of %d slots", before)
	}
	checkSpareBytes(t)
	burst(5000, 600)
	if cb.parked != maxParked || len(spare) > maxSpare || cb.spareBytes > maxSpareBytes {
		t.Errorf("after 600 streams at once: %d parked (want %d), %d spare (at most %d), %d bytes (at most %d)",
			cb.parked, maxParked, len(spare), maxSpare, cb.spareBytes, maxSpareBytes)
	}
	checkSpareBytes(t)
	// Streams in sequence reuse what is kept: no Stream made.
	made := r.created
	burst(9000, 1)
	burst(9001, 1)
	if r.created != made {
		t.Errorf("streams after the bursts made %d new Streams, want none", r.created-made)
	}
}

// TestADeletedRootsLiveStreamsAreNotKept deletes a root while one of its
// streams runs: the stream ends normally, and its context is neither
// parked nor kept with its Stream for the root's ID.
func TestADeletedRootsLiveStreamsAreNotKept(t *testing.T) {
	h := &testHost{request: [][2]string{{"origin", "https://a.test"}}}
	rs := map[uint32]*testRoot{}
	install(t, h, func(id uint32) Root { rs[id] = &testRoot{id: id, doneAfter: "response"}; return rs[id] })
	ReuseStreams()
	onContextCreate(1, 0)
	onContextCreate(5, 1)
	onRequestHeaders(5, 1, 0)
	old := cb.streams.get(5).Stream
	onDelete(1) // the root
	onResponseHeaders(5, 0, 1)
	onDelete(5)
	if cb.parked != 0 {
		t.Fatalf("a deleted root's stream was parked")
	}
	checkSpareBytes(t)
	onContextCreate(1, 0) // a new root of the same ID
	onContextCreate(5+16, 1)
	onRequestHeaders(5+16, 1, 0)
	if s := cb.streams.get(5 + 16).Stream; s == old || rs[1].created != 1 {
		t.Errorf("the new root's stream got the deleted root's Stream (NewStream calls %d)", rs[1].created)
	}
	onResponseHeaders(5+16, 0, 1)
	onDelete(5 + 16)
}

// TestStreamAddsToResponseAddsTheLinesWithoutCallingTheStream holds the
// Go side of StreamAddsToResponse (what a module without the post-link
// step runs; the built module's plain WebAssembly is internal/fastpath's):
// the lines added and the counters incremented without the stream when
// no response line is the stream's, the stream called with the map read
// once otherwise, a refused add reported.
func TestStreamAddsToResponseAddsTheLinesWithoutCallingTheStream(t *testing.T) {
	ResponseNamesForStream("access-control-", "vary")
	t.Cleanup(func() { ResponseNamesForStream() })
	for _, tc := range []struct {
		name       string
		response   [][2]string
		addStatus  uint32
		wantCalls  []string
		wantAdded  int
		wantErrors int
	}{
		{name: "no line of the stream's: added without the stream", response: [][2]string{{":status", "200"}, {"content-type", "text/plain"}},
			wantCalls: []string{"request"}, wantAdded: 3},
		{name: "a vary line: the stream's, with the map read once", response: [][2]string{{":status", "200"}, {"vary", "accept-encoding"}},
			wantCalls: []string{"request", "response", "delete"}},
		{name: "an access-control line: the stream's", response: [][2]string{{"access-control-allow-origin", "*"}},
			wantCalls: []string{"request", "response", "delete"}},
		{name: "a refused add: reported, the counters counted", response: [][2]string{{":status", "200"}},
			addStatus: 10, wantCalls: []string{"request"}, wantErrors: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &testHost{request: [][2]string{{"origin", "https://a.test"}}, response: tc.response}
			r := &testRoot{doneAfter: "request, handing over"}
			errs := install(t, h, func(id uint32) Root { r.id = id; return r })
			onContextCreate(1, 0)
			onContextCreate(2, 1)
			onRequestHeaders(2, 1, 0)
			h.pairsReads, h.addStatus = 0, tc.addStatus
			got := onResponseHeaders(2, 0, 1)
			if !slices.Contains(tc.wantCalls, "response") && got != types.ActionContinue {
				t.Errorf("response headers = %v, want Continue", got)
			}
			onDelete(2)
			s := r.streams[2]
			if !slices.Equal(s.calls, tc.wantCalls) {
				t.Errorf("stream calls = %q, want %q", s.calls, tc.wantCalls)
			}
			want := [][2]string{{"access-control-allow-origin", "https://a.test"}, handedLines[0], handedLines[1]}
			if !slices.Equal(h.added, want[:tc.wantAdded]) {
				t.Errorf("added %q, want %q", h.added, want[:tc.wantAdded])
			}
			if h.pairsReads != 1 {
				t.Errorf("the response map read %d times, want once", h.pairsReads)
			}
			if slices.Contains(tc.wantCalls, "response") && !slices.Equal(s.response, tc.response) {
				t.Errorf("the stream read %q, want the response %q", s.response, tc.response)
			}
			counted := h.increment[7] == 1 && h.increment[8] == 1
			if wantCounted := !slices.Contains(tc.wantCalls, "response"); counted != wantCounted {
				t.Errorf("counters %v, want counted %v", h.increment, wantCounted)
			}
			if *errs != tc.wantErrors {
				t.Errorf("%d internal errors, want %d (logs %q)", *errs, tc.wantErrors, h.logs)
			}
		})
	}
}
