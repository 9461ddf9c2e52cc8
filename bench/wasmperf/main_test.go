//go:build !wasip1

package main

import (
	"strings"
	"testing"
)

func TestReportSumsSamplesByWasmFunction(t *testing.T) {
	in := `# Overhead  Symbol
     6.00%  [.] [1349/1545].github.com_corswasm_corswasm_abi.ParsePairs:::::L46          -      -
     4.00%  [.] [1349/1545].github.com_corswasm_corswasm_abi.ParsePairs:::::L58
     5.00%  [.] [12/1545].runtime.memmove:::::L0
    85.00%  [.] github.com/corswasm/corswasm/internal/wasmhost.lower
`
	var out strings.Builder
	if err := report(strings.NewReader(in), &out, 1000, 1e-3, 10); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"Wasm functions: 15.0% of the samples, 150 ns per exchange; the host and the rest: 85.0%, 850 ns",
		"   100 ns   66.7% of the module's time  abi.ParsePairs\n",
		"    50 ns   33.3% of the module's time  runtime.memmove\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if err := report(strings.NewReader("    85.00%  [.] main.f\n"), &out, 1, 1, 1); err == nil {
		t.Error("a profile without Wasm samples was accepted")
	}
}
