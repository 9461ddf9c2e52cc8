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
	// stream alone. It is called when the stream's first callback runs.
	NewStream(contextID uint32) Stream
}

// Stream is the context of one HTTP stream.
type Stream interface {
	// OnRequestHeaders is called with the request headers; read them with
	// GetHeader or RequestHeaders.
	OnRequestHeaders(numHeaders int, endOfStream bool) types.Action
	// OnResponseHeaders is called with the response headers; read them with
	// GetHeader or AppendHeaders (MapResponseHeaders). It is not called
	// after the stream called StreamDone.
	OnResponseHeaders(numHeaders int, endOfStream bool) types.Action
	// OnDelete is called when the host deletes the stream, unless the
	// stream called StreamDone: the stream is over, and this is its last
	// call. The values the stream read from the host are reused after it
	// returns: the stream must drop (or copy) them, unless the layer keeps
	// the Stream with them (ReuseStreams).
	OnDelete()
}

// The module exports neither proxy_on_done nor proxy_on_log: a host skips
// the callbacks a module does not export (proxy-wasm-cpp-host, which Envoy
// embeds, treats a missing proxy_on_done as "done"), and each would cost a
// Go entry per stream for nothing. A stream's end is proxy_on_delete.

var (
	newRoot       func(rootID uint32) Root
	internalError func()
	roots         []rootEntry      // few: one per plugin configuration in the VM
	spare         []*streamContext // released stream contexts, for reuse (besides the parked ones)
)

// rootEntry is a root context and its ID.
type rootEntry struct {
	id   uint32
	root Root
}

// streamContext is a stream, the root it belongs to and the arena its host
// replies are written to. Stream is nil until the stream's first callback
// asks its root for it (NewStream), and stays nil if the root declines;
// with ReuseStreams, a released context keeps its Stream for a later
// stream of the same root.
type streamContext struct {
	Stream
	root    Root
	rootID  uint32 // root's, compared where comparing root would call the runtime
	created bool   // NewStream was called, or the Stream is reused
	done    bool   // the stream called StreamDone: no more callbacks
	mem     arena
	// add says the stream called StreamDoneAdding: the layer adds the line
	// addName: addValue to the response headers. The strings are left
	// behind until the context is released (release), as clearing them
	// costs every stream the stores and their write barriers. addFailed is
	// the status of an add the built module's plain-WebAssembly
	// proxy_on_response_headers made and the host refused, for Go's to
	// report (it then calls Go's).
	add               bool
	addFailed         uint32
	addName, addValue string
	// addLines says the stream called StreamAddsToResponse: the layer adds
	// addName: addValue, then lines, to the response headers, unless a
	// line of the response is the stream's to see (ResponseNamesForStream).
	// addFailedLine is the index of the line whose add the host refused
	// (0: addName's; the lines after it are not added). preData and
	// preSize are the response's header map the layer read (preSize 0:
	// none), for the stream's own read (ReadHeaders, AppendHeaders) when
	// the layer hands it the response.
	lines         [][2]string
	addLines      bool
	addFailedLine uint32
	preData       uint32
	preSize       uint32
	// counters are the counters StreamAddsToResponse increments by one
	// after the lines.
	counters []uint32
}

// maxSpare bounds the released stream contexts kept in spare, maxParked
// those parked in the table (contexts), and maxSpareBytes the memory the
// arenas of both keep in all (cb.spareBytes): a burst of streams with
// large headers does not stay pinned in the VM.
const (
	maxSpare      = 256
	maxParked     = 256
	maxSpareBytes = 4 << 20
)

// ReuseStreams lets the ABI layer keep a Stream after its stream ends and
// hand it to a later stream of the same root instead of calling
// Root.NewStream: the plugin's streams must then not count on starting
// fresh. A Stream is kept only with the arena its stream read into, and
// only when everything the stream read lies in the memory the arena keeps
// (the stream's data fit in the arena's chunk, and the chunk is kept), so
// that a kept Stream's views of host data pin nothing more. The context of
// a stream that ended itself (StreamDone) stays parked in its slot of the
// layer's context table, for the next stream of the same root that lands
// there (the built module does that in plain WebAssembly, without
// entering Go); others go to a list of released contexts. Each holds up
// to 256 contexts, and their arenas 4 MiB in all. Call it from init.
func ReuseStreams() { cb.reuse = true }

// StreamDone tells the ABI layer that the stream whose callback is
// running needs no more callbacks: its OnResponseHeaders (if still to
// come) and its OnDelete are not called. Outside a stream's callback it
// does nothing.
func StreamDone() {
	if c := cb.stream; c != nil {
		c.done = true
	}
}

// StreamDoneAdding is StreamDone for a stream whose only work left is one
// header line to add to the response: when the response headers come, the
// layer adds name: value itself, without calling the Stream, which spares
// the plugin's callback and its recovery (most of a request's cost when
// the plugin has nothing else to do). A failed add is logged and reported
// to the internal error hook. Outside a stream's callback it does nothing.
func StreamDoneAdding(name, value string) {
	if c := cb.stream; c != nil {
		c.done, c.add = true, true
		c.addName, c.addValue = name, value
	}
}

// ResponseNamesForStream sets the prefixes of response header names that
// make the layer hand a response to the stream's OnResponseHeaders rather
// than add StreamAddsToResponse's lines itself: names whose lines the
// stream must see, change or remove (a CORS filter's "access-control-"
// and "vary"). A prefix may be a whole name. Call it from init.
func ResponseNamesForStream(prefixes ...string) { cb.handOff = prefixes }

// StreamAddsToResponse hands the stream's response work to the layer:
// when the response headers come, the layer reads them and, unless a
// line's name begins with one of the prefixes ResponseNamesForStream set,
// adds the line first, then each of lines, increments each of counters
// by one, and ends the stream (as StreamDone) without calling
// OnResponseHeaders: the built module does that in plain WebAssembly
// (internal/fastpath). Otherwise the stream's OnResponseHeaders runs as
// usual (the counters are then the stream's to count), and its read of
// the response headers (ReadHeaders, AppendHeaders) is served from the
// map the layer read, without a second host call. lines and counters
// must stay as they are until then (sets built once per configuration);
// first is the stream's own. A refused add is logged and reported to the
// internal error hook, the lines after it are not added, and the counters
// are incremented. Outside a stream's callback it does nothing.
func StreamAddsToResponse(first [2]string, lines [][2]string, counters []uint32) {
	if c := cb.stream; c != nil {
		c.addLines = true
		c.addName, c.addValue, c.lines, c.counters = first[0], first[1], lines, counters
	}
}

// addResponseLines is StreamAddsToResponse's work when the response
// headers come, for a module without the plain-WebAssembly callback (the
// native tests, a build without the post-link step): it reports whether
// it added the lines and ended the stream, or leaves the response, which
// it read, to the stream.
func (c *streamContext) addResponseLines() bool {
	c.addLines = false
	cb.stream = c // the reply goes to the stream's arena
	defer func() { cb.stream = nil }()
	st, data, size := callGetHeaderMapPairs(uint32(MapResponseHeaders))
	afterHostReply()
	if st != statusOK {
		return false // the stream's read fails too, and reports it
	}
	c.preData, c.preSize = data, size
	if forStream(data, size) {
		return false
	}
	c.preSize, cb.last = 0, 0
	c.done = true
	c.addFailedLine = 0
	c.addFailed = callAddHeaderMapValue(uint32(MapResponseHeaders), c.addName, c.addValue)
	for i := 0; i < len(c.lines) && c.addFailed == statusOK; i++ {
		c.addFailedLine = uint32(i + 1)
		c.addFailed = callAddHeaderMapValue(uint32(MapResponseHeaders), c.lines[i][0], c.lines[i][1])
	}
	for _, id := range c.counters {
		callIncrementMetric(id, 1)
	}
	c.reportAdd()
	return true
}

// forStream says whether the header map of size bytes at data, the
// running stream's last allocation, has a line whose name begins with one
// of cb.handOff, or is not a map ParsePairs reads (the stream's read then
// reports it).
func forStream(data, size uint32) bool {
	b, err := peekReply(data, size)
	if err != nil {
		return true
	}
	n := countPairs(b)
	if n < 0 {
		return true
	}
	ps := newPairs(b, n)
	for k, _, ok := ps.Next(); ok; k, _, ok = ps.Next() {
		for _, p := range cb.handOff {
			if len(k) >= len(p) && k[:len(p)] == p {
				return true
			}
		}
	}
	return false
}

// addResponseLine adds the line StreamDoneAdding asked for, once.
func (c *streamContext) addResponseLine() {
	c.add = false
	c.addFailed = callAddHeaderMapValue(uint32(MapResponseHeaders), c.addName, c.addValue)
	c.reportAdd()
}

// reportAdd logs and counts an add the host refused, once.
func (c *streamContext) reportAdd() {
	if st := c.addFailed; st != statusOK {
		c.addFailed = statusOK
		name := c.addName
		if i := int(c.addFailedLine); i > 0 && i <= len(c.lines) {
			name = c.lines[i-1][0]
		}
		c.addFailedLine = 0
		hostFailure("proxy_add_header_map_value("+name+")", failure(st))
	}
}

// takeSpare returns the last context released when it is root rootID's,
// with its arena and its Stream, or nil: the usual case, inlined.
func takeSpare(rootID uint32) *streamContext {
	n := len(spare)
	if n == 0 || spare[n-1].rootID != rootID {
		return nil
	}
	c := spare[n-1]
	spare = spare[:n-1]
	cb.spareBytes -= len(c.mem.chunk)
	return c
}

// newStreamContext returns a context for a stream of r when takeSpare
// has none: the latest context released of r's, else the latest without
// a Stream, else a new one. Taking another root's Stream away would make
// roots that take turns (two plugin configurations in one VM) allocate a
// Stream per turn, and the VM's memory grow with the garbage.
func newStreamContext(rootID uint32, r Root) *streamContext {
	i := len(spare) - 1
	for ; i >= 0 && spare[i].rootID != rootID; i-- {
	}
	if i < 0 {
		for i = len(spare) - 1; i >= 0 && spare[i].Stream != nil; i-- {
		}
	}
	if i < 0 {
		return &streamContext{root: r, rootID: rootID}
	}
	c := spare[i]
	last := len(spare) - 1
	spare[i] = spare[last]
	spare = spare[:last]
	cb.spareBytes -= len(c.mem.chunk)
	if c.rootID != rootID {
		c.Stream, c.root, c.rootID, c.created = nil, r, rootID, false
	}
	return c
}

// recycle is release in the usual case, where it inlines: a Stream kept
// for reuse whose stream read no more than its arena's chunk holds, and
// room among the spare contexts. It reports whether it released c.
func recycle(c *streamContext) bool {
	n := len(spare)
	if !cb.reuse || c.Stream == nil || c.rootID == 0 || c.mem.grew || len(c.mem.chunk) > arenaKeep ||
		n == cap(spare) || cb.spareBytes+len(c.mem.chunk) > maxSpareBytes {
		return false
	}
	c.done, c.add, c.addLines, c.preSize, c.mem.used = false, false, false, 0, 0
	cb.spareBytes += len(c.mem.chunk)
	spare = spare[:n+1]
	spare[n] = c
	return true
}

// release ends c's stream and keeps c for a later stream, with its arena
// and (ReuseStreams) its Stream, within maxSpare and maxSpareBytes.
func release(c *streamContext) {
	keep := cb.reuse && c.Stream != nil && c.rootID != 0 && !c.mem.grew
	had := c.mem.chunk != nil
	c.done, c.add, c.addLines, c.preSize = false, false, false, 0
	c.addName, c.addValue, c.lines = "", "", nil
	c.mem.reset()
	if len(spare) >= maxSpare {
		return
	}
	if cb.spareBytes+len(c.mem.chunk) > maxSpareBytes {
		c.mem.chunk = nil
	}
	if !keep || had && c.mem.chunk == nil {
		// The Stream may view memory the context does not keep.
		c.Stream, c.root, c.rootID, c.created = nil, nil, 0, false
	}
	cb.spareBytes += len(c.mem.chunk)
	if spare == nil {
		spare = make([]*streamContext, 0, maxSpare) // so that recycle has room
	}
	spare = append(spare, c)
}

// park is onDelete's usual case, which the built module's
// proxy_on_delete of plain WebAssembly runs itself (internal/fastpath):
// a stream that called StreamDone, whose Stream is kept for reuse and
// whose reads lie in its arena's chunk, leaves its context, reset, in its
// table slot, for the next stream of the same root that lands there. The
// slot keeps its pointer, so parking writes integers only. It reports
// whether it parked the context of id.
func park(id uint32) bool {
	t := &cb.streams
	if len(t.direct) == 0 || id == 0 {
		return false
	}
	s := &t.direct[id&uint32(len(t.direct)-1)]
	if s.id != id {
		return false
	}
	c := s.c
	if !cb.reuse || c.Stream == nil || !c.done || c.rootID == 0 || c.mem.grew || len(c.mem.chunk) > arenaKeep ||
		cb.parked >= maxParked || cb.spareBytes+len(c.mem.chunk) > maxSpareBytes {
		return false
	}
	c.done, c.add, c.mem.used = false, false, 0
	s.id = 0
	t.n--
	cb.parked++
	cb.spareBytes += len(c.mem.chunk)
	return true
}

// unpark is onContextCreate's usual case, which the built module's
// proxy_on_context_create of plain WebAssembly runs itself: the slot of a
// new stream of root rootID holds a context a stream of the same root
// parked, which the new stream takes on, Stream and arena. The table must
// have room and no overflow, as tryPut asks. It reports whether it did.
func unpark(id, rootID uint32) bool {
	t := &cb.streams
	if id == 0 || rootID == 0 || 2*(t.n+1) > len(t.direct) || t.over != nil {
		return false
	}
	s := &t.direct[id&uint32(len(t.direct)-1)]
	if s.id != 0 || s.c == nil || s.c.rootID != rootID {
		return false
	}
	s.id = id
	t.n++
	cb.parked--
	cb.spareBytes -= len(s.c.mem.chunk)
	return true
}

// evict takes the context parked in slot s out of the table, into spare
// (release): a stream of another root needs the slot, or the table is
// rebuilt.
func evict(s *contextSlot) {
	c := s.c
	s.c = nil
	cb.parked--
	cb.spareBytes -= len(c.mem.chunk)
	release(c)
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

// findRoot returns the root context rootID, or nil.
func findRoot(rootID uint32) Root {
	for _, e := range roots {
		if e.id == rootID {
			return e.root
		}
	}
	return nil
}

// root returns the root context rootID, creating it if the host skipped
// proxy_on_context_create (nil if no plugin is registered or rootID is 0).
// Only the root callbacks use it; a stream needs a root that exists.
func root(rootID uint32) Root {
	if r := findRoot(rootID); r != nil {
		return r
	}
	if rootID == 0 || newRoot == nil {
		return nil
	}
	r := newRoot(rootID)
	if r != nil {
		roots = append(roots, rootEntry{rootID, r})
	}
	return r
}

// deleteRoot forgets the root context rootID, and the Streams of it that
// released contexts keep. Its live streams go on, but their contexts lose
// the root's ID, so that none is parked or kept with its Stream.
func deleteRoot(rootID uint32) {
	for i, e := range roots {
		if e.id == rootID {
			for _, c := range spare {
				if c.rootID == rootID {
					c.Stream, c.root, c.rootID, c.created = nil, nil, 0, false
				}
			}
			for i := range cb.streams.direct {
				switch s := &cb.streams.direct[i]; {
				case s.c == nil || s.c.rootID != rootID:
				case s.id == 0: // parked: dropped
					cb.parked--
					cb.spareBytes -= len(s.c.mem.chunk)
					s.c = nil
				default:
					s.c.rootID = 0
				}
			}
			for _, c := range cb.streams.over {
				if c.rootID == rootID {
					c.rootID = 0
				}
			}
			last := len(roots) - 1
			copy(roots[i:], roots[i+1:])
			roots[last] = rootEntry{} // drop the reference
			roots = roots[:last]
			return
		}
	}
}

// The exported callbacks. They carry their //go:wasmexport directives
// themselves, which a native build ignores (the tests call them as Go
// functions), rather than behind wrappers: a wrapper is one more Wasm call
// per callback. Each one that runs plugin code brackets it with enter and leave (which releases the
// host's buffers) and recovers panics, returning the safe value: Continue
// for the header callbacks, false for vm_start and configure (a
// configuration whose handling panicked is refused). Callbacks for unknown
// contexts are no-ops.
//
// The deferred functions call recover only when the callback did not
// finish: a warm request then costs one deferred call per callback, not two
// (bench/, Wasm calls per exchange).

// onContextCreate records a context. A stream is only noted with its root:
// the root's NewStream runs in the stream's first callback, so that this
// callback runs no plugin code and needs no recovery.
//
//go:wasmexport proxy_on_context_create
func onContextCreate(contextID, parentID uint32) {
	if parentID == 0 {
		createRoot(contextID)
		return
	}
	r := findRoot(parentID)
	if r == nil {
		return // a stream of an unknown root: its callbacks are no-ops
	}
	if unpark(contextID, parentID) {
		return
	}
	c := takeSpare(parentID)
	if c == nil {
		c = newStreamContext(parentID, r)
	}
	if cb.streams.tryPut(contextID, c) {
		return
	}
	if old := cb.streams.put(contextID, c); old != nil {
		release(old) // a host that reuses a live ID: the old stream is gone
	}
}

// createRoot creates the root context rootID, replacing any of that ID.
// It is apart from onContextCreate, with its deferred recovery: a function
// with a defer pays for it on every path (the stream's too).
func createRoot(rootID uint32) {
	enter()
	finished := false
	defer func() {
		if !finished {
			recovered("proxy_on_context_create", rootID, recover())
		}
		leave()
	}()
	deleteRoot(rootID)
	root(rootID)
	finished = true
}

//go:wasmexport proxy_on_vm_start
func onVMStart(rootID, vmConfigSize uint32) (ok bool) {
	enter()
	finished := false
	defer func() {
		if !finished {
			recovered("proxy_on_vm_start", rootID, recover())
			ok = false
		}
		leave()
	}()
	// The SDK's emulator calls this with root ID 0 and no root context
	// (Envoy creates the root context first): there is nothing to start.
	r := root(rootID)
	ok = r == nil || r.OnVMStart(int(vmConfigSize))
	finished = true
	return ok
}

//go:wasmexport proxy_on_configure
func onConfigure(rootID, configSize uint32) (ok bool) {
	enter()
	finished := false
	defer func() {
		if !finished {
			recovered("proxy_on_configure", rootID, recover())
			ok = false
		}
		leave()
	}()
	ok = configure(rootID, configSize)
	finished = true
	return ok
}

func configure(rootID, configSize uint32) bool {
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

// stream returns the stream of context c, asking its root for it on the
// first call; nil when the root declined the stream.
func (c *streamContext) stream(contextID uint32) Stream {
	if !c.created {
		c.created = true
		c.Stream = c.root.NewStream(contextID)
	}
	return c.Stream
}

// onRequestHeaders and onResponseHeaders are twins on purpose: one helper
// taking the Stream method as a func value measured about 0.05x of the
// floor slower on every request (bench/, no origin), in Go's wasm code.
//
//go:wasmexport proxy_on_request_headers
func onRequestHeaders(contextID, numHeaders, endOfStream uint32) (action types.Action) {
	c := cb.streams.get(contextID)
	if c == nil || c.done {
		return types.ActionContinue
	}
	action = types.ActionContinue // what a panic returns
	enterStream(c)
	unfinished, unfinishedID = callbackRequestHeaders, contextID
	defer leaveHeaders()
	if s := c.stream(contextID); s != nil {
		action = s.OnRequestHeaders(int(numHeaders), endOfStream != 0)
	}
	unfinished = 0
	return action
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(contextID, numHeaders, endOfStream uint32) (action types.Action) {
	c := cb.streams.get(contextID)
	if c == nil {
		return types.ActionContinue
	}
	if c.done {
		// The built module's proxy_on_response_headers of plain
		// WebAssembly does this much itself (internal/fastpath), and calls
		// this one only to report a refused add.
		if c.add {
			c.addResponseLine()
		} else {
			c.reportAdd()
		}
		return types.ActionContinue
	}
	if c.addLines && c.addResponseLines() {
		return types.ActionContinue
	}
	action = types.ActionContinue // what a panic returns
	enterStream(c)
	unfinished, unfinishedID = callbackResponseHeaders, contextID
	defer leaveHeaders()
	if s := c.stream(contextID); s != nil {
		action = s.OnResponseHeaders(int(numHeaders), endOfStream != 0)
	}
	c.preSize = 0
	unfinished = 0
	return action
}

// The header callbacks' recovery keeps its state here rather than in a
// closure: a deferred call that captures nothing costs each callback less
// (bench/, scripts/wasm-instructions.sh). unfinished is the callback whose
// plugin code runs, from the call to its return; leaveHeaders, deferred,
// finds it set only when that code panicked.
const (
	callbackRequestHeaders = iota + 1
	callbackResponseHeaders
)

var (
	unfinished    uint8
	unfinishedID  uint32
	callbackNames = [...]string{callbackRequestHeaders: "proxy_on_request_headers", callbackResponseHeaders: "proxy_on_response_headers"}
)

// leaveHeaders ends a header callback: it recovers a panic of the plugin's
// code (the callback then returns the ActionContinue its result holds) and
// leaves.
func leaveHeaders() {
	if unfinished != 0 {
		recovered(callbackNames[unfinished], unfinishedID, recover())
		unfinished = 0
	}
	leave()
}

// onDelete ends a stream (its OnDelete, if its root ever created it) or
// forgets a root.
//
//go:wasmexport proxy_on_delete
func onDelete(contextID uint32) {
	if park(contextID) {
		return
	}
	c := cb.streams.remove(contextID)
	if c == nil {
		deleteRoot(contextID)
		return
	}
	if c.Stream == nil || c.done {
		if !recycle(c) {
			release(c)
		}
		return
	}
	deleteStream(c, contextID)
}

// deleteStream calls the stream's OnDelete and releases its context: apart
// from onDelete, with its deferred recovery, as createRoot is.
func deleteStream(c *streamContext, contextID uint32) {
	enterStream(c)
	finished := false
	defer func() {
		if !finished {
			recovered("proxy_on_delete", contextID, recover())
			c.Stream = nil // not for reuse: it panicked
		}
		leave()
		release(c)
	}()
	c.OnDelete()
	finished = true
}

// recovered logs a panic recovered in callback and calls the internal error
// hook.
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
	case nil:
		// runtime.Goexit, or panic(nil) before Go 1.21's PanicNilError.
		return "(no panic value)"
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
