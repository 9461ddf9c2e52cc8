// Package fastalloc gives a module built on package abi a
// proxy_on_memory_allocate of plain WebAssembly: a post-link step, run
// after the others (package wasmbuild).
//
// The host calls proxy_on_memory_allocate before it writes data into the
// module, two or three times a request. Go's export of it costs a Go entry
// and Go's code each time, about 300 of wazero's instructions, for what is
// a bump of a pointer in the running stream's arena. Rewrite adds a
// function of about twenty instructions that does that bump itself, and
// calls Go's export for everything else, then points the export at it.
//
// The function reads package abi's variable cb (a callbackState), found by
// the marker it starts with (Marker, which the module's data holds once):
// cb.stream is the stream whose callback runs, or nil. When there is one,
// and size is not 0 and fits in the free end of the stream's arena chunk,
// the function takes the bytes there, adds size to the arena's used,
// notes the allocation in cb.last and cb.lastSize (for abi's claim, which
// hands the bytes to Go code) and returns their address. Anything else
// (a root callback's allocation, a full chunk or none, size 0) goes to
// Go's export, which it calls. The offsets below are where it reads and
// writes; abi's TestAllocStateLayout holds abi's types to them. It writes
// integers only: no pointer is stored where Go's collector would need to
// see the store, and the chunk stays alive through the arena's slice.
package fastalloc

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/corswasm/corswasm/internal/wasmcode"
	wabin "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// Export is the export Rewrite redirects.
const Export = "proxy_on_memory_allocate"

// Marker is the value of allocState's first 16 bytes: two words, with no
// zero byte in them (Go's linker splits data segments at runs of zeros).
var Marker = [2]uint64{0x5f1c3a9be27d4086, 0xa4e9021d7c3b6f58}

// Offsets the added function reads and writes at: of abi's callbackState
// fields, from its start (the marker's), and of a streamContext's arena
// fields, from the context's start. Pointers and ints take 8 bytes in Go's
// wasm, and hold values below 2^32: the function reads their low words,
// and writes the arena's used as a whole word.
const (
	OffsetStream   = 16 // *streamContext: the stream whose callback runs, or nil
	OffsetLast     = 24 // uint32: the last allocation's address
	OffsetLastSize = 28 // uint32: its size
	OffsetChunk    = 40 // the arena chunk's data pointer
	OffsetChunkLen = 48 // its length
	OffsetUsed     = 64 // int: the bytes of the chunk in use
)

// Report says what Rewrite did.
type Report struct {
	// State is allocState's address in linear memory; 0 when the module
	// was left alone (it exports no proxy_on_memory_allocate, or holds no
	// marker: it is not built on package abi).
	State uint32
	// Function is the index of the function added.
	Function uint32
	// Done says the export was already the fast function (a module
	// Rewrite had rewritten): it is returned as it is.
	Done bool
}

// Rewrite returns module with the fast proxy_on_memory_allocate, or module
// itself when it exports no proxy_on_memory_allocate or its data holds no
// marker. It refuses, with an error, a module whose marker it finds twice,
// or whose export does not have the signature (i32) -> i32.
func Rewrite(module []byte) ([]byte, Report, error) {
	m, err := wabin.DecodeModule(module, wasm.CoreFeaturesV2)
	if err != nil {
		return nil, Report{}, fmt.Errorf("decoding the module: %w", err)
	}
	var export *wasm.Export
	for _, e := range m.ExportSection {
		if e.Name == Export && e.Type == wasm.ExternTypeFunc {
			export = e
		}
	}
	if export == nil {
		return module, Report{}, nil
	}
	state, err := findMarker(m)
	if err != nil || state == 0 {
		return module, Report{}, err
	}

	imported := m.ImportFuncCount()
	if export.Index < imported || int(export.Index-imported) >= len(m.FunctionSection) {
		return nil, Report{}, fmt.Errorf("export %s is function %d, not a function the module defines", Export, export.Index)
	}
	typ := m.FunctionSection[export.Index-imported]
	if isFast(m.CodeSection[export.Index-imported], state) {
		return module, Report{Done: true}, nil
	}
	i32 := []wasm.ValueType{wasm.ValueTypeI32}
	if int(typ) >= len(m.TypeSection) || !m.TypeSection[typ].EqualsSignature(i32, i32) {
		return nil, Report{}, fmt.Errorf("export %s does not have the signature (i32) -> i32", Export)
	}

	// Appended after every defined function: Go's table refers to those by
	// index, and none of them moves.
	fn := imported + uint32(len(m.FunctionSection))
	m.FunctionSection = append(m.FunctionSection, typ)
	m.CodeSection = append(m.CodeSection, &wasm.Code{
		LocalTypes: []wasm.ValueType{wasm.ValueTypeI32, wasm.ValueTypeI32}, // locals 1 and 2: c, addr
		Body:       body(state, export.Index),
	})
	export.Index = fn
	if ns := m.NameSection; ns != nil {
		ns.FunctionNames = append(ns.FunctionNames, &wasm.NameAssoc{Index: fn, Name: "fastalloc." + Export})
	}

	out := wabin.EncodeModule(m)
	if m.DataCountSection != nil {
		if out, err = wasmcode.InsertDataCount(out, *m.DataCountSection); err != nil {
			return nil, Report{}, err
		}
	}
	return out, Report{State: state, Function: fn}, nil
}

// isFast says whether code is the function Rewrite adds, for the state
// at state (calling any function).
func isFast(code *wasm.Code, state uint32) bool {
	b := body(state, 0)
	prefix := b[:len(b)-3] // up to the call: call, its index 0, end
	return len(code.LocalTypes) == 2 && bytes.HasPrefix(code.Body, prefix)
}

// findMarker returns the address of the marker in m's active data
// segments, 0 if there is none.
func findMarker(m *wasm.Module) (uint32, error) {
	var marker [16]byte
	binary.LittleEndian.PutUint64(marker[:8], Marker[0])
	binary.LittleEndian.PutUint64(marker[8:], Marker[1])
	var found []uint32
	for i, seg := range m.DataSection {
		if seg.OffsetExpression == nil { // passive
			continue
		}
		if seg.OffsetExpression.Opcode != wasm.OpcodeI32Const {
			return 0, fmt.Errorf("data segment %d: an offset that is not an i32.const", i)
		}
		off, _, err := wasmcode.Sleb(seg.OffsetExpression.Data, 0, 5)
		if err != nil {
			return 0, fmt.Errorf("data segment %d: offset: %w", i, err)
		}
		for p := 0; ; p++ {
			k := bytes.Index(seg.Init[p:], marker[:])
			if k < 0 {
				break
			}
			p += k
			found = append(found, uint32(off)+uint32(p))
		}
	}
	switch len(found) {
	case 0:
		return 0, nil
	case 1:
		return found[0], nil
	}
	return 0, fmt.Errorf("the allocator's marker is in the module's data %d times (at %v): its state cannot be told apart", len(found), found)
}

// body is the added function: with size in local 0, the running stream's
// context in local 1 and the new allocation's address in local 2,
//
//	c := cb.stream
//	if size != 0 && c != 0 && size <= c.mem.len - c.mem.used {
//		addr := c.mem.chunk + c.mem.used
//		c.mem.used += size
//		cb.last, cb.lastSize = addr, size
//		return addr
//	}
//	return goAllocate(size)
func body(state, goAllocate uint32) []byte {
	cb := wasmcode.AppendSleb([]byte{wasm.OpcodeI32Const}, int64(int32(state)))
	mem := func(op byte, align byte, offset uint32) []byte {
		return wasmcode.AppendUleb([]byte{op, align}, offset, wasmcode.MinWidth(offset))
	}
	load := func(offset uint32) []byte { return mem(wasm.OpcodeI32Load, 2, offset) }
	get := func(local byte) []byte { return []byte{wasm.OpcodeLocalGet, local} }
	var b []byte
	add := func(parts ...[]byte) {
		for _, p := range parts {
			b = append(b, p...)
		}
	}
	add([]byte{wasm.OpcodeBlock, 0x40},
		// size != 0
		get(0), []byte{wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, 0},
		// c != 0
		cb, load(OffsetStream), []byte{wasm.OpcodeLocalTee, 1, wasm.OpcodeI32Eqz, wasm.OpcodeBrIf, 0},
		// size <= len - used
		get(0), get(1), load(OffsetChunkLen), get(1), load(OffsetUsed),
		[]byte{wasm.OpcodeI32Sub, wasm.OpcodeI32GtU, wasm.OpcodeBrIf, 0},
		// addr := chunk + used
		get(1), load(OffsetChunk), get(1), load(OffsetUsed), []byte{wasm.OpcodeI32Add, wasm.OpcodeLocalSet, 2},
		// used += size, as a whole word
		get(1), get(1), load(OffsetUsed), get(0), []byte{wasm.OpcodeI32Add, wasm.OpcodeI64ExtendI32U},
		mem(wasm.OpcodeI64Store, 3, OffsetUsed),
		// cb.last, cb.lastSize = addr, size
		cb, get(2), mem(wasm.OpcodeI32Store, 2, OffsetLast),
		cb, get(0), mem(wasm.OpcodeI32Store, 2, OffsetLastSize),
		get(2), []byte{wasm.OpcodeReturn},
		[]byte{wasm.OpcodeEnd},
		get(0), []byte{wasm.OpcodeCall}, wasmcode.AppendUleb(nil, goAllocate, wasmcode.MinWidth(goAllocate)),
		[]byte{wasm.OpcodeEnd})
	return b
}
