//go:build !wasip1

// Command wasishim is the post-link step of the plugin's build: it defines
// wasi_snapshot_preview1.sched_yield and poll_oneoff inside a module built
// by the standard Go compiler, with the bodies Envoy 1.39's host gives them,
// so that the module loads and runs on Envoy 1.28 and newer (see package
// internal/wasishim):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//	go run ./cmd/wasishim plugin.wasm
//
// It rewrites the module in place, or writes it to -o. A module that
// imports neither function is left as it is. It exits with status 1, saying
// why, on a module it cannot fully read; the file is then untouched.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/corswasm/corswasm/internal/wasishim"
)

func main() {
	out := flag.String("o", "", "write the rewritten module to this file instead of replacing the input")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: wasishim [-o OUT] MODULE.wasm")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wasishim:", err)
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
	rewritten, r, err := wasishim.Embed(module)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(r.Embedded) == 0 {
		fmt.Fprintf(w, "wasishim: %s imports neither %s: nothing to do\n", in, strings.Join(wasishim.Names(), " nor "))
		if out == in {
			return nil
		}
	}
	if err := writeFile(out, rewritten); err != nil {
		return err
	}
	if len(r.Embedded) > 0 {
		fmt.Fprintf(w, "wasishim: %s: defined %s inside the module (%d function references remapped); %d -> %d bytes\n",
			out, strings.Join(r.Embedded, ", "), r.Calls, len(module), len(rewritten))
	}
	return nil
}

// writeFile replaces path with data through a temporary file in the same
// directory, so that a failed write leaves the old file whole.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".wasishim-*")
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
