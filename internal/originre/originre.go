// Package originre is a small matcher for the RE2 subset that origin
// regexes use: linear time, no backtracking, zero allocations per match. It
// stands in for Go's regexp in the plugin, which cannot afford regexp's
// size (with regexp/syntax and the unicode tables, about 590 KB of the
// module).
//
// Every expression Compile accepts is one Go's regexp accepts, and means
// the same: for every string s, MatchString(s) answers what
// regexp.MustCompile("^(?:"+expr+")$").MatchString(s) answers, for
// non-ASCII and invalid UTF-8 input too (the filter only ever passes
// well-formed ASCII origins).
//
// Accepted: ASCII characters; escaped punctuation (\. \- \/ \\ ...) and
// \a \f \n \r \t \v; '.' (any character but a newline); \d \D \s \S \w \W;
// classes [...] and [^...] with ranges, escapes, \d \s \w and ASCII POSIX
// classes ([[:alpha:]]); groups (...), (?:...), (?P<name>...) and
// (?<name>...), captures being plain groups; alternation, empty
// alternatives included; the quantifiers * + ? {n} {n,} {n,m} and their
// lazy forms, which match the same; ^ $ \A \z as the start and end of the
// text.
//
// Refused, with an error that names the construct, its byte offset and
// what to write instead: non-ASCII characters, flags such as (?i), Unicode
// classes \p \P, word boundaries \b \B, \Q...\E, octal and hex escapes, a
// '{' that starts no repeat count; and what RE2 refuses itself:
// backreferences, lookarounds, nothing to repeat (*a), a repeated repeat
// (a**), repeat counts above 1000. An expression may hold at most 512
// characters, classes and dots once its repeats are expanded, and nest
// groups 50 deep.
//
// The expression compiles to a Thompson NFA whose empty moves are
// resolved at compile time, leaving for each character position the set
// of positions that can take the next character. MatchString steps a
// bitset of positions once per character of input, in fixed-size arrays
// on the stack, and is safe for concurrent use.
package originre

import (
	"math/bits"
	"unicode/utf8"
)

const (
	// maxPositions bounds the characters, classes and dots of an expression
	// after repeats are expanded: MatchString keeps its state sets in
	// fixed-size arrays of maxPositions bits.
	maxPositions = 512
	maxWords     = maxPositions / 64
	// maxInsts bounds the whole program, empty moves included.
	maxInsts = 8 * maxPositions
	// maxDepth bounds the nesting of groups, well inside RE2's own limit.
	maxDepth = 50
	// nonASCII indexes the row of takes for any rune at or above 0x80: every
	// class holds either all of them or none.
	nonASCII = utf8.RuneSelf
)

// Regexp is a compiled expression. It is immutable and safe for concurrent
// use.
type Regexp struct {
	expr  string
	words int  // uint64 words per set of positions
	empty bool // the empty string matches
	// start holds the positions that can take the first character.
	start []uint64
	// accept holds the positions after which the text may end.
	accept []uint64
	// follow holds, per position, the positions that can take the next
	// character once it has taken one.
	follow []uint64
	// takes holds, per character (0-127, then nonASCII), the positions whose
	// class holds it.
	takes []uint64

	endsInAnyRepeat bool
}

// Compile parses expr and compiles it for whole-string matching. The error,
// if any, names the construct, its byte offset in expr and what to write
// instead.
func Compile(expr string) (*Regexp, error) {
	tree, err := parse(expr)
	if err != nil {
		return nil, err
	}
	re, err := compile(tree)
	if err != nil {
		return nil, err
	}
	re.expr = expr
	re.endsInAnyRepeat = endsInAnyRepeat(tree)
	return re, nil
}

// String returns the expression re was compiled from.
func (re *Regexp) String() string { return re.expr }

// EndsInAnyRepeat reports whether the expression ends in an unbounded
// repeat of any character (.* .+ .{2,}, possibly followed by $), which lets
// anything follow what comes before it.
func (re *Regexp) EndsInAnyRepeat() bool { return re.endsInAnyRepeat }

// MatchString reports whether all of s matches the expression. Non-ASCII
// and invalid UTF-8 input is matched as Go's regexp matches it.
func (re *Regexp) MatchString(s string) bool {
	if s == "" {
		return re.empty
	}
	w := re.words
	if w == 1 {
		return re.match64(s)
	}
	var a, b [maxWords]uint64
	cur, next := a[:w], b[:w]
	copy(cur, re.start)
	for i := 0; i < len(s); {
		c, size := charAt(s, i)
		i += size
		takes := re.takes[c*w : (c+1)*w]
		if i == len(s) {
			for k := range cur {
				if cur[k]&takes[k]&re.accept[k] != 0 {
					return true
				}
			}
			return false
		}
		clear(next)
		var live uint64
		for k := range cur {
			for m := cur[k] & takes[k]; m != 0; m &= m - 1 {
				f := re.follow[(k*64+bits.TrailingZeros64(m))*w:][:w]
				for j := range next {
					next[j] |= f[j]
					live |= f[j]
				}
			}
		}
		if live == 0 {
			return false
		}
		cur, next = next, cur
	}
	return false // not reached: the last character returns
}

// match64 is MatchString for expressions of at most 64 positions, where a
// set of positions is one word.
func (re *Regexp) match64(s string) bool {
	cur := re.start[0]
	for i := 0; i < len(s); {
		c, size := charAt(s, i)
		i += size
		m := cur & re.takes[c]
		if i == len(s) {
			return m&re.accept[0] != 0
		}
		cur = 0
		for ; m != 0; m &= m - 1 {
			cur |= re.follow[bits.TrailingZeros64(m)]
		}
		if cur == 0 {
			return false
		}
	}
	return false
}

// charAt returns the character at s[i] as the takes table indexes it, and
// its width. Go's regexp steps over runes, an invalid byte being one rune;
// all non-ASCII runes behave alike here, so only their width matters.
func charAt(s string, i int) (c, size int) {
	if c := int(s[i]); c < utf8.RuneSelf {
		return c, 1
	}
	return nonASCII, runeWidth(s[i:])
}

// runeWidth is the width of the rune s starts with; kept out of charAt so
// that charAt inlines.
func runeWidth(s string) int {
	_, size := utf8.DecodeRuneInString(s)
	return size
}
