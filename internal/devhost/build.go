//go:build !wasip1

package devhost

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

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
