package demo

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/corswasm/corswasm/filter"
)

// Policy is the plugin configuration the demo runs, for saying on the page
// and in corsdev's banner what it does to the page's calls. Every statement
// comes from the engine (Config.Evaluate), never from prose about the
// example config.json.
type Policy struct {
	// Source names the configuration, e.g. "config.json".
	Source string
	Config *filter.Config
}

// ParsePolicy parses a plugin configuration as the plugin does.
func ParsePolicy(source string, data []byte) (*Policy, error) {
	c, err := filter.Parse(data)
	if err != nil {
		return nil, err
	}
	return &Policy{Source: source, Config: c}, nil
}

// Paths are the API paths the page's calls describe: the private API and
// the public path.
var Paths = []string{"/v1/things", "/public/status"}

// Verdict is what a policy decides for a GET of Path from Origin.
type Verdict struct {
	Origin, Path string
	// Covered says whether a policy applies; Policy is its display name.
	Covered bool
	Policy  string
	Allowed bool
	// Reason is the engine's reason for a denial, e.g. "origin not allowed".
	Reason string
}

// Verdict evaluates a GET of path on the API at apiURL from origin.
func (p *Policy) Verdict(apiURL, origin, path string) Verdict {
	authority := apiURL
	if u, err := url.Parse(apiURL); err == nil && u.Host != "" {
		authority = u.Host
	}
	var r filter.Request
	r.AddHeader(":method", "GET")
	r.AddHeader(":authority", authority)
	r.AddHeader(":path", path)
	r.AddHeader("origin", origin)
	d := p.Config.Evaluate(&r)
	v := Verdict{Origin: origin, Path: path, Covered: d.Kind != filter.KindUncovered, Policy: d.Policy(), Allowed: d.Allowed}
	if !d.Allowed {
		v.Reason = d.Reason.String()
	}
	return v
}

// Short says what the policy does to the origin, e.g. "allowed by policy
// default" or "denied by policy default: origin not allowed".
func (v Verdict) Short() string {
	switch {
	case !v.Covered:
		return "not covered by any policy (the plugin leaves the answer as the upstream wrote it)"
	case v.Allowed:
		return "allowed by policy " + v.Policy
	}
	return "denied by policy " + v.Policy + ": " + v.Reason
}

// Describe says, one sentence per path of Paths, what the policy does to a
// GET from each origin, e.g.
//
//	GET /v1/things: http://localhost:8080 is allowed by policy default; http://127.0.0.1:8080 is denied by policy default: origin not allowed.
//
// In report mode, a last sentence says that the plugin enforces nothing.
func (p *Policy) Describe(apiURL string, origins []string) []string {
	var out []string
	for _, path := range Paths {
		var parts []string
		for _, o := range origins {
			v := p.Verdict(apiURL, o, path)
			switch {
			case !v.Covered:
				parts = append(parts, o+" is not covered by any policy: the plugin leaves the answer untouched")
			case v.Allowed:
				parts = append(parts, o+" is allowed by policy "+v.Policy)
			default:
				parts = append(parts, o+" is denied by policy "+v.Policy+": "+v.Reason)
			}
		}
		out = append(out, fmt.Sprintf("GET %s: %s.", path, strings.Join(parts, "; ")))
	}
	if p.Config.Mode() == filter.ModeReport {
		out = append(out, `mode "report": the plugin only logs and counts what it would do; the upstream's own CORS headers reach the browser.`)
	}
	return out
}

// PageOrigins are the origins of the page served at hostPort, as a
// browser names them: for localhost or 127.0.0.1, both (two origins for
// the same page); else the one.
func PageOrigins(hostPort string) []string {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return []string{"http://" + hostPort}
	}
	switch host {
	case "localhost":
		return []string{"http://" + hostPort, "http://" + net.JoinHostPort("127.0.0.1", port)}
	case "127.0.0.1":
		return []string{"http://" + hostPort, "http://" + net.JoinHostPort("localhost", port)}
	}
	return []string{"http://" + hostPort}
}
