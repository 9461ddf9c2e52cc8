package wasmcode_test

import (
	"bytes"
	"testing"

	"github.com/corswasm/corswasm/internal/wasmcode"
	wabin "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

func TestSleb(t *testing.T) {
	for _, c := range []struct {
		name  string
		bytes []byte
		want  int64
	}{
		{"zero", []byte{0x00}, 0},
		{"a small positive number", []byte{0x02}, 2},
		{"63, the largest in one byte", []byte{0x3F}, 63},
		{"64 takes two bytes", []byte{0xC0, 0x00}, 64},
		{"minus one", []byte{0x7F}, -1},
		{"minus 64", []byte{0x40}, -64},
		{"minus 65 takes two bytes", []byte{0xBF, 0x7F}, -65},
		{"a padded 5", []byte{0x85, 0x80, 0x80, 0x80, 0x00}, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, n, err := wasmcode.Sleb(c.bytes, 0, 5)
			if err != nil || got != c.want || n != len(c.bytes) {
				t.Errorf("Sleb(% x) = %d, %d, %v; want %d, %d", c.bytes, got, n, err, c.want, len(c.bytes))
			}
			if enc := wasmcode.AppendSleb(nil, c.want); c.name != "a padded 5" && !bytes.Equal(enc, c.bytes) {
				t.Errorf("AppendSleb(%d) = % x, want % x", c.want, enc, c.bytes)
			}
		})
	}
	if _, _, err := wasmcode.Sleb([]byte{0x80, 0x80}, 0, 5); err == nil {
		t.Error("a truncated number was read")
	}
	if _, _, err := wasmcode.Sleb([]byte{0x80, 0x80, 0x80}, 0, 2); err == nil {
		t.Error("a number longer than max was read")
	}
}

func TestDecodeSaysWhereImmediatesStart(t *testing.T) {
	body := []byte{
		wasmcode.OpI32Const, 0x85, 0x01, // i32.const 133
		wasmcode.OpMiscPrefix, 11, 0, // memory.fill 0
		wasmcode.OpCall, 0x83, 0x80, 0x00, // call 3, padded
		wasmcode.OpEnd,
	}
	var got []wasmcode.Instr
	if err := wasmcode.Decode(body, func(in wasmcode.Instr) error { got = append(got, in); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		op              byte
		start, imm, end int
	}{
		{wasmcode.OpI32Const, 0, 1, 3},
		{wasmcode.OpMiscPrefix, 3, 5, 6},
		{wasmcode.OpCall, 6, 7, 10},
		{wasmcode.OpEnd, 10, 11, 11},
	}
	if len(got) != len(want) {
		t.Fatalf("%d instructions, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Op != w.op || g.Start != w.start || g.Imm != w.imm || g.End != w.end {
			t.Errorf("instruction %d: %+v, want op 0x%02X at %d, immediate at %d, end %d", i, g, w.op, w.start, w.imm, w.end)
		}
	}
	if !got[2].HasFunc || got[2].FuncIdx != 3 {
		t.Errorf("call: %+v, want function 3", got[2])
	}
}

func TestFuncBodyReturnsAFunctionsInstructions(t *testing.T) {
	// Two functions () -> (): the first with a local i64 and a nop, the
	// second with no local and two nops.
	const nop = 0x01
	module := wabin.EncodeModule(&wasm.Module{
		TypeSection:     []*wasm.FunctionType{{}},
		FunctionSection: []wasm.Index{0, 0},
		CodeSection: []*wasm.Code{
			{LocalTypes: []wasm.ValueType{wasm.ValueTypeI64}, Body: []byte{nop, wasmcode.OpEnd}},
			{Body: []byte{nop, nop, wasmcode.OpEnd}},
		},
	})
	for i, want := range [][]byte{{nop}, {nop, nop}} {
		got, err := wasmcode.FuncBody(module, i)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("body %d: % x, %v; want % x", i, got, err, want)
		}
	}
	if _, err := wasmcode.FuncBody(module, 2); err == nil {
		t.Error("a third body was found in a module of two")
	}
}
