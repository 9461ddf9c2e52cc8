package main

import (
	"fmt"
	"strings"

	"github.com/corswasm/corswasm/filter"
	"github.com/corswasm/corswasm/internal/fetch"
)

// scenario is the fetch() a page makes, as explain's flags describe it.
type scenario struct {
	url           string // the URL fetched, for messages
	host, path    string // :authority and :path
	route         string // the Envoy route name
	origin        string
	method        string // as the browser sends it
	headers       []reqHeader
	dropped       []string // forbidden headers the browser drops
	credentials   bool
	onlyPreflight bool
	privateNet    bool

	upstreamStatus  int
	upstreamHeaders [][2]string
}

// step is one request the browser sends and what comes back.
type step struct {
	Kind        string      // "preflight" or "request"
	Method      string      // the :method sent
	Sent        [][2]string // the headers sent, besides :method, :authority and :path
	Explanation filter.Explanation
	ByPlugin    bool // the plugin answered; otherwise the upstream did
	Status      int
	Response    [][2]string // response headers, without :status
	Failure     *corsFailure
}

// simulation is a whole fetch(): an optional preflight, then the request.
type simulation struct {
	Preflight bool
	Why       []string // why the browser preflights
	Unsafe    []string // the header names the preflight asks for
	Steps     []step
}

// blocked says whether the browser refuses the page the response.
func (s *simulation) blocked() bool {
	return len(s.Steps) > 0 && s.Steps[len(s.Steps)-1].Failure != nil
}

// pluginAllows says whether the plugin allowed every request it covered.
func (s *simulation) pluginAllows() bool {
	for _, st := range s.Steps {
		d := st.Explanation.Decision
		if d.Kind == filter.KindUncovered || (d.Kind == filter.KindPreflight || d.Kind == filter.KindActual) && !d.Allowed {
			return false
		}
	}
	return true
}

// simulate runs the fetch sc through cfg as a browser sends it: a
// preflight first if it needs one, then the request if that passes.
func simulate(cfg *filter.Config, sc *scenario) simulation {
	var sim simulation
	sim.Unsafe = unsafeHeaderNames(sc.headers)
	if !fetch.IsSafelistedMethod(sc.method) {
		sim.Why = append(sim.Why, sc.method+" is not a CORS-safelisted method (GET, HEAD, POST)")
	}
	if len(sim.Unsafe) > 0 {
		sim.Why = append(sim.Why, fmt.Sprintf("%s %s", andList(sim.Unsafe), plural(sim.Unsafe, "is not a CORS-safelisted request header", "are not CORS-safelisted request headers")))
	}
	if sc.privateNet {
		sim.Why = append(sim.Why, "the page asks for private network access")
	}
	if sc.onlyPreflight && len(sim.Why) == 0 {
		sim.Why = append(sim.Why, "--preflight asks for one")
	}
	sim.Preflight = len(sim.Why) > 0
	if sim.Preflight {
		sent := [][2]string{{"origin", sc.origin}, {"access-control-request-method", sc.method}}
		if len(sim.Unsafe) > 0 {
			sent = append(sent, [2]string{"access-control-request-headers", strings.Join(sim.Unsafe, ",")})
		}
		if sc.privateNet {
			sent = append(sent, [2]string{"access-control-request-private-network", "true"})
		}
		st := exchange(cfg, sc, "preflight", "OPTIONS", sent)
		st.Failure = checkPreflight(sc.origin, sc.method, sim.Unsafe, sc.credentials, st.Status, st.Response)
		sim.Steps = append(sim.Steps, st)
		if st.Failure != nil || sc.onlyPreflight {
			return sim
		}
	}
	sent := [][2]string{{"origin", sc.origin}}
	for _, h := range sc.headers {
		v := h.value
		switch {
		case h.hasValue:
		case h.name == "content-type":
			v = "application/json" // what a header without value is taken for
		default:
			v = "..."
		}
		sent = append(sent, [2]string{h.name, v})
	}
	st := exchange(cfg, sc, "request", sc.method, sent)
	st.Failure = checkResponse(sc.origin, sc.credentials, st.Response)
	sim.Steps = append(sim.Steps, st)
	return sim
}

// exchange runs one request through the engine as the plugin does, and
// computes the answer: the plugin's own, or the upstream's as the plugin
// rewrites it.
func exchange(cfg *filter.Config, sc *scenario, kind, method string, sent [][2]string) step {
	st := step{Kind: kind, Method: method, Sent: sent}
	var r filter.Request
	r.AddHeader(":method", method)
	r.AddHeader(":authority", sc.host)
	r.AddHeader(":path", sc.path)
	for _, h := range sent {
		r.AddHeader(h[0], h[1])
	}
	if cfg.NeedsRouteName() {
		r.RouteName = sc.route
	}
	st.Explanation = cfg.Explain(&r)
	d := st.Explanation.Decision
	if status, hdrs, ok := d.LocalResponse(nil); ok {
		st.ByPlugin, st.Status, st.Response = true, status, hdrs
		return st
	}
	upstream := append([][2]string{{":status", fmt.Sprint(sc.upstreamStatus)}}, sc.upstreamHeaders...)
	out, changed := d.RewriteResponse(upstream, nil)
	if !changed {
		out = upstream
	}
	st.Status = sc.upstreamStatus
	for _, h := range out {
		if h[0] != ":status" {
			st.Response = append(st.Response, h)
		}
	}
	return st
}
