//go:build !wasip1

package abi

import (
	"errors"
	"runtime"
	"testing"
)

func TestAllocateAndClaim(t *testing.T) {
	t.Cleanup(func() { depth = 0; clear(pinned); pinned = pinned[:0] })
	enter()
	if got := allocate(0); got != 0 {
		t.Fatalf("allocate(0) = %d", got)
	}
	if len(pinned) != 0 {
		t.Fatal("allocate(0) pinned a buffer")
	}
	a := allocate(5)
	b := allocate(3)
	if a == 0 || b == 0 || a == b || len(pinned) != 2 {
		t.Fatalf("addresses %d, %d; %d pinned", a, b, len(pinned))
	}
	buf, err := peek(a)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "hello")

	// The host may return fewer bytes than it allocated, never more.
	got, err := claim(a, 4)
	if err != nil || string(got) != "hell" || cap(got) != 4 {
		t.Fatalf("claim = %q (cap %d), %v", got, cap(got), err)
	}
	if len(pinned) != 1 {
		t.Fatalf("claimed buffer still pinned: %d", len(pinned))
	}
	if _, err := claim(a, 4); !errors.Is(err, errBadAddress) {
		t.Fatalf("second claim: %v", err)
	}
	if _, err := claim(b, 4); !errors.Is(err, errBadAddress) {
		t.Fatalf("claim past the allocation: %v", err)
	}
	if _, err := claim(12345, 1); !errors.Is(err, errBadAddress) {
		t.Fatalf("claim of an unknown address: %v", err)
	}
	if got, err := claim(0, 0); got != nil || err != nil {
		t.Fatalf("empty claim = %v, %v", got, err)
	}

	// Nested callbacks keep the buffers until the outermost one returns.
	enter()
	allocate(1)
	leave()
	if len(pinned) != 2 {
		t.Fatalf("inner leave released buffers: %d pinned", len(pinned))
	}
	leave()
	if len(pinned) != 0 || depth != 0 {
		t.Fatalf("outer leave: %d pinned, depth %d", len(pinned), depth)
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
