package abi

import (
	"strconv"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// Root is a root (plugin) context: one per plugin configuration in a VM.
type Root interface {
	// OnVMStart is called once the VM has started, with the size of the VM
	// configuration; false makes the host fail the VM.
	OnVMStart(vmConfigSize int) bool
	// OnConfigure receives the plugin configuration (nil when empty); false
	// refuses it.
	OnConfigure(config []byte) bool
	// NewStream returns the context of a new HTTP stream, or nil to leave the
	// stream alone.
	NewStream(contextID uint32) Stream
	// OnDone is called when the host is done with the root context; it
	// returns whether the context may be deleted now (this package never
	// calls proxy_done, so return true).
	OnDone() bool
}

// Stream is the context of one HTTP stream.
type Stream interface {
	// OnRequestHeaders is called with the request headers; read them with
	// GetHeader or GetHeaders (MapRequestHeaders).
	OnRequestHeaders(numHeaders int, endOfStream bool) types.Action
	// OnResponseHeaders is called with the response headers; read them with
	// GetHeader or GetHeaders (MapResponseHeaders).
	OnResponseHeaders(numHeaders int, endOfStream bool) types.Action
	// OnDone is called when the stream is finished.
	OnDone()
	// OnDelete is called when the host deletes the stream; it is the last
	// call. The values the stream read from the host are reused after it
	// returns: the stream must drop (or copy) them.
	OnDelete()
}

var (
	newRoot       func(rootID uint32) Root
	internalError func()
	roots         = map[uint32]Root{}
	streams       = map[uint32]*streamContext{}
	spare         []*streamContext // deleted stream contexts, for reuse
)

// streamContext is a stream and the arena its host replies are written to.
type streamContext struct {
	Stream
	mem arena
}

// maxSpare bounds the deleted stream contexts kept for reuse, and
// maxSpareBytes the memory their arenas keep in all: a burst of streams
// with large headers does not stay pinned in the VM.
const (
	maxSpare      = 256
	maxSpareBytes = 4 << 20
)

// spareBytes is the memory the arenas of spare hold.
var spareBytes int

// newStreamContext returns a context for s, reusing a deleted one's arena.
func newStreamContext(s Stream) *streamContext {
	if n := len(spare); n > 0 {
		c := spare[n-1]
		spare[n-1] = nil
		spare = spare[:n-1]
		spareBytes -= len(c.mem.chunk)
		c.Stream = s
		return c
	}
	return &streamContext{Stream: s}
}

// release drops c's stream and keeps its arena for a later stream, within
// maxSpare and maxSpareBytes.
func release(c *streamContext) {
	c.Stream = nil
	c.mem.reset()
	if len(spare) >= maxSpare {
		return
	}
	if spareBytes+len(c.mem.chunk) > maxSpareBytes {
		c.mem.chunk = nil
	}
	spareBytes += len(c.mem.chunk)
	spare = append(spare, c)
}

// SetPlugin registers the function that creates the plugin's root contexts.
// Call it from init, and make no host call there: the host forbids most host
// calls while the module initializes.
func SetPlugin(newRootContext func(rootID uint32) Root) { newRoot = newRootContext }

// SetInternalErrorHook registers a function called when a callback panics
// (after the panic is logged) and when a host call fails in a way its API
// cannot report (see GetHeader and GetProperty), so the plugin can count
// internal errors. A panic in the hook is ignored.
func SetInternalErrorHook(hook func()) { internalError = hook }

// root returns the root context rootID, creating it if the host skipped
// proxy_on_context_create (nil if no plugin is registered or rootID is 0).
// Only the root callbacks use it; a stream needs a root that exists.
func root(rootID uint32) Root {
	if r, ok := roots[rootID]; ok {
		return r
	}
	if rootID == 0 || newRoot == nil {
		return nil
	}
	r := newRoot(rootID)
	if r != nil {
		roots[rootID] = r
	}
	return r
}

// The Go side of the exported callbacks (exports_wasip1.go). Each one brackets
// its work with enter and leave (which releases the host's buffers) and
// recovers panics, returning the safe value: Continue for the header
// callbacks, false for vm_start and configure (a configuration whose handling
// panicked is refused), true for done. Callbacks for unknown contexts are
// no-ops.

func onContextCreate(contextID, parentID uint32) {
	enter()
	defer func() {
		if v := recover(); v != nil {
			recovered("proxy_on_context_create", contextID, v)
		}
		leave()
	}()
	if parentID == 0 {
		delete(roots, contextID)
		root(contextID)
		return
	}
	r, ok := roots[parentID]
	if !ok {
		return // a stream of an unknown root: its callbacks are no-ops
	}
	if s := r.NewStream(contextID); s != nil {
		streams[contextID] = newStreamContext(s)
	}
}

func onVMStart(rootID, vmConfigSize uint32) (ok bool) {
	enter()
	defer func() {
		if v := recover(); v != nil {
			recovered("proxy_on_vm_start", rootID, v)
			ok = false
		}
		leave()
	}()
	// The SDK's emulator calls this with root ID 0 and no root context
	// (Envoy creates the root context first): there is nothing to start.
	r := root(rootID)
	if r == nil {
		return true
	}
	return r.OnVMStart(int(vmConfigSize))
}

func onConfigure(rootID, configSize uint32) (ok bool) {
	enter()
	defer func() {
		if v := recover(); v != nil {
			recovered("proxy_on_configure", rootID, v)
			ok = false
		}
		leave()
	}()
	r := root(rootID)
	if r == nil {
		Log(LogError, "abi: proxy_on_configure for unknown root context "+itoa(rootID))
		return false
	}
	var config []byte
	if configSize > 0 {
		var err error
		config, err = getBuffer(bufferPluginConfiguration, configSize)
		if err != nil {
			Log(LogError, "abi: reading the plugin configuration: "+err.Error())
			return false
		}
	}
	return r.OnConfigure(config)
}

// onRequestHeaders and onResponseHeaders are twins on purpose: one helper
// taking the Stream method as a func value measured about 0.05x of the
// floor slower on every request (bench/, no origin), in Go's wasm code.
func onRequestHeaders(contextID, numHeaders, endOfStream uint32) (action types.Action) {
	s, ok := streams[contextID]
	if !ok {
		return types.ActionContinue
	}
	enterStream(&s.mem)
	defer func() {
		if v := recover(); v != nil {
			recovered("proxy_on_request_headers", contextID, v)
			action = types.ActionContinue
		}
		leave()
	}()
	return s.OnRequestHeaders(int(numHeaders), endOfStream != 0)
}

func onResponseHeaders(contextID, numHeaders, endOfStream uint32) (action types.Action) {
	s, ok := streams[contextID]
	if !ok {
		return types.ActionContinue
	}
	enterStream(&s.mem)
	defer func() {
		if v := recover(); v != nil {
			recovered("proxy_on_response_headers", contextID, v)
			action = types.ActionContinue
		}
		leave()
	}()
	return s.OnResponseHeaders(int(numHeaders), endOfStream != 0)
}

func onDone(contextID uint32) (done bool) {
	enter()
	defer func() {
		if v := recover(); v != nil {
			recovered("proxy_on_done", contextID, v)
			done = true
		}
		leave()
	}()
	if s, ok := streams[contextID]; ok {
		current = &s.mem
		s.OnDone()
		return true
	}
	if r, ok := roots[contextID]; ok {
		return r.OnDone()
	}
	return true
}

func onDelete(contextID uint32) {
	enter()
	defer func() {
		if v := recover(); v != nil {
			recovered("proxy_on_delete", contextID, v)
		}
		leave()
	}()
	if s, ok := streams[contextID]; ok {
		delete(streams, contextID)
		s.OnDelete()
		release(s)
		return
	}
	delete(roots, contextID)
}

// recovered logs a panic recovered in callback and calls the internal error hook.
func recovered(callback string, contextID uint32, v any) {
	logPanic(callback, contextID, v)
	reportInternalError()
}

// logPanic logs a recovered panic at error level. A panic while describing
// the value (a String method that panics) is dropped: it must not trap.
func logPanic(callback string, contextID uint32, v any) {
	defer func() { _ = recover() }()
	Log(LogError, "abi: panic in "+callback+" (context "+itoa(contextID)+"): "+panicString(v))
}

// reportInternalError calls the internal error hook, if any; a panicking hook
// is ignored, it must not trap.
func reportInternalError() {
	defer func() { _ = recover() }()
	if internalError != nil {
		internalError()
	}
}

// panicString describes a panic value without fmt.
func panicString(v any) string {
	switch v := v.(type) {
	case error:
		return v.Error()
	case interface{ String() string }:
		return v.String()
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case bool:
		return strconv.FormatBool(v)
	}
	return "(a panic value of a type that cannot be printed)"
}
