package filter

import (
	"strings"
	"testing"
)

// TestPreparedNamesCompareLikeEquality checks longName and shortName
// against ==: every length they take, a change at every byte position, and
// the names addHeader uses against one another.
func TestPreparedNamesCompareLikeEquality(t *testing.T) {
	const text = "access-control-request-headers:authority-x"
	check := func(is func(string) bool, name, s string) {
		t.Helper()
		if got, want := is(s), s == name; got != want {
			t.Errorf("%q.is(%q) = %v, want %v", name, s, got, want)
		}
	}
	variants := func(name string) []string {
		out := []string{name, name + "x", name[:len(name)-1], strings.ToUpper(name), ""}
		for i := range len(name) {
			for _, c := range []byte{name[i] ^ 0x20, name[i] + 1, 0, 0xFF} {
				b := []byte(name)
				b[i] = c
				out = append(out, string(b))
			}
		}
		return out
	}
	for n := 4; n <= 8; n++ {
		name := text[:n]
		h := newShortName(name)
		for _, s := range variants(name) {
			check(h.is, name, s)
		}
	}
	for n := 8; n <= 32; n++ {
		name := text[:n]
		h := newLongName(name)
		for _, s := range variants(name) {
			check(h.is, name, s)
		}
	}
	names := []string{":path", "origin", "cookie", ":method", ":authority", "authorization", "access-control-request-method", "access-control-request-headers"}
	for _, name := range names {
		is := func(s string) bool { h := newShortName(name); return h.is(s) }
		if len(name) >= 8 {
			is = func(s string) bool { h := newLongName(name); return h.is(s) }
		}
		for _, s := range names {
			check(is, name, s)
		}
	}
}

func TestPreparedNamesRefuseLengthsTheyCannotHold(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"a short name of 3 bytes", func() { newShortName("abc") }},
		{"a short name of 9 bytes", func() { newShortName("abcdefghi") }},
		{"a long name of 7 bytes", func() { newLongName("abcdefg") }},
		{"a long name of 33 bytes", func() { newLongName(strings.Repeat("a", 33)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			c.f()
		})
	}
}
