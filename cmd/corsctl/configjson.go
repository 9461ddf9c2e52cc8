package main

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/corswasm/corswasm/filter"
)

// The fields of a configuration come from filter.Spec: their JSON names
// are its struct tags, and their order, the README's, is its fields'.
var (
	// policyFields are a policy's fields, match first: policyFields[i]
	// names field i of filter.PolicySpec.
	policyFields = jsonFields(reflect.TypeFor[filter.PolicySpec]())
	// matchFields are the fields of a policy's match.
	matchFields = jsonFields(reflect.TypeFor[filter.MatchSpec]())
)

// jsonFields lists the JSON names of struct type t's fields, in order.
func jsonFields(t reflect.Type) []string {
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = jsonName(t.Field(i))
	}
	return out
}

// jsonName is the name a struct field's json tag gives it.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// configJSON writes v, a filter.Spec or a part of one (a PolicySpec, a
// MatchSpec), as the plugin reads it: each struct's fields in order, the
// default policy's at the top level, zero ones left out as omitempty
// leaves them out. Separators are ", " and ": ".
//
// With lines false it all goes on one line. With lines true the top-level
// object, the policies list and each of its policies take a line per
// member, indented by two spaces; lists of values and match objects stay on
// one line: the layout of config.json in the README.
func configJSON(v any, lines bool) string {
	var b strings.Builder
	writeConfigJSON(&b, reflect.ValueOf(v), "", lines)
	return b.String()
}

// writeConfigJSON writes v to b; indent is the current line's indentation.
func writeConfigJSON(b *strings.Builder, v reflect.Value, indent string, lines bool) {
	switch v.Kind() {
	case reflect.Pointer:
		writeConfigJSON(b, v.Elem(), indent, lines)
	case reflect.Struct:
		var names []string
		var values []reflect.Value
		for _, f := range reflect.VisibleFields(v.Type()) {
			fv := v.FieldByIndex(f.Index)
			// The embedded PolicySpec's fields follow it.
			if f.Anonymous || fv.IsZero() || fv.Kind() == reflect.Slice && fv.Len() == 0 {
				continue
			}
			names, values = append(names, jsonName(f)), append(values, fv)
		}
		writeMembers(b, "{", "}", len(names), indent, lines, func(i int, inner string) {
			b.Write(mustJSON(names[i]))
			b.WriteString(": ")
			// Below the top level only the policies list spreads over lines.
			writeConfigJSON(b, values[i], inner, lines && names[i] == "policies")
		})
	case reflect.Slice:
		writeMembers(b, "[", "]", v.Len(), indent, lines, func(i int, inner string) {
			writeConfigJSON(b, v.Index(i), inner, lines)
		})
	default:
		b.Write(mustJSON(v.Interface()))
	}
}

// writeMembers writes n members of an object or a list between open and
// end, each by member, on one line or, with lines, a line each; inner is
// the member's indentation.
func writeMembers(b *strings.Builder, open, end string, n int, indent string, lines bool, member func(i int, inner string)) {
	sep, inner := ", ", indent
	if lines && n > 0 {
		inner = indent + "  "
		open, sep, end = open+"\n"+inner, ",\n"+inner, "\n"+indent+end
	}
	b.WriteString(open)
	for i := range n {
		if i > 0 {
			b.WriteString(sep)
		}
		member(i, inner)
	}
	b.WriteString(end)
}

// mustJSON encodes v, which must be encodable.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
