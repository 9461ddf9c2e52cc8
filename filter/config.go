package filter

import (
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/internal/originre"
	"github.com/corswasm/corswasm/internal/suggest"
)

// Mode says whether the plugin acts on its decisions.
type Mode uint8

const (
	// ModeEnforce answers preflights and sets response headers.
	ModeEnforce Mode = iota
	// ModeReport evaluates, logs and counts exactly as ModeEnforce would, but
	// changes nothing: for rolling a policy out over backends that still do CORS.
	ModeReport
)

func (m Mode) String() string {
	if m == ModeReport {
		return "report"
	}
	return "enforce"
}

// Problem is one configuration error or warning.
type Problem struct {
	Path    string // the field, e.g. "policies[2].allowOrigins[0]"; "" for the whole document
	Message string // what is wrong and how to fix it
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ConfigError lists every problem that made Parse refuse a configuration.
type ConfigError struct {
	Problems []Problem
}

// Error joins the problems into one line, as the plugin logs it.
func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return oneLine(b.String())
}

// oneLine escapes line breaks. Values are quoted where they appear, but
// messages from other packages may carry raw ones: the plugin logs a
// refusal as one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r':
			b = append(b, '\\', 'r')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, s[i])
		}
	}
	return string(b)
}

// Config is a validated, compiled CORS configuration. It is immutable and
// safe for concurrent use; requests only read it.
type Config struct {
	mode                 Mode
	policies             []*policy // in match order; the default policy, if any, is last
	needsRouteName       bool
	needsHeadersNoOrigin bool
	debug                bool
	warnings             []Problem
}

// Warnings lists what the configuration allows but is likely unintended.
func (c *Config) Warnings() []Problem { return c.warnings }

// Mode is the configured mode.
func (c *Config) Mode() Mode { return c.mode }

// Debug says whether denied responses carry the ReasonHeader.
func (c *Config) Debug() bool { return c.debug }

// NeedsRouteName says whether a policy matches on routeNames, so the plugin
// must read the route name (the xds.route_name property) into Request.RouteName.
func (c *Config) NeedsRouteName() bool { return c.needsRouteName }

// NeedsHeadersWithoutOrigin says whether the plugin must read the request
// headers (and the route name, if NeedsRouteName) even when a request has no
// Origin: true when the answer to "is vary: origin due?" depends on which
// policy applies. Otherwise a Request with only HasOrigin false is enough.
func (c *Config) NeedsHeadersWithoutOrigin() bool { return c.needsHeadersNoOrigin }

// Summary describes the loaded configuration in one line, for an info log.
func (c *Config) Summary() string {
	var b strings.Builder
	b.WriteString("cors: configuration loaded: mode ")
	b.WriteString(c.mode.String())
	if c.debug {
		b.WriteString(" with debug headers")
	}
	b.WriteString("; ")
	for i, p := range c.policies {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.describe())
	}
	return b.String()
}

// policy is one compiled policy: who may call, with what, and what to answer.
type policy struct {
	name string // "default" or "policies[i]"

	// match; all empty for the default policy
	hosts        []string // lower case
	hostSuffixes []string // ".example.com" for "*.example.com"
	pathPrefixes []string
	routeNames   []string

	anyOrigin bool
	allowNull bool
	exact     originSet
	patterns  []originPattern
	regexes   []*originre.Regexp

	anyMethod      bool
	methods        []string
	anyHeader      bool
	headers        []string // lower case
	credentials    bool
	privateNetwork bool
	maxAge         string // "" when not configured
	preflightOK    int
	forward        bool // unmatchedPreflights: forward

	// response header values, computed once
	preflightHeaders [][2]string // what every allowed preflight answer carries, allow-origin first
	allowMethods     string
	allowHeaders     string
	exposeHeaders    string
	preflightVary    string
}

func (p *policy) describe() string {
	n := len(p.exact.list) + len(p.patterns)
	if p.allowNull {
		n++
	}
	var b strings.Builder
	b.WriteString(p.name)
	b.WriteString(" (")
	switch {
	case p.anyOrigin:
		b.WriteString("any origin")
	default:
		b.WriteString(strconv.Itoa(n))
		b.WriteString(" origin patterns, ")
		b.WriteString(strconv.Itoa(len(p.regexes)))
		b.WriteString(" regexes")
	}
	if p.credentials {
		b.WriteString(", credentials")
	}
	if p.privateNetwork {
		b.WriteString(", private network")
	}
	b.WriteString(")")
	return b.String()
}

// Field names, in the order the README documents them.
var (
	policyFields = []string{"allowOrigins", "allowOriginRegexes", "allowMethods", "allowHeaders",
		"exposeHeaders", "allowCredentials", "maxAge", "allowPrivateNetwork", "preflightStatus",
		"unmatchedPreflights"}
	topFields   = append([]string{"mode", "debug", "policies"}, policyFields...)
	entryFields = append([]string{"match"}, policyFields...)
	matchFields = []string{"hosts", "pathPrefixes", "routeNames"}
)

// policySpec is a policy as written, before compilation.
type policySpec struct {
	path                                       string // "" for the top level
	origins, regexes, methods, headers, expose []string
	credentials, privateNetwork                bool
	maxAge                                     int
	hasMaxAge                                  bool
	preflightStatus                            int
	unmatched                                  string
	match                                      *jsonValue
	present                                    []string // policy fields present, in order
}

// decoder collects problems while it walks the JSON document.
type decoder struct {
	errs, warns []Problem
}

func (d *decoder) fail(path, msg string) { d.errs = append(d.errs, Problem{path, msg}) }
func (d *decoder) warn(path, msg string) { d.warns = append(d.warns, Problem{path, msg}) }

func join(path, key string) string {
	if !plainKey(key) {
		key = strconv.Quote(key) // a crafted key must not break the log line
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func plainKey(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return key != ""
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Parse validates a JSON configuration and compiles it. On any error it
// returns a *ConfigError listing every problem found, and no Config.
func Parse(data []byte) (*Config, error) {
	if strings.TrimSpace(string(data)) == "" {
		return nil, &ConfigError{[]Problem{{"", "the configuration is empty; pass a JSON object such as {\"allowOrigins\": [\"https://app.example.com\"]} as the plugin configuration"}}}
	}
	root, err := parseJSON(data)
	if err != nil {
		return nil, &ConfigError{[]Problem{{"", err.Error()}}}
	}
	d := &decoder{}
	cfg := d.config(root)
	if len(d.errs) > 0 {
		return nil, &ConfigError{d.errs}
	}
	cfg.warnings = d.warns
	return cfg, nil
}

func (d *decoder) config(root jsonValue) *Config {
	cfg := &Config{}
	if root.kind != jsonObject {
		d.fail("", "the configuration must be a JSON object, not "+root.kind.String())
		return cfg
	}
	top := policySpec{}
	var entries *jsonValue
	for _, m := range d.members(root, "", topFields) {
		path := m.key
		switch m.key {
		case "mode":
			switch s := d.str(m.value, path); s {
			case "enforce", "":
			case "report":
				cfg.mode = ModeReport
			default:
				d.fail(path, "unknown mode "+strconv.Quote(s)+`; use "enforce" or "report"`)
			}
		case "debug":
			cfg.debug = d.boolean(m.value, path)
			if cfg.debug {
				d.warn(path, "adds an "+ReasonHeader+" header to every denied response, telling any caller why the policy refused it; use it while debugging, never in production")
			}
		case "policies":
			if m.value.kind != jsonArray {
				d.fail(path, "must be an array of policies, not "+m.value.kind.String())
				continue
			}
			entries = &m.value
		default:
			d.policyField(&top, m)
		}
	}
	if entries != nil {
		for i, e := range entries.items {
			path := index("policies", i)
			if e.kind != jsonObject {
				d.fail(path, "must be an object, not "+e.kind.String())
				continue
			}
			spec := policySpec{path: path}
			for _, m := range d.members(e, path, entryFields) {
				if m.key == "match" {
					spec.match = &m.value
					continue
				}
				d.policyField(&spec, m)
			}
			p := d.policy(&spec)
			if p != nil {
				cfg.policies = append(cfg.policies, p)
			}
		}
	}
	if len(top.origins) > 0 || len(top.regexes) > 0 {
		if p := d.policy(&top); p != nil {
			cfg.policies = append(cfg.policies, p)
		}
	} else {
		for _, f := range top.present {
			if f != "allowOrigins" && f != "allowOriginRegexes" {
				d.fail(f, "has no effect without top-level allowOrigins: top-level fields form the default policy, and policies do not inherit them; add allowOrigins or move the field into each policy")
			}
		}
		if entries == nil || len(entries.items) == 0 {
			d.fail("allowOrigins", `no origin is allowed anywhere; list origins in allowOrigins (the default policy) or in policies[].allowOrigins, e.g. "allowOrigins": ["https://app.example.com"]`)
		}
	}
	d.settle(cfg)
	return cfg
}

// settle works out what the plugin must read for requests without Origin.
func (d *decoder) settle(cfg *Config) {
	hasDefault := false
	anyOrigin, mixed := false, false
	for i, p := range cfg.policies {
		if len(p.routeNames) > 0 {
			cfg.needsRouteName = true
		}
		if p.name == "default" {
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

// members checks an object's field names (unknown and repeated ones are errors).
func (d *decoder) members(v jsonValue, path string, known []string) []jsonMember {
	seen := make(map[string]bool, len(v.members))
	out := v.members[:0:0]
	for _, m := range v.members {
		p := join(path, m.key)
		if seen[m.key] {
			d.fail(p, "appears twice; keep one")
			continue
		}
		seen[m.key] = true
		if !contains(known, m.key) {
			msg := "unknown field"
			if s := suggest.Closest(m.key, known); s != "" {
				msg += `; did you mean "` + s + `"?`
			} else {
				msg += "; known fields are " + strings.Join(known, ", ")
			}
			d.fail(p, msg)
			continue
		}
		out = append(out, m)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (d *decoder) policyField(s *policySpec, m jsonMember) {
	path := join(s.path, m.key)
	s.present = append(s.present, m.key)
	switch m.key {
	case "allowOrigins":
		s.origins = d.strings(m.value, path)
	case "allowOriginRegexes":
		s.regexes = d.strings(m.value, path)
	case "allowMethods":
		s.methods = d.strings(m.value, path)
	case "allowHeaders":
		s.headers = d.strings(m.value, path)
	case "exposeHeaders":
		s.expose = d.strings(m.value, path)
	case "allowCredentials":
		s.credentials = d.boolean(m.value, path)
	case "allowPrivateNetwork":
		s.privateNetwork = d.boolean(m.value, path)
	case "maxAge":
		s.maxAge, s.hasMaxAge = d.integer(m.value, path)
	case "preflightStatus":
		s.preflightStatus, _ = d.integer(m.value, path)
	case "unmatchedPreflights":
		s.unmatched = d.str(m.value, path)
	}
}

func (d *decoder) str(v jsonValue, path string) string {
	if v.kind != jsonString {
		d.fail(path, "must be a string, not "+v.kind.String())
	}
	return v.text
}

func (d *decoder) boolean(v jsonValue, path string) bool {
	if v.kind != jsonBool {
		d.fail(path, "must be true or false, not "+v.kind.String())
	}
	return v.boolean
}

// integer accepts integral numbers in any JSON spelling (600, 600.0, 6e2):
// Istio's pluginConfig goes through protobuf Struct, which has only doubles.
func (d *decoder) integer(v jsonValue, path string) (int, bool) {
	if v.kind != jsonNumber {
		d.fail(path, "must be a whole number, not "+v.kind.String())
		return 0, false
	}
	n, ok := wholeNumber(v.text)
	if !ok {
		d.fail(path, "must be a whole number from -1e9 to 1e9, not "+v.text)
	}
	return n, ok
}

// wholeNumber reads a JSON number literal (already checked against the JSON
// grammar) whose value is a whole number within ±1e9. It stands in for
// strconv.ParseFloat, which adds 34 KB to the module.
func wholeNumber(text string) (int, bool) {
	neg := strings.HasPrefix(text, "-")
	text = strings.TrimPrefix(text, "-")
	mantissa, exp := text, 0
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(text[i+1:], "+"))
		if err != nil || e > 20 || e < -400 {
			return 0, false
		}
		mantissa, exp = text[:i], e
	}
	intPart, frac, _ := strings.Cut(mantissa, ".")
	digits := intPart + frac
	exp -= len(frac)
	for ; exp < 0; exp++ { // dropping digits: they must be zeros
		if digits == "" || digits[len(digits)-1] != '0' {
			if strings.Trim(digits, "0") == "" {
				return 0, true // the value is zero
			}
			return 0, false
		}
		digits = digits[:len(digits)-1]
	}
	digits = strings.TrimLeft(digits, "0")
	if len(digits)+exp > 10 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(digits) {
		n = n*10 + int(c-'0')
	}
	for ; exp > 0; exp-- {
		n *= 10
	}
	if n > 1e9 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func (d *decoder) strings(v jsonValue, path string) []string {
	if v.kind != jsonArray {
		d.fail(path, "must be an array of strings, not "+v.kind.String())
		return nil
	}
	out := make([]string, len(v.items))
	ok := true
	for i, item := range v.items {
		if item.kind != jsonString {
			d.fail(index(path, i), "must be a string, not "+item.kind.String())
			ok = false
		}
		out[i] = item.text
	}
	if !ok {
		return nil // reported; checking the rest would only repeat it
	}
	return out
}
