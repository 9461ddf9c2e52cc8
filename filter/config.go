package filter

import (
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/internal/originre"
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

// MarshalText writes the mode as the configuration does, "enforce" or
// "report", so that a Spec encodes as a document.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Config is a validated, compiled CORS configuration. It is immutable and
// safe for concurrent use; requests only read it.
type Config struct {
	mode                 Mode
	policies             []*policy // in match order; the default policy, if any, is last
	needsRouteName       bool
	needsHeadersNoOrigin bool
	readLengths          uint64 // ReadsHeader's: the lengths of the names Evaluate reads
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
	name      string // the display name: its name, "default" or "policies[i]"
	logName   string // " (policy NAME): ", for the denial's log line
	segment   string // in metric names: its name, "default" or "policies_i"
	index     int    // in Config.policies
	isDefault bool   // the top-level policy

	// match; all empty for the default policy
	hosts        []string // lower case
	hostSuffixes []string // ".example.com" for "*.example.com"
	pathPrefixes []string
	routeNames   []string
	matchesAll   bool // none of them: every request (selectPolicy asks no more)

	anyOrigin bool
	allowNull bool
	exact     originSet
	patterns  []originPattern
	regexes   []*originre.Regexp

	anyMethod      bool
	methods        []string
	methodBits     uint8 // methodBit of each of methods
	anyHeader      bool
	headers        []string   // lower case
	headerNames    []foldName // headers, prepared for listsHeader
	foldNames      []foldName // those of headerNames of 8 to 16 bytes, for skipListed
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
