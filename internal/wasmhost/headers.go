//go:build !wasip1

package wasmhost

import (
	"encoding/binary"
	"errors"
	"strings"
)

// Header is one header line. Envoy hands the module lower-case names; the
// host lower-cases names it is given.
type Header struct {
	Name, Value string
}

// Headers is a header map as Envoy keeps it: lines in order, a name may
// repeat. Pseudo-headers (":method", ":path", ":authority", ":scheme",
// ":status") are ordinary lines.
type Headers []Header

// NewHeaders returns the headers name1, value1, name2, value2, ... with the
// names lower-cased. It panics if given an odd number of strings.
func NewHeaders(nameValues ...string) Headers {
	if len(nameValues)%2 != 0 {
		panic("wasmhost: NewHeaders needs name-value pairs")
	}
	h := make(Headers, 0, len(nameValues)/2)
	for i := 0; i < len(nameValues); i += 2 {
		h = append(h, Header{lower(nameValues[i]), nameValues[i+1]})
	}
	return h
}

// Get returns the first value of the header name (compared
// case-insensitively), as proxy_get_header_map_value does.
func (h Headers) Get(name string) (value string, ok bool) {
	for _, l := range h {
		if strings.EqualFold(l.Name, name) {
			return l.Value, true
		}
	}
	return "", false
}

// Values returns every value of the header name (compared
// case-insensitively), in order.
func (h Headers) Values(name string) []string {
	var vs []string
	for _, l := range h {
		if strings.EqualFold(l.Name, name) {
			vs = append(vs, l.Value)
		}
	}
	return vs
}

// Clone returns a copy of h with lower-case names.
func (h Headers) Clone() Headers {
	if h == nil {
		return nil
	}
	c := make(Headers, len(h))
	for i, l := range h {
		c[i] = Header{lower(l.Name), l.Value}
	}
	return c
}

// add appends a line, as Envoy's addCopy does.
func (h Headers) add(name, value string) Headers { return append(h, Header{name, value}) }

// replace sets the first line of name to value and removes the others, or
// appends a line if there is none, as Envoy's setCopy does.
func (h Headers) replace(name, value string) Headers {
	out := h[:0]
	found := false
	for _, l := range h {
		if l.Name != name {
			out = append(out, l)
		} else if !found {
			found = true
			out = append(out, Header{name, value})
		}
	}
	clear(h[len(out):])
	if !found {
		out = append(out, Header{name, value})
	}
	return out
}

// remove deletes every line of name.
func (h Headers) remove(name string) Headers {
	out := h[:0]
	for _, l := range h {
		if l.Name != name {
			out = append(out, l)
		}
	}
	clear(h[len(out):])
	return out
}

// first returns the first value of name, which must be lower case.
func (h Headers) first(name string) (string, bool) {
	for _, l := range h {
		if l.Name == name {
			return l.Value, true
		}
	}
	return "", false
}

// appendPairs serializes h as the ABI passes header maps: the number of
// lines (u32 little endian), each name's and value's length (u32 LE), then
// each name and value followed by a NUL byte.
func (h Headers) appendPairs(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(h)))
	for _, l := range h {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(l.Name)))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(l.Value)))
	}
	for _, l := range h {
		dst = append(dst, l.Name...)
		dst = append(dst, 0)
		dst = append(dst, l.Value...)
		dst = append(dst, 0)
	}
	return dst
}

var errMalformedPairs = errors.New("malformed header map")

// parsePairs decodes a serialized header map (see appendPairs), copying the
// strings and lower-casing the names. An empty buffer is an empty map. Unlike
// Envoy, which reads what it can of a malformed map, it refuses one.
func parsePairs(b []byte) (Headers, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 4 {
		return nil, errMalformedPairs
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if 4+8*n > uint64(len(b)) {
		return nil, errMalformedPairs
	}
	sizes, data := b[4:4+8*n], b[4+8*n:]
	h := make(Headers, 0, n)
	for i := range n {
		var kv [2]string
		for j := range kv {
			size := uint64(binary.LittleEndian.Uint32(sizes[8*i+4*uint64(j):]))
			if size >= uint64(len(data)) || data[size] != 0 {
				return nil, errMalformedPairs
			}
			kv[j] = string(data[:size])
			data = data[size+1:]
		}
		h = append(h, Header{lower(kv[0]), kv[1]})
	}
	if len(data) != 0 {
		return nil, errMalformedPairs
	}
	return h, nil
}

// lower lower-cases ASCII letters, without allocating when s is already
// lower case (header names are ASCII tokens).
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
