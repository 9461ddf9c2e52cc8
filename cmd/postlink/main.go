//go:build !wasip1

// Command postlink is the post-link step of the plugin's build, run on a
// module built by the standard Go compiler:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//	go run ./cmd/postlink plugin.wasm
//
// It defines wasi_snapshot_preview1.sched_yield and poll_oneoff inside the
// module, with the bodies Envoy 1.39's host gives them, so that the module
// loads and runs on Envoy 1.28 and newer (package internal/wasishim); then
// it makes the jumps of the module's Go code direct where WebAssembly
// allows it, which changes how the code branches and nothing it computes
// (package internal/gojumps), folds the stack addresses of its Go code
// into the loads and stores that use them (package internal/goaddr),
// writes its small fixed-size copies and clears as word loads and stores
// (package internal/gomoves), shortens the boolean tests of its Go code
// (package internal/gobools) and writes the stubs that reach the host's
// functions into their callers (package internal/gostubs). Last, it puts callbacks of plain
// WebAssembly in front of Go's for their usual cases, without entering
// Go: proxy_on_memory_allocate serves the host from the running stream's
// arena, proxy_on_context_create and proxy_on_delete take on and park the
// contexts of streams that ended themselves, and proxy_on_response_headers
// answers such a stream's response (package internal/fastpath).
//
// It rewrites the module in place, or writes it to -o, and prints one line
// per step. It exits with status 1, saying why, on a module it cannot fully
// read; the file is then untouched.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/corswasm/corswasm/internal/gomoves"
	"github.com/corswasm/corswasm/internal/wasishim"
	"github.com/corswasm/corswasm/internal/wasmbuild"
)

func main() {
	out := flag.String("o", "", "write the rewritten module to this file instead of replacing the input")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: postlink [-o OUT] MODULE.wasm")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "postlink:", err)
		os.Exit(1)
	}
}

// run rewrites the module at in into out (in itself when out is empty) and
// says what it did.
func run(in, out string, w io.Writer) error {
	if out == "" {
		out = in
	}
	module, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	rewritten, r, err := wasmbuild.PostLink(module)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(r.WASI.Embedded) == 0 {
		fmt.Fprintf(w, "postlink: %s imports neither %s: no WASI function to define\n", in, strings.Join(wasishim.Names(), " nor "))
	} else {
		fmt.Fprintf(w, "postlink: %s: defined %s inside the module (%d function references remapped)\n",
			out, strings.Join(r.WASI.Embedded, ", "), r.WASI.Calls)
	}
	j := r.Jumps
	fmt.Fprintf(w, "postlink: %s: %d jumps of %d Go functions made direct, %d backward left to the dispatch, %d entries\n",
		out, j.Direct, j.Functions, j.Backward, j.Entries)
	fmt.Fprintf(w, "postlink: %s: %d stack addresses folded into their loads and stores\n", out, r.Addresses.Folded)
	fmt.Fprintf(w, "postlink: %s: %d copies and %d clears of at most %d and %d bytes written as word loads and stores\n",
		out, r.Moves.Copies, r.Moves.Fills, gomoves.MaxCopy, gomoves.MaxFill)
	fmt.Fprintf(w, "postlink: %s: boolean tests shortened: %d instructions removed, %d double zero tests made one comparison\n",
		out, r.Bools.Removed, r.Bools.Negations)
	fmt.Fprintf(w, "postlink: %s: %d calls of %d host-call stubs written as the stubs' instructions\n", out, r.Stubs.Inlined, r.Stubs.Stubs)
	switch f := r.Fast; {
	case f.Done:
		fmt.Fprintf(w, "postlink: %s: the callbacks already served by plain WebAssembly first\n", out)
	case f.State == 0:
		fmt.Fprintf(w, "postlink: %s: no fast-path state of package abi: callbacks left as they are\n", out)
	default:
		fmt.Fprintf(w, "postlink: %s: %s served by plain WebAssembly in front of Go's (functions %v, state at %#x)\n",
			out, strings.Join(f.Added, ", "), f.Functions, f.State)
	}
	fmt.Fprintf(w, "postlink: %s: %d -> %d bytes\n", out, len(module), len(rewritten))
	if out == in && bytes.Equal(rewritten, module) {
		return nil // nothing changed: leave the file alone
	}
	return writeFile(out, rewritten)
}

// writeFile replaces path with data through a temporary file in the same
// directory, so that a failed write leaves the old file whole.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".postlink-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
