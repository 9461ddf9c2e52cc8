package filter

import (
	"strconv"
	"strings"
)

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

// finding is an error found by the decoder or the validator, with its
// place in the report.
type finding struct {
	Problem
	place place
}

// place orders the report as the document reads: part by part (the top
// level's fields, then each entry of policies, then the default policy's
// rules), and within an entry, its fields' form, then its match (field by
// field, as written), then its rules.
type place struct{ part, step int }

// Parts and steps of a place.
const (
	partTop = 0 // the top level's fields; policies[i] is part i+1, the default policy the last

	stepFields     = 0       // an entry's field names and types
	stepMatch      = 1       // the match as a whole
	stepMatchField = 2       // plus the field's position in the match
	stepMatchEnd   = 1 << 15 // what the match lacks
	stepRules      = 1 << 16 // the policy's rules
)

func (a place) before(b place) bool {
	return a.part < b.part || a.part == b.part && a.step < b.step
}

// merge interleaves the decoder's errors with the validator's, each in
// report order; at the same place the decoder's come first.
func merge(decoded, validated []finding) []Problem {
	out := make([]Problem, 0, len(decoded)+len(validated))
	for len(decoded) > 0 || len(validated) > 0 {
		if len(decoded) == 0 || len(validated) > 0 && validated[0].place.before(decoded[0].place) {
			out, validated = append(out, validated[0].Problem), validated[1:]
		} else {
			out, decoded = append(out, decoded[0].Problem), decoded[1:]
		}
	}
	return out
}

// join is the path of field key in the object at path.
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

// index is the path of element i of the array at path.
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
