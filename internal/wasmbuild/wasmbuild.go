// Package wasmbuild builds this repository's modules (plugin.wasm, the
// benchmarks' floor module) as `make build` does, for the tools and tests
// that run them: the go build, then the post-link step (PostLink: packages
// wasishim, gojumps, goaddr, gomoves and fastpath).
package wasmbuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/corswasm/corswasm/internal/fastpath"
	"github.com/corswasm/corswasm/internal/goaddr"
	"github.com/corswasm/corswasm/internal/gobools"
	"github.com/corswasm/corswasm/internal/gojumps"
	"github.com/corswasm/corswasm/internal/gomoves"
	"github.com/corswasm/corswasm/internal/gostubs"
	"github.com/corswasm/corswasm/internal/wasishim"
)

// Flags are the go build flags of the release build, as `make build` runs
// it with GOOS=wasip1 GOARCH=wasm.
var Flags = []string{"-buildmode=c-shared", "-ldflags=-s -w", "-trimpath"}

// Build builds the package pkg (".", or a path such as "./bench/floor")
// of the module in root into out, with the release flags and any extra
// ones (e.g. "-tags=corswasm_faultinject"), then runs the post-link step
// (PostLink), as `make build` does. Its error holds the compiler's output.
func Build(ctx context.Context, root, pkg, out string, extra ...string) error {
	if err := Compile(ctx, root, pkg, out, extra...); err != nil {
		return err
	}
	module, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	rewritten, _, err := PostLink(module)
	if err != nil {
		return fmt.Errorf("post-link step on %s: %w", out, err)
	}
	return os.WriteFile(out, rewritten, 0o644)
}

// PostLinkReport says what PostLink did.
type PostLinkReport struct {
	WASI      *wasishim.Report
	Jumps     gojumps.Report
	Addresses goaddr.Report
	Moves     gomoves.Report
	Bools     gobools.Report
	Stubs     gostubs.Report
	Fast      fastpath.Report
}

// PostLink is the post-link step of the build (cmd/postlink, `make
// build`): it defines inside module the WASI functions older Envoys lack
// (wasishim.Embed), then makes the jumps of its Go code direct
// (gojumps.Rewrite), folds its stack addresses into the loads and
// stores that use them (goaddr.Rewrite), writes its small fixed-size
// copies and clears as word loads and stores (gomoves.Rewrite), shortens
// the boolean tests of its Go code (gobools.Rewrite), and puts
// callbacks of plain WebAssembly in front of Go's for their usual cases
// (fastpath.Rewrite: proxy_on_memory_allocate, proxy_on_context_create,
// proxy_on_delete, proxy_on_response_headers). Nothing is returned but an error when a step cannot
// fully read the module.
func PostLink(module []byte) ([]byte, PostLinkReport, error) {
	var r PostLinkReport
	var err error
	if module, r.WASI, err = wasishim.Embed(module); err != nil {
		return nil, PostLinkReport{}, err
	}
	if module, r.Jumps, err = gojumps.Rewrite(module); err != nil {
		return nil, PostLinkReport{}, fmt.Errorf("making jumps direct: %w", err)
	}
	if module, r.Addresses, err = goaddr.Rewrite(module); err != nil {
		return nil, PostLinkReport{}, fmt.Errorf("folding stack addresses: %w", err)
	}
	if module, r.Moves, err = gomoves.Rewrite(module); err != nil {
		return nil, PostLinkReport{}, fmt.Errorf("unrolling small copies and clears: %w", err)
	}
	if module, r.Bools, err = gobools.Rewrite(module); err != nil {
		return nil, PostLinkReport{}, fmt.Errorf("shortening boolean tests: %w", err)
	}
	if module, r.Stubs, err = gostubs.Rewrite(module); err != nil {
		return nil, PostLinkReport{}, fmt.Errorf("writing host-call stubs into their callers: %w", err)
	}
	if module, r.Fast, err = fastpath.Rewrite(module); err != nil {
		return nil, PostLinkReport{}, fmt.Errorf("adding the fast callbacks: %w", err)
	}
	return module, r, nil
}

// Compile is Build without the post-link step: the go build alone, whose
// module imports sched_yield and poll_oneoff (for tests that show why the
// step is needed).
func Compile(ctx context.Context, root, pkg, out string, extra ...string) error {
	args := append(append(append([]string{"build"}, Flags...), extra...), "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s (GOOS=wasip1 GOARCH=wasm go %s in %s): %v\n%s",
			pkg, strings.Join(args, " "), root, err, output.String())
	}
	return nil
}

// BuildBytes builds pkg as Build does, in a temporary directory, and
// returns the module.
func BuildBytes(ctx context.Context, root, pkg string, extra ...string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "corswasm-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "module.wasm")
	if err := Build(ctx, root, pkg, out, extra...); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

// ModuleRoot walks up from dir to the directory that holds this module's
// go.mod.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/corswasm/corswasm\n")) {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod of github.com/corswasm/corswasm in %s or above: run from the repository", dir)
		}
		d = parent
	}
}
