package filter

import (
	"strconv"
	"strings"
)

// maxOriginLength bounds the Origin values the engine looks at: a scheme, a
// 253-byte host and a port fit many times over.
const maxOriginLength = 1024

// origin is a serialized origin split into its parts; the parts are views of
// the original string.
type origin struct {
	scheme, host, port string // port is "" for the scheme's default port
}

// parseOrigin splits a request's Origin value if it is exactly what a browser
// sends: "scheme://host[:port]" in lower case, the default port omitted, no
// trailing dot, no path, query, fragment or userinfo. It does not allocate.
// The opaque origin "null" is not handled here.
func parseOrigin(s string) (origin, bool) {
	if len(s) > maxOriginLength {
		return origin{}, false
	}
	// The scheme, then "://". Most origins start "https://" or "http://",
	// which one load of eight bytes tells (a byte loop costs the module
	// about 50 instructions a byte); others take one pass (strings.Index
	// and validScheme are two, and Index three calls into the runtime in
	// the module).
	i := 0
	if len(s) >= 8 {
		switch w := load64(s, 0); {
		case w == httpsWord:
			i = len("https")
		case w&(1<<56-1) == httpWord:
			i = len("http")
		}
	}
	if i == 0 {
		for i < len(s) && schemeByte(s[i]) {
			i++
		}
		if i == 0 || s[0] < 'a' || s[0] > 'z' || len(s)-i < 3 || s[i] != ':' || s[i+1] != '/' || s[i+2] != '/' {
			return origin{}, false
		}
	}
	o := origin{scheme: s[:i]}
	rest := s[i+3:]
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || !validIPv6Literal(rest[1:end]) {
			return origin{}, false
		}
		o.host, rest = rest[:end+1], rest[end+1:]
	} else {
		end := hostLength(rest)
		if end < 0 {
			return origin{}, false
		}
		o.host, rest = rest[:end], rest[end:]
	}
	if rest == "" {
		return o, true
	}
	if rest[0] != ':' || !validPort(rest[1:]) || rest[1:] == defaultPort(o.scheme) {
		return origin{}, false
	}
	o.port = rest[1:]
	return o, true
}

// httpsWord is "https://" as load64 reads it, and httpWord "http://" as the
// low seven bytes of such a load.
var (
	httpsWord = load64("https://", 0)
	httpWord  = load64("http://\x00", 0)
)

// validScheme checks RFC 3986's scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ),
// lower case only, as browsers serialize it.
func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !schemeByte(s[i]) {
			return false
		}
	}
	return true
}

// schemeByte says whether c may follow a scheme's first letter.
func schemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// hostLengthGo is hostLength in Go: what the native build runs, and what
// the Wasm build's assembly (origin_wasm.s) is tested against. It returns
// the length of the host at the start of s, which ends at s's first ':' or
// at its end, when it is a valid host (validHost), and -1 when it is not.
func hostLengthGo(s string) int {
	end := strings.IndexByte(s, ':')
	if end < 0 {
		end = len(s)
	}
	if !validHost(s[:end]) {
		return -1
	}
	return end
}

// validHost checks a lower-case host name or IPv4 address: non-empty labels of
// letters, digits, '-' and '_' (which real host names carry), at most 63 bytes
// each and 253 in all. Browsers send IDNs as punycode, so non-ASCII is invalid.
func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			label++
			if label > 63 {
				return false
			}
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			return false
		}
	}
	return label > 0 // no trailing dot
}

// validIPv6Literal checks the text between the brackets of an IPv6 host: it
// must parse and be in the canonical form browsers serialize.
func validIPv6Literal(s string) bool {
	pieces, ok := parseIPv6(s)
	if !ok {
		return false
	}
	var buf [40]byte
	return string(appendIPv6(buf[:0], pieces)) == s
}

// validPort checks a decimal port 1-65535 without leading zeros.
func validPort(s string) bool {
	if s == "" || len(s) > 5 || s[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

// originPattern is one compiled entry of allowOrigins other than an exact
// origin, "*" or "null": a wildcard subdomain, a wildcard port, or both.
type originPattern struct {
	scheme     string
	host       string // the exact host, or the suffix after "*." with its leading dot
	subdomains bool   // host is a suffix: one or more labels must precede it
	port       string // "" for the default port
	anyPort    bool
}

func (p *originPattern) matches(o origin) bool {
	// is rather than ==: one Wasm call in the module, where == is two.
	if !is(o.scheme, p.scheme) || !(p.anyPort || is(o.port, p.port)) {
		return false
	}
	if p.subdomains {
		// validHost guarantees the labels before the suffix are non-empty.
		return len(o.host) > len(p.host) && is(o.host[len(o.host)-len(p.host):], p.host)
	}
	return is(o.host, p.host)
}

// String writes the pattern as allowOrigins would, normalized.
func (p *originPattern) String() string {
	s := p.scheme + "://"
	if p.subdomains {
		s += "*"
	}
	s += p.host
	switch {
	case p.anyPort:
		s += ":*"
	case p.port != "":
		s += ":" + p.port
	}
	return s
}

// NormalizeOrigin checks one allowOrigins entry and returns it as the
// engine holds it, which for an exact origin is what browsers send: scheme
// and host lower-cased, the default port dropped, an IPv6 address in
// canonical form ("HTTPS://App.Example.com:443" is
// "https://app.example.com"). Patterns are normalized alike
// ("https://*.Example.com:*"); "*" and "null" are returned as they are.
// The error says what is wrong and how to fix it, as Parse words it.
func NormalizeOrigin(entry string) (string, error) {
	if entry == "*" || entry == "null" {
		return entry, nil
	}
	pp, msg := parseOriginPattern(entry)
	switch {
	case msg != "":
		return "", &ConfigError{[]Problem{{"", strconv.Quote(entry) + ": " + msg}}}
	case pp.wild:
		return pp.pattern.String(), nil
	}
	return pp.exact, nil
}

// parsedPattern is the result of parsing one allowOrigins entry.
type parsedPattern struct {
	exact   string // the normalized origin when the entry has no wildcard
	pattern originPattern
	wild    bool // pattern holds the entry
}

// parseOriginPattern normalizes and checks one allowOrigins entry other than
// "*" and "null". Its error message says what is wrong and how to fix it.
func parseOriginPattern(s string) (parsedPattern, string) {
	const form = `; write it as scheme://host[:port], e.g. "https://app.example.com", "https://*.example.com" or "http://localhost:*"`
	if s == "" {
		return parsedPattern{}, "empty origin" + form
	}
	if strings.TrimSpace(s) != s {
		return parsedPattern{}, "leading or trailing whitespace; remove it"
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return parsedPattern{}, "no scheme" + form
	}
	scheme := strings.ToLower(s[:i])
	if !validScheme(scheme) {
		return parsedPattern{}, "invalid scheme " + strconv.Quote(s[:i]) + form
	}
	rest := s[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		what := "path"
		switch rest[j] {
		case '?':
			what = "query"
		case '#':
			what = "fragment"
		}
		return parsedPattern{}, "an origin has no " + what + " (found " + strconv.Quote(rest[j:]) + "); remove everything after the host and port"
	}
	if strings.Contains(rest, "@") {
		return parsedPattern{}, "an origin has no userinfo; remove the part before '@'"
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return parsedPattern{}, "unclosed '[' in IPv6 host"
		}
		host, port = rest[:end+1], rest[end+1:]
	} else if j := strings.LastIndexByte(rest, ':'); j >= 0 {
		host, port = rest[:j], rest[j:]
	}
	p := originPattern{scheme: scheme}
	switch {
	case port == "":
	case port == ":*":
		p.anyPort = true
	case port[0] == ':' && validPort(port[1:]):
		p.port = port[1:]
		if p.port == defaultPort(scheme) {
			p.port = ""
		}
	default:
		return parsedPattern{}, "invalid port " + strconv.Quote(strings.TrimPrefix(port, ":")) + "; use a number from 1 to 65535, or * for any port"
	}
	host = strings.ToLower(host)
	if strings.HasPrefix(host, "[") {
		pieces, ok := parseIPv6(host[1 : len(host)-1])
		if !ok {
			return parsedPattern{}, "invalid IPv6 address " + strconv.Quote(host)
		}
		host = "[" + string(appendIPv6(nil, pieces)) + "]"
	} else {
		if strings.HasPrefix(host, "*.") {
			p.subdomains = true
			host = host[1:] // keep the dot: the suffix to match
		}
		if strings.Contains(host, "*") {
			return parsedPattern{}, "misplaced '*': it may stand only for the whole first label (\"https://*.example.com\") or the whole port (\"http://localhost:*\")"
		}
		name := host
		if p.subdomains {
			name = host[1:]
		}
		if strings.HasSuffix(name, ".") {
			return parsedPattern{}, "trailing dot in host; browsers never send one, remove it"
		}
		for _, c := range []byte(name) {
			if c >= 0x80 {
				return parsedPattern{}, "non-ASCII host; browsers send internationalized names in punycode, write it as \"xn--...\""
			}
		}
		if !validHost(name) {
			return parsedPattern{}, "invalid host " + strconv.Quote(name)
		}
		if p.subdomains {
			if !strings.Contains(name, ".") {
				return parsedPattern{}, "a wildcard must be followed by at least two labels (\"*.example.com\"), or it allows every site under a top-level domain"
			}
			if endsInNumber(name) {
				return parsedPattern{}, "a wildcard cannot stand for part of an IP address"
			}
		}
	}
	p.host = host
	if !p.subdomains && !p.anyPort {
		exact := scheme + "://" + host
		if p.port != "" {
			exact += ":" + p.port
		}
		if _, ok := parseOrigin(exact); !ok {
			return parsedPattern{}, "not an origin a browser can send (" + strconv.Quote(exact) + ")"
		}
		return parsedPattern{exact: exact}, ""
	}
	return parsedPattern{pattern: p, wild: true}, ""
}

// endsInNumber says whether a host's last label is a number (decimal, or
// hex with 0x), which makes browsers read the host as an IPv4 address (the
// URL standard's "ends in a number").
func endsInNumber(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	digits := "0123456789"
	if len(last) > 1 && (last[:2] == "0x" || last[:2] == "0X") {
		last, digits = last[2:], "0123456789abcdefABCDEF"
	}
	return strings.Trim(last, digits) == ""
}

// originSet holds a policy's exact origins. A handful are compared in turn,
// which beats hashing; more are kept in a map.
type originSet struct {
	list []string
	m    map[string]struct{}
	// lengths has bit n set when an origin n bytes long is in the set (bit
	// 63 for 63 and more), so that has answers most others without a
	// call: an origin of a pattern or denied is seldom as long as one of
	// the exact origins.
	lengths uint64
}

// maxScannedOrigins is where a map starts to beat comparing in turn.
const maxScannedOrigins = 8

// add inserts o and reports whether it was there already.
func (s *originSet) add(o string) (dup bool) {
	if s.has(o) {
		return true
	}
	s.list = append(s.list, o)
	s.lengths |= 1 << min(len(o), 63)
	if len(s.list) > maxScannedOrigins {
		if s.m == nil {
			s.m = make(map[string]struct{}, len(s.list))
			for _, x := range s.list {
				s.m[x] = struct{}{}
			}
		}
		s.m[o] = struct{}{}
	}
	return false
}

func (s *originSet) has(o string) bool {
	if s.lengths&(1<<min(len(o), 63)) == 0 {
		return false
	}
	return s.lookup(o)
}

// lookup is has once an origin of o's length is in the set.
func (s *originSet) lookup(o string) bool {
	if s.m != nil {
		_, ok := s.m[o]
		return ok
	}
	for _, x := range s.list {
		if is(x, o) {
			return true
		}
	}
	return false
}
