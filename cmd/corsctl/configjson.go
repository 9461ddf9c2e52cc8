package main

import (
	"slices"
	"sort"
	"strings"
)

// The fields of the plugin's configuration in the order the README's table
// lists them. Every place corsctl writes or walks a configuration's fields
// (import's output, explain's fixes and its policy summary) takes the
// order from here.
var (
	// policyFields are a policy's fields; a policy of policies[] has match
	// too, first.
	policyFields = []string{"match", "allowOrigins", "allowOriginRegexes", "allowMethods", "allowHeaders",
		"exposeHeaders", "allowCredentials", "maxAge", "allowPrivateNetwork", "preflightStatus", "unmatchedPreflights"}
	// topFields are the fields only the top level has, after the default
	// policy's.
	topFields = []string{"mode", "debug", "policies"}
	// matchFields are the fields of a policy's match.
	matchFields = []string{"hosts", "pathPrefixes", "routeNames"}
)

// fieldRank orders any field of a configuration, at whatever level.
var fieldRank = func() map[string]int {
	m := map[string]int{}
	for _, f := range slices.Concat(policyFields, topFields, matchFields) {
		m[f] = len(m)
	}
	return m
}()

// configJSON writes v, a configuration or a part of one as decoded JSON
// (objects, []any, strings, bools, json.Numbers, ints), with each object's
// fields in the README's order and unknown ones after them, sorted.
// Separators are ", " and ": ".
//
// With lines false it all goes on one line. With lines true the top-level
// object, the policies list and each of its policies take a line per
// member, indented by two spaces; lists of values and match objects stay on
// one line: the layout of config.json in the README.
func configJSON(v any, lines bool) string {
	var b strings.Builder
	writeConfigJSON(&b, v, "", lines)
	return b.String()
}

// writeConfigJSON writes v to b; indent is the current line's indentation.
func writeConfigJSON(b *strings.Builder, v any, indent string, lines bool) {
	switch v := v.(type) {
	case map[string]any:
		lines = lines && len(v) > 0
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			ri, iok := fieldRank[keys[i]]
			rj, jok := fieldRank[keys[j]]
			if iok != jok {
				return iok
			}
			if iok {
				return ri < rj
			}
			return keys[i] < keys[j]
		})
		open, sep, end, inner := "{", ", ", "}", indent
		if lines {
			inner = indent + "  "
			open, sep, end = "{\n"+inner, ",\n"+inner, "\n"+indent+"}"
		}
		b.WriteString(open)
		for i, k := range keys {
			if i > 0 {
				b.WriteString(sep)
			}
			b.Write(mustJSON(k))
			b.WriteString(": ")
			// Below the top level only the policies list spreads over lines.
			writeConfigJSON(b, v[k], inner, lines && k == "policies")
		}
		b.WriteString(end)
	case []any:
		if v == nil {
			b.WriteString("null")
			return
		}
		lines = lines && len(v) > 0
		open, sep, end, inner := "[", ", ", "]", indent
		if lines {
			inner = indent + "  "
			open, sep, end = "[\n"+inner, ",\n"+inner, "\n"+indent+"]"
		}
		b.WriteString(open)
		for i, x := range v {
			if i > 0 {
				b.WriteString(sep)
			}
			writeConfigJSON(b, x, inner, lines)
		}
		b.WriteString(end)
	default:
		b.Write(mustJSON(v))
	}
}
