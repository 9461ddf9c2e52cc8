//go:build !wasip1

// Command wasmcheck checks a compiled plugin module against what Envoy's
// proxy-wasm host requires and prints a short report:
//
//	go run ./cmd/wasmcheck plugin.wasm
//
// It exits with status 1, naming each offender and how to fix it, when the
// module lacks an export the plugin needs (the ABI version marker,
// proxy_on_memory_allocate, _initialize, memory, the lifecycle and header
// callbacks), exports _start or body and trailer callbacks, or imports
// anything but known env.proxy_* host functions (with the host's signature)
// and the WASI functions a module of this project may use: in particular it
// fails a module that still imports wasi_snapshot_preview1.sched_yield or
// poll_oneoff, which the post-link step (cmd/postlink) defines inside it.
// The range of Envoy releases comes from its imports. A module that fails
// gets the full report, then its problems, whatever -v says.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	fl := flag.NewFlagSet("wasmcheck", flag.ExitOnError)
	verbose := fl.Bool("v", false, "print the full report: ABI marker, imports, exports and why each Envoy band can or cannot load the module")
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), "usage: wasmcheck [-v] plugin.wasm")
		fl.PrintDefaults()
	}
	fl.Parse(os.Args[1:])
	if fl.NArg() != 1 {
		fl.Usage()
		os.Exit(2)
	}
	os.Exit(run(fl.Arg(0), *verbose, os.Stdout, os.Stderr))
}

// run checks the module at path and returns the exit status. A module that
// passes gets one summary line on stdout, or the full report with verbose;
// one that fails gets the full report on stdout and its problems on stderr.
func run(path string, verbose bool, stdout, stderr io.Writer) int {
	bin, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(stderr, "wasmcheck:", err)
		return 1
	}
	r, err := Check(bin)
	if err != nil {
		fmt.Fprintf(stderr, "wasmcheck: %s is not a WebAssembly module: %v\n", path, err)
		return 1
	}
	if verbose || !r.OK() {
		writeReport(stdout, path, r)
	}
	if !r.OK() {
		fmt.Fprintf(stderr, "wasmcheck: %s FAILED:\n", path)
		for _, p := range r.Problems {
			fmt.Fprintln(stderr, "  -", p)
		}
		return 1
	}
	if verbose {
		fmt.Fprintf(stdout, "wasmcheck: %s OK\n", path)
		return 0
	}
	for _, n := range r.Notes {
		fmt.Fprintln(stdout, "wasmcheck: note:", n)
	}
	fmt.Fprintf(stdout, "wasmcheck: %s OK, %d bytes (%.2f MiB), runs on %s (-v lists imports and exports)\n",
		path, r.Size, float64(r.Size)/(1<<20), supportedRange(r))
	return 0
}

// supportedRange is the range of Envoy releases the module runs on, as the
// report states it.
func supportedRange(r *Report) string {
	if r.Supported == "" {
		return "no Envoy release"
	}
	return r.Supported
}

// writeReport prints the module's size, imports, exports and which Envoy
// versions could load it.
func writeReport(w io.Writer, path string, r *Report) {
	fmt.Fprintf(w, "%s: %d bytes (%.2f MiB)\n", path, r.Size, float64(r.Size)/(1<<20))
	abi := r.ABI
	if abi == "" {
		abi = "none"
	}
	fmt.Fprintf(w, "ABI marker: %s\n", abi)
	fmt.Fprintf(w, "imports (%d):\n", len(r.Imports))
	for _, imp := range r.Imports {
		fmt.Fprintln(w, "  "+imp)
	}
	fmt.Fprintf(w, "exports (%d): %s\n", len(r.Exports), strings.Join(r.Exports, ", "))
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	for _, b := range r.Envoy {
		fmt.Fprintf(w, "Envoy %s: %s\n", b.Versions, b.Why)
	}
	fmt.Fprintln(w, "supported:", supportedRange(r), "(verified down to Envoy 1.28 on proxy-wasm-cpp-host; older releases are not)")
}
