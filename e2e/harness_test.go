package e2e

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/corswasm/corswasm/filter"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// ---------------------------------------------------------------------------
// Log routing: the emulator prints every proxy_log call through package log.
// Those lines go to the running test's t.Log, so they show up next to a
// failure (or with -v) and nowhere else.

type logRouter struct {
	mu sync.Mutex
	t  testing.TB
}

var emulatorLog = &logRouter{}

func (l *logRouter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.t == nil {
		if testing.Verbose() {
			return os.Stderr.Write(b)
		}
		return io.Discard.Write(b)
	}
	l.t.Log("emulator: " + strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func (l *logRouter) route(t testing.TB) {
	l.mu.Lock()
	l.t = t
	l.mu.Unlock()
}

// ---------------------------------------------------------------------------
// Starting the plugin.

// plugin is one emulator (one Envoy "plugin": a root context with its
// configuration) in front of the shared module.
type plugin struct {
	t      *testing.T
	host   proxytest.HostEmulator
	vm     *moduleVM
	close  func() // releases the emulator; runs at the end of the test at the latest
	config string
	shared bool // the shared module instance
}

type setup struct {
	properties map[string][]byte
	attach     types.PluginContext
	ownModule  bool
}

type option func(*setup)

// withRouteName makes the host answer the property xds.route_name, as Envoy
// does for a request on a named route.
func withRouteName(name string) option {
	return withProperty([]string{"xds", "route_name"}, name)
}

func withProperty(path []string, value string) option {
	return func(s *setup) {
		if s.properties == nil {
			s.properties = map[string][]byte{}
		}
		s.properties[strings.Join(path, "\x00")] = []byte(value)
	}
}

// attachedTo drives a plugin context that an earlier emulator created and
// configured, instead of creating a new one.
func attachedTo(root types.PluginContext) option {
	return func(s *setup) { s.attach = root }
}

// withOwnModule runs the plugin in a module instance of its own, compiled
// for this test and dropped after it, with nothing defined in the host
// beforehand: for tests of what the module does on its very first start.
func withOwnModule() option {
	return func(s *setup) { s.ownModule = true }
}

// newPlugin creates an emulator with the configuration and runs
// proxy_on_context_create and proxy_on_vm_start for its plugin context, as
// Envoy does before proxy_on_configure. It does not configure the plugin.
func newPlugin(t *testing.T, config string, opts ...option) *plugin {
	t.Helper()
	var s setup
	for _, o := range opts {
		o(&s)
	}
	var shared *sharedModule
	var err error
	if s.ownModule {
		shared, err = newModule()
		if err == nil {
			t.Cleanup(func() { shared.vm.Close() })
		}
	} else {
		shared, err = acquireModule()
	}
	if err != nil {
		t.Fatal(err)
	}
	vm := &moduleVM{shared: shared, attach: s.attach}
	opt := proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration([]byte(config))
	for path, value := range s.properties {
		opt = opt.WithProperty(strings.Split(path, "\x00"), value)
	}
	emulatorLog.route(t)
	p := &plugin{t: t, vm: vm, config: config, shared: !s.ownModule}
	var reset func()
	p.guard("proxy_on_context_create for the plugin context", func() {
		p.host, reset = proxytest.NewHostEmulator(opt)
	})
	// Only one emulator can exist at a time: NewHostEmulator takes a global
	// lock that reset releases.
	p.close = sync.OnceFunc(func() {
		reset()
		emulatorLog.route(nil)
	})
	t.Cleanup(p.close)
	if vm.createFailure != nil {
		t.Fatalf("the module failed during proxy_on_context_create for the plugin context; the VM is discarded and the next test gets a fresh one\n%v", vm.createFailure)
	}
	if !s.ownModule {
		for _, name := range counterNames {
			proxywasm.DefineCounterMetric(name)
		}
		for _, name := range shared.policyMetrics {
			proxywasm.DefineCounterMetric(name)
		}
	}
	if s.attach == nil {
		var ok types.OnVMStartStatus
		p.guard("proxy_on_vm_start", func() { ok = p.host.StartVM() })
		if !ok {
			t.Fatalf("proxy_on_vm_start returned false\n%s", p.logDump())
		}
	}
	return p
}

// configure runs proxy_on_configure with the emulator's configuration.
func (p *plugin) configure() types.OnPluginStartStatus {
	p.t.Helper()
	var status types.OnPluginStartStatus
	p.guard("proxy_on_configure", func() { status = p.host.StartPlugin() })
	if status == types.OnPluginStartStatusOK && p.shared {
		p.vm.shared.notePolicyMetrics(p.config)
	}
	return status
}

// notePolicyMetrics records the per-policy counters the module defined for
// config that it had not defined before, in the order it defines them
// (main.go, definePolicyCounters): later emulators define them first (see
// sharedModule).
func (m *sharedModule) notePolicyMetrics(config string) {
	cfg, err := filter.Parse([]byte(config))
	if err != nil {
		return
	}
	n := filter.NumPolicyCountersEnforce
	if cfg.Mode() == filter.ModeReport {
		n = filter.NumPolicyCounters
	}
	for i := 0; i < cfg.NumPolicies(); i++ {
		for pc := filter.PolicyCounter(0); pc < n; pc++ {
			if name := cfg.PolicyCounterName(i, pc); !slices.Contains(m.policyMetrics, name) {
				m.policyMetrics = append(m.policyMetrics, name)
			}
		}
	}
}

// startPlugin starts a plugin that must accept its configuration without an
// error log line.
func startPlugin(t *testing.T, config string, opts ...option) *plugin {
	t.Helper()
	p := newPlugin(t, config, opts...)
	if status := p.configure(); status != types.OnPluginStartStatusOK {
		t.Fatalf("the plugin refused a good configuration (proxy_on_configure returned false)\nconfiguration: %s\n%s", config, p.logDump())
	}
	if errs := p.host.GetErrorLogs(); len(errs) > 0 {
		t.Fatalf("the plugin accepted its configuration but logged errors\nconfiguration: %s\n%s", config, p.logDump())
	}
	return p
}

// guard runs one call into the module; a trap or panic fails the test with
// the module's stack trace and retires the shared VM.
func (p *plugin) guard(what string, f func()) {
	p.t.Helper()
	defer func() {
		if r := recover(); r != nil {
			p.vm.shared.broken = true
			p.t.Fatalf("the module failed during %s; the VM is discarded and the next test gets a fresh one\n%v", what, r)
		}
	}()
	f()
}

// logDump lists every log line the module sent to the host.
func (p *plugin) logDump() string {
	var b strings.Builder
	levels := []struct {
		name  string
		lines []string
	}{
		{"trace", p.host.GetTraceLogs()}, {"debug", p.host.GetDebugLogs()}, {"info", p.host.GetInfoLogs()},
		{"warn", p.host.GetWarnLogs()}, {"error", p.host.GetErrorLogs()}, {"critical", p.host.GetCriticalLogs()},
	}
	b.WriteString("module log:")
	n := 0
	for _, l := range levels {
		for _, line := range l.lines {
			fmt.Fprintf(&b, "\n  [%s] %s", l.name, line)
			n++
		}
	}
	if n == 0 {
		b.WriteString(" (empty)")
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// Requests, as Envoy hands them to the filter: lower-case names, pseudo-headers first.

type request struct {
	method, scheme, authority, path string
	headers                         [][2]string
	endOfStream                     bool
}

const (
	defaultAuthority = "service.example.net"
	defaultPath      = "/items?page=2"
)

func newRequest(method string) request {
	return request{method: method, scheme: "https", authority: defaultAuthority, path: defaultPath}
}

// preflight is a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.
func preflight(origin, method string) request {
	return newRequest("OPTIONS").with("origin", origin).with("access-control-request-method", method)
}

// crossOrigin is an actual (non-preflight) request carrying Origin.
func crossOrigin(method, origin string) request {
	return newRequest(method).with("origin", origin)
}

// sameOrigin is a request without Origin.
func sameOrigin(method string) request { return newRequest(method) }

// with returns r with one more header line.
func (r request) with(name, value string) request {
	r.headers = append(slices.Clone(r.headers), [2]string{name, value})
	return r
}

// requesting adds Access-Control-Request-Headers.
func (r request) requesting(headers string) request {
	return r.with("access-control-request-headers", headers)
}

// to sets :authority and :path.
func (r request) to(authority, path string) request {
	r.authority, r.path = authority, path
	return r
}

func (r request) ending() request {
	r.endOfStream = true
	return r
}

// pairs lists the header lines; a request without a method (built by hand)
// has no pseudo-headers at all.
func (r request) pairs() [][2]string {
	if r.method == "" {
		return slices.Clone(r.headers)
	}
	h := [][2]string{{":method", r.method}, {":scheme", r.scheme}, {":authority", r.authority}, {":path", r.path}}
	return append(h, r.headers...)
}

func (r request) String() string { return "\n" + dump(r.pairs()) }

// ---------------------------------------------------------------------------
// Exchanges: one HTTP stream through the plugin.

type exchange struct {
	p             *plugin
	id            uint32
	req           request
	requestAction types.Action
	upstream      [][2]string
}

// send opens a stream and runs proxy_on_request_headers.
func (p *plugin) send(r request) *exchange {
	p.t.Helper()
	x := &exchange{p: p, req: r}
	p.guard("proxy_on_context_create for a stream", func() { x.id = p.host.InitializeHttpContext() })
	p.guard("proxy_on_request_headers for the request"+r.String(), func() {
		x.requestAction = p.host.CallOnRequestHeaders(x.id, r.pairs(), r.endOfStream)
	})
	return x
}

// local is the local response the plugin sent, or nil.
func (x *exchange) local() *proxytest.LocalHttpResponse {
	return x.p.host.GetSentLocalResponse(x.id)
}

// respond runs proxy_on_response_headers with the upstream's headers and
// returns the response headers as the plugin left them.
func (x *exchange) respond(status int, headers ...[2]string) [][2]string {
	x.p.t.Helper()
	return x.respondHeaders(false, status, headers...)
}

// respondWithoutBody is respond for a response whose headers end the stream.
func (x *exchange) respondWithoutBody(status int, headers ...[2]string) [][2]string {
	x.p.t.Helper()
	return x.respondHeaders(true, status, headers...)
}

func (x *exchange) respondHeaders(endOfStream bool, status int, headers ...[2]string) [][2]string {
	x.p.t.Helper()
	x.upstream = append([][2]string{{":status", fmt.Sprint(status)}}, headers...)
	var action types.Action
	x.p.guard("proxy_on_response_headers for the response\n"+dump(x.upstream), func() {
		action = x.p.host.CallOnResponseHeaders(x.id, slices.Clone(x.upstream), endOfStream)
	})
	if action != types.ActionContinue {
		x.p.t.Errorf("proxy_on_response_headers returned %s, want Continue (the plugin never holds a response)", actionName(action))
	}
	return x.p.host.GetCurrentResponseHeaders(x.id)
}

// expectContinues asserts that the request went on unanswered and unchanged.
func (x *exchange) expectContinues() {
	t := x.p.t
	t.Helper()
	if lr := x.local(); lr != nil {
		t.Fatalf("the plugin answered the request itself (status %d), want it to continue upstream\nrequest:%s\nlocal response headers:\n%s\n%s",
			lr.StatusCode, x.req, dump(lr.Headers), x.p.logDump())
	}
	if x.requestAction != types.ActionContinue {
		t.Errorf("proxy_on_request_headers returned %s, want Continue\nrequest:%s", actionName(x.requestAction), x.req)
	}
	if got := x.p.host.GetCurrentRequestHeaders(x.id); !sameHeaders(got, x.req.pairs()) {
		t.Errorf("the plugin changed the request headers\nrequest:%s\nnow:\n%s", x.req, dump(got))
	}
}

// expectAnswered asserts that the plugin answered the request itself with
// the status and an empty body, paused the stream, and returns the answer's headers.
func (x *exchange) expectAnswered(status int) [][2]string {
	t := x.p.t
	t.Helper()
	lr := x.local()
	if lr == nil {
		t.Fatalf("the plugin let the request continue, want a local %d response\nrequest:%s\n%s", status, x.req, x.p.logDump())
	}
	if int(lr.StatusCode) != status {
		t.Errorf("local response status = %d, want %d\nrequest:%s\nheaders:\n%s\n%s", lr.StatusCode, status, x.req, dump(lr.Headers), x.p.logDump())
	}
	if len(lr.Data) != 0 {
		t.Errorf("local response has a %d-byte body %q, want none", len(lr.Data), lr.Data)
	}
	if x.requestAction != types.ActionPause {
		t.Errorf("proxy_on_request_headers returned %s after sending a local response, want Pause", actionName(x.requestAction))
	}
	return lr.Headers
}

func actionName(a types.Action) string {
	switch a {
	case types.ActionContinue:
		return "Continue"
	case types.ActionPause:
		return "Pause"
	}
	return fmt.Sprintf("Action(%d)", a)
}

// ---------------------------------------------------------------------------
// Header checks. Each returns "" when it holds, otherwise what is wrong.

type check func(h [][2]string) string

// expectHeaders reports every failing check at once, with the whole header list.
func expectHeaders(t *testing.T, what string, got [][2]string, checks ...check) {
	t.Helper()
	var problems []string
	for _, c := range checks {
		if msg := c(got); msg != "" {
			problems = append(problems, msg)
		}
	}
	if len(problems) > 0 {
		t.Errorf("%s\n  what is wrong:\n  - %s\n  the headers:\n%s", what, strings.Join(problems, "\n  - "), dump(got))
	}
}

func values(h [][2]string, name string) []string {
	var v []string
	for _, kv := range h {
		if kv[0] == name {
			v = append(v, kv[1])
		}
	}
	return v
}

// header: exactly one line with this name, with exactly this value.
func header(name, value string) check {
	return func(h [][2]string) string {
		v := values(h, name)
		switch {
		case len(v) == 0:
			return fmt.Sprintf("%s is missing, want %q", name, value)
		case len(v) > 1:
			return fmt.Sprintf("%s appears %d times %q, want once: %q", name, len(v), v, value)
		case v[0] != value:
			return fmt.Sprintf("%s = %q, want %q", name, v[0], value)
		}
		return ""
	}
}

func noHeader(name string) check {
	return func(h [][2]string) string {
		if v := values(h, name); len(v) > 0 {
			return fmt.Sprintf("%s = %q, want no such header", name, v)
		}
		return ""
	}
}

// corsHeaders: the access-control-* header names present are exactly these.
func corsHeaders(names ...string) check {
	return func(h [][2]string) string {
		var got []string
		for _, kv := range h {
			if strings.HasPrefix(kv[0], "access-control-") {
				got = append(got, kv[0])
			}
		}
		sort.Strings(got)
		want := slices.Sorted(slices.Values(names))
		if !slices.Equal(got, want) {
			return fmt.Sprintf("access-control-* headers are %q, want %q", got, want)
		}
		return ""
	}
}

func noCORSHeaders() check { return corsHeaders() }

// tokens splits every line of a list-valued header on commas.
func tokens(h [][2]string, name string) []string {
	var out []string
	for _, v := range values(h, name) {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.Trim(tok, " \t"); tok != "" {
				out = append(out, tok)
			}
		}
	}
	return out
}

// list: the comma-separated tokens of every line of the header are exactly
// this set (compared case-insensitively), each named once.
func list(name string, want ...string) check {
	return func(h [][2]string) string {
		got := tokens(h, name)
		lower := make([]string, len(got))
		for i, g := range got {
			lower[i] = strings.ToLower(g)
		}
		sort.Strings(lower)
		if dup := duplicate(lower); dup != "" {
			return fmt.Sprintf("%s names %q more than once: %q", name, dup, values(h, name))
		}
		w := make([]string, len(want))
		for i, x := range want {
			w[i] = strings.ToLower(x)
		}
		sort.Strings(w)
		if !slices.Equal(lower, w) {
			return fmt.Sprintf("%s lists %q, want exactly %q", name, got, want)
		}
		return ""
	}
}

func duplicate(sorted []string) string {
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return sorted[i]
		}
	}
	return ""
}

// vary: the Vary tokens are exactly these.
func vary(want ...string) check { return list("vary", want...) }

// allowsMethod: Access-Control-Allow-Methods lets a browser send the method
// (Fetch, CORS-preflight fetch, step 7.5: exact, case-sensitive match, or
// "*" when the request is not credentialed; safelisted methods always pass).
func allowsMethod(method string, credentialed bool) check {
	return func(h [][2]string) string {
		if len(values(h, "access-control-allow-methods")) > 1 {
			return fmt.Sprintf("access-control-allow-methods appears %d times, want once", len(values(h, "access-control-allow-methods")))
		}
		toks := tokens(h, "access-control-allow-methods")
		if slices.Contains(toks, method) || (!credentialed && slices.Contains(toks, "*")) || slices.Contains(safelistedMethods, method) {
			return ""
		}
		return fmt.Sprintf("access-control-allow-methods %q does not let a browser send %s (credentialed: %v)", toks, method, credentialed)
	}
}

// allowsHeaders: Access-Control-Allow-Headers lets a browser send every named
// header (Fetch, CORS-preflight fetch, step 7.7: case-insensitive match, or
// "*" for a request that is not credentialed and for any name but authorization).
func allowsHeaders(credentialed bool, names ...string) check {
	return func(h [][2]string) string {
		if len(values(h, "access-control-allow-headers")) > 1 {
			return fmt.Sprintf("access-control-allow-headers appears %d times, want once", len(values(h, "access-control-allow-headers")))
		}
		toks := tokens(h, "access-control-allow-headers")
		star := !credentialed && slices.Contains(toks, "*")
		var missing []string
		for _, n := range names {
			listed := slices.ContainsFunc(toks, func(t string) bool { return strings.EqualFold(t, n) })
			if !listed && !(star && !strings.EqualFold(n, "authorization")) {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("access-control-allow-headers %q does not let a browser send %q (credentialed: %v)", toks, missing, credentialed)
		}
		return ""
	}
}

// sameAs: the headers are the given ones, in any order.
func sameAs(want [][2]string) check {
	return func(h [][2]string) string {
		if !sameHeaders(h, want) {
			return fmt.Sprintf("headers changed; want exactly:\n%s", dump(want))
		}
		return ""
	}
}

func sameHeaders(a, b [][2]string) bool {
	key := func(h [][2]string) []string {
		s := make([]string, len(h))
		for i, kv := range h {
			s[i] = kv[0] + "\x00" + kv[1]
		}
		sort.Strings(s)
		return s
	}
	return slices.Equal(key(a), key(b))
}

func dump(h [][2]string) string {
	if len(h) == 0 {
		return "    (none)"
	}
	var b strings.Builder
	for i, kv := range h {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "    %s: %q", kv[0], shorten(kv[1]))
	}
	return b.String()
}

// shorten keeps a failure message readable when a test sends huge values.
func shorten(v string) string {
	if len(v) <= 200 {
		return v
	}
	return fmt.Sprintf("%s... (%d bytes)", v[:160], len(v))
}

func hdr(name, value string) [2]string { return [2]string{name, value} }

// ---------------------------------------------------------------------------
// Counters and logs.

var counterNames = []string{
	"cors.preflight.allowed",
	"cors.preflight.denied",
	"cors.actual.allowed",
	"cors.actual.denied",
	"cors.origin.invalid",
	"cors.report.would_deny",
	"cors.internal_error",
	"cors.report.agree",
	"cors.report.would_break",
	"cors.report.would_open",
}

// counts maps counter names to expected values; absent names are expected at 0.
type counts map[string]uint64

// expectCounters compares every plugin counter with want.
func (p *plugin) expectCounters(when string, want counts) {
	p.t.Helper()
	for name := range want {
		if !slices.Contains(counterNames, name) {
			p.t.Fatalf("test bug: unknown counter %q", name)
		}
	}
	var rows []string
	bad := false
	for _, name := range counterNames {
		got, err := p.host.GetCounterMetric(name)
		mark := ""
		if err != nil {
			mark = "  <- " + err.Error()
			bad = true
			rows = append(rows, fmt.Sprintf("    %-24s %5s %5d%s", name, "-", want[name], mark))
			continue
		}
		if got != want[name] {
			mark = "  <- differs"
			bad = true
		}
		rows = append(rows, fmt.Sprintf("    %-24s %5d %5d%s", name, got, want[name], mark))
	}
	if bad {
		p.t.Errorf("counters %s:\n    %-24s %5s %5s\n%s", when, "counter", "got", "want", strings.Join(rows, "\n"))
	}
}
