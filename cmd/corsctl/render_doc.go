// The policy document as written, and the two ways render writes it: JSON
// in the project's layout (the StringValue of an Envoy configuration) and
// YAML in the style of the Kubernetes manifests (a pluginConfig, a config).

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	goyaml "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// pval is a JSON value that keeps what a filter.Spec loses: the order of
// an object's members and members written with their default value
// ("mode": "enforce", "allowPrivateNetwork": false). render copies the
// policy file as its author wrote it, in each artifact's syntax.
type pval struct {
	kind  byte     // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	text  string   // a string's value, a number's or a bool's text
	keys  []string // an object's member names
	elems []*pval  // an object's member values (parallel to keys), an array's elements
}

// get returns the member named k of an object, or nil.
func (v *pval) get(k string) *pval {
	if v == nil || v.kind != 'o' {
		return nil
	}
	if i := slices.Index(v.keys, k); i >= 0 {
		return v.elems[i]
	}
	return nil
}

// withMode returns v with its mode member set to mode: in place when v has
// one, else before policies (or last), as config.json places it.
func (v *pval) withMode(mode *pval) *pval {
	c := *v
	c.keys, c.elems = slices.Clone(v.keys), slices.Clone(v.elems)
	if i := slices.Index(c.keys, "mode"); i >= 0 {
		c.elems[i] = mode
		return &c
	}
	i := slices.Index(c.keys, "policies")
	if i < 0 {
		i = len(c.keys)
	}
	c.keys, c.elems = slices.Insert(c.keys, i, "mode"), slices.Insert(c.elems, i, mode)
	return &c
}

// decodePolicyDoc reads a JSON document into a pval.
func decodePolicyDoc(data []byte) (*pval, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodePval(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func decodePval(dec *json.Decoder) (*pval, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		v := &pval{kind: 'a'}
		if t == '{' {
			v.kind = 'o'
		}
		for dec.More() {
			if v.kind == 'o' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k.(string))
			}
			e, err := decodePval(dec)
			if err != nil {
				return nil, err
			}
			v.elems = append(v.elems, e)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return v, nil
	case string:
		return &pval{kind: 's', text: t}, nil
	case json.Number:
		return &pval{kind: 'n', text: t.String()}, nil
	case bool:
		return &pval{kind: 'b', text: strconv.FormatBool(t)}, nil
	default:
		return &pval{kind: 'z', text: "null"}, nil
	}
}

// pvalOfNode reads a YAML node (a pluginConfig) as a pval.
func pvalOfNode(n *yaml.Node) (*pval, error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		v := &pval{kind: 'o'}
		for i := 0; i+1 < len(n.Content); i += 2 {
			e, err := pvalOfNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			v.keys, v.elems = append(v.keys, n.Content[i].Value), append(v.elems, e)
		}
		return v, nil
	case yaml.SequenceNode:
		v := &pval{kind: 'a'}
		for _, c := range n.Content {
			e, err := pvalOfNode(c)
			if err != nil {
				return nil, err
			}
			v.elems = append(v.elems, e)
		}
		return v, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return &pval{kind: 'n', text: n.Value}, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, err
			}
			return &pval{kind: 'b', text: strconv.FormatBool(b)}, nil
		case "!!null":
			return &pval{kind: 'z', text: "null"}, nil
		}
		return &pval{kind: 's', text: n.Value}, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// pvalEqual compares two values as JSON does: members in any order,
// numbers by value.
func pvalEqual(a, b *pval) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case 'o':
		if len(a.keys) != len(b.keys) {
			return false
		}
		for i, k := range a.keys {
			if !pvalEqual(a.elems[i], b.get(k)) {
				return false
			}
		}
		return true
	case 'a':
		return slices.EqualFunc(a.elems, b.elems, pvalEqual)
	case 'n':
		x, err1 := strconv.ParseFloat(a.text, 64)
		y, err2 := strconv.ParseFloat(b.text, 64)
		if err1 == nil && err2 == nil {
			return x == y
		}
	}
	return a.text == b.text
}

// pvalDiff lists the fields where got differs from want: members of
// objects by name, entries of the policies list by index, other values
// whole.
func pvalDiff(path string, want, got *pval) []string {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch {
	case want != nil && got != nil && want.kind == 'o' && got.kind == 'o':
		var out []string
		for i, k := range want.keys {
			if g := got.get(k); g == nil {
				out = append(out, join(k)+" (missing)")
			} else {
				out = append(out, pvalDiff(join(k), want.elems[i], g)...)
			}
		}
		for _, k := range got.keys {
			if want.get(k) == nil {
				out = append(out, join(k)+" (not in the policy file)")
			}
		}
		return out
	case want != nil && got != nil && want.kind == 'a' && got.kind == 'a' && strings.HasSuffix(path, "policies"):
		var out []string
		for i := range min(len(want.elems), len(got.elems)) {
			out = append(out, pvalDiff(path+"["+strconv.Itoa(i)+"]", want.elems[i], got.elems[i])...)
		}
		if len(want.elems) != len(got.elems) {
			out = append(out, fmt.Sprintf("%s (%d entries, want %d)", path, len(got.elems), len(want.elems)))
		}
		return out
	case !pvalEqual(want, got):
		if path == "" {
			return []string{"the whole policy"}
		}
		return []string{path}
	}
	return nil
}

// policyDocJSON writes v in the layout of config.json (configJSON's): the
// top-level object, the policies list and each policy a member per line
// indented by two spaces, lists and match objects on one line, separators
// ", " and ": ".
func policyDocJSON(v *pval) string {
	var b strings.Builder
	writePvalJSON(&b, v, "", true)
	return b.String()
}

func writePvalJSON(b *strings.Builder, v *pval, indent string, lines bool) {
	switch v.kind {
	case 'o':
		writeMembers(b, "{", "}", len(v.keys), indent, lines, func(i int, inner string) {
			b.WriteString(jsonString(v.keys[i]))
			b.WriteString(": ")
			writePvalJSON(b, v.elems[i], inner, lines && v.keys[i] == "policies")
		})
	case 'a':
		writeMembers(b, "[", "]", len(v.elems), indent, lines, func(i int, inner string) {
			writePvalJSON(b, v.elems[i], inner, lines)
		})
	case 's':
		b.WriteString(jsonString(v.text))
	default:
		b.WriteString(v.text)
	}
}

// jsonString quotes s as JSON, without escaping HTML characters.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// policyYAML writes v, an object, as the manifests write a pluginConfig: a
// block mapping with a member per line; the policies list as a block
// sequence (its dashes at the mapping's indentation) of block mappings;
// every other list or object in flow style on one line. Lines after the
// first start with indent.
func policyYAML(v *pval, indent string) string {
	var lines []string
	for i, k := range v.keys {
		e := v.elems[i]
		if k != "policies" || e.kind != 'a' || len(e.elems) == 0 {
			lines = append(lines, yamlScalar(k)+": "+yamlFlow(e))
			continue
		}
		lines = append(lines, yamlScalar(k)+":")
		for _, p := range e.elems {
			if p.kind != 'o' || len(p.keys) == 0 {
				lines = append(lines, "- "+yamlFlow(p))
				continue
			}
			for j, pk := range p.keys {
				lead := "  "
				if j == 0 {
					lead = "- "
				}
				lines = append(lines, lead+yamlScalar(pk)+": "+yamlFlow(p.elems[j]))
			}
		}
	}
	return strings.Join(lines, "\n"+indent)
}

// yamlFlow writes v in flow style.
func yamlFlow(v *pval) string {
	switch v.kind {
	case 'o':
		parts := make([]string, len(v.keys))
		for i, k := range v.keys {
			parts[i] = yamlScalar(k) + ": " + yamlFlow(v.elems[i])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case 'a':
		parts := make([]string, len(v.elems))
		for i, e := range v.elems {
			parts[i] = yamlFlow(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case 's':
		return yamlScalar(v.text)
	}
	return v.text
}

// yamlScalar writes a string plain when YAML reads it back as the same
// string in any context, and double-quoted (JSON's escapes are YAML's)
// otherwise: origins and URLs (":"), "*", regexes.
func yamlScalar(s string) string {
	if plainSafe(s) {
		return s
	}
	return jsonString(s)
}

func plainSafe(s string) bool {
	if s == "" || strings.ContainsAny(s, ":#,[]{}&*!|>'\"%@`\\?") || s[0] == '-' || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	// Read back as YAML 1.2 (yaml.v3) and as YAML 1.1 (yaml.v2, which
	// Kubernetes tooling uses: "on", "yes" and "no" are bools there).
	var v3, v2 any
	if yaml.Unmarshal([]byte(s), &v3) != nil || goyaml.Unmarshal([]byte(s), &v2) != nil {
		return false
	}
	s3, ok3 := v3.(string)
	s2, ok2 := v2.(string)
	return ok3 && ok2 && s3 == s && s2 == s
}
