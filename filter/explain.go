package filter

import (
	"strings"

	"github.com/corswasm/corswasm/internal/fetch"
)

// This file gives tools (cmd/corsctl) a read-only view of a compiled
// configuration and of the checks behind a decision. The plugin does not
// use it: verdicts come from Evaluate, and every check here calls the same
// functions Evaluate calls (checkOrigin, checkMethod, checkHeaders), so an
// explanation cannot disagree with a verdict.

// PolicyInfo describes one compiled policy, as the engine holds it.
type PolicyInfo struct {
	Name string `json:"name"` // its name, "default" or "policies[i]"

	// The match; all empty for the default policy.
	Hosts        []string `json:"hosts,omitempty"` // lower case; "*.example.com" for subdomains
	PathPrefixes []string `json:"pathPrefixes,omitempty"`
	RouteNames   []string `json:"routeNames,omitempty"`

	AnyOrigin bool `json:"anyOrigin,omitempty"`
	// Origins lists the allowOrigins entries other than "*", normalized:
	// exact origins in the order written, then "null", then patterns.
	Origins []string `json:"origins,omitempty"`
	Regexes []string `json:"originRegexes,omitempty"` // as written, without the anchors the engine adds

	AnyMethod bool     `json:"anyMethod,omitempty"`
	Methods   []string `json:"methods,omitempty"`
	AnyHeader bool     `json:"anyHeader,omitempty"`
	Headers   []string `json:"headers,omitempty"` // lower case; with AnyHeader, only those that "*" does not cover

	// Header values the policy sends, "" when it sends none.
	AllowMethods  string `json:"allowMethodsHeader,omitempty"`
	AllowHeaders  string `json:"allowHeadersHeader,omitempty"`
	ExposeHeaders string `json:"exposeHeadersHeader,omitempty"`
	MaxAge        string `json:"maxAgeHeader,omitempty"`

	Credentials         bool   `json:"credentials,omitempty"`
	PrivateNetwork      bool   `json:"privateNetwork,omitempty"`
	PreflightStatus     int    `json:"preflightStatus"`
	UnmatchedPreflights string `json:"unmatchedPreflights"` // "reject" or "forward"
}

// Policies describes the compiled policies in the order they are tried; the
// default policy, if any, is last.
func (c *Config) Policies() []PolicyInfo {
	out := make([]PolicyInfo, len(c.policies))
	for i, p := range c.policies {
		out[i] = p.info()
	}
	return out
}

func (p *policy) info() PolicyInfo {
	info := PolicyInfo{
		Name:            p.name,
		PathPrefixes:    clone(p.pathPrefixes),
		RouteNames:      clone(p.routeNames),
		AnyOrigin:       p.anyOrigin,
		Origins:         clone(p.exact.list),
		AnyMethod:       p.anyMethod,
		Methods:         clone(p.methods),
		AnyHeader:       p.anyHeader,
		Headers:         clone(p.headers),
		AllowMethods:    p.allowMethods,
		ExposeHeaders:   p.exposeHeaders,
		MaxAge:          p.maxAge,
		Credentials:     p.credentials,
		PrivateNetwork:  p.privateNetwork,
		PreflightStatus: p.preflightOK,
	}
	if len(p.headers) > 0 || p.anyHeader {
		info.AllowHeaders = p.allowHeaders
	}
	info.Hosts = clone(p.hosts)
	for _, s := range p.hostSuffixes {
		info.Hosts = append(info.Hosts, "*"+s)
	}
	if p.allowNull {
		info.Origins = append(info.Origins, "null")
	}
	for i := range p.patterns {
		info.Origins = append(info.Origins, p.patterns[i].String())
	}
	for _, re := range p.regexes {
		info.Regexes = append(info.Regexes, re.String())
	}
	info.UnmatchedPreflights = "reject"
	if p.forward {
		info.UnmatchedPreflights = "forward"
	}
	return info
}

func clone(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// PolicyMatch says whether one policy's match holds for a request.
type PolicyMatch struct {
	Policy  string `json:"policy"`
	Matched bool   `json:"matched"`
	// Failed names the first criterion that does not hold: "hosts",
	// "pathPrefixes" or "routeNames"; "" when the match holds.
	Failed string `json:"failed,omitempty"`
}

// Names of the checks a policy makes, in the order Evaluate makes them.
const (
	CheckOrigin         = "origin"
	CheckMethod         = "method"
	CheckHeaders        = "headers"
	CheckPrivateNetwork = "private network"
)

// Check is one test a policy makes of a request.
type Check struct {
	Name   string `json:"name"`  // CheckOrigin, CheckMethod, CheckHeaders or CheckPrivateNetwork
	Value  string `json:"value"` // what the request carried (header lines joined by ", ")
	Passed bool   `json:"passed"`
	Reason Reason `json:"-"`                // why it failed; ReasonAllowed when it passed
	Detail string `json:"detail,omitempty"` // the offending value, as in Decision.Detail
	// By says what let it pass. Origins: "exact", "pattern", "regex",
	// "null" or "any"; methods: "safelisted", "listed" or "any"; headers:
	// "listed", "any" or "none" (no header requested); private network:
	// "allowPrivateNetwork".
	By string `json:"by,omitempty"`
	// Entry is, for an origin that passed, the allowOrigins entry
	// (normalized) or the regex (as written) that allowed it.
	Entry string `json:"entry,omitempty"`
	// Denied lists, for headers, every requested name that is not allowed
	// or not a valid name, in request order.
	Denied []string `json:"denied,omitempty"`
}

// Explanation is how the engine reaches its decision on a request.
type Explanation struct {
	// Decision is what Evaluate returns for the request.
	Decision Decision
	// Tried lists the policies tried, in order, up to the one that applies.
	Tried []PolicyMatch
	// Policy is the index in Policies of the policy that applies, or -1.
	Policy int
	// Checks lists every check the policy makes of the request, each made
	// even when an earlier one failed, so that a tool can say everything
	// that stands in the way. Evaluate stops at the first failure, which
	// is Decision.Reason.
	Checks []Check
}

// Explain evaluates r and says how the decision was reached.
func (c *Config) Explain(r *Request) Explanation {
	e := Explanation{Decision: c.Evaluate(r), Policy: -1}
	for i, p := range c.policies {
		m := PolicyMatch{Policy: p.name, Failed: p.failedCriterion(r)}
		m.Matched = m.Failed == ""
		e.Tried = append(e.Tried, m)
		if m.Matched {
			e.Policy = i
			e.Checks = c.PolicyChecks(i, r)
			break
		}
	}
	return e
}

// failedCriterion names the first criterion of p's match that r fails, as
// matches decides.
func (p *policy) failedCriterion(r *Request) string {
	if p.matches(r) {
		return ""
	}
	only := *p
	only.pathPrefixes, only.routeNames = nil, nil
	if !only.matches(r) {
		return "hosts"
	}
	only = *p
	only.routeNames = nil
	if !only.matches(r) {
		return "pathPrefixes"
	}
	return "routeNames"
}

// PolicyChecks makes the checks of policy i (an index in Policies) on r, as
// if its match held. A request without Origin is not checked.
func (c *Config) PolicyChecks(i int, r *Request) []Check {
	p := c.policies[i]
	if !r.HasOrigin {
		return nil
	}
	checks := []Check{p.explainOrigin(r)}
	if r.Method != "OPTIONS" || r.RequestMethod == "" { // not a preflight, as Evaluate decides
		return checks
	}
	m := Check{Name: CheckMethod, Value: r.RequestMethod}
	m.Reason, m.Detail = p.checkMethod(r.RequestMethod)
	if m.Passed = m.Reason == ReasonAllowed; m.Passed {
		switch {
		case fetch.IsSafelistedMethod(r.RequestMethod):
			m.By = "safelisted"
		case p.anyMethod:
			m.By = "any"
		default:
			m.By = "listed"
		}
	}
	checks = append(checks, m, p.explainHeaders(r.RequestHeaders))
	if r.RequestPrivateNetwork == "true" {
		pn := Check{Name: CheckPrivateNetwork, Value: r.RequestPrivateNetwork, Passed: p.privateNetwork}
		if pn.Passed {
			pn.By = "allowPrivateNetwork"
		} else {
			pn.Reason, pn.Detail = ReasonPrivateNetworkDenied, r.RequestPrivateNetwork
		}
		checks = append(checks, pn)
	}
	return checks
}

func (p *policy) explainOrigin(r *Request) Check {
	reason, by, i := p.checkOrigin(r, nil)
	ch := Check{Name: CheckOrigin, Value: r.Origin, Reason: reason}
	if ch.Passed = ch.Reason == ReasonAllowed; !ch.Passed {
		ch.Detail = r.Origin
		return ch
	}
	switch by {
	case byAny:
		ch.By, ch.Entry = "any", "*"
	case byNull:
		ch.By, ch.Entry = "null", "null"
	case byExact:
		ch.By, ch.Entry = "exact", r.Origin
	case byPattern:
		ch.By, ch.Entry = "pattern", p.patterns[i].String()
	case byRegex:
		ch.By, ch.Entry = "regex", p.regexes[i].String()
	}
	return ch
}

func (p *policy) explainHeaders(lines []string) Check {
	ch := Check{Name: CheckHeaders, Value: strings.Join(lines, ", ")}
	var asked bool
	ch.Reason, ch.Detail, asked = p.checkHeaders(lines)
	if ch.Passed = ch.Reason == ReasonAllowed; ch.Passed {
		switch {
		case !asked:
			ch.By = "none"
		case p.anyHeader:
			ch.By = "any"
		default:
			ch.By = "listed"
		}
		return ch
	}
	if tooLong(lines) {
		return ch // the engine does not read the list
	}
	// Each element through the engine's own check, to name every offender.
	for _, line := range lines {
		for _, name := range strings.Split(line, ",") {
			name = trimSpace(name)
			if name == "" {
				continue
			}
			if reason, _, _ := p.checkHeaders([]string{name}); reason != ReasonAllowed {
				ch.Denied = append(ch.Denied, name)
			}
		}
	}
	return ch
}
