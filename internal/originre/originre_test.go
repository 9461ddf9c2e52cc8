package originre

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCompile(t *testing.T) {
	for _, c := range []struct {
		name, expr string
		err        string // part of the error; "" when accepted
	}{
		{"accepts the large policy's regex", `https://pr-[0-9]+\.preview4\.example\.com`, ""},
		{"accepts escaped punctuation", `https\:\/\/a\-b\.c\_d\~`, ""},
		{"accepts control escapes", `\a\f\n\r\t\v`, ""},
		{"accepts Perl classes", `\d\D\s\S\w\W`, ""},
		{"accepts Perl classes in a class", `[\d\w.-]`, ""},
		{"accepts ASCII POSIX classes", `[[:alpha:][:^digit:]]`, ""},
		{"accepts ] first in a class", `[]a]`, ""},
		{"accepts - first and last in a class", `[-a-]`, ""},
		{"accepts - after a Perl class as a character", `[\d-z]`, ""},
		{"accepts [ without :] as a character", `[[:a]`, ""},
		{"accepts named groups in both forms", `(?P<scheme>https)://(?<host>a)`, ""},
		{"accepts empty alternatives", `https://(a|)b|`, ""},
		{"accepts lazy quantifiers", `a*?b+?c??d{2}?e{1,}?f{1,3}?`, ""},
		{"accepts anchors", `^\Aa$\z`, ""},
		{"accepts a repeated anchor, as Go does", `^*a`, ""},
		{"accepts 1000 repeats", `(?:^){1000}a{0,500}`, ""},
		{"accepts the empty expression", ``, ""},
		{"accepts } and ] as characters", `a}]`, ""},

		{"refuses non-ASCII characters", `https://bücher\.example`, `non-ASCII character 'ü' at offset 9: origins are ASCII: write an internationalized host in its punycode form, xn--...`},
		{"refuses invalid UTF-8", "a\xff", `invalid UTF-8 at offset 1`},
		{"refuses U+FFFD as a non-ASCII character", "a\uFFFD", "non-ASCII character '\uFFFD' at offset 1"},
		{"refuses Unicode classes", `\p{Greek}`, "class `\\p{Greek}` at offset 0: Unicode classes are not supported: origins are ASCII"},
		{"refuses negated Unicode classes in a class", `[\PL]`, "class `\\PL` at offset 1: Unicode classes"},
		{"refuses word boundaries", `\bexample`, "word boundary `\\b` at offset 0: not supported"},
		{"refuses non-word boundaries", `a\B`, "word boundary `\\B` at offset 1"},
		{"refuses case-insensitive flags", `(?i)https://a\.com`, "flags `(?i)` at offset 0: flags are not supported; origins reach the filter in lower case, as browsers serialize them, and on one line: write the expression in lower case"},
		{"refuses flag groups", `(?s:.)`, "flags `(?s:` at offset 0"},
		{"refuses multi-line flags", `(?m)^a$`, "flags `(?m)`"},
		{"refuses backreferences", `(a)\1`, "backreference `\\1` at offset 3: RE2 has no backreferences"},
		{"refuses named backreferences", `(?P<a>x)(?P=a)`, "backreference `(?P=` at offset 8"},
		{"refuses lookaheads", `a(?=b)`, "lookaround `(?=` at offset 1: RE2 has no lookarounds"},
		{"refuses negative lookbehinds", `(?<!a)b`, "lookaround `(?<!` at offset 0"},
		{"refuses quoting", `\Qa.b\E`, "\\Q...\\E `\\Q` at offset 0: not supported: escape each special character with \\ instead"},
		{"refuses hex escapes", `\x2e`, "hex escape `\\x2e` at offset 0: not supported: write the character itself"},
		{"refuses braced hex escapes", `a\x{2e}`, "hex escape `\\x{2e}` at offset 1"},
		{"refuses octal escapes", `\056`, "octal escape `\\056` at offset 0"},
		{"refuses \\C", `\C`, "\\C `\\C` at offset 0: not supported (RE2 refuses it)"},
		{"refuses unknown escapes", `\e`, "unknown escape `\\e` at offset 0: escape only punctuation"},
		{"refuses a trailing backslash", `a\`, "trailing \\ at offset 1: write \\\\ for a backslash"},
		{"refuses an unclosed group", `https://(unclosed`, "missing ) for the ( at offset 8: close the group, or write \\( for the character"},
		{"refuses an unopened group", `a)b`, "unexpected ) at offset 1: no ( opens it"},
		{"refuses a missing ]", `https://[a-z`, "missing ] for the [ at offset 8: close the class"},
		{"refuses a missing ] after a range dash", `[a-`, "missing ] for the [ at offset 0"},
		{"refuses a bad range", `[z-a]`, "bad range `z-a` at offset 1: write the lower character first"},
		{"refuses a class as a range end", `[a-\d]`, "class `\\d` at the end of a range at offset 3"},
		{"refuses an unknown POSIX class", `[[:word:][:foo:]]`, "unknown class `[:foo:]` at offset 9"},
		{"refuses an unknown POSIX class as Go does, past the class", `[[:a]b:]`, "unknown class `[:a]b:]` at offset 1"},
		{"refuses nothing to repeat", `*a`, "nothing to repeat before `*` at offset 0: escape it (\\*) to match the character"},
		{"refuses a repeat after |", `a|+b`, "nothing to repeat before `+` at offset 2"},
		{"refuses a repeat count with nothing to repeat", `({2})`, "nothing to repeat before `{2}` at offset 1"},
		{"refuses nested repeats", `a**`, "nested repeat `**` at offset 1: RE2 does not repeat a repeat"},
		{"refuses doubled lazy marks", `a*??`, "nested repeat `*??` at offset 1"},
		{"refuses a repeated repeat count", `a{2}{3}`, "nested repeat `{2}{3}` at offset 1"},
		{"refuses repeat counts above 1000", `a{1001}`, "repeat count `{1001}` above 1000 at offset 1"},
		{"refuses huge repeat counts", `a{1,99999999999}`, "above 1000"},
		{"refuses min above max", `a{3,2}`, "repeat count `{3,2}` with min above max at offset 1"},
		{"refuses nested repeat counts over 1000", `(a{500}){3}`, "repeat count `{3}` at offset 8: nested repeat counts multiply to more than 1000"},
		{"refuses a brace that starts no count", `a{,3}`, "{ that starts no repeat count {n}, {n,} or {n,m} at offset 1: write \\{ for the character"},
		{"refuses a count with a leading zero", `a{01}`, "{ that starts no repeat count"},
		{"refuses bad group names", `(?P<a-b>x)`, "invalid group name `(?P<a-b>` at offset 0"},
		{"refuses a group name without >", `(?<ab`, "group name without > `(?<` at offset 0"},
		{"refuses comments", `(?#x)`, "unknown group syntax `(?#` at offset 0"},
		{"refuses deep nesting", strings.Repeat("(", 51) + strings.Repeat(")", 51), "groups nested more than 50 deep at offset 50"},
		{"refuses too many positions", `[a-z]{400}\.[a-z]{400}`, "the expression is too large: more than 512 characters, classes and dots once repeats are expanded; split it into several entries"},
		{"refuses too many instructions", `(?:^$){1000}(?:^$){1000}(?:^$){1000}`, "the expression is too large"},
		{"quotes control characters in fragments", "a{,\n}", `{ that starts no repeat count`},
		{"quotes control characters in bad ranges", "[\x7f-\x01]", `bad range "\x7f-\x01" at offset 1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			re, err := Compile(c.expr)
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("Compile(%q): %v", c.expr, err)
			case c.err != "" && err == nil:
				t.Fatalf("Compile(%q) accepted it; want an error with %q", c.expr, c.err)
			case c.err != "" && !strings.Contains(err.Error(), c.err):
				t.Fatalf("Compile(%q):\n got %v\nwant %s", c.expr, err, c.err)
			case err == nil && re.String() != c.expr:
				t.Fatalf("String() = %q, want %q", re.String(), c.expr)
			}
			if _, goErr := regexp.Compile("^(?:" + c.expr + ")$"); err == nil && goErr != nil {
				t.Fatalf("accepted %q, which Go refuses: %v", c.expr, goErr)
			}
		})
	}
}

func TestMatchString(t *testing.T) {
	for _, c := range []struct {
		name, expr, s string
		want          bool
	}{
		{"matches a preview origin", `https://pr-[0-9]+\.preview\.example\.com`, "https://pr-7.preview.example.com", true},
		{"does not match a longer host", `https://pr-[0-9]+\.preview\.example\.com`, "https://pr-7.preview.example.com.evil.net", false},
		{"does not match a prefix", `https://pr-[0-9]+\.preview\.example\.com`, "https://pr-7.preview", false},
		{"does not match inside a longer origin", `pr-[0-9]+\.preview\.example\.com`, "https://pr-7.preview.example.com", false},
		{"matches each branch of an alternation as a whole", `https://a\.com|https://b\.com`, "https://b.com", true},
		{"does not match a branch followed by more", `https://a\.com|https://b\.com`, "https://a.com.evil", false},
		{"matches an empty alternative", `https://(www\.|)a\.com`, "https://a.com", true},
		{"matches an optional group", `https://([a-z]+\.)?partner\.example\.org`, "https://eu.partner.example.org", true},
		{"does not let . match a newline", `a.b`, "a\nb", false},
		{"lets a negated class match a newline", `a[^x]b`, "a\nb", true},
		{"lets \\D match a non-ASCII rune", `a\Db`, "aéb", true},
		{"lets . match one invalid byte, as Go does", `a.b`, "a\xffb", true},
		{"does not let . match two invalid bytes", `a.b`, "a\xff\xffb", false},
		{"does not let a class of ASCII match a non-ASCII rune", `a[a-z]b`, "aéb", false},
		{"matches counted repeats exactly", `a{2,3}`, "aaaa", false},
		{"matches the lower count", `a{2,3}`, "aa", true},
		{"matches an open count", `a{2,}`, "aaaaa", true},
		{"matches zero repeats", `ba{0}c`, "bc", true},
		{"matches the empty string with the empty expression", ``, "", true},
		{"does not match text with the empty expression", ``, "a", false},
		{"matches ^ at the start only", `(^a|b)+`, "aba", false},
		{"matches $ at the end only", `a$|a$b`, "ab", false},
		{"matches a trailing $", `a.*$`, "abc", true},
		{"treats lazy quantifiers as greedy for a whole match", `a.*?`, "abc", true},
		{"matches a repeated anchor", `^*a`, "a", true},
		{"matches \\s as Go defines it, without \\v", `\s`, "\v", false},
		{"matches [[:space:]] with \\v", `[[:space:]]`, "\v", true},
		{"matches across many positions", `[a-z]{300}`, strings.Repeat("q", 300), true},
		{"does not match one short of many positions", `[a-z]{300}`, strings.Repeat("q", 299), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			re, err := Compile(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := re.MatchString(c.s); got != c.want {
				t.Fatalf("Compile(%q).MatchString(%q) = %v, want %v", c.expr, c.s, got, c.want)
			}
			if goRE := regexp.MustCompile("^(?:" + c.expr + ")$"); goRE.MatchString(c.s) != c.want {
				t.Fatalf("the test is wrong: Go's regexp says %v", !c.want)
			}
		})
	}
}

func TestEndsInAnyRepeat(t *testing.T) {
	for expr, want := range map[string]bool{
		`https://a\.com.*`:      true,
		`https://a\.com.+`:      true,
		`https://a\.com(.*)`:    true,
		`https://a\.com.{2,}`:   true,
		`https://a\.com.*$`:     true,
		`https://a\.com[^\n]*?`: true,
		`https://a\.com.{0,9}`:  false,
		`https://a\.com[a-z]*`:  false,
		`https://.*\.a\.com`:    false,
		`a.*|b`:                 false,
	} {
		if got := mustCompile(t, expr).EndsInAnyRepeat(); got != want {
			t.Errorf("Compile(%q).EndsInAnyRepeat() = %v, want %v", expr, got, want)
		}
	}
}

func TestMatchStringDoesNotAllocate(t *testing.T) {
	small := mustCompile(t, `https://pr-[0-9]+\.preview4\.example\.com`)
	large := mustCompile(t, `https://([a-z0-9-]{1,63}\.){1,3}example\.com`)
	for _, c := range []struct {
		re *Regexp
		s  string
	}{{small, "https://pr-7.preview4.example.com"}, {small, "https://evil.net"}, {large, "https://a.b.example.com"}, {large, "https://é.example.com"}} {
		if n := testing.AllocsPerRun(100, func() { c.re.MatchString(c.s) }); n != 0 {
			t.Errorf("MatchString(%q) allocates %v times per run", c.s, n)
		}
	}
}

// TestAgreesWithGo compares random expressions of a small grammar with
// Go's regexp on strings drawn from them, deterministically; FuzzMatch
// does the same from whatever the fuzzer writes.
func TestAgreesWithGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	atoms := []string{"a", "b", ".", `\.`, "[ab]", "[^a]", `\d`, `\W`, "^", "$", "(a|)", "(?:ab|b)", "[[:alpha:]-]", "()"}
	quants := []string{"", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?"}
	for range 3000 {
		var b strings.Builder
		for range 1 + rng.IntN(5) {
			b.WriteString(atoms[rng.IntN(len(atoms))])
			b.WriteString(quants[rng.IntN(len(quants))])
			if rng.IntN(6) == 0 {
				b.WriteString("|")
			}
		}
		expr := b.String()
		if _, err := Compile(expr); err != nil {
			continue
		}
		for i := range 20 {
			checkAgainstGo(t, expr, sample(expr, rng.Uint64(), i%4 == 0))
		}
	}
}

// checkAgainstGo fails when Compile accepts expr but Go does not, or when
// they disagree on s or one of its prefixes.
func checkAgainstGo(t *testing.T, expr, s string) {
	t.Helper()
	re, err := Compile(expr)
	goRE, goErr := regexp.Compile("^(?:" + expr + ")$")
	if err != nil {
		if !strings.HasPrefix(err.Error(), strings.ToLower(err.Error()[:1])) {
			t.Fatalf("Compile(%q): error not in lower case: %v", expr, err)
		}
		return
	}
	if goErr != nil {
		t.Fatalf("Compile(%q) accepts what Go refuses: %v", expr, goErr)
	}
	for i := len(s); i >= 0; i-- {
		if got, want := re.MatchString(s[:i]), goRE.MatchString(s[:i]); got != want {
			t.Fatalf("Compile(%q).MatchString(%q) = %v, Go's regexp says %v", expr, s[:i], got, want)
		}
	}
}

// sample draws a string from Go's parse of expr, choosing with seed; with
// noisy, it also swaps in characters no class of the grammar names.
func sample(expr string, seed uint64, noisy bool) string {
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	var walk func(re *syntax.Regexp)
	repeat := func(re *syntax.Regexp, lo, hi int) {
		if hi < 0 || hi > lo+3 {
			hi = lo + 3
		}
		for range lo + rng.IntN(hi-lo+1) {
			walk(re.Sub[0])
		}
	}
	walk = func(re *syntax.Regexp) {
		if noisy && rng.IntN(8) == 0 {
			b.WriteString([]string{"\n", "é", "\xff", "A", "-", ""}[rng.IntN(6)])
		}
		switch re.Op {
		case syntax.OpLiteral:
			b.WriteString(string(re.Rune))
		case syntax.OpCharClass:
			if len(re.Rune) > 0 {
				i := rng.IntN(len(re.Rune)/2) * 2
				lo, hi := re.Rune[i], min(re.Rune[i+1], re.Rune[i]+200)
				b.WriteRune(lo + rng.Int32N(hi-lo+1))
			}
		case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
			b.WriteString([]string{"x", ".", "é", "\xff", "\t"}[rng.IntN(5)])
		case syntax.OpCapture:
			walk(re.Sub[0])
		case syntax.OpStar:
			repeat(re, 0, -1)
		case syntax.OpPlus:
			repeat(re, 1, -1)
		case syntax.OpQuest:
			repeat(re, 0, 1)
		case syntax.OpRepeat:
			repeat(re, re.Min, re.Max)
		case syntax.OpConcat:
			for _, s := range re.Sub {
				walk(s)
			}
		case syntax.OpAlternate:
			walk(re.Sub[rng.IntN(len(re.Sub))])
		}
	}
	walk(tree)
	return b.String()
}

// FuzzMatch checks Compile and MatchString against Go's regexp: what
// Compile accepts, Go accepts as ^(?:expr)$, and both agree on the input,
// on strings drawn from the expression, and on their prefixes.
func FuzzMatch(f *testing.F) {
	for _, expr := range []string{
		// The origin regexes of filter/testdata, cmd/corsctl/testdata and the README.
		`(?m)^https://c\.example\.com$`, `.*`, `.*\.example\.com`, `^https://c\.example\.com$`,
		`https://([a-z]+\.)?partner\.example\.org`, `https://(unclosed`, `https://.*\.example\.com`,
		`https://.*example\.com`, `https://.+`, `https://a\.example\.com|https://b\.example\.com`,
		`https://api.example.com`, `https://api\.example\.com`, `https://c\.example\.com.*`,
		`https://pr-[0-9]+.preview.example.com`, `https://pr-[0-9]+\.preview\.example\.com`,
		`https://preview-.*`, `https?://admin\.example\.com.*`, `/v[0-9]+/admin/.*`,
		// Corners of the syntax.
		`[]a-]`, `[^\d\s]+`, `[[:^alpha:]]*?`, `(?P<x>a|)+b{2,3}?`, `^*$`, `\A(a|b)*\z`, `[\d-z]`, `a{0}`,
	} {
		f.Add(expr, "https://pr-7.preview.example.com")
		f.Add(expr, sample(expr, 1, false))
	}
	f.Fuzz(func(t *testing.T, expr, s string) {
		if len(expr) > 200 || len(s) > 400 {
			return
		}
		checkAgainstGo(t, expr, s)
		if !utf8.ValidString(expr) {
			return
		}
		for i := range 4 {
			checkAgainstGo(t, expr, sample(expr, uint64(len(s)+i), i%2 == 1))
		}
	})
}

func BenchmarkMatchString(b *testing.B) {
	const s = "https://pr-7.preview4.example.com"
	var exprs []string
	for i := range 5 {
		exprs = append(exprs, fmt.Sprintf(`https://pr-[0-9]+\.preview%d\.example\.com`, i))
	}
	b.Run("originre", func(b *testing.B) {
		var res []*Regexp
		for _, e := range exprs {
			res = append(res, mustCompile(b, e))
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, re := range res {
				if re.MatchString(s) {
					break
				}
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		var res []*regexp.Regexp
		for _, e := range exprs {
			res = append(res, regexp.MustCompile("^(?:"+e+")$"))
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, re := range res {
				if re.MatchString(s) {
					break
				}
			}
		}
	})
}

func mustCompile(tb testing.TB, expr string) *Regexp {
	tb.Helper()
	re, err := Compile(expr)
	if err != nil {
		tb.Fatal(err)
	}
	return re
}
