//go:build !wasip1

package abi

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

func TestAllocateAndClaim(t *testing.T) {
	t.Cleanup(func() { depth = 0; hostData = nil })
	enter()
	if got := allocate(0); got != 0 || hostData != nil {
		t.Fatalf("allocate(0) = %d, holding %v", got, hostData != nil)
	}
	if got := allocate(maxHostData + 1); got != 0 || hostData != nil {
		t.Fatalf("allocate(maxHostData+1) = %d, holding %v", got, hostData != nil)
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
	if hostData != nil {
		t.Fatal("claimed allocation still held")
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
	if hostData != nil || depth != 0 {
		t.Fatalf("outer leave: holding %v, depth %d", hostData != nil, depth)
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
	if len(spare) != n || kept != spareBytes || kept > maxSpareBytes || kept < maxSpareBytes-(64<<10) {
		t.Fatalf("%d spare contexts keep %d bytes (counted %d), want at most and near %d", len(spare), kept, spareBytes, maxSpareBytes)
	}
	// Reusing them takes their bytes off the count.
	for id := uint32(200); id < 200+n; id++ {
		onContextCreate(id, 1)
	}
	if len(spare) != 0 || spareBytes != 0 {
		t.Fatalf("after reuse: %d spare, %d bytes counted", len(spare), spareBytes)
	}
}

func TestRootCallbacksGetFreshMemory(t *testing.T) {
	t.Cleanup(func() { depth = 0; current = nil; hostData = nil })
	var c streamContext
	a := &c.mem
	enterStream(&c)
	inStream := allocate(8)
	leave()
	if current != nil {
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
