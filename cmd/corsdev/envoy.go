//go:build !wasip1

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// renderEnvoy returns envoy.yaml with the plugin's inline policy (the
// block scalar under the StringValue's `value: |`) replaced by config and
// the module's filename by wasm, changing nothing else. (cmd/corsctl's
// render does this for every artifact; this is the small splice corsdev
// needs, until a shared package exports one.)
func renderEnvoy(yaml, config []byte, wasm string) ([]byte, error) {
	lines := strings.SplitAfter(string(yaml), "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == "value: |" && i > 0 && strings.Contains(lines[i-1], "google.protobuf.StringValue") {
			if start >= 0 {
				return nil, errors.New("envoy.yaml has more than one inline plugin configuration")
			}
			start = i + 1
		}
	}
	if start < 0 || start >= len(lines) {
		return nil, errors.New("envoy.yaml has no inline plugin configuration (a StringValue with value: |)")
	}
	indent := lines[start][:len(lines[start])-len(strings.TrimLeft(lines[start], " "))]
	if len(indent) <= len(lines[start-1])-len(strings.TrimLeft(lines[start-1], " ")) {
		return nil, errors.New("envoy.yaml's inline plugin configuration is empty")
	}
	end := start
	for end < len(lines) && (strings.HasPrefix(lines[end], indent) || strings.TrimSpace(lines[end]) == "") {
		end++
	}
	// Blank lines at the end belong to what follows.
	for end > start && strings.TrimSpace(lines[end-1]) == "" {
		end--
	}
	var b strings.Builder
	for _, l := range lines[:start] {
		b.WriteString(l)
	}
	for _, l := range strings.Split(strings.TrimRight(string(config), "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			b.WriteString(indent)
		}
		b.WriteString(strings.TrimRight(l, "\r"))
		b.WriteString("\n")
	}
	for _, l := range lines[end:] {
		b.WriteString(l)
	}
	out := []byte(b.String())
	filename := regexp.MustCompile(`filename: [^\s}]+`)
	if n := len(filename.FindAll(out, -1)); n != 1 {
		return nil, fmt.Errorf("envoy.yaml names %d module files (filename:); want 1", n)
	}
	return filename.ReplaceAllLiteral(out, []byte("filename: "+yamlQuote(wasm))), nil
}

// yamlQuote quotes a path for a YAML flow mapping when it needs it.
func yamlQuote(s string) string {
	if strings.ContainsAny(s, " :{}[],#&*!|>'\"%@`") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}

// writeEnvoyConfig renders envoyYAML with config and the module at wasm
// into a temporary file, and returns its path and a function removing it.
func writeEnvoyConfig(envoyYAML string, config []byte, wasm string) (string, func(), error) {
	yaml, err := os.ReadFile(envoyYAML)
	if err != nil {
		return "", nil, fmt.Errorf("envoy is on PATH but %s is missing (%v): run from the repository root, or pass -embedded", envoyYAML, err)
	}
	wasm, err = filepath.Abs(wasm)
	if err != nil {
		return "", nil, err
	}
	out, err := renderEnvoy(yaml, config, wasm)
	if err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp("", "corsdev-envoy-*.yaml")
	if err != nil {
		return "", nil, err
	}
	remove := func() { os.Remove(f.Name()) }
	if _, err := f.Write(out); err != nil {
		f.Close()
		remove()
		return "", nil, err
	}
	if err := f.Close(); err != nil {
		remove()
		return "", nil, err
	}
	return f.Name(), remove, nil
}
