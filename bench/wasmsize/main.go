//go:build !wasip1

// Command wasmsize shows where the bytes of a WebAssembly module go: the
// size of each section and, when the module keeps its function names (a Go
// build without -s), the code bytes of each Go package, largest first.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags=-w -trimpath -o /tmp/named.wasm .
//	go run ./bench/wasmsize /tmp/named.wasm
//	go run ./bench/wasmsize -top 0 -grep regexp /tmp/named.wasm
//
// Function bodies are attributed to the package in their name, which the
// Go linker mangles ("regexp_syntax.__parser_.push" is regexp/syntax). The data section
// (read-only data, the function table pclntab, type descriptors, unicode
// tables) is not attributed: compare builds with and without a package for
// that.
package main

import (
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/tetratelabs/wabin/binary"
	"github.com/tetratelabs/wabin/leb128"
	"github.com/tetratelabs/wabin/wasm"
)

func main() {
	top := flag.Int("top", 25, "packages to list (0: all)")
	grep := flag.String("grep", "", "list only packages whose path contains this")
	funcs := flag.Int("funcs", 0, "also list the largest functions of the listed packages")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: wasmsize [-top N] [-grep S] [-funcs N] module.wasm\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmsize:", err)
		os.Exit(1)
	}
	if err := run(data, *top, *grep, *funcs); err != nil {
		fmt.Fprintln(os.Stderr, "wasmsize:", err)
		os.Exit(1)
	}
}

var sectionNames = map[byte]string{
	0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
	6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "data count",
}

type section struct {
	id   byte
	name string
	size int
}

// sections reads the section headers.
func sections(b []byte) ([]section, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, fmt.Errorf("not a WebAssembly module")
	}
	var out []section
	for p := 8; p < len(b); {
		id := b[p]
		size, n, err := leb128.DecodeUint32(bytes.NewReader(b[p+1:]))
		if err != nil {
			return nil, fmt.Errorf("section at offset %d: %v", p, err)
		}
		start := p + 1 + int(n)
		end := start + int(size)
		if end > len(b) {
			return nil, fmt.Errorf("section at offset %d overruns the module", p)
		}
		s := section{id: id, name: sectionNames[id], size: end - p}
		if id == 0 { // custom: name the section
			if l, m, err := leb128.DecodeUint32(bytes.NewReader(b[start:end])); err == nil && start+int(m)+int(l) <= end {
				s.name = "custom " + string(b[start+int(m):start+int(m)+int(l)])
			}
		}
		out = append(out, s)
		p = end
	}
	return out, nil
}

// pkgOf returns the Go package of a function name as the Go linker writes
// it in the name section: the path with "/" replaced by "_", then ".", then
// the symbol ("github.com_corswasm_corswasm_abi.onDone",
// "regexp_syntax.__parser_.concat"). A first element that ends in a
// top-level domain is a host name ("github.com", "golang.org").
func pkgOf(fn string) string {
	from := 0
	if j := strings.IndexByte(fn, '_'); j > 0 {
		if k := strings.LastIndexByte(fn[:j], '.'); k > 0 && domains[fn[k+1:j]] {
			from = j
		}
	}
	if i := strings.IndexByte(fn[from:], '.'); i >= 0 {
		return fn[:from+i]
	}
	return fn
}

var domains = map[string]bool{"com": true, "org": true, "net": true, "io": true, "in": true, "dev": true}

func run(data []byte, top int, grep string, nfuncs int) error {
	secs, err := sections(data)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "section\tbytes\tshare\t\n")
	for _, s := range secs {
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t\n", s.name, s.size, 100*float64(s.size)/float64(len(data)))
	}
	fmt.Fprintf(tw, "module\t%d\t\t\n", len(data))
	tw.Flush()

	mod, err := binary.DecodeModule(data, wasm.CoreFeaturesV2)
	if err != nil {
		return err
	}
	if mod.NameSection == nil || len(mod.NameSection.FunctionNames) == 0 {
		fmt.Println("\nno function names (stripped with -s): build with -ldflags=-w to see code bytes per package")
		return nil
	}
	imported := uint32(len(mod.ImportSection)) // Go modules import functions only
	names := map[uint32]string{}
	for _, n := range mod.NameSection.FunctionNames {
		names[n.Index] = n.Name
	}
	type fn struct {
		name string
		size int
	}
	var all []fn
	perPkg := map[string]int{}
	funcs := map[string]int{}
	total := 0
	for i, c := range mod.CodeSection {
		name := names[imported+uint32(i)]
		size := len(c.Body) + len(c.LocalTypes) // close enough: locals are encoded compactly
		perPkg[pkgOf(name)] += size
		funcs[pkgOf(name)]++
		total += size
		all = append(all, fn{name, size})
	}
	pkgs := make([]string, 0, len(perPkg))
	for p := range perPkg {
		if strings.Contains(p, grep) {
			pkgs = append(pkgs, p)
		}
	}
	slices.SortFunc(pkgs, func(a, b string) int { return cmp.Or(cmp.Compare(perPkg[b], perPkg[a]), cmp.Compare(a, b)) })
	fmt.Printf("\ncode bytes by package (function bodies, %d in all):\n", total)
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "package\tfunctions\tbytes\tshare\t\n")
	listed := 0
	for i, p := range pkgs {
		if top > 0 && i >= top {
			break
		}
		listed += perPkg[p]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t\n", p, funcs[p], perPkg[p], 100*float64(perPkg[p])/float64(total))
	}
	if grep != "" || (top > 0 && len(pkgs) > top) {
		fmt.Fprintf(tw, "(listed)\t\t%d\t%.1f%%\t\n", listed, 100*float64(listed)/float64(total))
	}
	tw.Flush()
	if nfuncs <= 0 {
		return nil
	}
	if top > 0 && len(pkgs) > top {
		pkgs = pkgs[:top]
	}
	all = slices.DeleteFunc(all, func(f fn) bool { return !slices.Contains(pkgs, pkgOf(f.name)) })
	slices.SortFunc(all, func(a, b fn) int { return cmp.Or(cmp.Compare(b.size, a.size), cmp.Compare(a.name, b.name)) })
	fmt.Printf("\nlargest functions of the listed packages:\n")
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, f := range all[:min(nfuncs, len(all))] {
		fmt.Fprintf(tw, "%s\t%d\t\n", f.name, f.size)
	}
	tw.Flush()
	return nil
}
