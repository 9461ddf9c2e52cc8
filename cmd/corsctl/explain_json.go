// explain --format json: the explanation as one JSON object.

package main

import (
	"github.com/corswasm/corswasm/filter"
)

// explainJSON is the object explain --format json prints.
type explainJSON struct {
	Configuration string               `json:"configuration"`
	Mode          string               `json:"mode"`
	Note          string               `json:"note,omitempty"`
	Fetch         fetchJSON            `json:"fetch"`
	Policy        *filter.PolicyInfo   `json:"policy"`
	Tried         []filter.PolicyMatch `json:"tried"`
	Steps         []stepJSON           `json:"steps"`
	Allowed       bool                 `json:"allowed"`
	ConsoleError  string               `json:"consoleError,omitempty"`
	Why           string               `json:"why,omitempty"`
	Fix           *fixResult           `json:"fix,omitempty"`
}

// fetchJSON is the fetch the page makes.
type fetchJSON struct {
	URL          string   `json:"url"`
	Origin       string   `json:"origin"`
	Method       string   `json:"method"`
	Headers      []string `json:"headers,omitempty"`
	Dropped      []string `json:"droppedHeaders,omitempty"`
	Credentials  bool     `json:"credentials"`
	Preflight    bool     `json:"preflight"`
	PreflightWhy []string `json:"preflightWhy,omitempty"`
}

// stepJSON is one request the browser sends and its answer.
type stepJSON struct {
	Kind         string       `json:"kind"`
	Method       string       `json:"method"`
	Path         string       `json:"path"`
	Headers      []headerJSON `json:"requestHeaders"`
	Policy       string       `json:"policy,omitempty"`
	Checks       []checkJSON  `json:"checks"`
	Verdict      string       `json:"verdict"` // allowed, denied, uncovered
	Reason       string       `json:"reason"`
	AnsweredBy   string       `json:"answeredBy"` // plugin or upstream
	Status       int          `json:"status"`
	Response     []headerJSON `json:"responseHeaders"`
	ConsoleError string       `json:"consoleError,omitempty"`
}

// headerJSON is one header field.
type headerJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// headersJSON converts header pairs, never returning nil (JSON [] rather than null).
func headersJSON(hs [][2]string) []headerJSON {
	out := []headerJSON{}
	for _, h := range hs {
		out = append(out, headerJSON{h[0], h[1]})
	}
	return out
}

// checkJSON is an engine check with its reason spelled out.
type checkJSON struct {
	filter.Check
	Reason string `json:"reason"`
}

// json builds the JSON form of the explanation.
func (x *explanation) json() explainJSON {
	sc := x.sc
	out := explainJSON{Configuration: x.src.label(), Mode: x.cfg.Mode().String(), Steps: []stepJSON{},
		Allowed: !x.sim.blocked()}
	if x.report {
		out.Mode = "report"
		out.Note = "in report mode the plugin changes nothing; the steps show what it will do in enforce mode"
	}
	out.Fetch = fetchJSON{URL: sc.url, Origin: sc.origin, Method: sc.method, Dropped: sc.dropped,
		Credentials: sc.credentials, Preflight: x.sim.Preflight, PreflightWhy: x.sim.Why}
	for _, h := range sc.headers {
		if h.hasValue {
			out.Fetch.Headers = append(out.Fetch.Headers, h.name+": "+h.value)
		} else {
			out.Fetch.Headers = append(out.Fetch.Headers, h.name)
		}
	}
	if p, ok := x.policy(); ok {
		out.Policy = &p
	}
	out.Tried = x.sim.Steps[0].Explanation.Tried
	for _, st := range x.sim.Steps {
		d := st.Explanation.Decision
		s := stepJSON{Kind: st.Kind, Method: st.Method, Path: sc.path, Headers: headersJSON(st.Sent), Policy: d.Policy(),
			Checks: []checkJSON{}, Reason: d.Reason.String(), AnsweredBy: "upstream", Status: st.Status, Response: headersJSON(st.Response)}
		switch {
		case d.Kind == filter.KindUncovered:
			s.Verdict = "uncovered"
		case d.Allowed:
			s.Verdict = "allowed"
		default:
			s.Verdict = "denied"
		}
		if st.ByPlugin {
			s.AnsweredBy = "plugin"
		}
		for _, c := range st.Explanation.Checks {
			s.Checks = append(s.Checks, checkJSON{Check: c, Reason: c.Reason.String()})
		}
		if st.Failure != nil {
			s.ConsoleError = consoleMessage(sc.url, sc.origin, st.Failure)
			out.ConsoleError = s.ConsoleError
		}
		out.Steps = append(out.Steps, s)
	}
	if x.sim.blocked() {
		out.Why = x.why()
	}
	if x.fix.Verified || x.fix.None != "" {
		f := x.fix
		for i := range f.Changes {
			f.Changes[i] = x.pathNote() + f.Changes[i]
		}
		out.Fix = &f
	}
	return out
}
