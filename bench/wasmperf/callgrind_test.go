//go:build !wasip1

package main

import (
	"strings"
	"testing"
)

const perfMap = `7f0000001000 40 [1349/1545].github.com_corswasm_corswasm_abi.ParsePairs:::::L0
7f0000001040 20 [1349/1545].github.com_corswasm_corswasm_abi.ParsePairs:::::L1
7f0000002000 10 [12/1545].runtime.memmove:::::L0
7f0000003000 10 trampoline:env.proxy_log
`

func TestInstructionsCountedByWasmFunction(t *testing.T) {
	syms, err := readPerfMap(strings.NewReader(perfMap))
	if err != nil {
		t.Fatal(err)
	}
	in := `--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
1,000,000 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                   file:function
--------------------------------------------------------------------------------
  600,000 (60.00%)  /usr/local/go/src/runtime/malloc.go:runtime.mallocgc [/tmp/bench.test]
  200,000 (20.00%)  ???:0x00007f0000001008 [???]
  100,000 (10.00%)  ???:0x00007f0000001050 [???]
   50,000 ( 5.00%)  ???:0x00007f0000002000 [???]
   40,000 ( 4.00%)  ???:0x00007f0000003004 [???]
   10,000 ( 1.00%)  ???:0x00007f0000001060 [???]
`
	var out strings.Builder
	if err := instructionsBy(strings.NewReader(in), &out, syms, 1000, 10); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"module: 350 instructions per exchange (of 1000 counted in all)\n",
		"     300   85.7%  abi.ParsePairs\n",
		"      50   14.3%  runtime.memmove\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "trampoline") {
		t.Errorf("a wazero trampoline counted as a Wasm function:\n%s", got)
	}
}

func TestInstructionsRefuseInputWithoutTheModule(t *testing.T) {
	syms, err := readPerfMap(strings.NewReader(perfMap))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"no totals":          "  200,000 (20.00%)  ???:0x00007f0000001008 [???]\n",
		"no module function": "1,000 (100.0%)  PROGRAM TOTALS\n  1,000 (100.00%)  ???:0x00007f0000009000 [???]\n",
	} {
		if err := instructionsBy(strings.NewReader(in), &strings.Builder{}, syms, 1, 1); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := readPerfMap(strings.NewReader("7f00 10 trampoline:env.proxy_log\n")); err == nil {
		t.Error("a perf map without a Wasm function was accepted")
	}
	if _, err := readPerfMap(strings.NewReader("garbage\n")); err == nil {
		t.Error("a line that is not a perf map's was accepted")
	}
}
