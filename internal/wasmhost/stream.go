//go:build !wasip1

package wasmhost

import (
	"errors"
	"strconv"

	"github.com/tetratelabs/wazero/api"
)

// A Plugin is a root context: one plugin configuration loaded in a VM.
type Plugin struct {
	vm     *VM
	id     uint32
	closed bool
}

// ID is the root context's ID.
func (p *Plugin) ID() uint32 { return p.id }

// NewStream returns a new HTTP stream of the plugin. Its context ID is
// allocated now; the module hears of it (proxy_on_context_create) at its
// first callback, as in Envoy. Close it when done.
func (p *Plugin) NewStream() *Stream {
	p.vm.mu.Lock()
	defer p.vm.mu.Unlock()
	return &Stream{p: p, id: p.vm.newID(), props: map[string][]byte{}}
}

// Close ends the root context (proxy_on_done, then proxy_on_delete). Its
// streams must be closed first.
func (p *Plugin) Close() error {
	vm := p.vm
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if err := vm.usable(); err != nil {
		return err
	}
	return vm.deleteRoot(p)
}

// Do runs one HTTP exchange through the plugin on a new stream and closes
// the stream: the request headers, then, unless the plugin answered with a
// local reply, the upstream's response headers resp. Both are taken as
// complete (end of stream, no body). A request the plugin pauses without a
// local reply goes on to the response: Do does not model resuming it.
func (p *Plugin) Do(req, resp Headers) (*Exchange, error) {
	s := p.NewStream()
	x := &Exchange{}
	var err error
	if x.RequestAction, err = s.RequestHeaders(req, true); err == nil && s.LocalReply() == nil {
		_, err = s.ResponseHeaders(resp, true)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	// s is this goroutine's alone: its fields need no lock now.
	x.Request, x.Response, x.LocalReply, x.Logs = s.req, s.resp, s.local, s.logs
	x.ResponseAction = s.respAction
	return x, nil
}

// Exchange is what became of one HTTP exchange (Plugin.Do).
type Exchange struct {
	// Request is the request headers as the plugin left them: what the
	// upstream would receive.
	Request Headers
	// LocalReply is the plugin's local reply, if it sent one.
	LocalReply *LocalReply
	// Response is the response headers as the plugin left them: what the
	// client would receive (the local reply's, if there is one).
	Response Headers
	// RequestAction and ResponseAction are what the header callbacks
	// returned (ResponseAction is the one of the local reply's run).
	RequestAction, ResponseAction Action
	// Logs are the lines the module logged during the exchange.
	Logs []LogLine
}

// LocalReply is a response the module sent with proxy_send_local_response.
type LocalReply struct {
	// Status is the HTTP status code.
	Status int
	// Headers are the headers the module passed (names lower-cased); the
	// response also has ":status" and, with a body, content-length and
	// content-type (see Stream.Response).
	Headers Headers
	// Body is the response body.
	Body []byte
	// Details is the response code details, whitespace replaced by "_" as
	// Envoy does.
	Details string
	// GRPCStatus is the gRPC status the module asked for, -1 for none.
	GRPCStatus int32
}

// Action is what a header callback returns.
type Action uint32

// Header callback results, as the ABI numbers them (0.2.x also has
// ContinueAndEndStream, StopAllIterationAndBuffer and
// StopAllIterationAndWatermark).
const (
	// Continue lets the stream go on.
	Continue Action = 0
	// Pause stops the filter chain (StopIteration); the host returns it
	// after a local reply, whatever the callback returned, as Envoy does.
	Pause Action = 1
)

// String names the action.
func (a Action) String() string {
	switch a {
	case Continue:
		return "Continue"
	case Pause:
		return "Pause"
	}
	return "Action(" + strconv.FormatUint(uint64(a), 10) + ")"
}

// A Stream is one HTTP stream of a plugin. Call RequestHeaders, then
// ResponseHeaders (unless the plugin sent a local reply), then Close.
type Stream struct {
	p       *Plugin
	id      uint32
	created bool
	closed  bool

	req, resp         Headers
	reqSeen, respSeen bool // the header callback ran
	reqOpen, respOpen bool // the module may access the map now
	local             *LocalReply
	localInResponse   bool
	respAction        Action // what proxy_on_response_headers returned

	props map[string][]byte
	logs  []LogLine
}

// ID is the stream's context ID.
func (s *Stream) ID() uint32 { return s.id }

// SetProperty sets a property for this stream only, overriding the VM's
// (see VM.SetProperty). A nil value removes the override.
func (s *Stream) SetProperty(path []string, value []byte) {
	s.p.vm.mu.Lock()
	defer s.p.vm.mu.Unlock()
	setProperty(s.props, path, value)
}

var (
	errStreamClosed    = errors.New("wasmhost: stream closed")
	errPluginClosed    = errors.New("wasmhost: plugin closed")
	errRequestTwice    = errors.New("wasmhost: request headers already sent on this stream")
	errResponseTwice   = errors.New("wasmhost: response headers already sent on this stream")
	errAnsweredLocally = errors.New("wasmhost: the plugin answered this stream with a local reply; its response headers already ran")
)

// RequestHeaders runs proxy_on_request_headers with a copy of h (names
// lower-cased). If the module sends a local reply, proxy_on_response_headers
// then runs with the reply's headers (see LocalReply and Response), and the
// action is Pause.
func (s *Stream) RequestHeaders(h Headers, endOfStream bool) (Action, error) {
	vm := s.p.vm
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if err := s.usable(); err != nil {
		return Continue, err
	}
	if s.reqSeen {
		return Continue, errRequestTwice
	}
	if err := s.create(); err != nil {
		return Continue, err
	}
	s.req, s.reqSeen, s.reqOpen = h.Clone(), true, true
	a, err := s.callHeaders(vm.onRequestHeaders, "proxy_on_request_headers", phaseRequest, len(s.req), endOfStream)
	if err != nil {
		return Continue, err
	}
	// Envoy forgets the request headers once the filter continues.
	s.reqOpen = a != Continue
	if s.local == nil {
		return a, nil
	}
	// Envoy sends the local reply through the encoder filters, this one
	// included.
	s.resp, s.respSeen, s.respOpen = s.local.headers(), true, true
	s.respAction, err = s.callHeaders(vm.onResponseHeaders, "proxy_on_response_headers", phaseResponse, len(s.resp), len(s.local.Body) == 0)
	s.respOpen = false
	return Pause, err
}

// ResponseHeaders runs proxy_on_response_headers with a copy of h, the
// upstream's response headers. Response returns them as the plugin leaves
// them. If RequestHeaders was never called, the module is not called, as in
// Envoy.
func (s *Stream) ResponseHeaders(h Headers, endOfStream bool) (Action, error) {
	vm := s.p.vm
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if err := s.usable(); err != nil {
		return Continue, err
	}
	switch {
	case s.local != nil && !s.localInResponse:
		return Continue, errAnsweredLocally
	case s.respSeen:
		return Continue, errResponseTwice
	}
	s.resp, s.respSeen = h.Clone(), true
	if !s.reqSeen {
		return Continue, nil
	}
	s.respOpen = true
	a, err := s.callHeaders(vm.onResponseHeaders, "proxy_on_response_headers", phaseResponse, len(s.resp), endOfStream)
	s.respOpen, s.respAction = false, a
	if err == nil && s.local != nil {
		// A local reply sent while encoding replaces the response; Envoy
		// does not run the filters again.
		s.resp = s.local.headers()
	}
	return a, err
}

// callHeaders runs a header callback for the stream, if the module exports
// it. A local reply turns the result into Pause.
func (s *Stream) callHeaders(f api.Function, name string, ph phase, n int, endOfStream bool) (Action, error) {
	if f == nil {
		return Continue, nil
	}
	vm := s.p.vm
	prev := vm.stream
	vm.stream = s
	defer func() { vm.stream = prev }()
	hadLocal := s.local != nil
	eos := uint64(0)
	if endOfStream && vm.abi != abi010 { // ABI 0.1.0 has no end-of-stream parameter
		eos = 1
	}
	r, err := vm.call(f, name, ph, uint64(s.id), uint64(n), eos)
	if err != nil {
		return Continue, err
	}
	if !hadLocal && s.local != nil {
		return Pause, nil
	}
	return Action(uint32(r)), nil
}

// Request returns a copy of the request headers as the plugin left them.
func (s *Stream) Request() Headers {
	s.p.vm.mu.Lock()
	defer s.p.vm.mu.Unlock()
	return s.req.Clone()
}

// Response returns a copy of the response headers as the plugin left them:
// the local reply's if it sent one.
func (s *Stream) Response() Headers {
	s.p.vm.mu.Lock()
	defer s.p.vm.mu.Unlock()
	return s.resp.Clone()
}

// LocalReply returns the local reply the plugin sent on this stream, or nil.
func (s *Stream) LocalReply() *LocalReply {
	s.p.vm.mu.Lock()
	defer s.p.vm.mu.Unlock()
	return s.local
}

// Logs returns the lines the module logged during the stream's callbacks.
func (s *Stream) Logs() []LogLine {
	s.p.vm.mu.Lock()
	defer s.p.vm.mu.Unlock()
	return append([]LogLine(nil), s.logs...)
}

// Close ends the stream: proxy_on_log, proxy_on_done and proxy_on_delete,
// in Envoy's order (the ABI spec puts proxy_on_done first).
func (s *Stream) Close() error {
	vm := s.p.vm
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := vm.usable(); err != nil {
		return err
	}
	// Envoy's access log creates the context of a stream that never
	// reached the filter.
	if err := s.create(); err != nil {
		return err
	}
	prev := vm.stream
	vm.stream = s
	defer func() { vm.stream = prev }()
	if f := vm.onLog; f != nil {
		vm.inLog = true
		_, err := vm.call(f, "proxy_on_log", phaseOther, uint64(s.id), 0, 0)
		vm.inLog = false
		if err != nil {
			return err
		}
	}
	if f := vm.onDone; f != nil {
		if _, err := vm.call(f, "proxy_on_done", phaseOther, uint64(s.id), 0, 0); err != nil {
			return err
		}
	}
	if f := vm.onDelete; f != nil {
		if _, err := vm.call(f, "proxy_on_delete", phaseOther, uint64(s.id), 0, 0); err != nil {
			return err
		}
	}
	return nil
}

// usable returns why the stream cannot run a callback, if it cannot.
func (s *Stream) usable() error {
	switch {
	case s.closed:
		return errStreamClosed
	case s.p.closed:
		return errPluginClosed
	}
	return s.p.vm.usable()
}

// create tells the module of the stream, once.
func (s *Stream) create() error {
	if s.created {
		return nil
	}
	s.created = true
	vm := s.p.vm
	f := vm.onContextCreate
	if f == nil {
		return nil
	}
	prev := vm.stream
	vm.stream = s
	defer func() { vm.stream = prev }()
	_, err := vm.call(f, "proxy_on_context_create", phaseOther, uint64(s.id), uint64(s.p.id), 0)
	return err
}

// headers returns the response headers of a local reply as Envoy builds
// them: ":status", the module's headers, and for a body content-length and
// content-type.
func (r *LocalReply) headers() Headers {
	h := make(Headers, 0, len(r.Headers)+3)
	h = append(h, Header{":status", strconv.Itoa(r.Status)})
	h = append(h, r.Headers...)
	if len(r.Body) > 0 {
		h = h.replace("content-length", strconv.Itoa(len(r.Body)))
		if _, ok := h.first("content-type"); !ok {
			h = append(h, Header{"content-type", "text/plain"})
		}
	}
	return h
}
