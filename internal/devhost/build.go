//go:build !wasip1

package devhost

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// buildPackages are what plugin.wasm is built from, as make build builds
// it: package "." for GOOS=wasip1 GOARCH=wasm, then the post-link step,
// which runs package internal/wasishim natively (through
// internal/wasmbuild). A package absent from root is skipped.
var buildPackages = []struct {
	pkg  string
	wasm bool
}{
	{".", true},
	{"./internal/wasmbuild", false},
}

// Stale says why the module at wasm must be built again from the sources
// in root: "" when it is newer than all of them, "missing" when it does not
// exist, else the newer source file ("older than filter/engine.go").
func Stale(root, wasm string) (string, error) {
	info, err := os.Stat(wasm)
	if errors.Is(err, fs.ErrNotExist) {
		return "missing", nil
	}
	if err != nil {
		return "", err
	}
	srcs, err := Sources(root)
	if err != nil {
		return "", err
	}
	for _, src := range srcs {
		fi, err := os.Stat(filepath.Join(root, src))
		if errors.Is(err, fs.ErrNotExist) {
			continue // go.sum of a module without dependencies
		}
		if err != nil {
			return "", err
		}
		if fi.ModTime().After(info.ModTime()) {
			return "older than " + filepath.ToSlash(src), nil
		}
	}
	return "", nil
}

// Sources returns the files, relative to root and sorted, that plugin.wasm
// is built from: go.mod, go.sum, and the files of the module's own packages
// that the build compiles in, as go list -deps reports them (every package
// of this module that package "." imports, directly or not, for
// GOOS=wasip1 GOARCH=wasm, and those of the post-link step). Test files are
// not among them.
func Sources(root string) ([]string, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	srcs := []string{"go.mod", "go.sum"}
	for _, b := range buildPackages {
		if _, err := os.Stat(filepath.Join(root, b.pkg)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		files, err := listDeps(root, b.pkg, b.wasm)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, files...)
	}
	slices.Sort(srcs)
	return slices.Compact(srcs), nil
}

// listDeps asks go list for the source files of the main module's packages
// that pkg depends on (itself included).
func listDeps(root, pkg string, wasm bool) ([]string, error) {
	const format = `{{if and .Module .Module.Main}}{{.Dir}}` +
		`{{range .GoFiles}}{{"\t"}}{{.}}{{end}}{{range .SFiles}}{{"\t"}}{{.}}{{end}}` +
		`{{range .EmbedFiles}}{{"\t"}}{{.}}{{end}}{{"\n"}}{{end}}`
	cmd := exec.Command("go", "list", "-deps", "-f", format, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PWD="+root)
	if wasm {
		cmd.Env = append(cmd.Env, "GOOS=wasip1", "GOARCH=wasm")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("listing the sources of %s (go list -deps %s in %s): %v\n%s", pkg, pkg, root, err, stderr.String())
	}
	var files []string
	for line := range strings.Lines(stdout.String()) {
		fields := strings.Split(strings.TrimRight(line, "\n"), "\t")
		rel, err := filepath.Rel(root, fields[0])
		if err != nil {
			return nil, err
		}
		for _, f := range fields[1:] {
			files = append(files, filepath.Join(rel, f))
		}
	}
	return files, nil
}
