package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	extensions "istio.io/api/extensions/v1alpha1"
	"sigs.k8s.io/yaml"

	// The Wasm filter's type, for protojson to resolve typed_config.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"

	"github.com/corswasm/corswasm/filter"
)

const (
	renderRepo   = "testdata/render/repo" // artifacts carrying an old policy
	renderWant   = "testdata/render/want" // the same after render (go test -update rewrites it)
	renderPolicy = "testdata/render/policy.json"
)

// TestRenderOnTheRepositoryIsANoOp is the repository's consistency check:
// every artifact carries config.json's policy, as corsctl render --check
// says (e2e/artifacts_render_test.go runs the command itself).
func TestRenderOnTheRepositoryIsANoOp(t *testing.T) {
	if err := checkRender("../..", "../../config.json", nil); err != nil {
		t.Errorf("corsctl render --check on the repository: %v", err)
	}
}

// copyTree copies dir into a temporary directory and returns it.
func copyTree(t *testing.T, dir string) string {
	t.Helper()
	tmp := t.TempDir()
	if err := os.CopyFS(tmp, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return tmp
}

// readTree reads every file under dir, by slash path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRenderWritesThePolicyOnly renders testdata/render/policy.json into the
// fixture repository and compares each file with testdata/render/want:
// only the policies of the plugin change, the artifacts' modes are kept;
// a second render changes nothing.
func TestRenderWritesThePolicyOnly(t *testing.T) {
	root := copyTree(t, renderRepo)
	plan, err := planRender(root, renderPolicy, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.write(); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, root)
	if *update {
		if err := os.RemoveAll(renderWant); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(renderWant, os.DirFS(root)); err != nil {
			t.Fatal(err)
		}
	}
	want := readTree(t, renderWant)
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s after render differs from %s (go test ./cmd/corsctl -update rewrites it):\n%s", name, renderWant, diff(w, got[name]))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d files after render, %d in %s", len(got), len(want), renderWant)
	}
	// Untouched: the files without our policy.
	before := readTree(t, renderRepo)
	for _, name := range []string{"deploy/misc/configmap.yml"} {
		if got[name] != before[name] {
			t.Errorf("%s changed", name)
		}
	}
	// Every artifact the fixture holds was found, and only those.
	var found []string
	for _, c := range plan.changes {
		found = append(found, c.File+" "+c.Where)
	}
	wantFound := []string{
		`deploy/envoy-gateway/policy.yaml spec.wasm[1].config`,
		`deploy/istio/multi.yaml spec.wasm.pluginConfig`,
		`deploy/istio/rollout-report.yaml spec.pluginConfig`,
		`deploy/istio/wasmplugin.yaml spec.pluginConfig`,
		`envoy.yaml configuration.value of the Wasm filter "cors" (static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config)`,
	}
	if strings.Join(found, "\n") != strings.Join(wantFound, "\n") {
		t.Errorf("artifacts found:\n%s\nwant:\n%s", strings.Join(found, "\n"), strings.Join(wantFound, "\n"))
	}
	// The modes: kept where the artifact has one.
	if !strings.Contains(got["deploy/istio/rollout-report.yaml"], "    mode: report\n") {
		t.Errorf("rollout-report.yaml lost its mode:\n%s", got["deploy/istio/rollout-report.yaml"])
	}
	// Idempotent, and check agrees.
	if err := checkRender(root, renderPolicy, nil); err != nil {
		t.Errorf("render --check after render: %v", err)
	}
	// Every rendered policy loads, and is the policy file's (but for mode).
	policy, err := os.ReadFile(renderPolicy)
	if err != nil {
		t.Fatal(err)
	}
	var wantDoc map[string]any
	if err := json.Unmarshal(policy, &wantDoc); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"envoy.yaml", "deploy/istio/wasmplugin.yaml", "deploy/istio/rollout-report.yaml", "deploy/istio/multi.yaml"} {
		sources, err := (&env{}).loadSources(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sources {
			if s.Name == "auth" {
				continue
			}
			if _, err := filter.Parse(s.JSON); err != nil {
				t.Errorf("%s: %v", s.label(), err)
			}
			var gotDoc map[string]any
			if err := json.Unmarshal(s.JSON, &gotDoc); err != nil {
				t.Fatal(err)
			}
			delete(gotDoc, "mode")
			if g, w := mustJSON(gotDoc), mustJSON(wantDoc); !bytes.Equal(g, w) {
				t.Errorf("%s: the policy is %s, want %s", s.label(), g, w)
			}
		}
	}
}

// TestRenderCheckNamesWhatDiffers: --check names each artifact and field.
func TestRenderCheckNamesWhatDiffers(t *testing.T) {
	err := checkRender(renderRepo, renderPolicy, nil)
	var d *renderDiffError
	if !errors.As(err, &d) {
		t.Fatalf("checkRender: %v, want the artifacts that differ", err)
	}
	if len(d.lines) != 5 {
		t.Errorf("%d artifacts differ, want 5:\n%v", len(d.lines), err)
	}
	for _, want := range []string{
		"deploy/istio/wasmplugin.yaml:16: spec.pluginConfig differs in allowOrigins, allowMethods (missing), allowHeaders (missing), allowPrivateNetwork (missing), maxAge (missing), policies[0].name (missing), policies[0].match.pathPrefixes, policies[0].match.hosts (missing), policies[0].exposeHeaders (missing) from testdata/render/policy.json\n",
		"deploy/envoy-gateway/policy.yaml:25: spec.wasm[1].config differs in allowOrigins, allowMethods (missing),",
		"deploy/istio/rollout-report.yaml:11: spec.pluginConfig differs in allowOrigins, allowMethods (missing), allowHeaders (missing), allowPrivateNetwork (missing), maxAge (missing), policies (missing) from",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("check says:\n%v\nwant a line with %q", err, want)
		}
	}
}

// TestRenderRefusedPolicyWritesNothing: a policy the engine refuses is an
// error with the engine's words (exit 2), and no file changes.
func TestRenderRefusedPolicyWritesNothing(t *testing.T) {
	refused, err := filepath.Abs("testdata/refused.json")
	if err != nil {
		t.Fatal(err)
	}
	_, engineErr := filter.Parse(readFile(t, refused))
	if engineErr == nil {
		t.Fatal("testdata/refused.json is accepted")
	}
	root := copyTree(t, renderRepo)
	before := readTree(t, root)
	t.Chdir(root)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"render", "--config", refused}, nil, &stdout, &stderr); code != exitUsage {
		t.Errorf("exit status %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), engineErr.Error()) || !strings.Contains(stderr.String(), "nothing written") {
		t.Errorf("stderr %q, want the engine's error %q and that nothing was written", stderr.String(), engineErr)
	}
	after := readTree(t, root)
	for name, b := range before {
		if after[name] != b {
			t.Errorf("%s changed", name)
		}
	}
	if len(after) != len(before) {
		t.Errorf("files were added: %d before, %d after", len(before), len(after))
	}
}

// freshArtifact runs corsctl render with args and returns its stdout.
func freshArtifact(t *testing.T, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"render", "--config", renderPolicy}, args...), nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("corsctl render %v: exit %d\n%s", args, code, stderr.String())
	}
	return stdout.Bytes()
}

// checkFreshPolicy checks that a printed artifact carries the policy file.
func checkFreshPolicy(t *testing.T, what string, sources []source) {
	t.Helper()
	if len(sources) != 1 {
		t.Fatalf("%s: %d policies, want 1", what, len(sources))
	}
	var got, want any
	if err := json.Unmarshal(sources[0].JSON, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readFile(t, renderPolicy), &want); err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(got), mustJSON(want); !bytes.Equal(g, w) {
		t.Errorf("%s carries %s, want %s", what, g, w)
	}
}

func mustYAMLDocs(t *testing.T, data []byte) []any {
	t.Helper()
	docs, err := yamlDocuments(data)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestRenderEnvoyFilter decodes the printed filter entry strictly into an
// HttpConnectionManager's http_filters, as the e2e artifact tests decode
// envoy.yaml, and validates it.
func TestRenderEnvoyFilter(t *testing.T) {
	out := freshArtifact(t, "--envoy-filter")
	js, err := yaml.YAMLToJSON(append([]byte("http_filters:\n"), out...))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var hcm hcmv3.HttpConnectionManager
	if err := protojson.Unmarshal(js, &hcm); err != nil {
		t.Fatalf("the filter does not follow Envoy's schema: %v\n%s", err, out)
	}
	f := hcm.GetHttpFilters()[0]
	inner, err := f.GetTypedConfig().UnmarshalNew()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := inner.(interface{ ValidateAll() error }); !ok {
		t.Errorf("%T has no validation", inner)
	} else if err := v.ValidateAll(); err != nil {
		t.Errorf("the Wasm filter fails validation: %v", err)
	}
	docs := mustYAMLDocs(t, append([]byte("http_filters:\n"), out...))
	checkFreshPolicy(t, "--envoy-filter", wasmFilters(docs[0]))
}

// TestRenderIstioResources decodes the printed WasmPlugin and
// TrafficExtension strictly into istio.io/api's types, with the project's
// defaults.
func TestRenderIstioResources(t *testing.T) {
	const image = "oci://registry.example.com/corswasm:0.1.0"
	for _, tc := range []struct {
		flag string
		msg  proto.Message
	}{
		{"--wasmplugin", &extensions.WasmPlugin{}},
		{"--trafficextension", &extensions.TrafficExtension{}},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			out := freshArtifact(t, tc.flag, "cors", "--namespace", "shop", "--url", image)
			var obj struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name      string `json:"name"`
					Namespace string `json:"namespace"`
				} `json:"metadata"`
				Spec json.RawMessage `json:"spec"`
			}
			if err := yaml.UnmarshalStrict(out, &obj); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if obj.APIVersion != "extensions.istio.io/v1alpha1" || obj.Metadata.Name != "cors" || obj.Metadata.Namespace != "shop" {
				t.Errorf("%s %s %s/%s", obj.APIVersion, obj.Kind, obj.Metadata.Namespace, obj.Metadata.Name)
			}
			if err := protojson.Unmarshal(obj.Spec, tc.msg); err != nil {
				t.Fatalf("the spec is not a valid %s: %v\n%s", tc.msg.ProtoReflect().Descriptor().FullName(), err, out)
			}
			var phase string
			var prio int32
			var fs extensions.FailStrategy
			var url string
			switch m := tc.msg.(type) {
			case *extensions.WasmPlugin:
				phase, prio, fs, url = m.GetPhase().String(), m.GetPriority().GetValue(), m.GetFailStrategy(), m.GetUrl()
			case *extensions.TrafficExtension:
				phase, prio, fs, url = m.GetPhase().String(), m.GetPriority().GetValue(), m.GetWasm().GetFailStrategy(), m.GetWasm().GetUrl()
			}
			if phase != "AUTHN" || prio != 1000 || fs != extensions.FailStrategy_FAIL_OPEN || url != image {
				t.Errorf("phase %v priority %d failStrategy %v url %s; want AUTHN, 1000, FAIL_OPEN, %s", phase, prio, fs, url, image)
			}
			sources, err := sourcesIn(tc.flag, mustYAMLDocs(t, out))
			if err != nil {
				t.Fatal(err)
			}
			checkFreshPolicy(t, tc.flag, sources)
		})
	}
}
