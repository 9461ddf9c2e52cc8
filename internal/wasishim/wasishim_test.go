//go:build !wasip1

package wasishim

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/corswasm/corswasm/internal/wasmcode"
	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Types of the synthetic module.
const (
	tYield = iota // () -> i32
	tPoll         // (i32, i32, i32, i32) -> i32
	tVoid         // () -> ()
	tMain         // () -> i32
)

// padded is a call with its index written in five bytes, as Go's linker
// writes it.
func padded(op byte, idx uint32) []byte { return wasmcode.AppendUleb([]byte{op}, idx, 5) }

// synthetic is a small module shaped like Go's: imports with the two WASI
// functions among others, defined functions in a table at offset 4096,
// padded call immediates, an export of an import, a start function, a
// global initialised with ref.func, a name section and a data segment with
// a data count.
//
//	imports: 0 env.a, 1 wasi sched_yield, 2 env.b, 3 wasi poll_oneoff
//	defined: 4 main, 5 helper
func synthetic() *wasm.Module {
	i32 := wasm.ValueTypeI32
	// main stores -1 at 8, calls poll_oneoff(0, 0, 1, 8) and sched_yield,
	// and returns poll's result + yield's result + the word at 8 (0 when the
	// shims do what Envoy 1.39 does). It also calls env.a, env.b and
	// helper, and takes helper's reference.
	main := slices.Concat(
		[]byte{wasm.OpcodeI32Const, 8, wasm.OpcodeI32Const, 0x7F, wasm.OpcodeI32Store, 2, 0},
		[]byte{wasm.OpcodeI32Const, 0, wasm.OpcodeI32Const, 0, wasm.OpcodeI32Const, 1, wasm.OpcodeI32Const, 8},
		padded(wasm.OpcodeCall, 3),
		[]byte{wasm.OpcodeCall, 1}, // sched_yield, one byte
		[]byte{wasm.OpcodeI32Add, wasm.OpcodeI32Const, 8, wasm.OpcodeI32Load, 2, 0, wasm.OpcodeI32Add},
		padded(wasm.OpcodeCall, 0),
		[]byte{wasm.OpcodeCall, 2},
		padded(wasm.OpcodeCall, 5),
		[]byte{wasm.OpcodeRefFunc, 5, wasm.OpcodeDrop},
		[]byte{wasm.OpcodeEnd},
	)
	idx := func(v uint32) *uint32 { return &v }
	dataCount := uint32(1)
	return &wasm.Module{
		TypeSection: []*wasm.FunctionType{
			tYield: {Results: []wasm.ValueType{i32}},
			tPoll:  {Params: []wasm.ValueType{i32, i32, i32, i32}, Results: []wasm.ValueType{i32}},
			tVoid:  {},
			tMain:  {Results: []wasm.ValueType{i32}},
		},
		ImportSection: []*wasm.Import{
			{Type: wasm.ExternTypeFunc, Module: "env", Name: "a", DescFunc: tVoid},
			{Type: wasm.ExternTypeFunc, Module: WASIModule, Name: "sched_yield", DescFunc: tYield},
			{Type: wasm.ExternTypeFunc, Module: "env", Name: "b", DescFunc: tVoid},
			{Type: wasm.ExternTypeFunc, Module: WASIModule, Name: "poll_oneoff", DescFunc: tPoll},
		},
		FunctionSection: []wasm.Index{tMain, tVoid},
		TableSection:    []*wasm.Table{{Min: 4098, Type: wasm.RefTypeFuncref}},
		MemorySection:   &wasm.Memory{Min: 1, Max: 1, IsMaxEncoded: true},
		GlobalSection: []*wasm.Global{{
			Type: &wasm.GlobalType{ValType: wasm.ValueTypeFuncref},
			Init: &wasm.ConstantExpression{Opcode: wasm.OpcodeRefFunc, Data: []byte{5}},
		}},
		ExportSection: []*wasm.Export{
			{Type: wasm.ExternTypeFunc, Name: "main", Index: 4},
			{Type: wasm.ExternTypeFunc, Name: "a", Index: 0},
			{Type: wasm.ExternTypeMemory, Name: "memory", Index: 0},
		},
		StartSection: idx(5),
		ElementSection: []*wasm.ElementSegment{{
			OffsetExpr: &wasm.ConstantExpression{Opcode: wasm.OpcodeI32Const, Data: []byte{0x80, 0x20}},
			Init:       []*wasm.Index{idx(4), idx(5)},
			Type:       wasm.RefTypeFuncref,
		}},
		CodeSection: []*wasm.Code{{Body: main}, {Body: []byte{wasm.OpcodeEnd}}},
		DataSection: []*wasm.DataSegment{{
			OffsetExpression: &wasm.ConstantExpression{Opcode: wasm.OpcodeI32Const, Data: []byte{16}},
			Init:             []byte("data"),
		}},
		DataCountSection: &dataCount,
		NameSection: &wasm.NameSection{
			ModuleName: "synthetic",
			FunctionNames: wasm.NameMap{
				{Index: 0, Name: "a"}, {Index: 1, Name: "yield"}, {Index: 2, Name: "b"},
				{Index: 3, Name: "poll"}, {Index: 4, Name: "main"}, {Index: 5, Name: "helper"},
			},
			LocalNames: wasm.IndirectNameMap{{Index: 5, NameMap: wasm.NameMap{{Index: 0, Name: "x"}}}},
		},
	}
}

// withDataCount is EncodeModule with the data count section wabin's encoder
// leaves out.
func withDataCount(t *testing.T, m *wasm.Module) []byte {
	t.Helper()
	b, err := wasmcode.InsertDataCount(binary.EncodeModule(m), *m.DataCountSection)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEmbedRemapsEveryReferenceToAFunction(t *testing.T) {
	in := withDataCount(t, synthetic())
	out, r, err := Embed(in)
	if err != nil {
		t.Fatal(err)
	}
	wantIndex := []uint32{0, 4, 1, 5, 2, 3}
	if !slices.Equal(r.Index, wantIndex) {
		t.Errorf("index map %v, want %v", r.Index, wantIndex)
	}
	if want := []string{WASIModule + ".sched_yield", WASIModule + ".poll_oneoff"}; !slices.Equal(r.Embedded, want) {
		t.Errorf("embedded %q, want %q", r.Embedded, want)
	}
	if r.Calls != 6 || r.Widened != 0 {
		t.Errorf("%d references rewritten, %d widened; want 6 and 0", r.Calls, r.Widened)
	}

	m, err := binary.DecodeModule(out, wasm.CoreFeaturesV2)
	if err != nil {
		t.Fatal(err)
	}
	var imports []string
	for _, imp := range m.ImportSection {
		imports = append(imports, imp.Module+"."+imp.Name)
	}
	if !slices.Equal(imports, []string{"env.a", "env.b"}) {
		t.Errorf("imports %q, want env.a and env.b only", imports)
	}
	if !slices.Equal(m.FunctionSection, []wasm.Index{tMain, tVoid, tYield, tPoll}) {
		t.Errorf("function types %v: want main's, helper's, then the shims'", m.FunctionSection)
	}
	wantMain := slices.Concat(
		synthetic().CodeSection[0].Body[:15],
		padded(wasm.OpcodeCall, 5),             // poll_oneoff, still five bytes
		[]byte{wasm.OpcodeCall, 4},             // sched_yield
		synthetic().CodeSection[0].Body[23:30], // the sum
		padded(wasm.OpcodeCall, 0),             // env.a
		[]byte{wasm.OpcodeCall, 1},             // env.b
		padded(wasm.OpcodeCall, 3),             // helper
		[]byte{wasm.OpcodeRefFunc, 3, wasm.OpcodeDrop, wasm.OpcodeEnd},
	)
	if got := m.CodeSection[0].Body; !bytes.Equal(got, wantMain) {
		t.Errorf("main's body\n% x\nwant\n% x", got, wantMain)
	}
	if got := m.CodeSection[2].Body; !bytes.Equal(got, shims[0].Body) {
		t.Errorf("sched_yield's body % x, want % x", got, shims[0].Body)
	}
	if got := m.CodeSection[3].Body; !bytes.Equal(got, shims[1].Body) {
		t.Errorf("poll_oneoff's body % x, want % x", got, shims[1].Body)
	}
	if e := m.ExportSection; e[0].Index != 2 || e[1].Index != 0 || e[2].Index != 0 {
		t.Errorf("exports main %d, a %d, memory %d; want 2, 0, 0", e[0].Index, e[1].Index, e[2].Index)
	}
	if *m.StartSection != 3 {
		t.Errorf("start %d, want 3", *m.StartSection)
	}
	if init := m.ElementSection[0].Init; *init[0] != 2 || *init[1] != 3 {
		t.Errorf("table entries %d, %d; want 2, 3 (the defined functions keep their slots)", *init[0], *init[1])
	}
	if d := m.GlobalSection[0].Init.Data; !bytes.Equal(d, []byte{3}) {
		t.Errorf("global's ref.func % x, want 03", d)
	}
	var names []string
	for _, a := range m.NameSection.FunctionNames {
		names = append(names, a.Name)
	}
	if want := []string{"a", "b", "main", "helper", "yield", "poll"}; !slices.Equal(names, want) {
		t.Errorf("function names by new index %q, want %q", names, want)
	}
	if l := m.NameSection.LocalNames; len(l) != 1 || l[0].Index != 3 {
		t.Errorf("local names %+v, want helper's under index 3", l)
	}
	if ids := sectionIDs(t, out); !slices.Equal(ids[len(ids)-4:], []byte{12, 10, 11, 0}) {
		t.Errorf("sections %v: want the data count before code, data and the name section", ids)
	}
}

// sectionIDs lists the ids of module's sections in order.
func sectionIDs(t *testing.T, module []byte) []byte {
	t.Helper()
	var ids []byte
	if err := wasmcode.Sections(module, func(id byte, _, _, _ int) error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestDefinePutsAnyImportsInsideTheModule(t *testing.T) {
	ctx := context.Background()
	noop := func(name string) Function {
		return Function{Module: "env", Name: name, Body: []byte{wasm.OpcodeEnd}}
	}
	out, r, err := Define(withDataCount(t, synthetic()), append([]Function{noop("b"), noop("a")}, shims...))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"env.a", WASIModule + ".sched_yield", "env.b", WASIModule + ".poll_oneoff"}
	if !slices.Equal(r.Embedded, want) {
		t.Errorf("defined %q, want %q (the order of the imports)", r.Embedded, want)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, out) // no host module at all
	if err != nil {
		t.Fatalf("the module with every import defined does not instantiate alone: %v", err)
	}
	if res, err := mod.ExportedFunction("main").Call(ctx); err != nil || res[0] != 0 {
		t.Errorf("main = %v, %v; want 0", res, err)
	}
	// A definition whose signature is not the import's is refused.
	bad := noop("a")
	bad.Results = []wasm.ValueType{wasm.ValueTypeI32}
	if _, _, err := Define(withDataCount(t, synthetic()), []Function{bad}); err == nil || !strings.Contains(err.Error(), "import env.a has signature () -> (), not () -> (i32)") {
		t.Errorf("a definition of another signature: error %v", err)
	}
}

func TestTheShimsAnswerAsEnvoy139Does(t *testing.T) {
	ctx := context.Background()
	out, _, err := Embed(withDataCount(t, synthetic()))
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	calls := 0
	_, err = rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func() { calls++ }).Export("a").
		NewFunctionBuilder().WithFunc(func() { calls++ }).Export("b").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, out) // no WASI module: the shims need none
	if err != nil {
		t.Fatalf("the rewritten module does not instantiate without WASI: %v", err)
	}
	res, err := mod.ExportedFunction("main").Call(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// poll_oneoff's 0 + sched_yield's 0 + the 0 poll_oneoff stored at
	// nevents (main stored -1 there first).
	if res[0] != 0 {
		t.Errorf("main returned %d, want 0", api.DecodeI32(res[0]))
	}
	if calls != 2 {
		t.Errorf("env.a and env.b called %d times in all, want 2", calls)
	}
}

func TestEmbedLeavesAModuleWithoutTheImportsAlone(t *testing.T) {
	m := synthetic()
	m.ImportSection = []*wasm.Import{m.ImportSection[0], m.ImportSection[2]}
	m.ExportSection = m.ExportSection[:1]
	m.ExportSection[0].Index = 2
	m.StartSection = nil
	m.GlobalSection = nil
	m.ElementSection = nil
	m.NameSection = nil
	m.CodeSection[0].Body = []byte{wasm.OpcodeI32Const, 0, wasm.OpcodeEnd}
	in := binary.EncodeModule(m)
	out, r, err := Embed(in)
	if err != nil {
		t.Fatal(err)
	}
	if &out[0] != &in[0] || len(r.Embedded) != 0 || r.Index != nil {
		t.Errorf("a module importing neither function was rewritten: %+v", r)
	}
	again, _, err := Embed(withDataCount(t, synthetic()))
	if err != nil {
		t.Fatal(err)
	}
	twice, r, err := Embed(again)
	if err != nil || !bytes.Equal(twice, again) || len(r.Embedded) != 0 {
		t.Errorf("a second Embed changed the module (err %v, report %+v)", err, r)
	}
}

func TestEmbedRefusesWhatItCannotFullyRead(t *testing.T) {
	body := func(b ...byte) func(m *wasm.Module) {
		return func(m *wasm.Module) { m.CodeSection[1].Body = b }
	}
	tests := []struct {
		name   string
		change func(m *wasm.Module)
		want   string
	}{
		{"a SIMD instruction", body(0xFD, 0x0C, wasm.OpcodeEnd), "unknown opcode 0xFD"},
		{"a tail call", body(0x12, 0x05, wasm.OpcodeEnd), "unknown opcode 0x12"},
		{"an exception handling instruction", body(0x08, 0x00, wasm.OpcodeEnd), "unknown opcode 0x08"},
		{"an unknown 0xFC instruction", body(0xFC, 0x20, wasm.OpcodeEnd), "unknown instruction 0xFC 32"},
		{"a truncated immediate", body(wasm.OpcodeI32Load, 0x80, wasm.OpcodeEnd), "truncated"},
		{"a body that ends early", body(wasm.OpcodeEnd, wasm.OpcodeNop, wasm.OpcodeEnd), "end comes before the last"},
		{"a call past the last function", body(wasm.OpcodeCall, 9, wasm.OpcodeEnd), "function index 9, but the module has 6 functions"},
		{"sched_yield with another signature", func(m *wasm.Module) { m.ImportSection[1].DescFunc = tVoid },
			"import wasi_snapshot_preview1.sched_yield has signature () -> (), not () -> (i32): this is not the function its definition replaces"},
		{"an export past the last function", func(m *wasm.Module) { m.ExportSection[0].Index = 40 },
			"export main refers to function 40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := synthetic()
			tt.change(m)
			in := withDataCount(t, m)
			_, _, err := Embed(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("an unknown name subsection", func(t *testing.T) {
		m := synthetic()
		m.NameSection = nil
		in := withDataCount(t, m)
		payload := append([]byte{4, 'n', 'a', 'm', 'e'}, 7, 1, 0) // subsection 7, one byte
		in = append(append(in, 0, byte(len(payload))), payload...)
		if _, _, err := Embed(in); err == nil || !strings.Contains(err.Error(), "subsection 7") {
			t.Fatalf("error %v, want one naming subsection 7", err)
		}
	})
}

func TestRewriteBody(t *testing.T) {
	index := make([]uint32, 300)
	for i := range index {
		index[i] = uint32(i)
	}
	index[1] = 200 // needs two bytes
	index[2] = 3
	tests := []struct {
		name          string
		body, want    []byte
		calls, widens int
	}{
		{"a one-byte index that no longer fits is widened",
			[]byte{wasm.OpcodeCall, 1, wasm.OpcodeEnd},
			[]byte{wasm.OpcodeCall, 0xC8, 0x01, wasm.OpcodeEnd}, 1, 1},
		{"a padded index keeps its width",
			append(padded(wasm.OpcodeCall, 1), wasm.OpcodeEnd),
			append(padded(wasm.OpcodeCall, 200), wasm.OpcodeEnd), 1, 0},
		{"ref.func is remapped like call",
			[]byte{wasm.OpcodeRefFunc, 2, wasm.OpcodeDrop, wasm.OpcodeEnd},
			[]byte{wasm.OpcodeRefFunc, 3, wasm.OpcodeDrop, wasm.OpcodeEnd}, 1, 0},
		{"immediates that look like calls are left alone",
			[]byte{wasm.OpcodeI32Const, wasm.OpcodeCall, wasm.OpcodeI64Const, 0x81, 0x10, wasm.OpcodeF32Const, 0x10, 1, 0x10, 1,
				wasm.OpcodeBlock, 0x40, wasm.OpcodeBr, 0, wasm.OpcodeEnd, wasm.OpcodeDrop, wasm.OpcodeDrop, wasm.OpcodeDrop, wasm.OpcodeEnd},
			nil, 0, 0},
		{"bulk memory, saturating truncation and sign extension are read",
			[]byte{0xFC, 10, 0, 0, 0xFC, 11, 0, 0xFC, 7, 0xC4, 0xFC, 8, 0, 0, 0xFC, 9, 0, wasm.OpcodeCall, 2, wasm.OpcodeEnd},
			[]byte{0xFC, 10, 0, 0, 0xFC, 11, 0, 0xFC, 7, 0xC4, 0xFC, 8, 0, 0, 0xFC, 9, 0, wasm.OpcodeCall, 3, wasm.OpcodeEnd}, 1, 0},
		{"br_table, call_indirect, typed select and memory.grow are read",
			[]byte{wasm.OpcodeBrTable, 2, 0x10, 0x10, 0x10, 0x11, 0x10, 0, 0x1C, 1, 0x7F, 0x40, 0, wasm.OpcodeCall, 2, wasm.OpcodeEnd},
			[]byte{wasm.OpcodeBrTable, 2, 0x10, 0x10, 0x10, 0x11, 0x10, 0, 0x1C, 1, 0x7F, 0x40, 0, wasm.OpcodeCall, 3, wasm.OpcodeEnd}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, calls, widened, err := rewriteBody(tt.body, index)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = tt.body
			}
			if !bytes.Equal(got, want) || calls != tt.calls || widened != tt.widens {
				t.Errorf("got % x (%d calls, %d widened), want % x (%d, %d)", got, calls, widened, want, tt.calls, tt.widens)
			}
		})
	}
}
