// Package wasishim defines, inside a module built by the standard Go
// compiler for wasip1, the two WASI functions that Envoy's hosts before 1.39
// lack or stub: wasi_snapshot_preview1.sched_yield and poll_oneoff.
//
// Envoy 1.28 to 1.32 do not provide them, so a module that imports them is
// refused at load; Envoy 1.33 to 1.38 provide poll_oneoff as a stub that
// fails with ENOSYS, so the Go runtime dies the first time it waits on a
// timer. Envoy 1.39's host implements both trivially: sched_yield returns 0,
// and poll_oneoff stores 0 at its nevents pointer and returns 0 (success, no
// events), so a Go timer wait spins until its deadline. Embed gives the
// module those same two bodies as functions of its own and removes the
// imports, so that the module imports nothing an older host lacks and
// behaves on every host as it does on 1.39.
//
// Removing an import shifts the index of every later function, so Embed
// remaps every reference to a function: call and ref.func immediates in
// every code body, the element section, exports, the start section, global
// initialisers and the name section. Go's linker fills table slot 4096+i
// with defined function i, and Go's code computes call targets from those
// slots, so the defined functions keep their order and the two new ones go
// after all of them, outside the table. Embed refuses, with an error, any
// module it cannot fully read: an unknown opcode, a name subsection it does
// not know, or a WASI import with another signature than the standard's.
//
// Define does the same for any imports and bodies: the e2e tests use it to
// give the SDK's emulator, which lacks env.proxy_get_log_level, a module
// that answers that call itself.
package wasishim

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/corswasm/corswasm/internal/wasmcode"
	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/leb128"
	"github.com/tetratelabs/wabin/wasm"
)

// WASIModule is the import module of the functions Embed defines.
const WASIModule = "wasi_snapshot_preview1"

// Function is a function Define puts inside a module in place of the
// import of the same module and name: its signature, which must be the
// import's, and its code body.
type Function struct {
	Module, Name    string
	Params, Results []wasm.ValueType
	Body            []byte // the code body after its locals, ending with end
}

var i32 = wasm.ValueTypeI32

// shims are the functions Embed defines, in the order it appends them,
// with Envoy 1.39's bodies.
var shims = []Function{
	{
		// sched_yield() -> errno: nothing else runs in the VM; success.
		Module:  WASIModule,
		Name:    "sched_yield",
		Results: []wasm.ValueType{i32},
		Body:    []byte{wasm.OpcodeI32Const, 0, wasm.OpcodeEnd},
	},
	{
		// poll_oneoff(in, out, nsubscriptions, nevents) -> errno: no event
		// happened (*nevents = 0) and success, as Envoy 1.39 answers.
		Module:  WASIModule,
		Name:    "poll_oneoff",
		Params:  []wasm.ValueType{i32, i32, i32, i32},
		Results: []wasm.ValueType{i32},
		Body: []byte{
			wasm.OpcodeLocalGet, 3,
			wasm.OpcodeI32Const, 0,
			wasm.OpcodeI32Store, 2, 0, // align 4, offset 0
			wasm.OpcodeI32Const, 0,
			wasm.OpcodeEnd,
		},
	},
}

// Names are the WASI functions Embed defines inside a module.
func Names() []string {
	names := make([]string, len(shims))
	for i, s := range shims {
		names[i] = s.Name
	}
	return names
}

// Report says what Embed changed.
type Report struct {
	// Embedded are the imports turned into functions of the module, as
	// "module.name" (e.g. "wasi_snapshot_preview1.sched_yield"), in the
	// order they were imported; empty when the module imported none of
	// them (it is then returned unchanged).
	Embedded []string
	// Index maps each function index of the input module to its index in
	// the output; nil when nothing changed.
	Index []uint32
	// Calls counts the call and ref.func immediates rewritten in code
	// bodies; Widened, those of them that needed more bytes than the
	// original encoding had.
	Calls, Widened int
}

// Embed returns module with wasi_snapshot_preview1.sched_yield and
// poll_oneoff defined inside it instead of imported. A module that imports
// neither is returned as it is.
//
// The output is wabin's encoding of the rewritten module. Besides the
// rewrite itself, that encoding differs from Go's linker output only in
// form: custom sections (go:buildid, producers) move after the data section
// and some LEB128 numbers take another width. Embed keeps the data count
// section, which wabin's encoder drops.
func Embed(module []byte) ([]byte, *Report, error) { return Define(module, shims) }

// Define returns module with the imports that fns name defined inside it,
// as Embed does for WASI's two; fns' bodies are appended in the order the
// module imports them. A module that imports none of them is returned as
// it is.
func Define(module []byte, fns []Function) ([]byte, *Report, error) {
	m, err := binary.DecodeModule(module, wasm.CoreFeaturesV2)
	if err != nil {
		return nil, nil, fmt.Errorf("decoding the module: %w", err)
	}
	if err := checkNameSection(module); err != nil {
		return nil, nil, err
	}

	// Which function imports go, and the index map.
	var embedded []*Function
	var embeddedTypes []wasm.Index // the type of each, as its import had it
	var kept []*wasm.Import
	var funcImports uint32
	removed := map[uint32]int{} // old function index -> position in embedded
	for _, imp := range m.ImportSection {
		if imp.Type != wasm.ExternTypeFunc {
			kept = append(kept, imp)
			continue
		}
		s := functionFor(fns, imp)
		if s == nil {
			kept = append(kept, imp)
			funcImports++
			continue
		}
		if t := m.TypeSection[imp.DescFunc]; !t.EqualsSignature(s.Params, s.Results) {
			return nil, nil, fmt.Errorf("import %s.%s has signature %s, not %s: this is not the function its definition replaces",
				imp.Module, imp.Name, signature(t.Params, t.Results), signature(s.Params, s.Results))
		}
		removed[funcImports] = len(embedded)
		embedded = append(embedded, s)
		embeddedTypes = append(embeddedTypes, imp.DescFunc)
		funcImports++
	}
	report := &Report{}
	if len(embedded) == 0 {
		return module, report, nil
	}
	if len(m.CodeSection) != len(m.FunctionSection) {
		return nil, nil, fmt.Errorf("the module has %d function declarations but %d code bodies", len(m.FunctionSection), len(m.CodeSection))
	}

	oldImports := funcImports
	newImports := oldImports - uint32(len(embedded))
	defined := uint32(len(m.FunctionSection))
	total := oldImports + defined
	index := make([]uint32, total)
	next := uint32(0)
	for i := range oldImports {
		if k, ok := removed[i]; ok {
			index[i] = newImports + defined + uint32(k)
			continue
		}
		index[i] = next
		next++
	}
	for d := range defined {
		index[oldImports+d] = newImports + d
	}
	remap := func(what string, idx uint32) (uint32, error) {
		if idx >= total {
			return 0, fmt.Errorf("%s refers to function %d, but the module has %d functions", what, idx, total)
		}
		return index[idx], nil
	}

	m.ImportSection = kept

	for i, c := range m.CodeSection {
		body, calls, widened, err := rewriteBody(c.Body, index)
		if err != nil {
			return nil, nil, fmt.Errorf("function %d (code body %d): %w", oldImports+uint32(i), i, err)
		}
		c.Body = body
		report.Calls += calls
		report.Widened += widened
	}
	for k, s := range embedded {
		m.FunctionSection = append(m.FunctionSection, embeddedTypes[k]) // the import's type, checked above
		m.CodeSection = append(m.CodeSection, &wasm.Code{Body: slices.Clone(s.Body)})
		report.Embedded = append(report.Embedded, s.Module+"."+s.Name)
	}

	for _, e := range m.ExportSection {
		if e.Type != wasm.ExternTypeFunc {
			continue
		}
		if e.Index, err = remap("export "+e.Name, e.Index); err != nil {
			return nil, nil, err
		}
	}
	if m.StartSection != nil {
		start, err := remap("the start section", *m.StartSection)
		if err != nil {
			return nil, nil, err
		}
		m.StartSection = &start
	}
	for i, seg := range m.ElementSection {
		for j, ref := range seg.Init {
			if ref == nil { // ref.null
				continue
			}
			v, err := remap(fmt.Sprintf("element segment %d, entry %d", i, j), *ref)
			if err != nil {
				return nil, nil, err
			}
			seg.Init[j] = &v
		}
	}
	for i, g := range m.GlobalSection {
		if g.Init.Opcode != wasm.OpcodeRefFunc {
			continue
		}
		old, _, err := leb128.DecodeUint32(bytes.NewReader(g.Init.Data))
		if err != nil {
			return nil, nil, fmt.Errorf("global %d: ref.func index: %w", i, err)
		}
		v, err := remap(fmt.Sprintf("global %d", i), old)
		if err != nil {
			return nil, nil, err
		}
		g.Init.Data = leb128.EncodeUint32(v)
	}
	if err := remapNames(m, index, embedded, newImports+defined); err != nil {
		return nil, nil, err
	}

	out := binary.EncodeModule(m)
	if m.DataCountSection != nil {
		if out, err = wasmcode.InsertDataCount(out, *m.DataCountSection); err != nil {
			return nil, nil, err
		}
	}
	report.Index = index
	return out, report, nil
}

// signature writes a function type as "(i32, i32) -> (i32)".
func signature(params, results []wasm.ValueType) string {
	names := func(ts []wasm.ValueType) string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = wasm.ValueTypeName(t)
		}
		return strings.Join(out, ", ")
	}
	return "(" + names(params) + ") -> (" + names(results) + ")"
}

// functionFor returns the function of fns that replaces imp, or nil.
func functionFor(fns []Function, imp *wasm.Import) *Function {
	for i := range fns {
		if fns[i].Module == imp.Module && fns[i].Name == imp.Name {
			return &fns[i]
		}
	}
	return nil
}

// remapNames moves the name section's function and local names to the new
// indices, in the ascending order the format requires, and names the shims
// that have no name yet (first is the first shim's index).
func remapNames(m *wasm.Module, index []uint32, embedded []*Function, first uint32) error {
	ns := m.NameSection
	if ns == nil {
		return nil
	}
	named := map[uint32]bool{}
	for _, a := range ns.FunctionNames {
		if int(a.Index) >= len(index) {
			return fmt.Errorf("the name section names function %d, but the module has %d functions", a.Index, len(index))
		}
		a.Index = index[a.Index]
		named[a.Index] = true
	}
	for k, s := range embedded {
		if i := first + uint32(k); !named[i] {
			ns.FunctionNames = append(ns.FunctionNames, &wasm.NameAssoc{Index: i, Name: s.Module + "." + s.Name})
		}
	}
	slices.SortFunc(ns.FunctionNames, func(a, b *wasm.NameAssoc) int { return int(a.Index) - int(b.Index) })
	for _, a := range ns.LocalNames {
		if int(a.Index) >= len(index) {
			return fmt.Errorf("the name section names locals of function %d, but the module has %d functions", a.Index, len(index))
		}
		a.Index = index[a.Index]
	}
	slices.SortFunc(ns.LocalNames, func(a, b *wasm.NameMapAssoc) int { return int(a.Index) - int(b.Index) })
	return nil
}

// checkNameSection refuses a name section with subsections wabin would
// silently drop (it keeps the module, function and local names).
func checkNameSection(module []byte) error {
	return wasmcode.Sections(module, func(id byte, _, payload, end int) error {
		if id != wasm.SectionIDCustom {
			return nil
		}
		nameLen, n, err := wasmcode.Uleb(module, payload, 5)
		if err != nil {
			return fmt.Errorf("custom section at byte %d: name: %w", payload, err)
		}
		p := payload + n
		if p+int(nameLen) > end || string(module[p:p+int(nameLen)]) != "name" {
			return nil
		}
		for p += int(nameLen); p < end; {
			sub := module[p]
			size, n, err := wasmcode.Uleb(module, p+1, 5)
			if err != nil {
				return fmt.Errorf("name section: subsection %d: %w", sub, err)
			}
			if sub > 2 {
				return fmt.Errorf("name section: subsection %d is not one of the module, function and local names this rewrite keeps", sub)
			}
			p += 1 + n + int(size)
		}
		return nil
	})
}
