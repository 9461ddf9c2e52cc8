// Package fastpath gives a module built on package abi callbacks of plain
// WebAssembly for their usual cases: a post-link step, run after the
// others (package wasmbuild).
//
// Every Go export costs a Go entry and Go's code, a few hundred of
// wazero's instructions, on each call. Three of the callbacks a request
// makes do little in their usual case:
//
//   - proxy_on_memory_allocate, called before the host writes data into
//     the module, two or three times a request, bumps an index in the
//     running stream's arena (alloc.go);
//   - proxy_on_context_create takes on the context a finished stream of
//     the same root left parked in the new stream's slot of the context
//     table, and proxy_on_delete parks a finished stream's context there
//     (contexts.go);
//   - proxy_on_response_headers, for a stream that ended itself, returns
//     Continue, after adding the one response line the stream asked for
//     (StreamDoneAdding), if any (contexts.go).
//
// Rewrite adds, for each of these exports, a function of a few dozen
// instructions that does that itself and calls Go's export for
// everything else, then points the export at it.
//
// The functions read and write package abi's variable cb (a
// callbackState), found by the marker it starts with (Marker, which the
// module's data holds once), and the stream contexts and table slots it
// leads to, at the offsets below; abi's TestFastStateLayout holds abi's
// types to them, and its constants to the limits. They write integers
// only (an index, counts, flags, a slot's ID): no pointer is stored where
// Go's collector would need to see the store, and every object stays
// reachable through the pointers Go stored.
package fastpath

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/corswasm/corswasm/internal/wasmcode"
	wabin "github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/wasm"
)

// Marker is the value of cb's first 16 bytes: two words, with no zero
// byte in them (Go's linker splits data segments at runs of zeros).
var Marker = [2]uint64{0x5f1c3a9be27d4086, 0xa4e9021d7c3b6f58}

// Offsets the added functions read and write at: of abi's callbackState
// fields, from its start (the marker's); of a streamContext's, from the
// context's start; of a table slot's. Pointers and ints take 8 bytes in
// Go's wasm, and hold values below 2^32: the functions read their low
// words, and write counts as whole words.
const (
	OffsetStream     = 16 // *streamContext: the stream whose callback runs, or nil
	OffsetLast       = 24 // uint32: the last allocation's address
	OffsetLastSize   = 28 // uint32: its size
	OffsetSlots      = 32 // the context table's slots: data pointer
	OffsetSlotsLen   = 40 // their number, a power of two (or 0)
	OffsetOverflow   = 56 // the table's overflow map, or nil
	OffsetLive       = 64 // int: the live contexts in the table
	OffsetSpareBytes = 72 // int: the bytes released contexts' arenas keep
	OffsetParked     = 80 // int: the contexts parked in the table
	OffsetReuse      = 88 // bool: released contexts keep their Stream
	OffsetHandOff    = 96 // []string: the response names for the stream (abi.ResponseNamesForStream): data pointer
	OffsetHandOffLen = 104

	OffsetStreamType    = 0  // the context's Stream: the interface's type word, 0 for nil
	OffsetRootID        = 32 // uint32: its root's ID, 0 when none may have it again
	OffsetDone          = 37 // bool: the stream called StreamDone
	OffsetChunk         = 40 // its arena chunk's data pointer
	OffsetChunkLen      = 48 // the chunk's length
	OffsetUsed          = 64 // int: the bytes of the chunk in use
	OffsetGrew          = 72 // bool: the arena replaced its chunk
	OffsetAdd           = 80 // bool: a response line to add (StreamDoneAdding)
	OffsetAddFailed     = 84 // uint32: the status of an add the host refused
	OffsetAddName       = 88 // the line's name: data pointer, then length
	OffsetAddValue      = 104
	OffsetLines         = 120 // [][2]string: the lines to add after addName's (abi.StreamAddsToResponse): data pointer
	OffsetLinesLen      = 128
	OffsetAddLines      = 144 // bool: the layer adds the lines
	OffsetAddFailedLine = 148 // uint32: the index of the line the host refused (0: addName's)
	OffsetPreData       = 152 // uint32: the response's header map the layer read, for the stream
	OffsetPreSize       = 156 // uint32: its size (0: none)
	OffsetCounters      = 160 // []uint32: the counters to increment after the lines: data pointer
	OffsetCountersLen   = 168
	StringSize          = 16 // a string: data pointer, then length

	SlotSize     = 16 // a table slot: the ID (uint32) at 0, the context at 8
	OffsetSlotID = 0
	OffsetSlotC  = 8
)

// Limits and values of package abi the functions apply as its Go code
// does.
const (
	MapResponseHeaders = 2 // the proxy-wasm map type of response headers

	ArenaKeep     = 64 << 10 // the largest chunk a released context keeps
	MaxParked     = 256      // the most contexts parked in the table
	MaxSpareBytes = 4 << 20  // the most bytes released contexts' arenas keep
)

// Report says what Rewrite did.
type Report struct {
	// State is cb's address in linear memory; 0 when the module was left
	// alone (it holds no marker: it is not built on package abi).
	State uint32
	// Added lists the exports now served by an added function, and
	// Functions their indexes.
	Added     []string
	Functions []uint32
	// Done says every export Rewrite serves was already served by its
	// function (a module Rewrite had rewritten): it is returned as it is.
	Done bool
}

// fastFunc is a callback Rewrite serves.
type fastFunc struct {
	export          string
	params, results []wasm.ValueType
	locals          []wasm.ValueType // after the parameters
	// body is the added function's code. It ends with the call of Go's.
	body func(site) []byte
}

// site is what a function's code refers to: the state's address, Go's
// export it calls for what it leaves to Go, and the host function
// proxy_add_header_map_value.
type site struct {
	state, goFn, addHeader, getPairs, increment uint32
}

// addHeaderImport, getPairsImport and incrementImport are the host
// functions the response callback calls.
const (
	addHeaderImport = "proxy_add_header_map_value"
	getPairsImport  = "proxy_get_header_map_pairs"
	incrementImport = "proxy_increment_metric"
)

var (
	i32  = wasm.ValueTypeI32
	i32s = []wasm.ValueType{i32}
)

// funcs are the callbacks Rewrite serves, in the order it adds them.
var funcs = []fastFunc{
	{"proxy_on_memory_allocate", i32s, i32s, []wasm.ValueType{i32, i32}, allocBody},
	{"proxy_on_context_create", []wasm.ValueType{i32, i32}, nil, []wasm.ValueType{i32, i32}, createBody},
	{"proxy_on_delete", i32s, nil, []wasm.ValueType{i32, i32}, deleteBody},
	{"proxy_on_response_headers", []wasm.ValueType{i32, i32, i32}, i32s, slices.Repeat(i32s, 13), responseBody},
}

// Rewrite returns module with the fast callbacks in front of Go's, or
// module itself when its data holds no marker or it exports none of the
// callbacks. It refuses, with an error, a module whose marker it finds
// twice, or whose export of one of the callbacks does not have the
// callback's signature.
func Rewrite(module []byte) ([]byte, Report, error) {
	m, err := wabin.DecodeModule(module, wasm.CoreFeaturesV2)
	if err != nil {
		return nil, Report{}, fmt.Errorf("decoding the module: %w", err)
	}
	state, err := findMarker(m)
	if err != nil || state == 0 {
		return module, Report{}, err
	}
	r := Report{State: state}
	imported := m.ImportFuncCount()
	addHeader, err := findImport(m, addHeaderImport, []wasm.ValueType{i32, i32, i32, i32, i32}, i32s)
	if err != nil {
		return nil, Report{}, err
	}
	getPairs, err := findImport(m, getPairsImport, []wasm.ValueType{i32, i32, i32}, i32s)
	if err != nil {
		return nil, Report{}, err
	}
	increment, err := findImport(m, incrementImport, []wasm.ValueType{i32, wasm.ValueTypeI64}, i32s)
	if err != nil {
		return nil, Report{}, err
	}
	present := 0
	for _, f := range funcs {
		export := findExport(m, f.export)
		if export == nil || f.export == "proxy_on_response_headers" && (addHeader < 0 || getPairs < 0 || increment < 0) {
			continue
		}
		present++
		if export.Index < imported || int(export.Index-imported) >= len(m.FunctionSection) {
			return nil, Report{}, fmt.Errorf("export %s is function %d, not a function the module defines", f.export, export.Index)
		}
		typ := m.FunctionSection[export.Index-imported]
		if int(typ) >= len(m.TypeSection) || !m.TypeSection[typ].EqualsSignature(f.params, f.results) {
			return nil, Report{}, fmt.Errorf("export %s does not have the signature %v -> %v", f.export, f.params, f.results)
		}
		at := site{state: state, addHeader: uint32(addHeader), getPairs: uint32(getPairs), increment: uint32(increment)}
		if isFast(m.CodeSection[export.Index-imported], f, at) {
			continue
		}
		at.goFn = export.Index
		// Appended after every defined function: Go's table refers to
		// those by index, and none of them moves.
		fn := imported + uint32(len(m.FunctionSection))
		m.FunctionSection = append(m.FunctionSection, typ)
		m.CodeSection = append(m.CodeSection, &wasm.Code{LocalTypes: f.locals, Body: f.body(at)})
		export.Index = fn
		if ns := m.NameSection; ns != nil {
			ns.FunctionNames = append(ns.FunctionNames, &wasm.NameAssoc{Index: fn, Name: "fastpath." + f.export})
		}
		r.Added = append(r.Added, f.export)
		r.Functions = append(r.Functions, fn)
	}
	if len(r.Added) == 0 {
		return module, Report{State: state, Done: present > 0}, nil
	}
	out := wabin.EncodeModule(m)
	if m.DataCountSection != nil {
		if out, err = wasmcode.InsertDataCount(out, *m.DataCountSection); err != nil {
			return nil, Report{}, err
		}
	}
	return out, r, nil
}

// findExport returns m's function export of that name, or nil.
func findExport(m *wasm.Module, name string) *wasm.Export {
	for _, e := range m.ExportSection {
		if e.Name == name && e.Type == wasm.ExternTypeFunc {
			return e
		}
	}
	return nil
}

// findImport returns the index of the function module.name imports from
// "env", -1 when it imports none. It refuses one of another signature.
func findImport(m *wasm.Module, name string, params, results []wasm.ValueType) (int, error) {
	fn := 0
	for _, imp := range m.ImportSection {
		if imp.Type != wasm.ExternTypeFunc {
			continue
		}
		if imp.Module == "env" && imp.Name == name {
			if int(imp.DescFunc) >= len(m.TypeSection) || !m.TypeSection[imp.DescFunc].EqualsSignature(params, results) {
				return 0, fmt.Errorf("import env.%s does not have the signature %v -> %v", name, params, results)
			}
			return fn, nil
		}
		fn++
	}
	return -1, nil
}

// isFast says whether code is the function Rewrite adds for f, at site at
// (calling any function).
func isFast(code *wasm.Code, f fastFunc, at site) bool {
	b := f.body(at)
	prefix := b[:len(b)-3] // up to the call: call, its index 0, end
	return len(code.LocalTypes) == len(f.locals) && bytes.HasPrefix(code.Body, prefix)
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
	return 0, fmt.Errorf("the fast paths' marker is in the module's data %d times (at %v): their state cannot be told apart", len(found), found)
}

// code builds a function body: instructions, with helpers for the state's
// and a context's fields.
type code struct {
	b     []byte
	state uint32
}

func newCode(at site) *code { return &code{state: at.state} }

func (c *code) add(ins ...byte) *code { c.b = append(c.b, ins...); return c }

// get pushes a local.
func (c *code) get(local byte) *code { return c.add(wasm.OpcodeLocalGet, local) }

// cb pushes the state's address.
func (c *code) cb() *code {
	c.b = wasmcode.AppendSleb(append(c.b, wasm.OpcodeI32Const), int64(int32(c.state)))
	return c
}

// i32c pushes an i32 constant.
func (c *code) i32c(v int32) *code {
	c.b = wasmcode.AppendSleb(append(c.b, wasm.OpcodeI32Const), int64(v))
	return c
}

// mem is a load or store with its alignment and offset.
func (c *code) mem(op, align byte, offset uint32) *code {
	c.b = wasmcode.AppendUleb(append(c.b, op, align), offset, wasmcode.MinWidth(offset))
	return c
}

func (c *code) load(offset uint32) *code   { return c.mem(wasm.OpcodeI32Load, 2, offset) }
func (c *code) load8(offset uint32) *code  { return c.mem(wasm.OpcodeI32Load8U, 0, offset) }
func (c *code) load64(offset uint32) *code { return c.mem(wasm.OpcodeI64Load, 3, offset) }

// bump adds delta to the state's int at offset, as a whole word.
func (c *code) bump(offset uint32, delta int64) *code {
	c.cb().cb().load64(offset)
	c.b = wasmcode.AppendSleb(append(c.b, wasm.OpcodeI64Const), delta)
	return c.add(wasm.OpcodeI64Add).mem(wasm.OpcodeI64Store, 3, offset)
}

// call calls function fn.
func (c *code) call(fn uint32) *code {
	c.b = wasmcode.AppendUleb(append(c.b, wasm.OpcodeCall), fn, wasmcode.MinWidth(fn))
	return c
}
