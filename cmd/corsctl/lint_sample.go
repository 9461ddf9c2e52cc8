// Strings a regular expression matches, plainest first: lint's regex rule
// tries attacker variants of them against the policy.

package main

import (
	"regexp/syntax"
	"strings"
)

// regexSamples returns strings the expression matches, in attempts from
// the plainest: repetitions taken zero times, then once; any character
// taken as '.' (what an unescaped dot most likely meant), then as 'a'.
func regexSamples(expr string) [][]string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	var out [][]string
	for _, reps := range []int{0, 1} {
		for _, anyChar := range []string{".", "a"} {
			g := sampler{reps: reps, anyChar: anyChar}
			out = append(out, g.sample(re))
		}
	}
	return out
}

// maxSamples bounds the strings one expression yields.
const maxSamples = 16

// sampler generates strings a regex matches.
type sampler struct {
	reps    int    // times a repetition without minimum is taken
	anyChar string // what any character stands for
}

// sample returns strings re matches, at most maxSamples of them.
func (g sampler) sample(re *syntax.Regexp) []string {
	reps := g.reps
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			s = strings.ToLower(s)
		}
		return []string{s}
	case syntax.OpCharClass:
		if c, ok := classRune(re.Rune); ok {
			return []string{string(c)}
		}
		return nil
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return []string{g.anyChar}
	case syntax.OpCapture:
		return g.sample(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		return g.repeat(re.Sub[0], reps)
	case syntax.OpPlus:
		return g.repeat(re.Sub[0], max(1, reps))
	case syntax.OpRepeat:
		n := max(re.Min, reps)
		if re.Max >= 0 {
			n = min(n, re.Max)
		}
		return g.repeat(re.Sub[0], n)
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			out = product(out, g.sample(sub))
		}
		return out
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			out = append(out, g.sample(sub)...)
		}
		return out[:min(len(out), maxSamples)]
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}
	}
	return nil // OpNoMatch
}

// repeat returns strings that match re n times in a row.
func (g sampler) repeat(re *syntax.Regexp, n int) []string {
	out := []string{""}
	for range n {
		out = product(out, g.sample(re))
	}
	return out
}

// product concatenates each of a with each of b, keeping maxSamples.
func product(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if len(out) < maxSamples {
				out = append(out, x+y)
			}
		}
	}
	return out
}

// classRune picks a plain member of a character class: a lower-case
// letter, a digit or '-' if it has one.
func classRune(ranges []rune) (rune, bool) {
	for _, want := range [][2]rune{{'a', 'z'}, {'0', '9'}, {'-', '-'}, {'.', '.'}, {'!', '~'}} {
		for i := 0; i+1 < len(ranges); i += 2 {
			lo, hi := max(ranges[i], want[0]), min(ranges[i+1], want[1])
			if lo <= hi {
				return lo, true
			}
		}
	}
	return 0, false
}
