// Command corswasm is a CORS filter for Envoy and Istio, built as a
// proxy-wasm module (a WASI reactor):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// This file only wires the ABI layer (package abi) to the CORS engine
// (package filter).
package main

import (
	"slices"

	"github.com/corswasm/corswasm/abi"
	"github.com/corswasm/corswasm/filter"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// main is not run in a c-shared (reactor) module; the host calls the exports.
func main() {}

// init registers the plugin, wrapped by the fault injection of test builds
// (withFaults: faultinject_on.go, the identity in faultinject_off.go). It
// must make no host call: the host forbids them while the module
// initializes.
func init() {
	abi.SetPlugin(withFaults(newRoot))
	abi.ReuseStreams()
	// The response lines the plugin reads before it sets its own
	// (filter.UpstreamScan.Line): a response without them gets the
	// decision's lines from the ABI layer alone (handOff).
	abi.ResponseNamesForStream("access-control-", "vary")
	abi.SetInternalErrorHook(func() { count(filter.CounterInternalError) })
}

// Metrics. The global counters are defined once per VM, on the first
// successful configuration; the per-policy ones on each configuration, for
// its policies. A name is defined once per VM (metricIDs remembers it), so
// configuration updates do not make the host hold more and more IDs for the
// same metrics. proxy_on_vm_start starts a VM's memory of them afresh.
var (
	counterIDs     [filter.NumCounters]uint32
	counterDefined [filter.NumCounters]bool
	metricIDs      map[string]uint32
	// countersChanged counts the changes of counterDefined, so that what a
	// root found of them (reportMetrics) is found again after one.
	countersChanged uint32
)

// defineMetric defines the counter name, unless this VM has already.
func defineMetric(name string) (uint32, bool) {
	if id, ok := metricIDs[name]; ok {
		return id, true
	}
	id, err := abi.DefineCounter(name)
	if err != nil {
		abi.Log(abi.LogError, "cors: defining metric "+name+": "+err.Error())
		return 0, false
	}
	if metricIDs == nil {
		metricIDs = make(map[string]uint32)
	}
	metricIDs[name] = id
	return id, true
}

// defineCounters defines the global counters not yet defined.
func defineCounters() {
	for c := filter.Counter(0); c < filter.NumCounters; c++ {
		if !counterDefined[c] {
			counterIDs[c], counterDefined[c] = defineMetric(c.Name())
		}
	}
	countersChanged++
}

// count increments counter c, if it is defined.
func count(c filter.Counter) {
	if counterDefined[c] {
		abi.IncrementCounter(counterIDs[c], 1)
	}
}

// policyMetrics are one policy's counters: an ID and whether it is defined.
type policyMetrics struct {
	ids     [filter.NumPolicyCounters]uint32
	defined [filter.NumPolicyCounters]bool
}

// definePolicyCounters defines the per-policy counters of cfg: all of them
// in report mode, those but report.* in enforce mode.
func definePolicyCounters(cfg *filter.Config, dst []policyMetrics) []policyMetrics {
	n := filter.NumPolicyCountersEnforce
	if cfg.Mode() == filter.ModeReport {
		n = filter.NumPolicyCounters
	}
	for i := 0; i < cfg.NumPolicies(); i++ {
		var m policyMetrics
		for pc := filter.PolicyCounter(0); pc < n; pc++ {
			m.ids[pc], m.defined[pc] = defineMetric(cfg.PolicyCounterName(i, pc))
		}
		dst = append(dst, m)
	}
	return dst
}

// root is a root context: it holds the compiled configuration.
type root struct {
	cfg *filter.Config
	// policies holds the per-policy counters of cfg's policies, by index.
	policies []policyMetrics
	// noOrigin is cfg's decision for a request without Origin when no
	// header decides which policy applies (!cfg.NeedsHeadersWithoutOrigin).
	noOrigin filter.Decision
	// noOriginSilent says noOrigin counts nothing and logs nothing, so that
	// such a request skips report.
	noOriginSilent bool
	// noOriginVary says noOrigin is silent and its response's only work is
	// a line "vary: origin", which the ABI layer adds without calling the
	// stream (abi.StreamDoneAdding).
	noOriginVary bool

	// Scratch space shared by the root's streams: callbacks never run
	// concurrently, and none of these outlives a callback. headers is not
	// cleared after use (clearing costs runtime calls): until a later
	// response overwrites it, it views the last response's header lines,
	// which keeps that stream's arena chunk alive even if abi dropped it
	// for its size.
	headers  [][2]string
	out      [][2]string
	counters []filter.Counter
	line     []byte
	// replies are the preflights' answers by Decision.LocalResponseKey,
	// serialized on first use; additions the lines added to responses, by
	// UpstreamScan.AdditionsKey, built on first use (their first value,
	// the last request's, views that request's memory until the next).
	replies   []preflightReply
	additions [][][2]string
	// reports are the metrics a decision increments, by
	// Decision.CountersKey, found on first use.
	reports []reportMetrics
	// pick names the request lines cfg reads, for abi.ReadPicked.
	pick *abi.PickTable
	// memo remembers the verdicts of the origins cfg parses (none of a
	// policy's exact origins): a repeat costs a lookup (filter.OriginMemo).
	memo filter.OriginMemo
	// compareLine is the report comparison's log line: a buffer of its own,
	// as a host that keeps a view of a logged line (the SDK's emulator)
	// would otherwise see the denial line logged before it overwritten.
	compareLine []byte
}

func newRoot(uint32) abi.Root { return &root{} }

// OnVMStart implements abi.Root. A new VM has no metrics defined.
func (r *root) OnVMStart(int) bool {
	counterDefined = [filter.NumCounters]bool{}
	countersChanged++
	clear(metricIDs)
	return true
}

// OnConfigure implements abi.Root: it compiles the configuration, or refuses
// it with one error line.
func (r *root) OnConfigure(data []byte) bool {
	cfg, err := filter.Parse(data)
	if err != nil {
		abi.Log(abi.LogError, "cors: refusing configuration: "+err.Error())
		return false
	}
	for _, w := range cfg.Warnings() {
		abi.Log(abi.LogWarn, "cors: warning: "+w.Path+": "+w.Message)
	}
	if s := cfg.Summary(); s != "" {
		abi.Log(abi.LogInfo, s)
	}
	defineCounters()
	r.policies = definePolicyCounters(cfg, nil)
	r.cfg = cfg
	r.pick = pickTable(cfg)
	r.replies = make([]preflightReply, 5*cfg.NumPolicies())
	r.additions = make([][][2]string, 2*cfg.NumPolicies())
	r.reports = make([]reportMetrics, 8*cfg.NumPolicies())
	r.noOrigin = cfg.Evaluate(&filter.Request{})
	r.noOriginSilent = len(r.noOrigin.Counters(nil)) == 0 && r.noOrigin.LogLine() == ""
	r.noOriginVary = r.noOriginSilent && r.noOrigin.VaryOnly()
	return true
}

// pickTable is the pick table of the request lines cfg reads: those of
// filter.LineNames that cfg.ReadsHeader lets through, at their index.
func pickTable(cfg *filter.Config) *abi.PickTable {
	var names [filter.NumLines]string
	for i, name := range filter.LineNames {
		if cfg.ReadsHeader(name) {
			names[i] = name
		}
	}
	t, err := abi.NewPickTable(names[:])
	if err != nil {
		panic("cors: " + err.Error()) // filter.LineNames are fixed, fewer than abi.MaxPicked and short
	}
	return t
}

// filter.Request.SetLines reads what abi.ReadPicked writes.
var _ = func(p *abi.Picked) *[filter.MaxLines]uint64 { return &p.Spans }

// NewStream implements abi.Root. The ABI layer hands a stream on to later
// streams of the root (abi.ReuseStreams): with its arenas, a warm request
// allocates nothing and the VM's memory stays flat.
func (r *root) NewStream(uint32) abi.Stream { return &stream{root: r} }

// stream is the context of one HTTP stream, and of later ones: each
// request starts by clearing what the last one left (OnRequestHeaders).
type stream struct {
	root *root
	req  filter.Request
	// d is the request's decision: the root's noOrigin, shared by every
	// request without Origin (a pointer, not a copy: copying a Decision
	// into the stream costs every such request a few dozen Wasm
	// instructions), or own.
	d   *filter.Decision
	own filter.Decision

	// pending says the response phase has work to do (d.NeedsResponse).
	pending bool
	// compare says the response phase compares the upstream's answer with
	// the policy's (d.NeedsComparison: report mode).
	compare bool
	// reported says the decision's counters and log line were sent.
	reported bool
	// picked are the request's header lines that the engine reads, as the
	// root's pick table finds them (abi.ReadPicked, filter.Request.SetLines).
	picked abi.Picked
}

// OnRequestHeaders implements abi.Stream. A request without Origin costs one
// host call unless the configuration needs its other headers.
func (s *stream) OnRequestHeaders(int, bool) types.Action {
	s.pending, s.compare, s.reported = false, false, false
	cfg := s.root.cfg
	if cfg == nil {
		return types.ActionContinue
	}
	_, hasOrigin := abi.GetHeader(abi.MapRequestHeaders, "origin")
	if !hasOrigin && !cfg.NeedsHeadersWithoutOrigin() {
		// Every such request gets the same decision, made at configuration.
		if s.root.noOriginVary {
			abi.StreamDoneAdding("vary", "origin") // see OnResponseHeaders
			return types.ActionContinue
		}
		s.d = &s.root.noOrigin
		s.reported = s.root.noOriginSilent
		s.pending = s.d.NeedsResponse()
		if !s.pending {
			s.report()
			abi.StreamDone()
		}
		return types.ActionContinue
	}
	return s.decide(cfg)
}

// addEachLine sets the request from its header lines one at a time, for
// a request with several lines of a name the engine reads.
func (s *stream) addEachLine(cfg *filter.Config) {
	s.req.Reset()
	pairs := s.picked.Pairs
	for k, v, ok := pairs.Next(); ok; k, v, ok = pairs.Next() {
		if cfg.ReadsHeader(k) {
			s.req.AddHeader(k, v)
		}
	}
}

// decide reads the request's headers, decides, and answers a preflight
// whose answer is the plugin's. It is OnRequestHeaders' for a request with
// Origin, apart so that a request without Origin runs a small function: a
// large one costs every call to it in its prologue.
func (s *stream) decide(cfg *filter.Config) types.Action {
	// The header lines are read where the host wrote them, and the engine
	// keeps those it reads (a view, no copy): picked in one pass, or, when
	// a name it reads has several lines, one at a time.
	//
	// root and d are read through locals: Go's Wasm code checks a pointer
	// loaded from a field for nil at each use in a branch.
	root := s.root
	if err := abi.ReadPicked(abi.MapRequestHeaders, root.pick, &s.picked); err != nil {
		internalError("reading request headers", err)
		return types.ActionContinue
	}
	if s.picked.Repeated {
		s.addEachLine(cfg)
	} else {
		s.req.SetLines(s.picked.Pairs.Map(), &s.picked.Spans, s.picked.Present)
	}
	if cfg.NeedsRouteName() {
		name, _, err := abi.GetProperty("xds", "route_name")
		if err != nil {
			// Without the route, the policy that applies is unknown:
			// guessing the default could allow what the route's
			// policy denies. Leave the request untouched.
			internalError("reading the route name", err)
			return types.ActionContinue
		}
		s.req.RouteName = name
	}
	d := &s.own
	*d = cfg.EvaluateMemo(&s.req, &root.memo)
	s.d = d

	// Nothing is reported yet (OnRequestHeaders): sendReport, not report.
	if d.Kind == filter.KindPreflight {
		if answered, err := s.answerPreflight(d); err != nil {
			internalError("sending the preflight response", err)
			return types.ActionContinue
		} else if answered {
			s.sendReport(d)
			abi.StreamDone()
			return types.ActionPause
		}
	}
	if d.NeedsResponse() {
		s.pending = true
		s.handOff(d)
	} else {
		s.sendReport(d)
		s.compare = d.NeedsComparison()
		if !s.compare {
			abi.StreamDone()
		}
	}
	return types.ActionContinue
}

// handOff gives the ABI layer the lines to add to the response, when the
// decision's are a set built once (filter.UpstreamScan.AdditionsKey) and
// the upstream's lines cannot change them: those of a response with no
// access-control-* or vary line (abi.ResponseNamesForStream), which the
// layer reads, and sees, without entering Go, adding the lines and
// counting the decision (its counters, a report of an allowed request
// being only those) as writeResponse would. Any other response comes to
// OnResponseHeaders as before, the layer's read of it with it.
func (s *stream) handOff(d *filter.Decision) {
	scan := d.ScanUpstream()
	key, ok := scan.AdditionsKey()
	if !ok {
		return
	}
	a := &s.root.additions[key]
	if *a == nil {
		*a = scan.AppendAdditions(nil)
	}
	var counters []uint32
	if k, ok := d.CountersKey(); ok { // as sendReport finds them, inline there
		m := &s.root.reports[k]
		if m.found != countersChanged {
			s.root.findReport(m, d)
		}
		counters = m.ids[:m.n]
	}
	abi.StreamAddsToResponse([2]string{(*a)[0][0], scan.KeyedValue()}, (*a)[1:], counters)
}

// OnResponseHeaders implements abi.Stream. It is the stream's last work:
// OnDelete would find nothing to report.
func (s *stream) OnResponseHeaders(int, bool) types.Action {
	abi.StreamDone()
	if !s.pending {
		if s.compare {
			s.compare = false
			s.compareResponse()
		}
		return types.ActionContinue
	}
	s.pending = false
	if s.d.VaryOnly() {
		// One added line and no read: the upstream's vary is not looked at,
		// so when it names origin already the response carries origin
		// twice, which means the same to a cache (vary is a list of names).
		// A request without Origin is most of a mesh's traffic; reading
		// vary first would double its response-side host calls.
		if err := abi.AddHeader(abi.MapResponseHeaders, "vary", "origin"); err != nil {
			internalError("adding vary: origin", err)
		}
		s.report()
		return types.ActionContinue
	}
	s.writeResponse()
	return types.ActionContinue
}

// writeResponse adds the decision's lines to the upstream's response, or
// rewrites it: OnResponseHeaders' for a decision that needs more than
// vary, apart as decide is. The upstream's lines are read where the host
// wrote them, one at a time; a slice of them is made only for a rewrite.
func (s *stream) writeResponse() {
	pairs, err := abi.ReadHeaders(abi.MapResponseHeaders)
	if err != nil {
		internalError("reading response headers", err)
		return
	}
	all := pairs // to read again from the start for a rewrite
	scan := s.d.ScanUpstream()
	rewrite := false
	for k, v, ok := pairs.Next(); ok; k, v, ok = pairs.Next() {
		if !scan.Line(k, v) {
			rewrite = true
			break
		}
	}
	if !rewrite {
		// Lines added one by one: the host keeps the upstream's as they are,
		// and no line is serialized again. The usual sets of lines are built
		// once, and their first value set per request.
		var add [][2]string
		if key, ok := scan.AdditionsKey(); ok {
			a := &s.root.additions[key]
			if *a == nil {
				*a = scan.AppendAdditions(nil)
			}
			(*a)[0][1] = scan.KeyedValue()
			add = *a
		} else {
			add = scan.AppendAdditions(s.root.out[:0])
			s.root.out = add[:0]
		}
		if name, err := abi.AddHeaders(abi.MapResponseHeaders, add); err != nil {
			internalError("adding "+name, err)
		}
		s.report()
		return
	}
	hdrs := all.Append(s.root.headers[:0])
	s.root.headers = hdrs[:0]
	out, changed := s.d.RewriteResponse(hdrs, s.root.out[:0])
	s.root.out = out[:0]
	if changed {
		if err := abi.SetHeaders(abi.MapResponseHeaders, out); err != nil {
			internalError("writing response headers", err)
		}
	}
	s.report()
}

// OnDelete implements abi.Stream: a decision whose response never came is
// still counted. The stream keeps its request and decision, which view
// memory the ABI layer keeps with it, until its next request clears them.
func (s *stream) OnDelete() {
	if s.pending {
		s.pending = false
		s.report()
	}
}

// compareResponse compares, in report mode, the upstream's answer with the
// policy's, counts the class (globally and for the policy) and logs a
// would_break at info level, a would_open at debug level.
func (s *stream) compareResponse() {
	hdrs, err := abi.AppendHeaders(s.root.headers[:0], abi.MapResponseHeaders)
	s.root.headers = hdrs[:0]
	if err != nil {
		internalError("reading response headers", err)
		return
	}
	c := s.d.Compare(&s.req, hdrs)
	if gc, ok := c.Class.Counter(); ok {
		count(gc)
	}
	if pc, ok := c.Class.PolicyCounter(); ok {
		s.root.countPolicy(s.d.PolicyIndex(), pc)
	}
	var level abi.LogLevel
	switch {
	case c.Class == filter.ClassWouldBreak:
		level = abi.LogInfo
	case c.Class == filter.ClassWouldOpen && abi.LogEnabled(abi.LogDebug):
		level = abi.LogDebug
	default:
		return
	}
	line := c.AppendLogLine(s.root.compareLine[:0])
	s.root.compareLine = line[:0]
	abi.LogBytes(level, line)
}

// countPolicy increments counter pc of the i-th policy, if it is defined.
func (r *root) countPolicy(i int, pc filter.PolicyCounter) {
	if i >= 0 && i < len(r.policies) && r.policies[i].defined[pc] {
		abi.IncrementCounter(r.policies[i].ids[pc], 1)
	}
}

// report increments the decision's counters and logs its line, once.
func (s *stream) report() {
	if !s.reported {
		s.sendReport(s.d)
	}
}

// sendReport is report's work for d, the stream's decision, apart so that
// report's check inlines.
func (s *stream) sendReport(d *filter.Decision) {
	s.reported = true
	if k, ok := d.CountersKey(); ok {
		root := s.root
		m := &root.reports[k]
		if m.found != countersChanged {
			root.findReport(m, d)
		}
		// At most four (reportMetrics), written out: a loop costs the
		// module a jump back through its function's dispatch per metric.
		ids := &m.ids
		if m.n > 0 {
			abi.IncrementCounter(ids[0], 1)
		}
		if m.n > 1 {
			abi.IncrementCounter(ids[1], 1)
		}
		if m.n > 2 {
			abi.IncrementCounter(ids[2], 1)
		}
		if m.n > 3 {
			abi.IncrementCounter(ids[3], 1)
		}
	}
	// Envoy drops debug lines at its default level: a denial asks the
	// level (one cheap host call) before building its line.
	if d.Denied() && abi.LogEnabled(abi.LogDebug) {
		line := d.AppendLogLine(s.root.line[:0])
		s.root.line = line[:0]
		abi.LogBytes(abi.LogDebug, line)
	}
}

// reportMetrics are the IDs of the defined metrics a decision increments:
// its global counters (Decision.Counters) and its policy's
// (Decision.PolicyCounter), at most four. found is countersChanged when
// they were found (0: never): a later configuration may define global
// counters this root's could not.
type reportMetrics struct {
	ids   [4]uint32
	n     uint8
	found uint32
}

// findReport fills m with the metrics of d and every decision of its key.
func (r *root) findReport(m *reportMetrics, d *filter.Decision) {
	*m = reportMetrics{found: countersChanged}
	for _, c := range d.Counters(r.counters[:0]) {
		if counterDefined[c] {
			m.ids[m.n] = counterIDs[c]
			m.n++
		}
	}
	if pc, ok := d.PolicyCounter(); ok {
		if i := d.PolicyIndex(); i < len(r.policies) && r.policies[i].defined[pc] {
			m.ids[m.n] = r.policies[i].ids[pc]
			m.n++
		}
	}
}

// answerPreflight sends the local reply to a preflight, if the decision has
// one (see filter.Decision.LocalResponse). Most come from a serialized
// template (LocalResponseKey), built on first use; a debug denial's, which
// names its reason, is serialized for the request.
func (s *stream) answerPreflight(d *filter.Decision) (answered bool, err error) {
	if key, ok := d.LocalResponseKey(); ok {
		a := &s.root.replies[key]
		if !a.built {
			status, headers, _ := d.LocalResponse(nil)
			*a = preflightReply{status: status, headers: abi.NewHeaderTemplate(headers), built: true}
			if d.KeyedValueFixed() {
				a.whole = slices.Clone(a.headers.Fill(d.KeyedValue()))
			}
		}
		if a.whole != nil {
			return true, abi.SendLocalResponseSerialized(a.status, a.whole, "cors_preflight")
		}
		return true, abi.SendLocalResponseTemplate(a.status, &a.headers, d.KeyedValue(), "cors_preflight")
	}
	status, headers, ok := d.LocalResponse(s.root.out[:0])
	s.root.out = headers[:0]
	if !ok {
		return false, nil
	}
	return true, abi.SendLocalResponse(status, headers, nil, "cors_preflight")
}

// preflightReply is a preflight's answer, serialized but for the value of
// its first header (filter.Decision.KeyedValue), and whole when that value
// is fixed (a denial's, a "*" policy's): sent as it is, with no copy.
type preflightReply struct {
	status  int
	headers abi.HeaderTemplate
	whole   []byte
	built   bool
}

// internalError logs a failed host call and counts it; the request goes on
// untouched.
func internalError(what string, err error) {
	abi.Log(abi.LogWarn, "cors: "+what+": "+err.Error())
	count(filter.CounterInternalError)
}
