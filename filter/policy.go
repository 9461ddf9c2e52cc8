package filter

import (
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/internal/originre"
)

// policy compiles one policySpec, reporting every problem at its field path.
// It returns nil when the spec has errors.
func (d *decoder) policy(s *policySpec) *policy {
	errs := len(d.errs)
	p := &policy{name: "default", preflightOK: 204}
	if s.path != "" {
		p.name = s.path
		d.match(p, s)
	}
	p.credentials = s.credentials
	d.origins(p, s)
	d.methods(p, s)
	d.headers(p, s)
	d.expose(p, s)

	if s.hasMaxAge {
		path := join(s.path, "maxAge")
		switch {
		case s.maxAge < 0 || s.maxAge > 86400:
			d.fail(path, "must be from 0 to 86400 seconds, not "+strconv.Itoa(s.maxAge)+"; 0 tells browsers not to cache preflights, leave it out for their default of 5 seconds")
		case s.maxAge > 7200:
			d.warn(path, strconv.Itoa(s.maxAge)+" seconds exceeds what Chromium caches (7200); Firefox caches up to 86400")
		}
		p.maxAge = strconv.Itoa(s.maxAge)
	}
	switch s.preflightStatus {
	case 0:
	case 200, 204:
		p.preflightOK = s.preflightStatus
	default:
		d.fail(join(s.path, "preflightStatus"), "must be 200 or 204, not "+strconv.Itoa(s.preflightStatus))
	}
	switch s.unmatched {
	case "", "reject":
	case "forward":
		p.forward = true
	default:
		d.fail(join(s.path, "unmatchedPreflights"), "unknown value "+strconv.Quote(s.unmatched)+`; use "reject" (answer 403) or "forward" (pass to the upstream)`)
	}
	p.privateNetwork = s.privateNetwork
	if s.privateNetwork && p.anyOrigin {
		d.fail(join(s.path, "allowPrivateNetwork"), `cannot be used with the "*" origin: opening a private network to every site defeats the protection; list the origins`)
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
	if len(d.errs) > errs {
		return nil
	}
	return p
}

func (d *decoder) match(p *policy, s *policySpec) {
	path := join(s.path, "match")
	if s.match == nil {
		d.fail(path, `required: a policy in policies applies only where its match holds, e.g. "match": {"hosts": ["api.example.com"]}; put a catch-all policy's fields at the top level instead`)
		return
	}
	if s.match.kind != jsonObject {
		d.fail(path, "must be an object with hosts, pathPrefixes or routeNames, not "+s.match.kind.String())
		return
	}
	criteria := 0
	for _, m := range d.members(*s.match, path, matchFields) {
		fp := join(path, m.key)
		values := d.strings(m.value, fp)
		criteria += len(values)
		for i, v := range values {
			vp := index(fp, i)
			switch m.key {
			case "hosts":
				h := strings.ToLower(v)
				name := strings.TrimPrefix(h, "*.")
				if !validHost(name) || strings.Contains(name, ":") {
					d.fail(vp, "invalid host "+strconv.Quote(v)+`; write a host name without scheme or port ("api.example.com"), or "*." and a domain for its subdomains`)
					continue
				}
				if name != h {
					p.hostSuffixes = append(p.hostSuffixes, h[1:])
				} else {
					p.hosts = append(p.hosts, h)
				}
			case "pathPrefixes":
				if !strings.HasPrefix(v, "/") {
					d.fail(vp, "must start with '/', as request paths do")
					continue
				}
				p.pathPrefixes = append(p.pathPrefixes, v)
			case "routeNames":
				if v == "" {
					d.fail(vp, "empty route name")
					continue
				}
				p.routeNames = append(p.routeNames, v)
			}
		}
	}
	if criteria == 0 {
		d.fail(path, "names no hosts, pathPrefixes or routeNames; a policy that matches everything belongs at the top level")
	}
}

func (d *decoder) origins(p *policy, s *policySpec) {
	path := join(s.path, "allowOrigins")
	if s.path != "" && len(s.origins) == 0 && len(s.regexes) == 0 {
		d.fail(path, `a policy must allow at least one origin (allowOrigins or allowOriginRegexes); policies do not inherit the top level`)
	}
	for i, o := range s.origins {
		op := index(path, i)
		switch o {
		case "*":
			p.anyOrigin = true
			if len(s.origins) > 1 || len(s.regexes) > 0 {
				d.fail(op, `"*" allows every origin, so it must be the only origin and allowOriginRegexes must be empty`)
			}
			if s.credentials {
				d.fail(op, `"*" cannot be used with allowCredentials: browsers refuse a wildcard on credentialed requests, and reflecting any origin with credentials lets every site act as the user; list the origins`)
			}
		case "null":
			p.allowNull = true
			d.warn(op, `the "null" origin is sent by sandboxed iframes, file: pages and some redirects, so any site can claim it; allow it only if you must`)
		default:
			pp, msg := parseOriginPattern(o)
			if msg != "" {
				d.fail(op, strconv.Quote(o)+": "+msg)
				continue
			}
			scheme, host := pp.pattern.scheme, pp.pattern.host
			if pp.wild {
				p.patterns = append(p.patterns, pp.pattern)
				if suffix := pp.pattern.host; pp.pattern.subdomains && contains(publicSuffixes, suffix[1:]) {
					d.warn(op, strconv.Quote(o)+" allows every site registered under the public suffix "+strconv.Quote(suffix[1:])+"; name your own domain")
				}
			} else {
				if p.exact.add(pp.exact) {
					d.warn(op, strconv.Quote(o)+" is listed twice")
				}
				exact, _ := parseOrigin(pp.exact)
				scheme, host = exact.scheme, exact.host
			}
			if s.credentials && scheme == "http" && !loopback(host) {
				d.warn(op, strconv.Quote(o)+" is plain http with allowCredentials: anyone on the network path can inject script into that origin and act as the user; use https")
			}
		}
	}
	rp := join(s.path, "allowOriginRegexes")
	for i, expr := range s.regexes {
		re, err := originre.Compile(expr) // matches the whole origin
		if err != nil {
			d.fail(index(rp, i), "invalid regular expression "+strconv.Quote(expr)+": "+err.Error())
			continue
		}
		p.regexes = append(p.regexes, re)
		for _, w := range regexWarnings(expr, re) {
			d.warn(index(rp, i), strconv.Quote(expr)+" "+w)
		}
	}
}

// regexWarnings points out regexes that let in more than their authors
// likely meant. The engine's whole-match rule stops unanchored ones; these
// are the mistakes it cannot see.
func regexWarnings(expr string, re *originre.Regexp) []string {
	var out []string
	if unescapedDot(expr) {
		out = append(out, `has an unescaped '.' between letters, which matches any character ("api.example.com" lets in "apixexample.com"); write \\. in JSON`)
	}
	if re.MatchString("https://corswasm-probe.invalid") || re.MatchString("http://corswasm-probe.invalid") {
		out = append(out, "matches origins of any site (it let in https://corswasm-probe.invalid); name the hosts")
	} else if re.EndsInAnyRepeat() {
		out = append(out, "ends in .* or .+, which lets any domain follow the host (\"https://app.example.com.evil.net\"); end it at the host or port")
	}
	return out
}

// unescapedDot reports a '.' outside a character class, not escaped, between
// two letters or digits.
func unescapedDot(expr string) bool {
	class := false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\\':
			i++
		case c == '[':
			class = true
		case c == ']':
			class = false
		case c == '.' && !class && i > 0 && i+1 < len(expr) && isAlnum(expr[i-1]) && isAlnum(expr[i+1]):
			return true
		}
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// publicSuffixes are common multi-label public suffixes: anyone can register
// a name under them, so a wildcard over one allows strangers. (Single labels
// such as "com" are refused outright.) A short list, not the whole Public
// Suffix List, which would weigh more than the rest of the module.
var publicSuffixes = []string{
	"co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.nz", "co.jp", "co.kr",
	"co.in", "co.za", "com.br", "com.cn", "com.mx", "com.tr", "com.sg",
	"github.io", "gitlab.io", "herokuapp.com", "netlify.app", "vercel.app", "pages.dev", "workers.dev",
	"web.app", "firebaseapp.com", "appspot.com", "azurewebsites.net", "cloudfront.net", "blogspot.com",
	"s3.amazonaws.com", "onrender.com", "fly.dev", "glitch.me", "ngrok.io", "ngrok-free.app",
}

// loopback says whether host names this machine, where plain http is not a
// network risk.
func loopback(host string) bool {
	v4, ok := parseIPv4(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost") ||
		(ok && v4>>24 == 127) || host == "[::1]"
}

// forbiddenMethods are methods Fetch never lets a page send.
var forbiddenMethods = []string{"CONNECT", "TRACE", "TRACK"}

// normalizedMethods are the methods browsers upper-case before sending.
var normalizedMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"}

func (d *decoder) methods(p *policy, s *policySpec) {
	path := join(s.path, "allowMethods")
	for i, m := range s.methods {
		mp := index(path, i)
		if m == "*" {
			p.anyMethod = true
			if s.credentials {
				d.fail(mp, `"*" cannot be used with allowCredentials: browsers read it as a literal method name on credentialed requests; list the methods`)
			}
			continue
		}
		if !isToken(m) {
			d.fail(mp, strconv.Quote(m)+" is not a valid method name (an HTTP token)")
			continue
		}
		if containsFold(forbiddenMethods, m) {
			d.fail(mp, strconv.Quote(m)+" is a method browsers never let pages send; remove it")
			continue
		}
		for _, n := range normalizedMethods {
			if strings.EqualFold(n, m) {
				m = n // browsers send these in upper case whatever the page wrote
			}
		}
		if !contains(p.methods, m) {
			p.methods = append(p.methods, m)
		}
	}
	if p.anyMethod {
		p.allowMethods = "*"
	} else {
		p.allowMethods = strings.Join(p.methods, ", ")
	}
}

// forbiddenRequestHeaders are names a page can never set, so browsers never
// list them in Access-Control-Request-Headers (Fetch, "forbidden request-header").
var forbiddenRequestHeaders = []string{"accept-charset", "accept-encoding", "access-control-request-headers",
	"access-control-request-method", "connection", "content-length", "cookie", "cookie2", "date", "dnt",
	"expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te", "trailer",
	"transfer-encoding", "upgrade", "via"}

func (d *decoder) headers(p *policy, s *policySpec) {
	path := join(s.path, "allowHeaders")
	authorization := false
	for i, h := range s.headers {
		hp := index(path, i)
		if h == "*" {
			p.anyHeader = true
			if s.credentials {
				d.fail(hp, `"*" cannot be used with allowCredentials: browsers read it as a literal header name on credentialed requests; list the headers`)
			}
			continue
		}
		name := strings.ToLower(h)
		switch {
		case !isToken(h):
			d.fail(hp, strconv.Quote(h)+" is not a valid header name (an HTTP token)")
			continue
		case contains(forbiddenRequestHeaders, name) || strings.HasPrefix(name, "proxy-") || strings.HasPrefix(name, "sec-"):
			d.fail(hp, strconv.Quote(h)+" is a forbidden request header: browsers never let pages set it, so it never needs allowing; remove it")
			continue
		case strings.HasPrefix(name, "access-control-"):
			d.fail(hp, strconv.Quote(h)+" is a CORS protocol header, not one a request carries; remove it")
			continue
		}
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
}

func (d *decoder) expose(p *policy, s *policySpec) {
	path := join(s.path, "exposeHeaders")
	var names []string
	for i, h := range s.expose {
		hp := index(path, i)
		if h == "*" {
			if s.credentials {
				d.fail(hp, `"*" cannot be used with allowCredentials: browsers read it as a literal header name on credentialed requests; list the headers`)
			}
			names = []string{"*"}
			continue
		}
		name := strings.ToLower(h)
		switch {
		case !isToken(h):
			d.fail(hp, strconv.Quote(h)+" is not a valid header name (an HTTP token)")
		case name == "set-cookie" || name == "set-cookie2":
			d.fail(hp, strconv.Quote(h)+" is never exposed to pages by browsers, whatever the server says; remove it")
		case strings.HasPrefix(name, "access-control-"):
			d.fail(hp, strconv.Quote(h)+" is a CORS protocol header; exposing it is meaningless, remove it")
		case !contains(names, name) && !contains(names, "*"):
			names = append(names, name)
		}
	}
	p.exposeHeaders = strings.Join(names, ", ")
}

// isToken checks RFC 9110's token = 1*tchar.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool { return tokenChars[c] }

// tokenChars holds RFC 9110's tchar.
var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] = true
	}
	return t
}()

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
