// corsctl render: the policy of one file, written into every artifact of
// the repository that carries it, by splicing the bytes of the embedded
// policy only (comments, order and formatting of the rest kept).

package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/corswasm/corswasm/filter"
)

// artifact is one place of a file that carries the plugin's policy.
type artifact struct {
	File  string // as shown: relative to the root, with slashes
	Line  int    // where the policy starts
	Where string // the field, e.g. spec.pluginConfig
	json  bool   // a JSON document in a literal block scalar (Envoy's StringValue); else a YAML mapping
	node  *yaml.Node
	// The bytes of the policy: data[start:end].
	start, end int
	indent     string // of the policy's lines after the first
}

// renderChange is what render does to one artifact.
type renderChange struct {
	artifact
	differs []string // the fields that differ; empty with a layout-only change
	same    bool     // the artifact already carries the policy, byte for byte
}

// renderPlan is every change render makes, computed before anything is
// written.
type renderPlan struct {
	changes []renderChange
	files   map[string][]byte // the new content of each file that changes, by path on disk
	paths   map[string]string // path on disk of each shown file name
}

// planRender reads the policy file and the artifacts (files, or those found
// under root) and computes the new content of each. A policy the engine
// refuses is an error.
func planRender(root, configFile string, files []string) (*renderPlan, error) {
	data, err := os.ReadFile(configFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read the policy file: %v", err)
	}
	if _, err := filter.Parse(data); err != nil {
		return nil, fmt.Errorf("the plugin refuses %s, nothing written:\n%v", configFile, err)
	}
	policy, err := decodePolicyDoc(data)
	if err != nil || policy.kind != 'o' {
		return nil, fmt.Errorf("%s: not a JSON object", configFile)
	}
	explicit := len(files) > 0
	if !explicit {
		if files, err = artifactFiles(root); err != nil {
			return nil, err
		}
	}
	plan := &renderPlan{files: map[string][]byte{}, paths: map[string]string{}}
	for _, path := range files {
		shown := path
		if !explicit {
			shown, _ = filepath.Rel(root, path)
			shown = filepath.ToSlash(shown)
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %v", shown, err)
		}
		arts, err := findArtifacts(shown, content)
		if err != nil {
			if explicit {
				return nil, err
			}
			continue // not YAML: carries nothing render can edit
		}
		if len(arts) == 0 {
			if explicit {
				return nil, fmt.Errorf("%s carries no policy of the plugin (an Envoy Wasm filter with a StringValue configuration, a WasmPlugin or TrafficExtension pluginConfig, an EnvoyExtensionPolicy wasm config)", shown)
			}
			continue
		}
		plan.paths[shown] = path
		out, changed := content, false
		// From the last to the first, so that earlier offsets hold.
		for i := len(arts) - 1; i >= 0; i-- {
			a := arts[i]
			c, text, err := renderInto(a, content, policy)
			if err != nil {
				return nil, err
			}
			if !c.same {
				out = slices.Concat(out[:a.start:a.start], []byte(text), out[a.end:])
				changed = true
			}
			plan.changes = append(plan.changes, c)
		}
		if changed {
			plan.files[path] = out
		}
	}
	slices.SortStableFunc(plan.changes, func(a, b renderChange) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	if len(plan.changes) == 0 {
		return nil, fmt.Errorf("no artifact carries the plugin's policy under %s (envoy.yaml, deploy/): run corsctl render from the repository's root, or name the files", root)
	}
	return plan, nil
}

// renderInto computes the text of policy for one artifact, keeping the
// artifact's own mode when it has one (the report step of a rollout stays
// in report mode).
func renderInto(a artifact, content []byte, policy *pval) (renderChange, string, error) {
	c := renderChange{artifact: a}
	var got *pval
	var err error
	if a.json {
		got, err = decodePolicyDoc([]byte(a.node.Value))
	} else {
		got, err = pvalOfNode(a.node)
	}
	want := policy
	if err == nil {
		if m := got.get("mode"); m != nil {
			want = policy.withMode(m)
		}
	}
	var text string
	if a.json {
		var b strings.Builder
		for line := range strings.SplitSeq(policyDocJSON(want), "\n") {
			b.WriteString(a.indent + line + "\n")
		}
		text = b.String()
	} else {
		text = policyYAML(want, a.indent)
	}
	c.same = text == string(content[a.start:a.end])
	if !c.same {
		if err != nil {
			c.differs = []string{"the policy is not JSON (" + err.Error() + ")"}
		} else {
			c.differs = pvalDiff("", want, got)
		}
	}
	return c, text, nil
}

// artifactFiles lists the files render looks into: envoy.yaml and the YAML
// files under deploy/.
func artifactFiles(root string) ([]string, error) {
	var out []string
	if _, err := os.Stat(filepath.Join(root, "envoy.yaml")); err == nil {
		out = append(out, filepath.Join(root, "envoy.yaml"))
	}
	deploy := filepath.Join(root, "deploy")
	if _, err := os.Stat(deploy); err != nil {
		return out, nil
	}
	err := filepath.WalkDir(deploy, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// findArtifacts finds the plugin's policies in a YAML file: Envoy Wasm HTTP
// filters of the plugin with a StringValue configuration, the pluginConfig
// of WasmPlugins and TrafficExtensions of the plugin, the config of the
// plugin's entries in EnvoyExtensionPolicies.
func findArtifacts(name string, content []byte) ([]artifact, error) {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var found []artifact
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s is not YAML: %v", name, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		top := doc.Content[0]
		spec := lookup(top, "spec")
		switch scalar(lookup(top, "kind")) {
		case "WasmPlugin":
			if ours(spec) {
				found = addMapping(found, name, "spec.pluginConfig", lookup(spec, "pluginConfig"))
			}
			continue
		case "TrafficExtension":
			if w := lookup(spec, "wasm"); ours(w) {
				found = addMapping(found, name, "spec.wasm.pluginConfig", lookup(w, "pluginConfig"))
			}
			continue
		case "EnvoyExtensionPolicy":
			if w := lookup(spec, "wasm"); w != nil && w.Kind == yaml.SequenceNode {
				for i, e := range w.Content {
					if ours(e) {
						found = addMapping(found, name, fmt.Sprintf("spec.wasm[%d].config", i), lookup(e, "config"))
					}
				}
			}
			continue
		}
		walkNodes(top, "", func(path string, m *yaml.Node) {
			tc := lookup(m, "typed_config", "typedConfig")
			wasm := tc
			if t := scalar(lookup(tc, "@type")); strings.HasSuffix(t, ".TypedStruct") &&
				strings.HasSuffix(scalar(lookup(tc, "type_url", "typeUrl")), "/"+wasmFilterType) {
				wasm = lookup(tc, "value")
			} else if !strings.HasSuffix(t, "/"+wasmFilterType) {
				return
			}
			config := lookup(wasm, "config")
			if scalar(lookup(m, "name")) != "cors" && scalar(lookup(config, "name")) != "cors" &&
				scalar(lookup(config, "root_id", "rootId")) != "cors" {
				return
			}
			conf := lookup(config, "configuration")
			if !strings.HasSuffix(scalar(lookup(conf, "@type")), "/"+stringValue) {
				return
			}
			v := lookup(conf, "value")
			if v == nil || v.Kind != yaml.ScalarNode {
				return
			}
			prefix := path
			if prefix != "" {
				prefix += "."
			}
			found = append(found, artifact{File: name, Line: v.Line, node: v, json: true,
				Where: fmt.Sprintf("configuration.value of the Wasm filter %q (%styped_config.config)", scalar(lookup(m, "name")), prefix)})
		})
	}
	if err := locate(found, content); err != nil {
		return nil, err
	}
	return found, nil
}

// ours tells the plugin's WasmPlugin, TrafficExtension wasm or
// EnvoyExtensionPolicy entry: named cors, or loading the corswasm image.
func ours(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	url := scalar(lookup(n, "url")) + scalar(lookup(lookup(lookup(n, "code"), "image"), "url"))
	return scalar(lookup(n, "pluginName")) == "cors" || scalar(lookup(n, "name")) == "cors" ||
		strings.Contains(url, "corswasm")
}

func addMapping(found []artifact, name, where string, n *yaml.Node) []artifact {
	if n == nil {
		return found
	}
	return append(found, artifact{File: name, Line: n.Line, Where: where, node: n})
}

// locate finds the bytes of each artifact's policy.
func locate(arts []artifact, content []byte) error {
	lines := bytes.SplitAfter(content, []byte("\n"))
	starts := make([]int, len(lines)+1)
	for i, l := range lines {
		starts[i+1] = starts[i] + len(l)
	}
	indentOf := func(l []byte) int { return len(l) - len(bytes.TrimLeft(l, " ")) }
	blank := func(l []byte) bool { return len(bytes.TrimSpace(l)) == 0 }
	for i := range arts {
		a := &arts[i]
		n := a.node
		fail := func(why string) error {
			return fmt.Errorf("%s:%d: %s: %s; render edits a policy written as a block (value: | for Envoy, a block mapping for a manifest)", a.File, n.Line, a.Where, why)
		}
		if a.json {
			// A literal block scalar: its content is the lines after the
			// header at the first content line's indentation or deeper.
			if n.Style != yaml.LiteralStyle {
				return fail("the configuration is not a literal block scalar")
			}
			header := strings.TrimSpace(string(lines[n.Line-1][n.Column-1:]))
			if strings.ContainsAny(header, "123456789") {
				return fail("an indentation indicator")
			}
			a.start, a.end = starts[n.Line], starts[n.Line]
			ind := -1
			for l := n.Line; l < len(lines); l++ {
				if blank(lines[l]) {
					continue
				}
				if ind < 0 {
					ind = indentOf(lines[l])
					if ind <= indentOf(lines[n.Line-1]) {
						break // empty block
					}
				}
				if indentOf(lines[l]) < ind {
					break
				}
				a.end = starts[l+1]
			}
			if ind <= indentOf(lines[n.Line-1]) {
				ind = indentOf(lines[n.Line-1]) + 2
			}
			a.indent = strings.Repeat(" ", ind)
			continue
		}
		// A block mapping: from its first key to its last content line at
		// its indentation or deeper (comments after it stay).
		if n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle != 0 || len(n.Content) == 0 {
			return fail("not a block mapping")
		}
		col := n.Column - 1
		a.start = starts[n.Line-1] + col
		end := n.Line - 1
		for l := n.Line; l < len(lines); l++ {
			t := bytes.TrimSpace(lines[l])
			if len(t) == 0 || t[0] == '#' {
				continue
			}
			if indentOf(lines[l]) < col {
				break
			}
			end = l
		}
		if last := lastLine(n); last-1 > end {
			return fail("a line of the mapping is indented less than its first key")
		}
		a.end = starts[end] + len(bytes.TrimRight(lines[end], "\r\n"))
		a.indent = strings.Repeat(" ", col)
	}
	return nil
}

// lastLine is the last line of any node inside n.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// lookup returns the value of the first of keys in mapping n, or nil.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for _, k := range keys {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				return n.Content[i+1]
			}
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// walkNodes calls fn on every mapping in n, in document order, with its path.
func walkNodes(n *yaml.Node, path string, fn func(path string, m *yaml.Node)) {
	switch n.Kind {
	case yaml.MappingNode:
		fn(path, n)
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			walkNodes(n.Content[i+1], p, fn)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkNodes(c, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

// write writes every changed file, each atomically (a temporary file in
// its directory, renamed over it).
func (p *renderPlan) write() error {
	paths := make([]string, 0, len(p.files))
	for path := range p.files {
		paths = append(paths, path)
	}
	slices.Sort(paths)
	for _, path := range paths {
		if err := writeAtomic(path, p.files[path]); err != nil {
			return err
		}
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".render-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(info.Mode().Perm())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	return nil
}

// differences describes each artifact that differs from the policy file,
// one line each: file:line, field, and the policy's fields that differ.
func (p *renderPlan) differences(configFile string) []string {
	var out []string
	for _, c := range p.changes {
		if c.same {
			continue
		}
		how := "differs in " + strings.Join(c.differs, ", ")
		if len(c.differs) == 0 {
			how = "has the same policy in another layout"
		}
		out = append(out, fmt.Sprintf("%s:%d: %s %s from %s", c.File, c.Line, c.Where, how, configFile))
	}
	return out
}

// checkRender is render --check: nil when every artifact under root
// carries the policy of configFile, else an error naming each one that
// differs.
func checkRender(root, configFile string, files []string) error {
	plan, err := planRender(root, configFile, files)
	if err != nil {
		return err
	}
	if d := plan.differences(configFile); len(d) > 0 {
		return &renderDiffError{d}
	}
	return nil
}

type renderDiffError struct{ lines []string }

func (e *renderDiffError) Error() string {
	return strings.Join(e.lines, "\n") + "\nrun corsctl render to write the policy into them"
}
