package filter

import (
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/internal/fetch"
	"github.com/corswasm/corswasm/internal/originre"
)

// compile turns a valid Spec into the form requests read: origins
// normalized, lists deduplicated, response header values built once.
func compile(s *Spec) *Config {
	cfg := &Config{mode: s.Mode, debug: s.Debug}
	for i := range s.Policies {
		ps := &s.Policies[i]
		name, segment := ps.Name, ps.Name
		if name == "" {
			name, segment = index("policies", i), "policies_"+strconv.Itoa(i)
		}
		cfg.policies = append(cfg.policies, compilePolicy(ps, name, segment))
	}
	if len(s.AllowOrigins) > 0 || len(s.AllowOriginRegexes) > 0 {
		p := compilePolicy(&s.PolicySpec, "default", "default")
		p.isDefault = true
		cfg.policies = append(cfg.policies, p)
	}
	for i, p := range cfg.policies {
		p.index = i
		p.matchesAll = len(p.hosts)+len(p.hostSuffixes)+len(p.pathPrefixes)+len(p.routeNames) == 0
	}
	settle(cfg)
	return cfg
}

// settle works out what the plugin must read for requests without Origin.
func settle(cfg *Config) {
	hasDefault := false
	anyOrigin, mixed := false, false
	// :authority and :path only matter to policies matched on them, and
	// :path to report mode's comparison log line.
	cfg.readLengths = readLengths &^ (1<<len(":authority") | 1<<len(":path"))
	if cfg.mode == ModeReport {
		cfg.readLengths |= 1 << len(":path")
	}
	for i, p := range cfg.policies {
		if len(p.routeNames) > 0 {
			cfg.needsRouteName = true
		}
		if len(p.hosts)+len(p.hostSuffixes) > 0 {
			cfg.readLengths |= 1 << len(":authority")
		}
		if len(p.pathPrefixes) > 0 {
			cfg.readLengths |= 1 << len(":path")
		}
		if p.isDefault {
			hasDefault = true
		}
		if i == 0 {
			anyOrigin = p.anyOrigin
		} else if p.anyOrigin != anyOrigin {
			mixed = true
		}
	}
	cfg.needsHeadersNoOrigin = len(cfg.policies) > 0 && (mixed || !hasDefault)
}

// compilePolicy compiles one valid policy.
func compilePolicy(ps *PolicySpec, name, segment string) *policy {
	p := &policy{
		name:           name,
		logName:        " (policy " + name + "): ",
		segment:        segment,
		credentials:    ps.AllowCredentials,
		privateNetwork: ps.AllowPrivateNetwork,
		preflightOK:    204,
		forward:        ps.UnmatchedPreflights == "forward",
	}
	if m := ps.Match; m != nil {
		for _, h := range m.Hosts {
			h = strings.ToLower(h)
			if strings.HasPrefix(h, "*.") {
				p.hostSuffixes = append(p.hostSuffixes, h[1:])
			} else {
				p.hosts = append(p.hosts, h)
			}
		}
		p.pathPrefixes = append([]string(nil), m.PathPrefixes...)
		p.routeNames = append([]string(nil), m.RouteNames...)
	}
	compileOrigins(p, ps)
	compileMethods(p, ps)
	compileHeaders(p, ps)
	compileExpose(p, ps)
	if ps.MaxAge != nil {
		p.maxAge = strconv.Itoa(*ps.MaxAge)
	}
	if ps.PreflightStatus != 0 {
		p.preflightOK = ps.PreflightStatus
	}

	p.preflightHeaders = [][2]string{{"access-control-allow-origin", ""}} // the origin goes in per request
	if p.credentials {
		p.preflightHeaders = append(p.preflightHeaders, [2]string{"access-control-allow-credentials", "true"})
	}
	if p.allowMethods != "" {
		p.preflightHeaders = append(p.preflightHeaders, [2]string{"access-control-allow-methods", p.allowMethods})
	}
	if p.maxAge != "" {
		p.preflightHeaders = append(p.preflightHeaders, [2]string{"access-control-max-age", p.maxAge})
	}
	p.preflightVary = "origin, access-control-request-method, access-control-request-headers"
	if p.privateNetwork {
		p.preflightVary += ", access-control-request-private-network"
	}
	return p
}

func compileOrigins(p *policy, ps *PolicySpec) {
	for _, o := range ps.AllowOrigins {
		switch o {
		case "*":
			p.anyOrigin = true
		case "null":
			p.allowNull = true
		default:
			pp, _ := parseOriginPattern(o)
			if pp.wild {
				p.patterns = append(p.patterns, pp.pattern)
			} else {
				p.exact.add(pp.exact)
			}
		}
	}
	for _, expr := range ps.AllowOriginRegexes {
		re, _ := originre.Compile(expr) // matches the whole origin
		p.regexes = append(p.regexes, re)
	}
}

func compileMethods(p *policy, ps *PolicySpec) {
	for _, m := range ps.AllowMethods {
		if m == "*" {
			p.anyMethod = true
			continue
		}
		m = fetch.NormalizeMethod(m) // browsers send these in upper case whatever the page wrote
		if !contains(p.methods, m) {
			p.methods = append(p.methods, m)
			p.methodBits |= methodBit(m)
		}
	}
	if p.anyMethod {
		p.allowMethods = "*"
	} else {
		p.allowMethods = strings.Join(p.methods, ", ")
	}
}

func compileHeaders(p *policy, ps *PolicySpec) {
	authorization := false
	for _, h := range ps.AllowHeaders {
		if h == "*" {
			p.anyHeader = true
			continue
		}
		name := strings.ToLower(h)
		if name == "authorization" {
			authorization = true
		}
		if !contains(p.headers, name) {
			p.headers = append(p.headers, name)
		}
	}
	switch {
	case p.anyHeader && authorization:
		// "*" does not cover authorization: browsers need it by name.
		p.allowHeaders = "*, authorization"
		p.headers = []string{"authorization"}
	case p.anyHeader:
		p.allowHeaders = "*"
		p.headers = nil
	default:
		p.allowHeaders = strings.Join(p.headers, ", ")
	}
	p.headerNames = make([]foldName, len(p.headers))
	for i, h := range p.headers {
		p.headerNames[i] = newFoldName(h)
		if p.headerNames[i].n != 0 {
			p.foldNames = append(p.foldNames, p.headerNames[i])
		}
	}
}

func compileExpose(p *policy, ps *PolicySpec) {
	var names []string
	for _, h := range ps.ExposeHeaders {
		if h == "*" {
			names = []string{"*"}
			continue
		}
		if name := strings.ToLower(h); !contains(names, name) && !contains(names, "*") {
			names = append(names, name)
		}
	}
	p.exposeHeaders = strings.Join(names, ", ")
}
