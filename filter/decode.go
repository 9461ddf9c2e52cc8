package filter

import (
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/internal/suggest"
)

// Field names, in the order docs/configuration.md documents them.
var (
	policyFields = []string{"allowOrigins", "allowOriginRegexes", "allowMethods", "allowHeaders",
		"exposeHeaders", "allowCredentials", "maxAge", "allowPrivateNetwork", "preflightStatus",
		"unmatchedPreflights"}
	topFields   = append([]string{"mode", "debug", "policies"}, policyFields...)
	entryFields = append([]string{"name", "match"}, policyFields...)
	matchFields = []string{"hosts", "pathPrefixes", "routeNames"}
)

// layout is what a Spec does not say about the document it was decoded
// from, and the report needs: which top-level policy fields the document
// wrote (false and empty ones too) and in what order, in what order each
// match names its fields, and which parts could not be read at all.
type layout struct {
	written []string // top-level policy fields, as written
	entries []entryLayout
}

// entryLayout is the layout of one entry of policies.
type entryLayout struct {
	unreadable      bool     // not an object: its own rules are not checked
	matchUnreadable bool     // its match is not an object: the match rules are not checked
	matchFields     []string // its match's fields, as written
}

// decoder reads a JSON document into a Spec, collecting the problems that
// stop it from reading a field: unknown and repeated names, wrong types.
type decoder struct {
	found []finding
	at    place // where problems found now go in the report
}

// fail records an error. It is not inlined: each of its many call sites
// would carry a copy of the append, and the module's size matters more
// than a configuration's parsing time.
//
//go:noinline
func (d *decoder) fail(path, msg string) {
	d.found = append(d.found, finding{Problem{path, msg}, d.at})
}

// decode reads data into spec, which must be zero. doc is nil when the
// document is not a JSON object at all: then errs holds the one problem,
// and nothing else is worth checking.
func decode(data []byte, spec *Spec) (doc *layout, errs []finding) {
	d := &decoder{}
	if strings.TrimSpace(string(data)) == "" {
		d.fail("", "the configuration is empty; pass a JSON object such as {\"allowOrigins\": [\"https://app.example.com\"]} as the plugin configuration")
		return nil, d.found
	}
	root, err := parseJSON(data)
	if err != nil {
		d.fail("", err.Error())
		return nil, d.found
	}
	if root.kind != jsonObject {
		d.fail("", "the configuration must be a JSON object, not "+root.kind.String())
		return nil, d.found
	}
	doc = &layout{}
	var entries *jsonValue
	for _, m := range d.members(root, "", topFields) {
		path := m.key
		switch m.key {
		case "mode":
			switch s := d.str(m.value, path); s {
			case "enforce", "":
			case "report":
				spec.Mode = ModeReport
			default:
				d.fail(path, "unknown mode "+strconv.Quote(s)+`; use "enforce" or "report"`)
			}
		case "debug":
			spec.Debug = d.boolean(m.value, path)
		case "policies":
			if m.value.kind != jsonArray {
				d.fail(path, "must be an array of policies, not "+m.value.kind.String())
				continue
			}
			entries = &m.value
		default:
			doc.written = append(doc.written, m.key)
			d.policyField(&spec.PolicySpec, "", m)
		}
	}
	if entries != nil {
		spec.Policies = make([]PolicySpec, len(entries.items))
		doc.entries = make([]entryLayout, len(entries.items))
		for i, e := range entries.items {
			d.at = place{part: i + 1, step: stepFields}
			d.entry(&spec.Policies[i], &doc.entries[i], index("policies", i), e)
		}
	}
	return doc, d.found
}

// entry reads one entry of policies: its fields, then its match.
func (d *decoder) entry(ps *PolicySpec, el *entryLayout, path string, e jsonValue) {
	if e.kind != jsonObject {
		d.fail(path, "must be an object, not "+e.kind.String())
		el.unreadable = true
		return
	}
	var match *jsonValue
	for _, m := range d.members(e, path, entryFields) {
		switch m.key {
		case "match":
			match = &m.value
			continue
		case "name":
			fp := join(path, m.key)
			if ps.Name = d.str(m.value, fp); m.value.kind == jsonString && ps.Name == "" {
				d.fail(fp, `is empty; leave it out, and the policy is called `+path+` in logs and metrics`)
			}
			continue
		}
		d.policyField(ps, path, m)
	}
	if match == nil {
		return
	}
	path = join(path, "match")
	d.at.step = stepMatch
	if match.kind != jsonObject {
		d.fail(path, "must be an object with hosts, pathPrefixes or routeNames, not "+match.kind.String())
		el.matchUnreadable = true
		return
	}
	ps.Match = &MatchSpec{}
	for k, m := range d.members(*match, path, matchFields) {
		d.at.step = stepMatchField + k
		el.matchFields = append(el.matchFields, m.key)
		values := d.strings(m.value, join(path, m.key))
		switch m.key {
		case "hosts":
			ps.Match.Hosts = values
		case "pathPrefixes":
			ps.Match.PathPrefixes = values
		case "routeNames":
			ps.Match.RouteNames = values
		}
	}
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
		if path == "" && m.key == "name" {
			d.fail(p, topLevelName) // not unknown: misplaced
			continue
		}
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
		if is(x, s) {
			return true
		}
	}
	return false
}

func (d *decoder) policyField(ps *PolicySpec, at string, m jsonMember) {
	path := join(at, m.key)
	switch m.key {
	case "allowOrigins":
		ps.AllowOrigins = d.strings(m.value, path)
	case "allowOriginRegexes":
		ps.AllowOriginRegexes = d.strings(m.value, path)
	case "allowMethods":
		ps.AllowMethods = d.strings(m.value, path)
	case "allowHeaders":
		ps.AllowHeaders = d.strings(m.value, path)
	case "exposeHeaders":
		ps.ExposeHeaders = d.strings(m.value, path)
	case "allowCredentials":
		ps.AllowCredentials = d.boolean(m.value, path)
	case "allowPrivateNetwork":
		ps.AllowPrivateNetwork = d.boolean(m.value, path)
	case "maxAge":
		if n, ok := d.integer(m.value, path); ok {
			ps.MaxAge = &n
		}
	case "preflightStatus":
		ps.PreflightStatus, _ = d.integer(m.value, path)
	case "unmatchedPreflights":
		ps.UnmatchedPreflights = d.str(m.value, path)
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
