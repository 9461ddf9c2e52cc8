//go:build !wasip1

package wasishim_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
	"github.com/tetratelabs/wazero"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasishim"
)

// plugin returns the plugin as the go build leaves it, before the
// post-link step: the release build ("release"), or the same with its name
// section, -ldflags=-w ("with names"); each built once per test binary
// (package testmodule).
func plugin(t *testing.T, name string) []byte {
	t.Helper()
	v, ok := map[string]testmodule.Variant{"release": testmodule.RawRelease, "with names": testmodule.RawWithNames}[name]
	if !ok {
		t.Fatalf("no plugin build named %q", name)
	}
	return testmodule.Get(t, v)
}

// embed runs Embed on the named plugin and decodes both modules.
func embed(t *testing.T, name string) (in, out []byte, before, after *wasm.Module, r *wasishim.Report) {
	t.Helper()
	in = plugin(t, name)
	out, r, err := wasishim.Embed(in)
	if err != nil {
		t.Fatal(err)
	}
	if before, err = binary.DecodeModule(in, wasm.CoreFeaturesV2); err != nil {
		t.Fatal(err)
	}
	if after, err = binary.DecodeModule(out, wasm.CoreFeaturesV2); err != nil {
		t.Fatalf("the rewritten module does not decode: %v", err)
	}
	return in, out, before, after, r
}

func forEachPlugin(t *testing.T, fn func(t *testing.T, name string)) {
	for _, name := range []string{"release", "with names"} {
		t.Run(name, func(t *testing.T) { fn(t, name) })
	}
}

func importNames(m *wasm.Module) []string {
	var out []string
	for _, imp := range m.ImportSection {
		out = append(out, imp.Module+"."+imp.Name)
	}
	return out
}

func TestThePluginImportsNeitherFunctionOnceRewritten(t *testing.T) {
	forEachPlugin(t, func(t *testing.T, name string) {
		in, out, before, after, r := embed(t, name)
		removed := []string{"wasi_snapshot_preview1.sched_yield", "wasi_snapshot_preview1.poll_oneoff"}
		for _, imp := range removed {
			if !slices.Contains(importNames(before), imp) {
				t.Fatalf("the go build no longer imports %s: the post-link step may be obsolete; check the Go release notes", imp)
			}
		}
		want := slices.DeleteFunc(importNames(before), func(s string) bool { return slices.Contains(removed, s) })
		if got := importNames(after); !slices.Equal(got, want) {
			t.Errorf("imports after the rewrite\n%q\nwant the others, in their order\n%q", got, want)
		}
		if !slices.Equal(r.Embedded, removed) {
			t.Errorf("report names %q as embedded, want %q", r.Embedded, removed)
		}
		// The budget: the rewrite adds two tiny functions and changes the
		// encoding of some numbers; it must not grow the module noticeably.
		t.Logf("%s: %d bytes before, %d after (%+d); %d function references remapped, %d widened",
			name, len(in), len(out), len(out)-len(in), r.Calls, r.Widened)
		if len(out) > len(in)+256 {
			t.Errorf("the rewrite grew the module by %d bytes", len(out)-len(in))
		}
	})
}

func TestTheRewrittenPluginCompilesInWazero(t *testing.T) {
	ctx := context.Background()
	forEachPlugin(t, func(t *testing.T, name string) {
		_, out, _, _, _ := embed(t, name)
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		if _, err := rt.CompileModule(ctx, out); err != nil {
			t.Fatalf("wazero refuses the rewritten module: %v", err)
		}
	})
}

// TestTheRewrittenPluginIsTheOriginalModuloTheIndexMap compares the two
// modules part by part: every section equal but for function indices,
// which must follow the index map, and every code body equal instruction
// by instruction, with call and ref.func targets mapped.
func TestTheRewrittenPluginIsTheOriginalModuloTheIndexMap(t *testing.T) {
	forEachPlugin(t, func(t *testing.T, name string) {
		_, _, before, after, r := embed(t, name)
		idx := func(i uint32) uint32 { return r.Index[i] }
		imports := uint32(len(after.ImportSection))
		defined := uint32(len(before.FunctionSection))

		// The map: imports keep their order, defined functions shift down
		// by two and keep theirs (so their table slots hold), and the two
		// imports become the last two functions.
		for i, imp := range before.ImportSection {
			j := idx(uint32(i))
			switch imp.Module + "." + imp.Name {
			case "wasi_snapshot_preview1.sched_yield":
				if j != imports+defined {
					t.Errorf("sched_yield goes to %d, want %d (after every defined function)", j, imports+defined)
				}
			case "wasi_snapshot_preview1.poll_oneoff":
				if j != imports+defined+1 {
					t.Errorf("poll_oneoff goes to %d, want %d", j, imports+defined+1)
				}
			default:
				if !reflect.DeepEqual(after.ImportSection[j], imp) {
					t.Errorf("import %d (%s.%s) maps to %d, which is %+v", i, imp.Module, imp.Name, j, after.ImportSection[j])
				}
			}
		}
		for d := range defined {
			if got := idx(uint32(len(before.ImportSection)) + d); got != imports+d {
				t.Fatalf("defined function %d maps to %d, want %d", d, got, imports+d)
			}
		}

		for _, s := range []struct {
			name          string
			before, after any
		}{
			{"types", before.TypeSection, after.TypeSection},
			{"tables", before.TableSection, after.TableSection},
			{"memory", before.MemorySection, after.MemorySection},
			{"globals", before.GlobalSection, after.GlobalSection}, // Go's have no ref.func
			{"data", before.DataSection, after.DataSection},
			{"data count", before.DataCountSection, after.DataCountSection},
			{"custom sections", before.CustomSections, after.CustomSections},
			{"function types", before.FunctionSection, after.FunctionSection[:defined]},
		} {
			if !reflect.DeepEqual(s.before, s.after) {
				t.Errorf("the %s differ", s.name)
			}
		}
		if len(after.FunctionSection) != int(defined)+2 || len(after.CodeSection) != int(defined)+2 {
			t.Fatalf("%d functions and %d bodies after the rewrite, want %d", len(after.FunctionSection), len(after.CodeSection), defined+2)
		}

		for i, e := range before.ExportSection {
			want := *e
			if e.Type == wasm.ExternTypeFunc {
				want.Index = idx(e.Index)
			}
			if !reflect.DeepEqual(*after.ExportSection[i], want) {
				t.Errorf("export %q: %+v, want %+v", e.Name, *after.ExportSection[i], want)
			}
		}
		if (before.StartSection == nil) != (after.StartSection == nil) {
			t.Errorf("start section %v, was %v", after.StartSection, before.StartSection)
		}
		for s, seg := range before.ElementSection {
			got := after.ElementSection[s]
			if got.Mode != seg.Mode || !reflect.DeepEqual(got.OffsetExpr, seg.OffsetExpr) || len(got.Init) != len(seg.Init) {
				t.Fatalf("element segment %d changed shape", s)
			}
			for k, ref := range seg.Init {
				if *got.Init[k] != idx(*ref) {
					t.Fatalf("table slot %d of segment %d holds %d, want %d", k, s, *got.Init[k], idx(*ref))
				}
			}
		}

		// Code, instruction by instruction.
		type ins struct {
			op  byte
			sub uint32
			raw string
			fn  int
		}
		list := func(body []byte) []ins {
			var out []ins
			if err := wasishim.Decode(body, func(op byte, sub uint32, raw []byte, fn int) {
				out = append(out, ins{op, sub, string(raw), fn})
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		instructions := 0
		for i, c := range before.CodeSection {
			a, b := list(c.Body), list(after.CodeSection[i].Body)
			if len(a) != len(b) || !slices.Equal(c.LocalTypes, after.CodeSection[i].LocalTypes) {
				t.Fatalf("body %d: %d instructions, was %d (or its locals differ)", i, len(b), len(a))
			}
			for k := range a {
				want := a[k]
				if want.fn >= 0 {
					want.fn = int(idx(uint32(want.fn)))
				}
				if b[k] != want {
					t.Fatalf("body %d, instruction %d: %+v, want %+v", i, k, b[k], want)
				}
			}
			instructions += len(a)
		}
		t.Logf("%d bodies, %d instructions compared", len(before.CodeSection), instructions)

		if before.NameSection != nil {
			got := map[uint32]string{}
			for _, a := range after.NameSection.FunctionNames {
				got[a.Index] = a.Name
			}
			for _, a := range before.NameSection.FunctionNames {
				if got[idx(a.Index)] != a.Name {
					t.Errorf("function %d (%s) is named %q after the rewrite", idx(a.Index), a.Name, got[idx(a.Index)])
				}
			}
			if !slices.IsSortedFunc(after.NameSection.FunctionNames, func(a, b *wasm.NameAssoc) int { return int(a.Index) - int(b.Index) }) {
				t.Error("the function names are not in ascending index order")
			}
		} else if name == "with names" {
			t.Error("the build with names has no name section")
		}
	})
}

// TestAnIndependentDisassemblerAgrees disassembles both modules with wabt's
// wasm2wat and compares the text, with the original's function indices put
// through the index map: a disassembler that shares no code with the
// rewrite must see the same program.
func TestAnIndependentDisassemblerAgrees(t *testing.T) {
	if _, err := exec.LookPath("wasm2wat"); err != nil {
		if os.Getenv("CORSWASM_WASM2WAT") == "required" {
			t.Fatal("wasm2wat not found and CORSWASM_WASM2WAT=required: apt-get install wabt")
		}
		t.Skip("wasm2wat not found: apt-get install wabt to run this comparison (CI does)")
	}
	in, out, before, _, r := embed(t, "release")
	dir := t.TempDir()
	wat := func(name string, module []byte) []string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, module, 0o644); err != nil {
			t.Fatal(err)
		}
		text, err := exec.Command("wasm2wat", "--no-debug-names", path).Output()
		if err != nil {
			t.Fatalf("wasm2wat %s: %v", name, err)
		}
		return strings.Split(string(text), "\n")
	}
	a, b := wat("before.wasm", in), wat("after.wasm", out)

	// The original, its indices mapped and the two imports dropped.
	refs := regexp.MustCompile(`(\(func \(;|\bcall |\bref\.func |\(export "[^"]*" \(func |\(start )(\d+)`)
	mapIndex := func(s string) string {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		return strconv.FormatUint(uint64(r.Index[v]), 10)
	}
	var want []string
	for _, line := range a {
		if strings.HasPrefix(line, `  (import "wasi_snapshot_preview1" "sched_yield"`) ||
			strings.HasPrefix(line, `  (import "wasi_snapshot_preview1" "poll_oneoff"`) {
			continue
		}
		switch {
		case strings.HasPrefix(line, "  (elem "):
			head, list, ok := strings.Cut(line, ") func ")
			if !ok {
				t.Fatalf("unexpected element line %.80q", line)
			}
			fields := strings.Fields(strings.TrimSuffix(list, ")"))
			for i, f := range fields {
				fields[i] = mapIndex(f)
			}
			line = head + ") func " + strings.Join(fields, " ") + ")"
		case strings.HasPrefix(line, "  (data "):
		default:
			line = refs.ReplaceAllStringFunc(line, func(m string) string {
				sub := refs.FindStringSubmatch(m)
				return sub[1] + mapIndex(sub[2])
			})
		}
		want = append(want, line)
	}

	// The rewritten module holds the two shims after the last defined
	// function; take them out and check them.
	first := len(before.ImportSection) - 2 + len(before.FunctionSection)
	start := slices.Index(b, fmt.Sprintf("  (func (;%d;) (type 1) (result i32)", first))
	end := slices.IndexFunc(b, func(s string) bool { return strings.HasPrefix(s, "  (table ") })
	if start < 0 || end < start {
		t.Fatalf("the shims are not where they belong, after function %d and before the table", first-1)
	}
	shims := strings.Join(b[start:end], "\n")
	wantShims := fmt.Sprintf(`  (func (;%d;) (type 1) (result i32)
    i32.const 0)
  (func (;%d;) (type 5) (param i32 i32 i32 i32) (result i32)
    local.get 3
    i32.const 0
    i32.store
    i32.const 0)`, first, first+1)
	if shims != wantShims {
		t.Errorf("the shims disassemble as\n%s\nwant\n%s", shims, wantShims)
	}
	got := slices.Concat(b[:start], b[end:])

	if len(got) != len(want) {
		t.Errorf("%d lines of text, want %d", len(got), len(want))
	}
	diffs := 0
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			if diffs++; diffs <= 5 {
				t.Errorf("line %d:\n got %.200s\nwant %.200s", i+1, got[i], want[i])
			}
		}
	}
	if diffs > 0 {
		t.Errorf("%d lines differ", diffs)
	}
	t.Logf("%d lines of wasm2wat text agree, with %d function references remapped", len(got), r.Calls)
}

// TestWabinRoundTripChangesOnlyTheForm pins down what wabin's encoder does
// to an unmodified module, which the rewrite inherits: the custom sections
// (go:buildid, producers) move after the data section, section sizes lose
// the padding Go's linker gives them, and the element section writes
// indices 64-127 in two bytes. Nothing else changes.
func TestWabinRoundTripChangesOnlyTheForm(t *testing.T) {
	in := plugin(t, "release")
	m, err := binary.DecodeModule(in, wasm.CoreFeaturesV2)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.EncodeModule(m)

	type section struct {
		id      byte
		payload []byte
	}
	split := func(module []byte) (std, custom []section) {
		if err := wasishim.Sections(module, func(id byte, _, payload, end int) error {
			s := section{id, module[payload:end]}
			if id == 0 {
				custom = append(custom, s)
			} else {
				std = append(std, s)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return std, custom
	}
	stdIn, customIn := split(in)
	stdOut, customOut := split(out)
	if !reflect.DeepEqual(customIn, customOut) {
		t.Error("the custom sections changed")
	}
	var ids []byte
	if err := wasishim.Sections(out, func(id byte, _, _, _ int) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if k := len(ids) - len(customOut); bytes.ContainsRune(ids[:k], 0) {
		t.Errorf("section order %v: the custom sections are not all at the end", ids)
	}
	if len(stdIn) != len(stdOut) {
		t.Fatalf("%d sections before, %d after", len(stdIn), len(stdOut))
	}
	for i, s := range stdIn {
		o := stdOut[i]
		if s.id != o.id {
			t.Fatalf("section %d is %d, was %d", i, o.id, s.id)
		}
		if bytes.Equal(s.payload, o.payload) {
			continue
		}
		if s.id != wasm.SectionIDElement {
			t.Errorf("section %d changed", s.id)
			continue
		}
		// Only the width of indices 64-127: one segment, flags 0, the
		// offset expression (i32.const 4096, end) and the count come
		// unchanged, then 0x40-0x7F become 0xC0-0xFF 0x00.
		prefix := bytes.IndexByte(s.payload, wasm.OpcodeEnd) + 3 // the count takes two bytes
		if !bytes.Equal(s.payload[:prefix], o.payload[:prefix]) {
			t.Errorf("the element section's head changed: % x, was % x", o.payload[:prefix], s.payload[:prefix])
			continue
		}
		widened := slices.Clone(s.payload[:prefix])
		for _, c := range s.payload[prefix:] {
			if c >= 0x40 && c <= 0x7F {
				widened = append(widened, c|0x80, 0)
				continue
			}
			widened = append(widened, c)
		}
		if !bytes.Equal(widened, o.payload) {
			t.Error("the element section changed beyond the width of some indices")
		}
	}
	t.Logf("round trip: %d bytes in, %d out; section order %v", len(in), len(out), ids)
}
