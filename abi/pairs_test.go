package abi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// le builds a buffer from u32 little-endian words and raw strings.
func le(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			b = binary.LittleEndian.AppendUint32(b, uint32(p))
		case string:
			b = append(b, p...)
		}
	}
	return b
}

func TestParsePairs(t *testing.T) {
	tests := []struct {
		name string
		buf  []byte
		want [][2]string
		err  bool
	}{
		{name: "empty buffer", buf: nil, want: nil},
		{name: "zero pairs", buf: le(0), want: nil},
		{name: "one pair", buf: le(1, 6, 14, "origin\x00https://a.test\x00"),
			want: [][2]string{{"origin", "https://a.test"}}},
		{name: "empty key and value", buf: le(2, 0, 0, 1, 0, "\x00\x00k\x00\x00"),
			want: [][2]string{{"", ""}, {"k", ""}}},
		{name: "repeated names keep order", buf: le(2, 1, 1, 1, 1, "a\x001\x00a\x002\x00"),
			want: [][2]string{{"a", "1"}, {"a", "2"}}},
		{name: "value with NUL-free binary", buf: le(1, 1, 3, "x\x00\xff\xfe\x01\x00"),
			want: [][2]string{{"x", "\xff\xfe\x01"}}},

		{name: "count truncated", buf: []byte{1, 0}, err: true},
		{name: "count exceeds buffer", buf: le(3, 1, 1, "a\x00b\x00"), err: true},
		{name: "huge count", buf: le(0xffffffff), err: true},
		{name: "sizes truncated", buf: append(le(1, 1), 0, 0), err: true},
		{name: "key past end", buf: le(1, 10, 1, "a\x00b\x00"), err: true},
		{name: "value past end", buf: le(1, 1, 10, "a\x00b\x00"), err: true},
		{name: "huge length", buf: le(1, 0xffffffff, 0, "a\x00\x00"), err: true},
		{name: "missing key NUL", buf: le(1, 1, 1, "ab\x00\x00"), err: true},
		{name: "missing final NUL", buf: le(1, 1, 1, "a\x00b"), err: true},
		{name: "trailing bytes", buf: le(1, 1, 1, "a\x00b\x00junk"), err: true},
		{name: "lengths overlap data", buf: le(1, 2, 0, "a\x00\x00"), err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := [][2]string{{"keep", "me"}}
			got, err := ParsePairs(slices.Clone(prefix), tt.buf)
			if tt.err {
				if !errors.Is(err, ErrMalformedPairs) {
					t.Fatalf("err = %v, want ErrMalformedPairs", err)
				}
				if !slices.Equal(got, prefix) {
					t.Fatalf("dst changed on error: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := append(slices.Clone(prefix), tt.want...); !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestAppendPairsRoundTrip(t *testing.T) {
	for _, pairs := range [][][2]string{
		nil,
		{{"a", "b"}},
		{{":status", "204"}, {"access-control-allow-origin", "https://a.test"}, {"vary", ""}, {"", "x"}},
	} {
		buf := AppendPairs([]byte("prefix"), pairs)
		got, err := ParsePairs(nil, buf[len("prefix"):])
		if err != nil {
			t.Fatalf("%q: %v", pairs, err)
		}
		if !slices.Equal(got, pairs) {
			t.Fatalf("round trip of %q gave %q", pairs, got)
		}
	}
	if got, want := AppendPairs(nil, [][2]string{{"ab", "c"}}), le(1, 2, 1, "ab\x00c\x00"); !slices.Equal(got, want) {
		t.Fatalf("AppendPairs = %q, want %q", got, want)
	}
}

func TestAppendPath(t *testing.T) {
	tests := []struct {
		path []string
		want string
	}{
		{nil, ""},
		{[]string{"xds"}, "xds"},
		{[]string{"xds", "route_name"}, "xds\x00route_name"},
		{[]string{"a", "", "b"}, "a\x00\x00b"},
	}
	for _, tt := range tests {
		if got := string(AppendPath(nil, tt.path)); got != tt.want {
			t.Errorf("AppendPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func FuzzParsePairs(f *testing.F) {
	f.Add([]byte{})
	f.Add(le(1, 1, 1, "a\x00b\x00"))
	f.Add(le(2, 0, 0, 1, 0, "\x00\x00k\x00\x00"))
	f.Fuzz(func(t *testing.T, buf []byte) {
		pairs, err := ParsePairs(nil, buf)
		if err != nil {
			return
		}
		if len(buf) == 0 {
			return
		}
		if again := AppendPairs(nil, pairs); !slices.Equal(again, buf) {
			t.Fatalf("accepted %q but it re-serializes as %q", buf, again)
		}
	})
}

func TestHeaderTemplateFillsTheFirstValue(t *testing.T) {
	headers := [][2]string{
		{"access-control-allow-origin", "placeholder"},
		{"access-control-allow-methods", "GET, PUT"},
		{"vary", "origin"},
	}
	tmpl := NewHeaderTemplate(headers)
	if headers[0][1] != "placeholder" || headers[2][0] != "vary" {
		t.Fatalf("NewHeaderTemplate changed its argument: %q", headers)
	}
	// Longer and shorter values in turn: what a value leaves behind must
	// not show in the next.
	for _, v := range []string{"https://a.test", "", "*", strings.Repeat("x", 300), "https://b.test:8443", strings.Repeat("y", 7)} {
		want := append(slices.Clone(headers[1:]), [2]string{headers[0][0], v})
		got, err := ParsePairs(nil, tmpl.Fill(v))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Fill(%q) = %q, %v; want %q", v, got, err, want)
		}
	}
	single := NewHeaderTemplate([][2]string{{"vary", ""}})
	if got, err := ParsePairs(nil, single.Fill("origin")); err != nil || !slices.Equal(got, [][2]string{{"vary", "origin"}}) {
		t.Errorf("a template of one header: %q, %v", got, err)
	}
}

// copyBytes is assembly in the Wasm build (pairs_wasm.s): this test holds
// it to copyBytesGo there, for every length up to 40 at every alignment
// of source and destination, and checks that it writes nothing outside
// the destination.
func TestCopyBytesAgreesWithGo(t *testing.T) {
	src := make([]byte, 64)
	for i := range src {
		src[i] = byte(i*37 + 1)
	}
	for n := 0; n <= 40; n++ {
		for so := 0; so < 8; so++ {
			for do := 0; do < 8; do++ {
				got, want := make([]byte, 64), make([]byte, 64)
				for i := range got {
					got[i], want[i] = 0xEE, 0xEE
				}
				if n > 0 {
					copyBytes(&got[do], &src[so], n)
					copyBytesGo(&want[do], &src[so], n)
				}
				if !bytes.Equal(got, want) || !bytes.Equal(got[do:do+n], src[so:so+n]) {
					t.Fatalf("copying %d bytes from %d to %d: %x, want %x", n, so, do, got, want)
				}
			}
		}
	}
}

// countPairs is assembly in the Wasm build (pairs_wasm.s): this test holds
// it to countPairsGo there (the abi tests run as a Wasm module:
// internal/gojumps' test), on header maps well formed or damaged at a
// random byte, cut short or lengthened.
func TestCountPairsAgreesWithGo(t *testing.T) {
	names := []string{"", "a", "origin", ":authority", "access-control-request-headers"}
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 20000; n++ {
		p, buf, intact := randomMap(rng, names, 6, 4)
		if got, want := countPairs(buf), countPairsGo(buf); got != want {
			t.Fatalf("countPairs(%q) = %d; countPairsGo says %d", buf, got, want)
		}
		if intact && countPairsGo(buf) != len(p) {
			t.Fatalf("countPairsGo(%q) = %d for a map of %d pairs AppendPairs made", buf, countPairsGo(buf), len(p))
		}
	}
}

// randomMap returns up to maxLines-1 random lines of names, short random
// values, and the map AppendPairs makes of them, damaged, one time in
// damageOdds each, at a random byte, cut short or lengthened by a byte;
// intact says it was not.
func randomMap(rng *rand.Rand, names []string, maxLines, damageOdds int) (p [][2]string, buf []byte, intact bool) {
	for k := rng.IntN(maxLines); k > 0; k-- {
		p = append(p, [2]string{names[rng.IntN(len(names))], strings.Repeat("v", rng.IntN(10))})
	}
	buf = AppendPairs(nil, p)
	switch rng.IntN(damageOdds) {
	case 0:
		buf[rng.IntN(len(buf))] ^= byte(1 << rng.IntN(8))
	case 1:
		buf = buf[:rng.IntN(len(buf))]
	case 2:
		buf = append(buf, byte(rng.IntN(2)))
	default:
		intact = true
	}
	return p, buf, intact
}

func TestPickFindsTheFirstLineOfEachName(t *testing.T) {
	table, err := NewPickTable([]string{":method", "", "origin", "cookie", "access-control-request-method", "x", "absent"})
	if err != nil {
		t.Fatal(err)
	}
	buf := AppendPairs(nil, [][2]string{
		{":method", "OPTIONS"}, {":path", "/"}, {"cookie", ""}, {"origin", "https://a.example"},
		{"Origin", "upper case is another name"}, {"x", "1"}, {"x", "2"}, {"access-control-request-method", "PUT"},
	})
	var spans [MaxPicked]uint64
	spans[6] = 99 // left alone: the name has no line
	n, present, repeated := pickPairs(buf, table, &spans)
	if n != 8 {
		t.Fatalf("%d pairs, want 8", n)
	}
	ps := newPairs(buf, n)
	want := map[int]string{0: "OPTIONS", 2: "https://a.example", 3: "", 4: "PUT", 5: "1"}
	m := ps.Map()
	for i := range MaxPicked {
		w, ok := want[i]
		if got := present&(1<<i) != 0; got != ok {
			t.Errorf("name %d: present %v, want %v", i, got, ok)
			continue
		}
		if !ok {
			continue
		}
		off, n := spans[i]>>32, spans[i]&0xFFFFFFFF
		if got := m[off : off+n]; got != w {
			t.Errorf("name %d: %q, want %q", i, got, w)
		}
	}
	if spans[6] != 99 {
		t.Errorf("the span of a name without a line changed: %#x", spans[6])
	}
	if !repeated {
		t.Errorf("repeated = false with two lines of x")
	}
}

func TestNewPickTableRefusesWhatItCannotPick(t *testing.T) {
	for _, names := range [][]string{
		slices.Repeat([]string{"a"}, MaxPicked+1),
		{strings.Repeat("n", maxPickedName)},
		{"origin", "cookie", "origin"},
	} {
		if _, err := NewPickTable(names); err == nil {
			t.Errorf("NewPickTable(%q) accepted", names)
		}
	}
}

// pickPairs is assembly in the Wasm build (pick_wasm.s): this test holds
// it to pickPairsGo there (internal/gojumps' test runs the abi tests as a
// Wasm module), on random maps, well formed or damaged as in
// TestCountPairsAgreesWithGo, of names of every length class the assembly
// compares differently (1-3, 4-7, 8 and more bytes, names that differ
// only in their last byte or a middle word), with repeats.
func TestPickPairsAgreesWithGo(t *testing.T) {
	names := []string{"a", "ab", "abc", "abd", ":path", "origin", "cookie", "originx", ":method", "12345678",
		"12345679", ":authority", "authorization", "access-control-request-method", "access-control-request-headers",
		"access-control-request-xeaders", "access-control-xequest-headers", "access-control-request-private-network",
		"x-forwarded-for-ab", "x-forwarded-fox-ab", "unlisted", "ORIGIN", "origiN", ""}
	rng := rand.New(rand.NewPCG(7, 8))
	for round := 0; round < 20000; round++ {
		var want []string
		for _, i := range rng.Perm(len(names))[:rng.IntN(MaxPicked+1)] {
			if names[i] != "unlisted" {
				want = append(want, names[i])
			}
		}
		table, err := NewPickTable(want)
		if err != nil {
			t.Fatal(err)
		}
		_, buf, _ := randomMap(rng, names, 12, 6)
		var gotSpans, wantSpans [MaxPicked]uint64
		gotN, gotPresent, gotRepeated := pickPairs(buf, table, &gotSpans)
		wantN, wantPresent, wantRepeated := pickPairsGo(buf, table, &wantSpans)
		if gotN != wantN || gotN >= 0 && (gotSpans != wantSpans || gotPresent != wantPresent || gotRepeated != wantRepeated) {
			t.Fatalf("pickPairs(%q) for %q: %d %x %b %v; pickPairsGo says %d %x %b %v", buf, want, gotN, gotSpans, gotPresent, gotRepeated, wantN, wantSpans, wantPresent, wantRepeated)
		}
	}
}

// TestPickTableLayout holds PickTable's fields at the offsets pick_wasm.s
// reads them from.
func TestPickTableLayout(t *testing.T) {
	var pt PickTable
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"byLen", unsafe.Offsetof(pt.byLen), 0},
		{"next", unsafe.Offsetof(pt.next), 64},
		{"names", unsafe.Offsetof(pt.names), 80},
		{"head", unsafe.Offsetof(pt.head), 208},
		{"tail", unsafe.Offsetof(pt.tail), 336},
	} {
		if f.got != f.want {
			t.Errorf("PickTable.%s at %d, pick_wasm.s reads it at %d", f.name, f.got, f.want)
		}
	}
}
