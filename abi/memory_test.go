//go:build !wasip1

package abi

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/corswasm/corswasm/internal/fastpath"
)

// fastAllocate is what the function internal/fastpath adds to the built
// module does, for native tests: the post-link step's body, in Go.
func fastAllocate(size uint32) uint32 {
	if c := cb.stream; c != nil && size != 0 && size <= uint32(len(c.mem.chunk)-c.mem.used) {
		addr := addrOf(c.mem.chunk) + uint32(c.mem.used)
		c.mem.used += int(size)
		cb.last, cb.lastSize = addr, size
		return addr
	}
	return allocate(size)
}

// TestFastStateLayout holds abi's types and limits to the offsets and
// values the post-link step's functions of plain WebAssembly use
// (internal/fastpath): a field moved, or a limit changed, fails it.
func TestFastStateLayout(t *testing.T) {
	var c streamContext
	var s contextSlot
	word := unsafe.Sizeof(uintptr(0))
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"callbackState.stream", unsafe.Offsetof(cb.stream), fastpath.OffsetStream},
		{"callbackState.last", unsafe.Offsetof(cb.last), fastpath.OffsetLast},
		{"callbackState.lastSize", unsafe.Offsetof(cb.lastSize), fastpath.OffsetLastSize},
		{"callbackState.streams.direct's data", unsafe.Offsetof(cb.streams) + unsafe.Offsetof(cb.streams.direct), fastpath.OffsetSlots},
		{"callbackState.streams.direct's length", unsafe.Offsetof(cb.streams) + unsafe.Offsetof(cb.streams.direct) + word, fastpath.OffsetSlotsLen},
		{"callbackState.streams.over", unsafe.Offsetof(cb.streams) + unsafe.Offsetof(cb.streams.over), fastpath.OffsetOverflow},
		{"callbackState.streams.n", unsafe.Offsetof(cb.streams) + unsafe.Offsetof(cb.streams.n), fastpath.OffsetLive},
		{"callbackState.spareBytes", unsafe.Offsetof(cb.spareBytes), fastpath.OffsetSpareBytes},
		{"callbackState.parked", unsafe.Offsetof(cb.parked), fastpath.OffsetParked},
		{"callbackState.reuse", unsafe.Offsetof(cb.reuse), fastpath.OffsetReuse},
		{"streamContext.Stream", unsafe.Offsetof(c.Stream), fastpath.OffsetStreamType},
		{"streamContext.rootID", unsafe.Offsetof(c.rootID), fastpath.OffsetRootID},
		{"streamContext.done", unsafe.Offsetof(c.done), fastpath.OffsetDone},
		{"streamContext.mem.chunk's data", unsafe.Offsetof(c.mem) + unsafe.Offsetof(c.mem.chunk), fastpath.OffsetChunk},
		{"streamContext.mem.chunk's length", unsafe.Offsetof(c.mem) + unsafe.Offsetof(c.mem.chunk) + word, fastpath.OffsetChunkLen},
		{"streamContext.mem.used", unsafe.Offsetof(c.mem) + unsafe.Offsetof(c.mem.used), fastpath.OffsetUsed},
		{"streamContext.mem.grew", unsafe.Offsetof(c.mem) + unsafe.Offsetof(c.mem.grew), fastpath.OffsetGrew},
		{"streamContext.add", unsafe.Offsetof(c.add), fastpath.OffsetAdd},
		{"streamContext.addFailed", unsafe.Offsetof(c.addFailed), fastpath.OffsetAddFailed},
		{"streamContext.addName", unsafe.Offsetof(c.addName), fastpath.OffsetAddName},
		{"streamContext.addValue", unsafe.Offsetof(c.addValue), fastpath.OffsetAddValue},
		{"callbackState.handOff's data", unsafe.Offsetof(cb.handOff), fastpath.OffsetHandOff},
		{"callbackState.handOff's length", unsafe.Offsetof(cb.handOff) + word, fastpath.OffsetHandOffLen},
		{"streamContext.lines' data", unsafe.Offsetof(c.lines), fastpath.OffsetLines},
		{"streamContext.lines' length", unsafe.Offsetof(c.lines) + word, fastpath.OffsetLinesLen},
		{"streamContext.addLines", unsafe.Offsetof(c.addLines), fastpath.OffsetAddLines},
		{"streamContext.addFailedLine", unsafe.Offsetof(c.addFailedLine), fastpath.OffsetAddFailedLine},
		{"streamContext.preData", unsafe.Offsetof(c.preData), fastpath.OffsetPreData},
		{"streamContext.preSize", unsafe.Offsetof(c.preSize), fastpath.OffsetPreSize},
		{"streamContext.counters' data", unsafe.Offsetof(c.counters), fastpath.OffsetCounters},
		{"streamContext.counters' length", unsafe.Offsetof(c.counters) + word, fastpath.OffsetCountersLen},
		{"a string's size", unsafe.Sizeof(""), fastpath.StringSize},
		{"MapResponseHeaders", uintptr(MapResponseHeaders), fastpath.MapResponseHeaders},
		{"contextSlot.id", unsafe.Offsetof(s.id), fastpath.OffsetSlotID},
		{"contextSlot.c", unsafe.Offsetof(s.c), fastpath.OffsetSlotC},
		{"contextSlot's size", unsafe.Sizeof(s), fastpath.SlotSize},
		{"arenaKeep", arenaKeep, fastpath.ArenaKeep},
		{"maxParked", maxParked, fastpath.MaxParked},
		{"maxSpareBytes", maxSpareBytes, fastpath.MaxSpareBytes},
	} {
		if f.got != f.want {
			t.Errorf("%s is %d, fastpath uses %d", f.name, f.got, f.want)
		}
	}
	if cb.marker != fastpath.Marker {
		t.Errorf("cb's marker %#x, fastpath looks for %#x", cb.marker, fastpath.Marker)
	}
}

func TestFastAllocationsComeFromTheStreamsChunk(t *testing.T) {
	t.Cleanup(func() { depth = 0; cb.stream = nil; cb.last = 0; rootData = nil })
	var c streamContext
	enterStream(&c)
	// No chunk yet: Go allocates it, and the fast path takes the rest.
	first := fastAllocate(10)
	if _, err := claim(first, 10); err != nil || c.mem.chunk == nil || c.mem.used != 10 {
		t.Fatalf("first allocation: %v; chunk %d bytes, %d used", err, len(c.mem.chunk), c.mem.used)
	}
	second := fastAllocate(20)
	if second != first+10 || cb.last != second || c.mem.used != 30 {
		t.Fatalf("second allocation at %d (first %d), noted %d, arena's used %d", second, first, cb.last, c.mem.used)
	}
	if _, err := claim(second, 21); !errors.Is(err, errBadAddress) {
		t.Fatalf("claim past the fast allocation: %v", err)
	}
	b, err := claim(second, 20)
	if err != nil || len(b) != 20 || cap(b) != 20 || &b[0] != &c.mem.chunk[10] {
		t.Fatalf("claim of the fast allocation: %d bytes (cap %d), %v; not the chunk's bytes 10 to 30", len(b), cap(b), err)
	}
	if _, err := claim(second, 20); !errors.Is(err, errBadAddress) {
		t.Fatalf("second claim of a fast allocation: %v", err)
	}
	// A size that does not fit goes to Go, which replaces the chunk.
	old := c.mem.chunk
	big := fastAllocate(arenaChunk)
	if b, err := claim(big, arenaChunk); err != nil || &b[0] != &c.mem.chunk[0] || &c.mem.chunk[0] == &old[0] || !c.mem.grew {
		t.Fatalf("an allocation past the chunk did not come from a new one: %v", err)
	}
	small := fastAllocate(7)
	leave()
	if c.mem.used != arenaChunk+7 || cb.last != 0 || cb.stream != nil {
		t.Fatalf("after the callback: used %d, want %d; allocation still noted %v", c.mem.used, arenaChunk+7, cb.last != 0)
	}
	// Outside a stream's callback nothing comes from a chunk, and a stale
	// address is refused.
	enter()
	if _, err := claim(small, 7); !errors.Is(err, errBadAddress) {
		t.Fatalf("claim of a fast allocation of an ended callback: %v", err)
	}
	root := fastAllocate(7)
	if b, err := claim(root, 7); err != nil || &b[0] == &c.mem.chunk[arenaChunk+7] || &b[0] != &rootData[0] {
		t.Fatalf("a root callback's allocation: %v, or it came from a stream's chunk", err)
	}
	leave()
}

func TestAllocateAndClaim(t *testing.T) {
	t.Cleanup(func() { depth = 0; cb.last = 0; rootData = nil })
	enter()
	if got := allocate(0); got != 0 || cb.last != 0 {
		t.Fatalf("allocate(0) = %d, noting %d", got, cb.last)
	}
	if got := allocate(maxHostData + 1); got != 0 || cb.last != 0 {
		t.Fatalf("allocate(maxHostData+1) = %d, noting %d", got, cb.last)
	}
	a := allocate(5)
	buf, err := peek(a)
	if a == 0 || err != nil {
		t.Fatalf("allocate(5) = %d, %v", a, err)
	}
	copy(buf, "hello")

	// The host may return fewer bytes than it allocated, never more.
	if _, err := claim(a, 6); !errors.Is(err, errBadAddress) {
		t.Fatalf("claim past the allocation: %v", err)
	}
	got, err := claim(a, 4)
	if err != nil || string(got) != "hell" || cap(got) != 4 {
		t.Fatalf("claim = %q (cap %d), %v", got, cap(got), err)
	}
	if cb.last != 0 {
		t.Fatal("claimed allocation still noted")
	}
	if _, err := claim(a, 4); !errors.Is(err, errBadAddress) {
		t.Fatalf("second claim: %v", err)
	}
	if _, err := claim(12345, 1); !errors.Is(err, errBadAddress) {
		t.Fatalf("claim of an unknown address: %v", err)
	}
	if got, err := claim(0, 0); got != nil || err != nil {
		t.Fatalf("empty claim = %v, %v", got, err)
	}

	// Only the last allocation can be claimed: a host call returns one
	// piece of data, claimed as soon as the call returns.
	first := allocate(3)
	second := allocate(3)
	if _, err := claim(first, 3); !errors.Is(err, errBadAddress) {
		t.Fatalf("claim of an allocation made before the last: %v", err)
	}

	// Nested callbacks keep the allocation until the outermost one returns.
	enter()
	leave()
	if _, err := peek(second); err != nil {
		t.Fatalf("inner leave released the allocation: %v", err)
	}
	leave()
	if rootData != nil || cb.last != 0 || depth != 0 {
		t.Fatalf("outer leave: holding %v, depth %d", rootData != nil || cb.last != 0, depth)
	}
	// The claimed bytes stay valid after release and a GC.
	runtime.GC()
	if string(got) != "hell" {
		t.Fatalf("claimed bytes changed: %q", got)
	}
}

func TestStringsSurviveRelease(t *testing.T) {
	h := &testHost{request: [][2]string{{"origin", "https://a.test"}}}
	install(t, h, nil)
	var v string
	inCallback(func() { v, _ = GetHeader(MapRequestHeaders, "origin") })
	runtime.GC()
	inCallback(func() {
		for range 100 {
			allocate(64)
		}
	})
	if v != "https://a.test" {
		t.Fatalf("value after release = %q", v)
	}
}

func TestStreamArenas(t *testing.T) {
	h := &testHost{request: [][2]string{{"origin", "https://a.test"}}}
	var r *testRoot
	install(t, h, func(id uint32) Root { r = &testRoot{id: id}; return r })
	onContextCreate(1, 0)

	onContextCreate(2, 1)
	onRequestHeaders(2, 1, 0)
	h.request[0][1] = "https://b.test"
	onContextCreate(3, 1)
	onRequestHeaders(3, 1, 0)
	runtime.GC()
	a, b := r.streams[2].origin, r.streams[3].origin
	if a != "https://a.test" || b != "https://b.test" {
		t.Fatalf("two live streams read %q and %q", a, b)
	}

	// A deleted stream's arena serves the next stream: same memory.
	onDelete(2)
	h.request[0][1] = "https://c.test"
	onContextCreate(4, 1)
	onRequestHeaders(4, 1, 0)
	c := r.streams[4].origin
	if c != "https://c.test" || unsafe.StringData(c) != unsafe.StringData(a) {
		t.Fatalf("the next stream read %q at %p; the deleted one's memory was %p", c, unsafe.StringData(c), unsafe.StringData(a))
	}
	if r.streams[3].origin != "https://b.test" {
		t.Fatalf("a live stream's value changed: %q", r.streams[3].origin)
	}

	// An arena that grew past arenaKeep gives its memory back.
	h.request[0][1] = strings.Repeat("x", arenaKeep+1)
	onContextCreate(5, 1)
	onRequestHeaders(5, 1, 0)
	onDelete(5)
	if got := spare[len(spare)-1]; got.mem.chunk != nil || got.Stream != nil {
		t.Fatalf("a deleted stream's context keeps %d bytes and its stream", len(got.mem.chunk))
	}
}

func TestSpareArenasKeepAtMostMaxSpareBytes(t *testing.T) {
	h := &testHost{request: [][2]string{{"origin", strings.Repeat("x", 40<<10)}}}
	install(t, h, func(id uint32) Root { return &testRoot{id: id} })
	onContextCreate(1, 0)
	const n = 150 // 150 x 40 KiB is more than maxSpareBytes
	for id := uint32(2); id < 2+n; id++ {
		onContextCreate(id, 1)
		onRequestHeaders(id, 1, 0)
	}
	for id := uint32(2); id < 2+n; id++ {
		onDelete(id)
	}
	kept := 0
	for _, c := range spare {
		kept += len(c.mem.chunk)
	}
	if len(spare) != n || kept != cb.spareBytes || kept > maxSpareBytes || kept < maxSpareBytes-(64<<10) {
		t.Fatalf("%d spare contexts keep %d bytes (counted %d), want at most and near %d", len(spare), kept, cb.spareBytes, maxSpareBytes)
	}
	// Reusing them takes their bytes off the count.
	for id := uint32(200); id < 200+n; id++ {
		onContextCreate(id, 1)
	}
	if len(spare) != 0 || cb.spareBytes != 0 {
		t.Fatalf("after reuse: %d spare, %d bytes counted", len(spare), cb.spareBytes)
	}
}

func TestRootCallbacksGetFreshMemory(t *testing.T) {
	t.Cleanup(func() { depth = 0; cb.stream = nil; cb.last = 0; rootData = nil })
	var c streamContext
	a := &c.mem
	enterStream(&c)
	inStream := allocate(8)
	leave()
	if cb.stream != nil {
		t.Fatal("the stream's arena outlives its callback")
	}
	enter()
	inRoot := allocate(8)
	leave()
	if inStream == inRoot || a.used != 8 {
		t.Fatalf("a root callback's allocation came from a stream arena (used %d)", a.used)
	}
}

func TestArenaGrowsWithoutMovingWhatWasRead(t *testing.T) {
	var a arena
	first := a.take(10)
	copy(first, "0123456789")
	big := a.take(arenaChunk)
	if len(big) != arenaChunk || string(first) != "0123456789" {
		t.Fatalf("growth: %d bytes, first now %q", len(big), first)
	}
	if len(a.chunk) != 2*arenaChunk {
		t.Fatalf("new chunk of %d bytes, want %d", len(a.chunk), 2*arenaChunk)
	}
	a.reset()
	if again := a.take(10); &again[0] != &a.chunk[0] {
		t.Fatal("reset did not rewind the arena")
	}
}

// TestEveryHostReplyIsFollowedByAfterHostReply reads the package's
// sources: the host calls that hand the module a reply (the host then
// calls proxy_on_memory_allocate, where Go's allocator may grow the memory)
// are the four of host_wasip1.go that pass &slotSize, and each function
// that makes one must run afterHostReply next, or a memory.copy from the
// reply traps on the WAMR of the Envoy 1.29-1.32 era (cpphost's
// TestMemoryGrownInAHostCall).
func TestEveryHostReplyIsFollowedByAfterHostReply(t *testing.T) {
	fset := token.NewFileSet()
	pkg := map[string]*ast.FuncDecl{}
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil {
				pkg[fn.Name.Name] = fn
			}
		}
	}
	replies := map[string]bool{}
	for name, fn := range pkg {
		if l := fn.Body.List; len(l) >= 2 && strings.Contains(types.ExprString(stmtExpr(l[len(l)-2])), "&slotSize") {
			replies[name] = true
		}
	}
	if len(replies) != 4 {
		t.Fatalf("host calls with a reply: %v, want the 4 of get_header_map_value, get_header_map_pairs, get_property and get_buffer_bytes", replies)
	}
	callers := 0
	for name, fn := range pkg {
		for i, st := range fn.Body.List {
			call, ok := stmtExpr(st).(*ast.CallExpr)
			if !ok || !replies[types.ExprString(call.Fun)] {
				continue
			}
			callers++
			next := ""
			if i+1 < len(fn.Body.List) {
				next = types.ExprString(stmtExpr(fn.Body.List[i+1]))
			}
			if next != "afterHostReply()" {
				t.Errorf("%s: %s is followed by %q, want afterHostReply()", name, types.ExprString(call), next)
			}
		}
	}
	if callers < 4 {
		t.Errorf("found %d calls of the four, want every one of them called", callers)
	}
}

// stmtExpr is the expression of an assignment's right side or of an
// expression statement, nil for other statements.
func stmtExpr(st ast.Stmt) ast.Expr {
	switch s := st.(type) {
	case *ast.AssignStmt:
		return s.Rhs[0]
	case *ast.ExprStmt:
		return s.X
	}
	return nil
}
