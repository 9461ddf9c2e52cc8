// Package testmodule gives the test packages that run the real plugin.wasm
// what they share: the module itself, built through internal/wasmbuild and
// cached, the wazero compilation cache of the test binary, and the test
// policies (files of testdata/).
//
// Each build variant is built on first use, at most once per test binary,
// so a package pays only for the variants its tests ask for, and needs no
// TestMain for it. Test binaries still build their copies in parallel when
// go test runs packages in parallel.
//
//	vm := newVM(t, testmodule.Get(t, testmodule.Release), wasmhost.Options{Cache: testmodule.Cache()})
//	p, err := vm.StartPlugin([]byte(testmodule.RoutedPolicy))
package testmodule

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/corswasm/corswasm/internal/wasmbuild"
)

// Variant is one build of a module of this repository.
type Variant int

// The variants.
const (
	// Release is plugin.wasm as make build makes it: the release go build,
	// then the post-link step (wasmbuild.Build).
	Release Variant = iota
	// Fault is Release with -tags=corswasm_faultinject: the plugin injects
	// the faults a request's x-corswasm-fault header asks for
	// (faultinject_on.go in package main).
	Fault
	// RawRelease is the release go build alone, without the post-link step
	// (wasmbuild.Compile): it imports sched_yield and poll_oneoff. The
	// controls of the host-profile tests run it.
	RawRelease
	// RawFault is Fault without the post-link step.
	RawFault
	// RawWithNames is RawRelease linked with its name section
	// (-ldflags=-w instead of -s -w), for the post-link step's tests.
	RawWithNames
	// Floor is the benchmarks' floor module (package ./bench/floor), built
	// as Release is.
	Floor
	// WithNames is Release linked with its name section (-ldflags=-w
	// instead of -s -w), through the post-link step: the benchmarks' Wasm
	// call counts name the functions they count.
	WithNames
	// BareFloor is the benchmarks' bare Go floor (package
	// ./bench/barefloor), built as Release is.
	BareFloor

	numVariants
)

// String names the variant as the build does: "release", "fault injection
// without the post-link step".
func (v Variant) String() string {
	switch v {
	case Release:
		return "release"
	case Fault:
		return "fault injection"
	case RawRelease:
		return "release without the post-link step"
	case RawFault:
		return "fault injection without the post-link step"
	case RawWithNames:
		return "release with names, without the post-link step"
	case Floor:
		return "floor"
	case WithNames:
		return "release with names"
	case BareFloor:
		return "bare floor"
	}
	return "Variant(" + strconv.Itoa(int(v)) + ")"
}

// faultTag is the build flag of the fault-injection variants.
const faultTag = "-tags=corswasm_faultinject"

// build builds v into a temporary directory and returns the module.
func (v Variant) build() ([]byte, error) {
	root, err := wasmbuild.ModuleRoot(".")
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	switch v {
	case Release:
		return wasmbuild.BuildBytes(ctx, root, ".")
	case Fault:
		return wasmbuild.BuildBytes(ctx, root, ".", faultTag)
	case Floor:
		return wasmbuild.BuildBytes(ctx, root, "./bench/floor")
	case WithNames:
		return wasmbuild.BuildBytes(ctx, root, ".", "-ldflags=-w")
	case BareFloor:
		return wasmbuild.BuildBytes(ctx, root, "./bench/barefloor")
	}
	var extra []string
	switch v {
	case RawRelease:
	case RawFault:
		extra = []string{faultTag}
	case RawWithNames:
		extra = []string{"-ldflags=-w"}
	default:
		return nil, fmt.Errorf("testmodule: no such variant %v", v)
	}
	dir, err := os.MkdirTemp("", "corswasm-testmodule-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "module.wasm")
	if err := wasmbuild.Compile(ctx, root, ".", out, extra...); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

// modules holds each variant's build, made on first use.
var modules [numVariants]func() ([]byte, error)

func init() {
	for v := range numVariants {
		modules[v] = sync.OnceValues(v.build)
	}
}

// Module returns variant v, building it on the first call for v in this
// test binary. Callers must not modify the module.
func Module(v Variant) ([]byte, error) {
	if v < 0 || v >= numVariants {
		return nil, fmt.Errorf("testmodule: no such variant %v", v)
	}
	code, err := modules[v]()
	if err != nil {
		return nil, fmt.Errorf("building the %v module: %w", v, err)
	}
	return code, nil
}

// Get is Module for a test: it stops tb (Fatal) when the build fails.
func Get(tb testing.TB, v Variant) []byte {
	tb.Helper()
	code, err := Module(v)
	if err != nil {
		tb.Fatal(err)
	}
	return code
}

// Prepare builds the variants vs, in parallel, that are not built yet, so
// that a package that needs several does not wait for them one by one.
func Prepare(vs ...Variant) error {
	errs := make([]error, len(vs))
	var wg sync.WaitGroup
	for i, v := range vs {
		wg.Go(func() { _, errs[i] = Module(v) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes variant v into dir as name and returns its path, for
// hosts that read the module from a file.
func WriteFile(tb testing.TB, v Variant, dir, name string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, Get(tb, v), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Cache returns the wazero compilation cache of the test binary: every VM
// that uses it compiles a given module once. It is never closed; it lives
// in memory until the test binary exits.
var Cache = sync.OnceValue(wazero.NewCompilationCache)

// The shared test policies.
var (
	// RoutedPolicy allows https://app.example.com (GET and PUT, the
	// content-type request header, credentials, x-request-id exposed,
	// preflights cached 600 s), with a stricter policy on the route
	// admin-route (https://admin.example.com, GET): the plugin reads the
	// route name. testdata/routed.json.
	RoutedPolicy = strings.TrimSuffix(routed, "\n")
	// SimplePolicy is RoutedPolicy without the route policy: the plugin
	// never reads the route name. testdata/simple.json.
	SimplePolicy = strings.TrimSuffix(simple, "\n")
	// BenchPolicy is the engine benchmarks' small policy (two origins, one
	// of them a wildcard, four methods, two headers, credentials).
	// testdata/bench.json.
	BenchPolicy = strings.TrimSuffix(bench, "\n")
	// ReportPolicy is a report-mode policy: https://app.example.com (GET
	// and PUT, content-type, x-request-id exposed, no credentials) by
	// default, and a policy named admin on /admin/
	// (https://admin.example.com, GET, credentials). testdata/report.json.
	ReportPolicy = strings.TrimSuffix(report, "\n")
)

var (
	//go:embed testdata/routed.json
	routed string
	//go:embed testdata/simple.json
	simple string
	//go:embed testdata/bench.json
	bench string
	//go:embed testdata/report.json
	report string
)

// LargePolicy is the engine benchmarks' large policy: the origins and
// regexes of LargeOrigins, PUT and content-type.
func LargePolicy() string {
	origins, regexes := LargeOrigins()
	return `{"allowOrigins": ["` + strings.Join(origins, `", "`) + `"], "allowOriginRegexes": ["` +
		strings.ReplaceAll(strings.Join(regexes, `", "`), `\`, `\\`) + `"], "allowMethods": ["PUT"], "allowHeaders": ["content-type"]}`
}

// LargeOrigins are the origins of LargePolicy: 100 exact origins
// (https://app0.example.net ...), then 20 wildcard patterns
// (https://*.tenant0.example.org ...); and its 5 regexes
// (https://pr-[0-9]+\.preview0\.example\.com ...).
func LargeOrigins() (origins, regexes []string) {
	for i := range 100 {
		origins = append(origins, "https://app"+strconv.Itoa(i)+".example.net")
	}
	for i := range 20 {
		origins = append(origins, "https://*.tenant"+strconv.Itoa(i)+".example.org")
	}
	for i := range 5 {
		regexes = append(regexes, `https://pr-[0-9]+\.preview`+strconv.Itoa(i)+`\.example\.com`)
	}
	return origins, regexes
}
