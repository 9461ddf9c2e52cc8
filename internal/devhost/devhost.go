//go:build !wasip1

// Package devhost is an HTTP host for plugin.wasm on a laptop or in tests:
// it serves HTTP, runs the CORS plugin for every request in wazero (package
// wasmhost, real clocks, Envoy's semantics) and forwards what the plugin lets
// through to an upstream, the way Envoy's Wasm HTTP filter in front of a
// router would:
//
//   - the request headers go through proxy_on_request_headers (with Envoy's
//     pseudo-headers, x-forwarded-proto and a generated x-request-id); a
//     local reply of the plugin (a preflight answer, a 403) is sent as is,
//     after the plugin's response callback saw it, as in Envoy;
//   - otherwise the request, with the plugin's header changes, goes to the
//     upstream, and the upstream's response headers go through
//     proxy_on_response_headers before they reach the client;
//   - an upstream that cannot be reached gives 502 (504 on a timeout) with
//     the reason in the body; that answer goes through the plugin too, so a
//     browser can read it, as with Envoy's own 503.
//
// The Handler also serves, itself and not through the plugin, a few paths
// under /_corsdev/ (see ReservedPrefix): the plugin's recent decisions and
// counters, for the demo page and for people.
//
// It is a host for development and tests, not a proxy for production: one
// upstream, no routes, no WebSocket upgrades, no trailers, and a plugin
// whose VM failed gets 500 with the reason rather than Envoy's FAIL_OPEN.
package devhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/corswasm/corswasm/internal/wasmhost"
	"github.com/tetratelabs/wazero"
)

// Options configure a Handler.
type Options struct {
	// Wasm is the module: plugin.wasm.
	Wasm []byte
	// Config is the plugin configuration (the content of config.json).
	Config []byte
	// Upstream is where requests that continue go, e.g.
	// "http://127.0.0.1:8081" (a path in it is ignored).
	Upstream string
	// VMs is the number of VMs that run the plugin, like Envoy's worker
	// threads (default 2). Requests take them in turn; a VM runs one
	// callback at a time.
	VMs int
	// Cache, when set, is shared by the VMs' runtimes so that the module is
	// compiled once (see wazero.NewCompilationCache).
	Cache wazero.CompilationCache
	// Transport sends requests upstream. The default has no proxy, no
	// transparent compression, a 2 s connect timeout and a 15 s response
	// header timeout (Envoy's default route timeout).
	Transport http.RoundTripper
	// AccessLog, when set, receives one line per request: what came in,
	// what went out and the plugin's log lines for it (see Decision.String).
	AccessLog io.Writer
}

// ReservedPrefix is the path prefix the Handler serves itself, without the
// plugin and with "access-control-allow-origin: *":
//
//	GET /_corsdev/decisions[?after=ID]  recent decisions, JSON: {"decisions": [Decision...]}
//	GET /_corsdev/metrics               the plugin's counters, summed over the VMs, JSON
const ReservedPrefix = "/_corsdev/"

// A Handler runs the plugin for every request and forwards what continues to
// the upstream. It is safe for concurrent use. Close it when done.
type Handler struct {
	vms       []*instance
	next      atomic.Uint64
	upstream  *url.URL
	transport http.RoundTripper
	accessLog io.Writer
	startup   []wasmhost.LogLine
	decisions decisionLog
	ownCache  wazero.CompilationCache
}

// instance is one VM with the plugin started in it.
type instance struct {
	vm     *wasmhost.VM
	plugin *wasmhost.Plugin
}

// RefusedError is returned by New when the plugin refuses its
// configuration (proxy_on_configure returned false).
type RefusedError struct {
	// Lines are the error lines the plugin logged, e.g.
	// "cors: refusing configuration: allowOrigins[0]: ...".
	Lines []string
}

func (e *RefusedError) Error() string {
	return "the plugin refused its configuration: " + strings.Join(e.Lines, "; ")
}

// New starts the VMs, each with the plugin and its configuration. If the
// plugin refuses the configuration, the error is a *RefusedError.
func New(ctx context.Context, opts Options) (*Handler, error) {
	up, err := url.Parse(opts.Upstream)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return nil, fmt.Errorf("devhost: upstream %q is not a URL such as http://127.0.0.1:8081", opts.Upstream)
	}
	h := &Handler{
		upstream:  &url.URL{Scheme: up.Scheme, Host: up.Host},
		transport: opts.Transport,
		accessLog: opts.AccessLog,
	}
	if h.transport == nil {
		h.transport = defaultTransport()
	}
	cache := opts.Cache
	if cache == nil {
		cache = wazero.NewCompilationCache()
		h.ownCache = cache
	}
	n := opts.VMs
	if n <= 0 {
		n = 2
	}
	for i := range n {
		vm, err := wasmhost.New(ctx, opts.Wasm, wasmhost.Options{Cache: cache})
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("devhost: loading the module: %w", err)
		}
		p, err := vm.StartPlugin(opts.Config)
		if err != nil {
			var lines []string
			for _, l := range vm.Logs() {
				if l.Level >= wasmhost.LogError {
					lines = append(lines, l.Message)
				}
			}
			vm.Close(ctx)
			h.Close()
			if len(lines) > 0 && !errors.Is(err, wasmhost.ErrFailed) {
				return nil, &RefusedError{Lines: lines}
			}
			return nil, fmt.Errorf("devhost: starting the plugin: %w", err)
		}
		if i == 0 {
			h.startup = vm.Logs()
		}
		h.vms = append(h.vms, &instance{vm, p})
	}
	return h, nil
}

// defaultTransport is Options.Transport's default.
func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		DisableCompression:    true,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
	}
}

// StartupLog returns what the plugin logged while it loaded its
// configuration in the first VM: the "configuration loaded" line and any
// warnings.
func (h *Handler) StartupLog() []wasmhost.LogLine { return slices.Clone(h.startup) }

// Metrics returns the plugin's counters summed over the VMs.
func (h *Handler) Metrics() map[string]int64 {
	sum := map[string]int64{}
	for _, in := range h.vms {
		for name, v := range in.vm.Metrics() {
			sum[name] += v
		}
	}
	return sum
}

// Close stops the VMs. Requests still in flight then fail; stop the HTTP
// server first (http.Server.Shutdown).
func (h *Handler) Close() error {
	var first error
	for _, in := range h.vms {
		if err := in.vm.Close(context.Background()); err != nil && first == nil && !errors.Is(err, wasmhost.ErrFailed) {
			first = err
		}
	}
	h.vms = nil
	if h.ownCache != nil {
		h.ownCache.Close(context.Background())
	}
	if t, ok := h.transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	return first
}

// ServeHTTP runs the plugin for the request and answers it: with the
// plugin's local reply, or with the upstream's response as the plugin
// rewrote it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ReservedPrefix) {
		h.serveOwn(w, r)
		return
	}
	in := h.vms[h.next.Add(1)%uint64(len(h.vms))]
	s := in.plugin.NewStream()
	defer func() {
		if err := s.Close(); err != nil {
			h.logf("devhost: closing the plugin's stream: %v", err)
		}
	}()
	d := newDecision(r)

	if _, err := s.RequestHeaders(requestHeaders(r), r.ContentLength == 0); err != nil {
		h.pluginFailed(w, &d, err)
		return
	}
	if lr := s.LocalReply(); lr != nil {
		d.Answer = "plugin"
		h.respond(w, &d, s, bytes.NewReader(lr.Body))
		return
	}

	resp, err := h.forward(r, s.Request())
	if err != nil {
		if r.Context().Err() != nil {
			return // the client went away
		}
		status, body := upstreamError(h.upstream, err)
		d.Answer, d.Error = "host", body
		hdrs := wasmhost.NewHeaders(":status", strconv.Itoa(status),
			"content-type", "text/plain; charset=utf-8",
			"content-length", strconv.Itoa(len(body)+1))
		if _, err := s.ResponseHeaders(hdrs, false); err != nil {
			h.pluginFailed(w, &d, err)
			return
		}
		h.respond(w, &d, s, strings.NewReader(body+"\n"))
		return
	}
	defer resp.Body.Close()
	d.Answer = "upstream"
	if _, err := s.ResponseHeaders(responseHeaders(resp), resp.ContentLength == 0); err != nil {
		h.pluginFailed(w, &d, err)
		return
	}
	var body io.Reader = resp.Body
	if lr := s.LocalReply(); lr != nil { // sent while encoding: it replaces the response
		d.Answer = "plugin"
		body = bytes.NewReader(lr.Body)
	}
	h.respond(w, &d, s, body)
}

// respond writes the response headers as the plugin left them, records the
// decision, then copies the body.
func (h *Handler) respond(w http.ResponseWriter, d *Decision, s *wasmhost.Stream, body io.Reader) {
	final := s.Response()
	status, err := strconv.Atoi(first(final, ":status"))
	if err != nil || status < 100 || status > 999 {
		h.pluginFailed(w, d, fmt.Errorf("the response has no valid :status (%q)", first(final, ":status")))
		return
	}
	out := w.Header()
	for _, l := range final {
		if !strings.HasPrefix(l.Name, ":") {
			k := http.CanonicalHeaderKey(l.Name)
			out[k] = append(out[k], l.Value)
		}
	}
	d.finish(status, final, s.Logs())
	h.record(d)
	w.WriteHeader(status)
	copyFlushing(w, body, first(final, "content-length") == "")
}

// pluginFailed answers 500 when the plugin's VM failed. Envoy with
// failure_policy FAIL_OPEN would let the request through without CORS
// headers; a development host says so instead.
func (h *Handler) pluginFailed(w http.ResponseWriter, d *Decision, err error) {
	msg := "devhost: the plugin failed: " + err.Error() + " (restart the host to load it again)"
	d.Answer, d.Error = "host", msg
	d.finish(http.StatusInternalServerError, nil, nil)
	h.record(d)
	http.Error(w, msg, http.StatusInternalServerError)
}

// forward sends the request, with the headers the plugin left, upstream.
func (h *Handler) forward(r *http.Request, hdrs wasmhost.Headers) (*http.Response, error) {
	path := first(hdrs, ":path")
	if !strings.HasPrefix(path, "/") {
		path = "/" // OPTIONS *
	}
	body := r.Body
	if r.ContentLength == 0 {
		body = http.NoBody
	}
	out, err := http.NewRequestWithContext(r.Context(), first(hdrs, ":method"), h.upstream.String()+path, body)
	if err != nil {
		return nil, err
	}
	out.ContentLength = r.ContentLength
	out.Host = first(hdrs, ":authority")
	for _, l := range hdrs {
		if !strings.HasPrefix(l.Name, ":") && l.Name != "content-length" {
			out.Header.Add(l.Name, l.Value)
		}
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header.Set("User-Agent", "") // Go would send its own
	}
	return h.transport.RoundTrip(out)
}

// upstreamError is the status and body for an upstream that did not answer.
func upstreamError(upstream *url.URL, err error) (int, string) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return http.StatusGatewayTimeout, fmt.Sprintf("devhost: upstream %s timed out: %v", upstream, err)
	}
	return http.StatusBadGateway, fmt.Sprintf("devhost: upstream %s unreachable: %v (is it running?)", upstream, err)
}

// hopByHop are the headers of one connection, which a proxy does not pass
// on (RFC 9110, section 7.6.1).
var hopByHop = []string{"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"}

// isHopByHop says whether name (lower case) is a hop-by-hop header of a
// message whose Connection header is conn.
func isHopByHop(name string, conn []string) bool {
	if slices.Contains(hopByHop, name) {
		return true
	}
	for _, v := range conn {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return true
			}
		}
	}
	return false
}

// requestHeaders are the request's headers as Envoy hands them to a filter:
// pseudo-headers first, names lower case, hop-by-hop headers removed,
// x-forwarded-proto set and x-request-id generated when absent.
func requestHeaders(r *http.Request) wasmhost.Headers {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := r.RequestURI
	if r.URL.IsAbs() || path == "" {
		path = r.URL.RequestURI()
	}
	h := wasmhost.NewHeaders(":authority", r.Host, ":path", path, ":method", r.Method, ":scheme", scheme)
	conn := r.Header.Values("Connection")
	for _, k := range sortedKeys(r.Header) {
		name := strings.ToLower(k)
		if isHopByHop(name, conn) || name == "x-forwarded-proto" {
			continue
		}
		for _, v := range r.Header[k] {
			h = append(h, wasmhost.Header{Name: name, Value: v})
		}
	}
	h = append(h, wasmhost.Header{Name: "x-forwarded-proto", Value: scheme})
	if _, ok := h.Get("x-request-id"); !ok {
		h = append(h, wasmhost.Header{Name: "x-request-id", Value: newUUID()})
	}
	return h
}

// responseHeaders are the upstream response's headers as Envoy hands them
// to a filter.
func responseHeaders(resp *http.Response) wasmhost.Headers {
	h := wasmhost.NewHeaders(":status", strconv.Itoa(resp.StatusCode))
	conn := resp.Header.Values("Connection")
	for _, k := range sortedKeys(resp.Header) {
		name := strings.ToLower(k)
		if isHopByHop(name, conn) {
			continue
		}
		for _, v := range resp.Header[k] {
			h = append(h, wasmhost.Header{Name: name, Value: v})
		}
	}
	return h
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// first returns the first value of name, or "".
func first(h wasmhost.Headers, name string) string {
	v, _ := h.Get(name)
	return v
}

// newUUID returns a random (version 4) UUID, as Envoy generates for
// x-request-id.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// copyFlushing copies the body to the client, flushing after every read
// when the length is unknown (event streams, long polls).
func copyFlushing(w http.ResponseWriter, body io.Reader, flush bool) {
	if !flush {
		io.Copy(w, body)
		return
	}
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func (h *Handler) logf(format string, args ...any) {
	if h.accessLog != nil {
		fmt.Fprintf(h.accessLog, format+"\n", args...)
	}
}
