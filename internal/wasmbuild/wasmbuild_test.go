//go:build !wasip1

package wasmbuild_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/corswasm/corswasm/internal/gobools"
	"github.com/corswasm/corswasm/internal/gomoves"
	"github.com/corswasm/corswasm/internal/wasmbuild"
)

// TestThePluginIsBuiltPostLinked checks that the build every test and tool
// uses (Build, as `make build`) runs the whole post-link step: the go build
// alone has WASI functions to define, jumps to make direct, stack
// addresses to fold and small copies and clears to unroll, the post-linked go build is the built plugin byte for
// byte, and post-linking the plugin again finds nothing left to do. (The
// engine's and the ABI layer's own tests run post-linked in package
// gojumps's TestPackageTestsPassRewritten.)
func TestThePluginIsBuiltPostLinked(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin (-short)")
	}
	ctx := context.Background()
	root, err := wasmbuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	plugin, err := wasmbuild.BuildBytes(ctx, root, ".")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "raw.wasm")
	if err := wasmbuild.Compile(ctx, root, ".", out); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	linked, first, err := wasmbuild.PostLink(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.WASI.Embedded) == 0 || first.Jumps.Functions < 1000 || first.Jumps.Direct < 10000 || first.Addresses.Folded < 10000 ||
		first.Moves.Copies < 50 || first.Moves.Fills < 50 || first.Bools.Removed < 1000 || first.Bools.Negations < 1000 ||
		first.Stubs.Stubs < 10 || first.Stubs.Inlined < 30 || len(first.Fast.Added) != 4 {
		t.Errorf("post-linking the go build: WASI %v, jumps %+v, addresses %+v, moves %+v, boolean tests %+v, stubs %+v, fast callbacks %+v; want WASI functions defined, over 1,000 Go functions, over 10,000 jumps and addresses, over 50 copies and clears, over 1,000 instructions of boolean tests removed and double tests made one, over 10 host-call stubs and 30 calls of them written in, four fast callbacks added",
			first.WASI.Embedded, first.Jumps, first.Addresses, first.Moves, first.Bools, first.Stubs, first.Fast)
	}
	if !bytes.Equal(linked, plugin) {
		t.Error("the post-linked go build differs from the built plugin")
	}
	again, r, err := wasmbuild.PostLink(plugin)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.WASI.Embedded) != 0 || r.Jumps.Direct != 0 || r.Jumps.Entries != 0 || r.Addresses.Folded != 0 ||
		r.Moves != (gomoves.Report{}) || r.Bools != (gobools.Report{}) || r.Stubs.Inlined != 0 || !r.Fast.Done || !bytes.Equal(again, plugin) {
		t.Errorf("post-linking the built plugin again: WASI %v, jumps %+v, addresses %+v, moves %+v, boolean tests %+v, fast callbacks %+v; want nothing left to do",
			r.WASI.Embedded, r.Jumps, r.Addresses, r.Moves, r.Bools, r.Fast)
	}
}
