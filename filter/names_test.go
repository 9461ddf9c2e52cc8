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

// TestFoldNamesCompareLikeEqualLower checks foldName against equalLower:
// names of 8 to 16 bytes with letters, digits and punctuation, each byte
// in turn replaced by its other case, by the byte 0x20 away (which only a
// letter may match), by its neighbours and by bytes outside ASCII.
func TestFoldNamesCompareLikeEqualLower(t *testing.T) {
	const text = "x-custom-9.head_er~z!"
	for n := 8; n <= 16; n++ {
		lower := text[:n]
		f := newFoldName(lower)
		if f.n != n {
			t.Fatalf("newFoldName(%q).n = %d, want %d", lower, f.n, n)
		}
		try := func(s string) {
			t.Helper()
			if got, want := f.is(s), equalLower(s, lower); got != want {
				t.Errorf("foldName(%q).is(%q) = %v, want %v", lower, s, got, want)
			}
		}
		try(lower)
		try(strings.ToUpper(lower))
		try(lower + "x")
		try(lower[:n-1])
		for i := range n {
			for _, c := range []byte{lower[i] ^ 0x20, lower[i] - 1, lower[i] + 1, 0x80 | lower[i], 0, 0xFF} {
				b := []byte(lower)
				b[i] = c
				try(string(b))
			}
		}
	}
	for _, name := range []string{"", "abc", "content", "access-control-max-age"} {
		if f := newFoldName(name); f.n != 0 {
			t.Errorf("newFoldName(%q).n = %d, want 0 (compared with equalLower)", name, f.n)
		}
	}
}

// TestIndexCommaAgreesWithIndexByte checks indexComma against
// strings.IndexByte: a comma at every position of strings up to 40 bytes,
// none, several, and bytes that differ from a comma by one bit or sit
// next to it.
func TestIndexCommaAgreesWithIndexByte(t *testing.T) {
	fillers := []byte{'a', ',' ^ 1, ',' ^ 0x80, ',' - 1, ',' + 1, 0, 0xFF}
	for n := 0; n <= 40; n++ {
		for _, f := range fillers {
			base := strings.Repeat(string(rune(f)), n)
			if f >= 0x80 {
				base = string(bytesOf(f, n))
			}
			check := func(s string) {
				t.Helper()
				if got, want := indexComma(s), strings.IndexByte(s, ','); got != want {
					t.Errorf("indexComma(%q) = %d, want %d", s, got, want)
				}
			}
			check(base)
			for i := range n {
				b := []byte(base)
				b[i] = ','
				check(string(b))
				if i+3 < n {
					b[i+3] = ','
					check(string(b))
				}
			}
		}
	}
}

func bytesOf(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}
