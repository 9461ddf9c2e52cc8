package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	goyaml "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// source is one plugin configuration found in a file.
type source struct {
	File  string // as given on the command line
	Where string // where in the file: "" for a plain configuration
	Name  string // the Wasm filter's or WasmPlugin's name, for --filter
	// Prefix goes before the engine's field paths to point into the file:
	// "spec.pluginConfig." for a WasmPlugin.
	Prefix string
	// JSON is the configuration exactly as the plugin receives it.
	JSON []byte
}

func (s source) label() string {
	if s.Where == "" {
		return s.File
	}
	return s.File + ", " + s.Where
}

// Type URLs that locate the plugin's configuration.
const (
	wasmFilterType = "envoy.extensions.filters.http.wasm.v3.Wasm"
	stringValue    = "google.protobuf.StringValue"
	bytesValue     = "google.protobuf.BytesValue"
)

// pluginFields are the plugin configuration's top-level fields: a JSON or
// YAML object with none of the markers of Envoy or Kubernetes documents is
// taken as a plugin configuration.
var envoyOrKubeMarkers = []string{"apiVersion", "kind", "static_resources", "dynamic_resources",
	"staticResources", "resources", "virtual_hosts", "virtualHosts", "listeners", "@type", "typed_config"}

// loadSources finds every plugin configuration in a file.
func (e *env) loadSources(file string) ([]source, error) {
	data, err := e.readFile(file)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%s is empty; pass the plugin's JSON configuration, an Envoy configuration or an Istio WasmPlugin", displayName(file))
	}
	if trimmed[0] == '{' {
		// JSON: a plugin configuration goes to the engine as it is, so that
		// its own errors (syntax, repeated fields) are the ones reported.
		var top map[string]any
		if json.Unmarshal(data, &top) != nil || !hasAny(top, envoyOrKubeMarkers) {
			return []source{{File: file, JSON: data}}, nil
		}
		return sourcesIn(file, []any{top})
	}
	docs, err := yamlDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s is neither JSON nor YAML: %v", displayName(file), err)
	}
	return sourcesIn(file, docs)
}

// sourcesIn finds the plugin configurations in decoded YAML or JSON
// documents: WasmPlugins, TrafficExtensions, plain configurations and
// Envoy Wasm filters.
func sourcesIn(file string, docs []any) ([]source, error) {
	var out []source
	var kinds []string
	for i, doc := range docs {
		m, ok := doc.(map[string]any)
		if !ok {
			continue
		}
		where := ""
		if len(docs) > 1 {
			where = "document " + strconv.Itoa(i+1)
		}
		if kind, _ := m["kind"].(string); kind != "" {
			// A WasmPlugin carries the configuration in spec.pluginConfig;
			// a TrafficExtension (Istio 1.30+) in spec.wasm.pluginConfig.
			spec, _ := m["spec"].(map[string]any)
			prefix := "spec."
			switch kind {
			case "WasmPlugin":
			case "TrafficExtension":
				spec, _ = spec["wasm"].(map[string]any)
				prefix = "spec.wasm."
			default:
				kinds = append(kinds, kind)
				continue
			}
			name := metaName(m)
			s := source{File: file, Where: kind + " " + name, Name: lastPart(name), Prefix: prefix + "pluginConfig."}
			if pc, ok := spec["pluginConfig"]; ok && pc != nil {
				s.JSON, _ = json.Marshal(pc)
			}
			out = append(out, s)
			continue
		}
		if !hasAny(m, envoyOrKubeMarkers) {
			data, _ := json.Marshal(m)
			w := "YAML converted to JSON"
			if where != "" {
				w = where + ", " + w
			}
			out = append(out, source{File: file, Where: w, JSON: data})
			continue
		}
		found := wasmFilters(m)
		for _, f := range found {
			if where != "" {
				f.Where = where + ", " + f.Where
			}
			f.File = file
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		msg := file + " holds no configuration of the plugin: expected its JSON configuration, an Envoy configuration with a Wasm HTTP filter (" +
			wasmFilterType + ") whose configuration is a StringValue, or an Istio WasmPlugin or TrafficExtension with a pluginConfig"
		for _, k := range kinds {
			if k == "VirtualService" {
				msg += "; it holds a VirtualService: convert its corsPolicy with \"corsctl import " + file + "\""
				break
			}
		}
		return nil, errors.New(msg)
	}
	return out, nil
}

// displayName names a FILE argument in messages.
func displayName(file string) string {
	if file == "-" {
		return "standard input"
	}
	return file
}

func hasAny(m map[string]any, keys []string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

func metaName(m map[string]any) string {
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns + "/" + name
	}
	return name
}

func lastPart(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }

// wasmFilters walks an Envoy document for Wasm HTTP filters and returns
// their plugin configurations, wherever they sit (listeners, filter chains,
// ECDS resources, typed structs).
func wasmFilters(doc any) []source {
	var out []source
	walk(doc, "", func(path string, m map[string]any) {
		tc, ok := m["typed_config"].(map[string]any)
		if !ok {
			return
		}
		wasm := wasmConfig(tc)
		if wasm == nil {
			return
		}
		name, _ := m["name"].(string)
		s := source{Name: name, Where: fmt.Sprintf("http filter %q at %s", name, path)}
		config, _ := field(wasm, "config").(map[string]any)
		configuration, _ := field(config, "configuration").(map[string]any)
		value, _ := configuration["value"].(string)
		switch typeName(configuration["@type"]) {
		case stringValue:
			s.JSON = []byte(value)
		case bytesValue:
			b, err := base64.StdEncoding.DecodeString(value)
			if err != nil {
				s.JSON = []byte(value)
			} else {
				s.JSON = b
			}
		case "":
			// no configuration: the plugin receives nothing
		default:
			s.Where += " (configuration is a " + typeName(configuration["@type"]) + ", not a StringValue)"
		}
		out = append(out, s)
	})
	return out
}

// wasmConfig returns the Wasm filter configuration in a typed_config, or nil.
func wasmConfig(tc map[string]any) map[string]any {
	switch t := typeName(tc["@type"]); {
	case t == wasmFilterType:
		return tc
	case strings.HasSuffix(t, ".TypedStruct"):
		if typeName(field(tc, "type_url")) == wasmFilterType {
			v, _ := tc["value"].(map[string]any)
			return v
		}
	}
	return nil
}

// typeName strips the type.googleapis.com/ prefix from a type URL.
func typeName(v any) string {
	s, _ := v.(string)
	return s[strings.LastIndexByte(s, '/')+1:]
}

// field reads a protobuf field written in snake_case or lowerCamelCase.
func field(m map[string]any, snake string) any {
	if m == nil {
		return nil
	}
	if v, ok := m[snake]; ok {
		return v
	}
	return m[camel(snake)]
}

func camel(snake string) string {
	parts := strings.Split(snake, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// walk calls fn on every object in v, depth first, in document order
// (object keys sorted), with its path.
func walk(v any, path string, fn func(path string, m map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(path, v)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walk(v[k], p, fn)
		}
	case []any:
		for i, x := range v {
			walk(x, path+"["+strconv.Itoa(i)+"]", fn)
		}
	}
}

// yamlDocuments decodes every document of a YAML stream into JSON values
// (maps, slices, strings, float64s, bools), as sigs.k8s.io/yaml reads them.
func yamlDocuments(data []byte) ([]any, error) {
	dec := goyaml.NewDecoder(bytes.NewReader(data))
	var docs []any
	for {
		var doc any
		err := dec.Decode(&doc)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if doc == nil {
			continue
		}
		// One document at a time through sigs.k8s.io/yaml, which turns YAML
		// into JSON the way Kubernetes and Istio tooling do.
		text, err := goyaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		var v any
		if err := yaml.Unmarshal(text, &v); err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
}
