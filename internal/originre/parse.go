package originre

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// node is the parse tree. Groups leave no node of their own: captures do
// not matter for a yes-or-no match.
type node struct {
	kind     nodeKind
	class    charClass // kindChar
	subs     []*node   // kindConcat, kindAlt; kindRepeat has one
	min, max int       // kindRepeat; max -1 for no upper bound
}

type nodeKind uint8

const (
	kindChar   nodeKind = iota // one character of class
	kindEmpty                  // the empty string
	kindBegin                  // ^ or \A: the start of the text
	kindEnd                    // $ or \z: the end of the text
	kindConcat                 // subs in sequence
	kindAlt                    // one of subs
	kindRepeat                 // subs[0], min to max times
)

// charClass is a set of characters: some of ASCII, and either all runes
// above it or none. Everything the syntax can write keeps to that shape:
// classes are built of ASCII characters, and negation swaps "all" and
// "none" above ASCII.
type charClass struct {
	ascii    [2]uint64 // bit c: ASCII character c
	nonASCII bool      // every rune from 0x80 up
}

func (cc *charClass) addRange(lo, hi byte) {
	for c := int(lo); c <= int(hi); c++ {
		cc.ascii[c/64] |= 1 << (c % 64)
	}
}

func (cc *charClass) addRanges(pairs string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		cc.addRange(pairs[i], pairs[i+1])
	}
}

func (cc *charClass) add(o charClass) {
	cc.ascii[0] |= o.ascii[0]
	cc.ascii[1] |= o.ascii[1]
	cc.nonASCII = cc.nonASCII || o.nonASCII
}

func (cc charClass) inverse() charClass {
	return charClass{[2]uint64{^cc.ascii[0], ^cc.ascii[1]}, !cc.nonASCII}
}

// has reports whether the class holds ASCII character c, or any non-ASCII
// rune when c is nonASCII.
func (cc charClass) has(c int) bool {
	if c >= nonASCII {
		return cc.nonASCII
	}
	return cc.ascii[c/64]&(1<<(c%64)) != 0
}

// rangesOf builds a class from lo-hi byte pairs, negated when negate.
func rangesOf(pairs string, negate bool) charClass {
	var cc charClass
	cc.addRanges(pairs)
	if negate {
		return cc.inverse()
	}
	return cc
}

// anyButNewline is '.': Go's default, without the s flag.
var anyButNewline = rangesOf("\n\n", true)

// perlClass is \d \s \w and their negations, as Go defines them (\s is
// [\t\n\f\r ], without \v).
func perlClass(c byte) (charClass, bool) {
	switch c {
	case 'd', 'D':
		return rangesOf("09", c == 'D'), true
	case 's', 'S':
		return rangesOf("\t\n\f\r  ", c == 'S'), true
	case 'w', 'W':
		return rangesOf("09AZ__az", c == 'W'), true
	}
	return charClass{}, false
}

// posixClasses are the ASCII classes [:name:] of RE2, as lo-hi byte pairs.
var posixClasses = []struct{ name, pairs string }{
	{"alnum", "09AZaz"}, {"alpha", "AZaz"}, {"ascii", "\x00\x7f"}, {"blank", "\t\t  "},
	{"cntrl", "\x00\x1f\x7f\x7f"}, {"digit", "09"}, {"graph", "!~"}, {"lower", "az"},
	{"print", " ~"}, {"punct", "!/:@[`{~"}, {"space", "\t\r  "}, {"upper", "AZ"},
	{"word", "09AZ__az"}, {"xdigit", "09AFaf"},
}

// posixClass looks up "[:alpha:]" or "[:^alpha:]".
func posixClass(name string) (charClass, bool) {
	inner := name[2 : len(name)-2]
	negate := strings.HasPrefix(inner, "^")
	inner = strings.TrimPrefix(inner, "^")
	for _, p := range posixClasses {
		if p.name == inner {
			return rangesOf(p.pairs, negate), true
		}
	}
	return charClass{}, false
}

type parser struct {
	expr  string
	pos   int
	depth int
}

// parse builds the tree of expr, accepting what Go's regexp/syntax accepts
// with its Perl flags, less what the package refuses.
func parse(expr string) (*node, error) {
	for i := 0; i < len(expr); i++ {
		if expr[i] >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(expr[i:])
			what := "non-ASCII character " + strconv.QuoteRune(r)
			if size == 1 {
				what = "invalid UTF-8"
			}
			return nil, errorAt(what, i, "origins are ASCII: write an internationalized host in its punycode form, xn--...")
		}
	}
	p := &parser{expr: expr}
	n, err := p.alternation()
	if err != nil {
		return nil, err
	}
	if p.pos < len(expr) { // alternation stops only at the end or at ')'
		return nil, errorAt("unexpected )", p.pos, `no ( opens it; write \) for the character`)
	}
	return n, nil
}

// errorAt builds an error naming what is wrong, where, and what to do.
func errorAt(what string, offset int, fix string) error {
	msg := what + " at offset " + strconv.Itoa(offset)
	if fix != "" {
		msg += ": " + fix
	}
	return errors.New(msg)
}

// fragment quotes expr[from:to] for an error message.
func (p *parser) fragment(from, to int) string {
	s := p.expr[from:min(to, len(p.expr))]
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f || s[i] == '`' {
			return strconv.Quote(s)
		}
	}
	return "`" + s + "`"
}

func (p *parser) more() bool { return p.pos < len(p.expr) }

func (p *parser) alternation() (*node, error) {
	var alts []*node
	for {
		n, err := p.concat()
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
		if !p.more() || p.expr[p.pos] != '|' {
			break
		}
		p.pos++
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return &node{kind: kindAlt, subs: alts}, nil
}

func (p *parser) concat() (*node, error) {
	var items []*node
	for p.more() && p.expr[p.pos] != '|' && p.expr[p.pos] != ')' {
		n, err := p.repeat()
		if err != nil {
			return nil, err
		}
		items = append(items, n)
	}
	switch len(items) {
	case 0:
		return &node{kind: kindEmpty}, nil
	case 1:
		return items[0], nil
	}
	return &node{kind: kindConcat, subs: items}, nil
}

// quantifier is * + ? or {n} {n,} {n,m}, and a lazy '?' after it.
type quantifier struct{ min, max, end int }

// quantifierAt reads a quantifier at i without consuming it. A brace that
// is not a repeat count, which Go takes as a literal '{', is none.
func (p *parser) quantifierAt(i int) (q quantifier, ok bool) {
	if i >= len(p.expr) {
		return q, false
	}
	switch p.expr[i] {
	case '*':
		q = quantifier{0, -1, i + 1}
	case '+':
		q = quantifier{1, -1, i + 1}
	case '?':
		q = quantifier{0, 1, i + 1}
	case '{':
		if q, ok = p.count(i); !ok {
			return q, false
		}
	default:
		return q, false
	}
	if q.end < len(p.expr) && p.expr[q.end] == '?' {
		q.end++
	}
	return q, true
}

// count reads {n}, {n,} or {n,m} at i as Go does: decimal numbers without
// leading zeros. Numbers above 1000 come back as 1001.
func (p *parser) count(i int) (q quantifier, ok bool) {
	j := i + 1
	number := func() (int, bool) {
		start, n := j, 0
		for j < len(p.expr) && '0' <= p.expr[j] && p.expr[j] <= '9' {
			n = min(n*10+int(p.expr[j]-'0'), 1001)
			j++
		}
		leadingZero := j-start > 1 && p.expr[start] == '0'
		return n, j > start && !leadingZero
	}
	if q.min, ok = number(); !ok {
		return q, false
	}
	q.max = q.min
	if j < len(p.expr) && p.expr[j] == ',' {
		j++
		q.max = -1
		if j < len(p.expr) && p.expr[j] != '}' {
			if q.max, ok = number(); !ok {
				return q, false
			}
		}
	}
	if j >= len(p.expr) || p.expr[j] != '}' {
		return q, false
	}
	q.end = j + 1
	return q, true
}

func (p *parser) repeat() (*node, error) {
	if q, ok := p.quantifierAt(p.pos); ok {
		return nil, errorAt("nothing to repeat before "+p.fragment(p.pos, q.end), p.pos,
			`escape it (\`+p.expr[p.pos:p.pos+1]+`) to match the character`)
	}
	n, err := p.atom()
	if err != nil {
		return nil, err
	}
	q, ok := p.quantifierAt(p.pos)
	if !ok {
		return n, nil
	}
	at := p.pos
	if q.min > 1000 || q.max > 1000 {
		return nil, errorAt("repeat count "+p.fragment(at, q.end)+" above 1000", at, "RE2 allows at most 1000; write a smaller count, or * or +")
	}
	if q.max >= 0 && q.min > q.max {
		return nil, errorAt("repeat count "+p.fragment(at, q.end)+" with min above max", at, "write {min,max}")
	}
	p.pos = q.end
	if q2, ok := p.quantifierAt(p.pos); ok {
		return nil, errorAt("nested repeat "+p.fragment(at, q2.end), at,
			"RE2 does not repeat a repeat; keep one, or group the first: (?:a*)*")
	}
	r := &node{kind: kindRepeat, min: q.min, max: q.max, subs: []*node{n}}
	if (q.min >= 2 || q.max >= 2) && !repeatIsValid(r, 1000) {
		return nil, errorAt("repeat count "+p.fragment(at, q.end), at,
			"nested repeat counts multiply to more than 1000, the most RE2 allows; write smaller counts")
	}
	return r, nil
}

// repeatIsValid is RE2's rule: nested repeats make at most n copies of
// what they repeat. (A repeat with max 0 makes none.)
func repeatIsValid(n *node, limit int) bool {
	if n.kind == kindRepeat {
		m := n.max
		if m == 0 {
			return true
		}
		if m < 0 {
			m = n.min
		}
		if m > limit {
			return false
		}
		if m > 0 {
			limit /= m
		}
	}
	for _, s := range n.subs {
		if !repeatIsValid(s, limit) {
			return false
		}
	}
	return true
}

func (p *parser) atom() (*node, error) {
	switch p.expr[p.pos] {
	case '(':
		return p.group()
	case '[':
		return p.class()
	case '.':
		p.pos++
		return &node{kind: kindChar, class: anyButNewline}, nil
	case '^':
		p.pos++
		return &node{kind: kindBegin}, nil
	case '$':
		p.pos++
		return &node{kind: kindEnd}, nil
	case '{':
		return nil, errorAt("{ that starts no repeat count {n}, {n,} or {n,m}", p.pos, `write \{ for the character`)
	case '\\':
		return p.escape()
	}
	var cc charClass
	c := p.expr[p.pos]
	cc.addRange(c, c)
	p.pos++
	return &node{kind: kindChar, class: cc}, nil
}

func (p *parser) group() (*node, error) {
	open := p.pos
	if p.depth++; p.depth > maxDepth {
		return nil, errorAt("groups nested more than "+strconv.Itoa(maxDepth)+" deep", open, "write a flatter expression")
	}
	rest := p.expr[open:]
	switch {
	case strings.HasPrefix(rest, "(?:"):
		p.pos += 3
	case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"),
		strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
		return nil, errorAt("lookaround "+p.fragment(open, open+3+btoi(rest[2] == '<')), open,
			"RE2 has no lookarounds; the expression already matches the whole origin, so write what must be there")
	case strings.HasPrefix(rest, "(?P="), strings.HasPrefix(rest, "(?P>"):
		return nil, errorAt("backreference "+p.fragment(open, open+4), open, "RE2 has no backreferences; write the text again")
	case strings.HasPrefix(rest, "(?P<"), strings.HasPrefix(rest, "(?<"):
		begin := 3 + btoi(rest[2] == 'P')
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return nil, errorAt("group name without > "+p.fragment(open, open+begin), open, "write (?P<name>...), or (?:...) for a plain group")
		}
		if !validName(rest[begin:end]) {
			return nil, errorAt("invalid group name "+p.fragment(open, open+end+1), open, "use letters, digits and _, or write (?:...) for a plain group")
		}
		p.pos += end + 1
	case strings.HasPrefix(rest, "(?"):
		end := 2
		for end < len(rest) && strings.IndexByte("imsU-", rest[end]) >= 0 {
			end++
		}
		if end == 2 {
			return nil, errorAt("unknown group syntax "+p.fragment(open, open+3), open, "write (...) or (?:...) for a group")
		}
		return nil, errorAt("flags "+p.fragment(open, open+min(end+1, len(rest))), open,
			"flags are not supported; origins reach the filter in lower case, as browsers serialize them, and on one line: write the expression in lower case")
	default:
		p.pos++
	}
	n, err := p.alternation()
	if err != nil {
		return nil, err
	}
	if !p.more() {
		return nil, errorAt("missing ) for the (", open, `close the group, or write \( for the character`)
	}
	p.pos++
	p.depth--
	return n, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// validName is RE2's rule for group names: [A-Za-z0-9_]+.
func validName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != '_' && !isAlnum(c) {
			return false
		}
	}
	return name != ""
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// escape reads an escape outside a class.
func (p *parser) escape() (*node, error) {
	if p.pos+1 < len(p.expr) {
		at, c := p.pos, p.expr[p.pos+1]
		switch c {
		case 'A':
			p.pos += 2
			return &node{kind: kindBegin}, nil
		case 'z':
			p.pos += 2
			return &node{kind: kindEnd}, nil
		case 'b', 'B':
			return nil, errorAt("word boundary "+p.fragment(at, at+2), at,
				"not supported: the expression matches the whole origin, so write the characters around it ([.:/] between labels)")
		case 'Q':
			return nil, errorAt(`\Q...\E `+p.fragment(at, at+2), at, `not supported: escape each special character with \ instead`)
		case 'C':
			return nil, errorAt(`\C `+p.fragment(at, at+2), at, "not supported (RE2 refuses it): write . for any character")
		}
		if cc, ok := perlClass(c); ok {
			p.pos += 2
			return &node{kind: kindChar, class: cc}, nil
		}
	}
	c, err := p.escapedChar()
	if err != nil {
		return nil, err
	}
	var cc charClass
	cc.addRange(c, c)
	return &node{kind: kindChar, class: cc}, nil
}

// escapedChar reads an escape that stands for one character, as Go reads
// it inside and outside classes: escaped punctuation and \a \f \n \r \t \v.
func (p *parser) escapedChar() (byte, error) {
	at := p.pos
	if at+1 >= len(p.expr) {
		return 0, errorAt(`trailing \`, at, `write \\ for a backslash`)
	}
	c := p.expr[at+1]
	p.pos += 2
	if !isAlnum(c) {
		return c, nil
	}
	if i := strings.IndexByte("afnrtv", c); i >= 0 {
		return "\a\f\n\r\t\v"[i], nil
	}
	octal := func(i int) bool { return i < len(p.expr) && '0' <= p.expr[i] && p.expr[i] <= '7' }
	switch {
	case c == 'x':
		end := at + 4
		if at+2 < len(p.expr) && p.expr[at+2] == '{' {
			if end = strings.IndexByte(p.expr[at:], '}') + at + 1; end == at {
				end = at + 3
			}
		}
		return 0, errorAt("hex escape "+p.fragment(at, end), at, "not supported: write the character itself")
	case c == '0' || '1' <= c && c <= '7' && octal(at+2):
		end := at + 2
		for end < at+4 && octal(end) {
			end++
		}
		return 0, errorAt("octal escape "+p.fragment(at, end), at, "not supported: write the character itself")
	case '1' <= c && c <= '9':
		return 0, errorAt("backreference "+p.fragment(at, at+2), at, "RE2 has no backreferences; write the text again")
	case c == 'p' || c == 'P':
		end := at + 3
		if at+2 < len(p.expr) && p.expr[at+2] == '{' {
			if end = strings.IndexByte(p.expr[at:], '}') + at + 1; end == at {
				end = at + 3
			}
		}
		return 0, errorAt("class "+p.fragment(at, end), at, "Unicode classes are not supported: origins are ASCII; use a class such as [a-z]")
	case strings.IndexByte("dDsSwW", c) >= 0:
		return 0, errorAt("class "+p.fragment(at, at+2)+" at the end of a range", at, `a range runs between two characters; put - first or last in the class, or write \-`)
	}
	return 0, errorAt("unknown escape "+p.fragment(at, at+2), at, `escape only punctuation (\. \- \/), or use \d \s \w \D \S \W \n \t`)
}

// class reads [...] the way Go's parser does: ']' first is a character,
// '-' makes a range only between two characters, [:name:] is an ASCII
// class, and a negated class holds '\n'.
func (p *parser) class() (*node, error) {
	open := p.pos
	p.pos++
	negate := p.more() && p.expr[p.pos] == '^'
	if negate {
		p.pos++
	}
	missing := func() error {
		return errorAt("missing ] for the [", open, `close the class, or write \[ for the character`)
	}
	var cc charClass
	for first := true; !p.more() || p.expr[p.pos] != ']' || first; first = false {
		if !p.more() {
			return nil, missing()
		}
		rest := p.expr[p.pos:]
		// Like Go, look for the closing ":]" anywhere after "[:".
		if len(rest) > 2 && rest[0] == '[' && rest[1] == ':' {
			if end := strings.Index(rest[2:], ":]"); end >= 0 {
				name := rest[:end+4]
				g, ok := posixClass(name)
				if !ok {
					return nil, errorAt("unknown class "+p.fragment(p.pos, p.pos+len(name)), p.pos,
						"the ASCII classes are [:alnum:] [:alpha:] [:ascii:] [:blank:] [:cntrl:] [:digit:] [:graph:] [:lower:] [:print:] [:punct:] [:space:] [:upper:] [:word:] [:xdigit:]")
				}
				cc.add(g)
				p.pos += len(name)
				continue
			}
		}
		if len(rest) >= 2 && rest[0] == '\\' {
			if g, ok := perlClass(rest[1]); ok {
				cc.add(g)
				p.pos += 2
				continue
			}
		}
		from := p.pos
		lo, err := p.classChar(missing)
		if err != nil {
			return nil, err
		}
		hi := lo
		if p.pos+1 < len(p.expr) && p.expr[p.pos] == '-' && p.expr[p.pos+1] != ']' {
			p.pos++
			if hi, err = p.classChar(missing); err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, errorAt("bad range "+p.fragment(from, p.pos), from, "write the lower character first")
			}
		}
		cc.addRange(lo, hi)
	}
	p.pos++
	if negate {
		cc = cc.inverse()
	}
	return &node{kind: kindChar, class: cc}, nil
}

func (p *parser) classChar(missing func() error) (byte, error) {
	if !p.more() {
		return 0, missing()
	}
	if p.expr[p.pos] == '\\' {
		return p.escapedChar()
	}
	p.pos++
	return p.expr[p.pos-1], nil
}

// endsInAnyRepeat reports whether n ends in an unbounded repeat of a class
// that holds every character but perhaps '\n', before any end assertions.
func endsInAnyRepeat(n *node) bool {
	for n.kind == kindConcat {
		i := len(n.subs) - 1
		for i > 0 && n.subs[i].kind == kindEnd {
			i--
		}
		n = n.subs[i]
	}
	if n.kind != kindRepeat || n.max != -1 || n.subs[0].kind != kindChar {
		return false
	}
	cc := n.subs[0].class
	cc.addRange('\n', '\n')
	return cc == charClass{[2]uint64{^uint64(0), ^uint64(0)}, true}
}
