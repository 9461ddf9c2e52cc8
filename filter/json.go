package filter

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The configuration decoder is a small strict JSON reader rather than
// encoding/json: encoding/json adds about 1.3 MB to the module and pulls in
// os, whose WASI imports older Envoy hosts lack. Configuration is read once
// per configure callback, so clarity beats speed here.

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

var jsonKindNames = [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}

func (k jsonKind) String() string { return jsonKindNames[k] }

// jsonValue is one parsed JSON value. Numbers keep their literal text.
type jsonValue struct {
	kind    jsonKind
	boolean bool
	text    string // string contents or number literal
	items   []jsonValue
	members []jsonMember
}

type jsonMember struct {
	key   string
	value jsonValue
}

// maxJSONDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxJSONDepth = 32

type jsonParser struct {
	data []byte
	pos  int
}

// parseJSON parses one JSON document, refusing trailing data.
func parseJSON(data []byte) (jsonValue, error) {
	p := &jsonParser{data: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return jsonValue{}, err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return jsonValue{}, p.errorf("unexpected " + p.describe() + " after the end of the document")
	}
	return v, nil
}

func (p *jsonParser) value(depth int) (jsonValue, error) {
	if depth > maxJSONDepth {
		return jsonValue{}, p.errorf("nesting deeper than " + strconv.Itoa(maxJSONDepth) + " levels")
	}
	if p.pos >= len(p.data) {
		return jsonValue{}, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.string()
		return jsonValue{kind: jsonString, text: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case p.literal("true"):
		return jsonValue{kind: jsonBool, boolean: true}, nil
	case p.literal("false"):
		return jsonValue{kind: jsonBool}, nil
	case p.literal("null"):
		return jsonValue{kind: jsonNull}, nil
	}
	return jsonValue{}, p.errorf("unexpected " + p.describe() + ", expected a value")
}

func (p *jsonParser) object(depth int) (jsonValue, error) {
	v := jsonValue{kind: jsonObject}
	p.pos++ // {
	p.skipSpace()
	if p.peek('}') {
		p.pos++
		return v, nil
	}
	for {
		if !p.peek('"') {
			return v, p.errorf("unexpected " + p.describe() + ", expected a field name in double quotes")
		}
		key, err := p.string()
		if err != nil {
			return v, err
		}
		p.skipSpace()
		if !p.peek(':') {
			return v, p.errorf("unexpected " + p.describe() + ", expected ':' after field name " + strconv.Quote(key))
		}
		p.pos++
		p.skipSpace()
		item, err := p.value(depth + 1)
		if err != nil {
			return v, err
		}
		v.members = append(v.members, jsonMember{key: key, value: item})
		p.skipSpace()
		switch {
		case p.peek(','):
			p.pos++
			p.skipSpace()
		case p.peek('}'):
			p.pos++
			return v, nil
		default:
			return v, p.errorf("unexpected " + p.describe() + ", expected ',' or '}'")
		}
	}
}

func (p *jsonParser) array(depth int) (jsonValue, error) {
	v := jsonValue{kind: jsonArray}
	p.pos++ // [
	p.skipSpace()
	if p.peek(']') {
		p.pos++
		return v, nil
	}
	for {
		item, err := p.value(depth + 1)
		if err != nil {
			return v, err
		}
		v.items = append(v.items, item)
		p.skipSpace()
		switch {
		case p.peek(','):
			p.pos++
			p.skipSpace()
		case p.peek(']'):
			p.pos++
			return v, nil
		default:
			return v, p.errorf("unexpected " + p.describe() + ", expected ',' or ']'")
		}
	}
}

func (p *jsonParser) string() (string, error) {
	p.pos++ // opening quote
	var buf []byte
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			s := string(p.data[start:p.pos])
			if buf != nil {
				s = string(append(buf, p.data[start:p.pos]...))
			}
			p.pos++
			return s, nil
		case c == '\\':
			buf = append(buf, p.data[start:p.pos]...)
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
			start = p.pos
		case c < 0x20:
			return "", p.errorf("control character in string; escape it")
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errorf("invalid UTF-8 in string")
			}
			p.pos += size
		}
	}
	return "", p.errorf("unterminated string")
}

// escape decodes the escape sequence at p.pos, which points at the backslash.
func (p *jsonParser) escape() (rune, error) {
	if p.pos+1 >= len(p.data) {
		return 0, p.errorf("unterminated string")
	}
	c := p.data[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return 0, p.errorf(`invalid \u escape`)
		}
		if utf16.IsSurrogate(r) {
			if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
				p.pos += 2
				r2, ok := p.hex4()
				if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
					return d, nil
				}
			}
			return 0, p.errorf(`invalid UTF-16 surrogate pair in \u escape`)
		}
		return r, nil
	}
	p.pos--
	return 0, p.errorf("invalid escape " + strconv.Quote("\\"+string(rune(c))))
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(n), true
}

func (p *jsonParser) number() (jsonValue, error) {
	start := p.pos
	p.pos++
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			break
		}
		p.pos++
	}
	text := string(p.data[start:p.pos])
	if !validJSONNumber(text) {
		p.pos = start
		return jsonValue{}, p.errorf("invalid number " + strconv.Quote(text))
	}
	return jsonValue{kind: jsonNumber, text: text}, nil
}

// validJSONNumber checks the JSON number grammar: -?int frac? exp?
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

func (p *jsonParser) literal(word string) bool {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return false
	}
	p.pos += len(word)
	return true
}

func (p *jsonParser) peek(c byte) bool { return p.pos < len(p.data) && p.data[p.pos] == c }

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// describe names the input at p.pos for an error message.
func (p *jsonParser) describe() string {
	if p.pos >= len(p.data) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.data[p.pos:])
	return strconv.QuoteRune(r)
}

// errorf reports a syntax error with its line and column (both from 1).
func (p *jsonParser) errorf(msg string) error {
	line, col := 1, 1
	for _, c := range p.data[:min(p.pos, len(p.data))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &jsonSyntaxError{msg: "invalid JSON at line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col) + ": " + msg}
}

type jsonSyntaxError struct{ msg string }

func (e *jsonSyntaxError) Error() string { return e.msg }
