//go:build !wasip1

package devhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildArgs are the go command's arguments of the release build of
// plugin.wasm, as `make build` runs it (with GOOS=wasip1 GOARCH=wasm), but
// for the output path.
var BuildArgs = []string{"build", "-buildmode=c-shared", "-ldflags=-s -w", "-trimpath", "-o"}

// Build builds plugin.wasm from the module in root (the directory of
// go.mod) into out, with the release command. Its error holds the
// compiler's output.
func Build(ctx context.Context, root, out string) error {
	args := append(append([]string(nil), BuildArgs...), out, ".")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building plugin.wasm (GOOS=wasip1 GOARCH=wasm go %s in %s): %v\n%s",
			strings.Join(args, " "), root, err, output.String())
	}
	return nil
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

// pluginSources are the parts of the module plugin.wasm is built from.
var pluginSources = []string{"main.go", "go.mod", "abi", "filter"}

// Stale says why the module at wasm must be built again from the sources
// in root: "" when it is newer than all of them, "missing" when it does not
// exist, else the newer source file.
func Stale(root, wasm string) (string, error) {
	info, err := os.Stat(wasm)
	if errors.Is(err, fs.ErrNotExist) {
		return "missing", nil
	}
	if err != nil {
		return "", err
	}
	built := info.ModTime()
	var newer string
	for _, src := range pluginSources {
		err := filepath.WalkDir(filepath.Join(root, src), func(path string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // not part of this checkout
			}
			if err != nil || e.IsDir() || newer != "" {
				return err
			}
			if strings.HasSuffix(path, "_test.go") || !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".mod") {
				return nil
			}
			if fi, err := e.Info(); err == nil && fi.ModTime().After(built) {
				newer, _ = filepath.Rel(root, path)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		if newer != "" {
			return "older than " + newer, nil
		}
	}
	return "", nil
}
