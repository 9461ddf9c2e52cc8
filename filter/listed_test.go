package filter

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// skipListed is assembly in the Wasm build (listed_wasm.s): this test
// holds it to skipListedGo there (the filter tests run as a Wasm module:
// internal/gojumps' test), and holds the Go version to what it must say.
func TestSkipListed(t *testing.T) {
	names := listedNames("content-type", "x-requested-with", "x-api-key", "accept", "x-sixteen-bytes!", "x-seventeen-bytes")
	for _, tc := range []struct {
		name  string
		line  string
		at    int
		want  int
		asked bool
	}{
		{"an empty line has nothing to step over", "", 0, 0, false},
		{"one listed name is stepped over to the end", "content-type", 0, 12, true},
		{"listed names in any letter case and their commas are stepped over", "Content-Type,X-Requested-With", 0, 29, true},
		{"whitespace and empty elements are stepped over", " \t,content-type , ,x-api-key\t", 0, 29, true},
		{"a name not listed stops the walk at its start", "content-type, x-other-name", 0, 14, true},
		{"a longer element stops the walk at its start", "content-typed,accept", 0, 0, false},
		{"a listed name followed by other characters stops the walk", "content-type x", 0, 0, false},
		{"a name shorter than eight bytes is left to the general path", "accept,content-type", 0, 0, false},
		{"a sixteen-byte name is a foldName", "x-sixteen-bytes!,x-api-key", 0, 26, true},
		{"a seventeen-byte name is left to the general path", "x-seventeen-bytes", 0, 0, false},
		{"a name cut short by the end of the line stops the walk", "content-typ", 0, 0, false},
		{"the walk starts where it is told to", "accept,content-type", 7, 19, true},
		{"only separators are stepped over without a name", " , ", 0, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []struct {
				impl string
				skip func(string, int, []foldName) (int, bool)
			}{{"skipListed", skipListed}, {"skipListedGo", skipListedGo}} {
				if got, asked := f.skip(tc.line, tc.at, names); got != tc.want || asked != tc.asked {
					t.Errorf("%s(%q, %d) = %d, %v; want %d, %v", f.impl, tc.line, tc.at, got, asked, tc.want, tc.asked)
				}
			}
		})
	}
}

// TestSkipListedAgreesWithGo compares the two on lines made of listed
// names (cut, lengthened, in mixed case), other tokens and separators.
func TestSkipListedAgreesWithGo(t *testing.T) {
	names := listedNames("content-type", "x-requested-with", "x-api-key", "accept", "authorization")
	parts := []string{"content-type", "Content-Type", "X-REQUESTED-WITH", "x-api-key", "x-api-ke", "x-api-keys",
		"authorization", "accept", "x", "content-type\t", ",", ",", ", ", " ", "\t", "é", "\x00", "content-type,"}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := rng.IntN(6); k >= 0; k-- {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		line := b.String()
		at := rng.IntN(len(line) + 1)
		j, asked := skipListed(line, at, names)
		wantJ, wantAsked := skipListedGo(line, at, names)
		if j != wantJ || asked != wantAsked {
			t.Fatalf("skipListed(%q, %d) = %d, %v; skipListedGo says %d, %v", line, at, j, asked, wantJ, wantAsked)
		}
	}
}

func listedNames(lower ...string) []foldName {
	var names []foldName
	for _, h := range lower {
		if f := newFoldName(h); f.n != 0 {
			names = append(names, f)
		}
	}
	return names
}

// TestFoldNameLayout holds foldName to the offsets listed_wasm.s reads it
// at: n at 0, words at 8 and 16, letters at 24 and 32, 40 bytes in all.
func TestFoldNameLayout(t *testing.T) {
	var f foldName
	got := [4]uintptr{unsafe.Offsetof(f.n), unsafe.Offsetof(f.words), unsafe.Offsetof(f.letters), unsafe.Sizeof(f)}
	if want := [4]uintptr{0, 8, 24, 40}; got != want {
		t.Fatalf("foldName's offsets of n, words, letters and size = %v, listed_wasm.s reads %v", got, want)
	}
}
