//go:build !wasip1

package e2e

// Checks of the Envoy Gateway manifests under deploy/envoy-gateway. Each is
// decoded strictly (unknown fields refused) into Envoy Gateway's own API
// type, github.com/envoyproxy/gateway/api/v1alpha1 EnvoyExtensionPolicy.
// (Kubernetes prunes unknown fields: a misspelt field would be dropped
// silently in a cluster, so this test is where it is caught.) The spec must
// read back as written. Then the Envoy Wasm filter Envoy Gateway builds from
// it (internal/xds/translator/wasm.go) is validated against Envoy's schema,
// and the policy it carries must be accepted by the plugin and be the Istio
// manifests' policy.

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	"github.com/corswasm/corswasm/filter"
)

const envoyGatewayDir = "deploy/envoy-gateway"

// envoyGatewayManifests lists every manifest under deploy/envoy-gateway. A
// manifest not listed here fails the test, so none goes unchecked.
var envoyGatewayManifests = []struct {
	path       string
	name       string
	namespace  string
	targetKind string // Gateway or HTTPRoute, in gateway.networking.k8s.io
	targetName string
}{
	{path: "envoyextensionpolicy-gateway.yaml", name: "cors-gateway", namespace: "default", targetKind: "Gateway", targetName: "eg"},
	{path: "envoyextensionpolicy-httproute.yaml", name: "cors-backend", namespace: "default", targetKind: "HTTPRoute", targetName: "backend"},
}

func TestEveryEnvoyGatewayManifestIsChecked(t *testing.T) {
	var listed []string
	for _, m := range envoyGatewayManifests {
		listed = append(listed, m.path)
	}
	wantListed(t, envoyGatewayDir, listed)
}

// TestEnvoyGatewayManifestsFollowItsAPI decodes each manifest and checks
// the choices it makes: one Wasm extension and nothing else, attached
// through targetRefs to its Gateway or HTTPRoute, the image of make image
// pinned by sha256, failOpen, and a policy the plugin accepts.
func TestEnvoyGatewayManifestsFollowItsAPI(t *testing.T) {
	mesh := loadIstioManifest(t, "wasmplugin-mesh.yaml")
	meshPolicy, err := protojson.Marshal(mesh.spec.pluginConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range envoyGatewayManifests {
		t.Run(want.path, func(t *testing.T) {
			p := loadEnvoyExtensionPolicy(t, want.path)
			if p.APIVersion != egv1a1.GroupVersion.String() || p.Kind != egv1a1.KindEnvoyExtensionPolicy {
				t.Errorf("%s %s, want %s %s", p.APIVersion, p.Kind, egv1a1.GroupVersion, egv1a1.KindEnvoyExtensionPolicy)
			}
			if p.Name != want.name || p.Namespace != want.namespace {
				t.Errorf("metadata %s/%s, want %s/%s", p.Namespace, p.Name, want.namespace, want.name)
			}
			if !reflect.DeepEqual(p.Status, egv1a1.EnvoyExtensionPolicy{}.Status) {
				t.Errorf("a status: Envoy Gateway writes it, the manifest must not")
			}

			// Attached through targetRefs (targetRef is deprecated;
			// targetSelectors would pick targets by label), to exactly its
			// target, as a whole: a sectionName would narrow it to a listener
			// or a rule. targetRefs are local: the policy lives in the
			// namespace of its target.
			s := p.Spec
			if s.TargetRef != nil || len(s.TargetSelectors) != 0 {
				t.Errorf("targetRef or targetSelectors set: use targetRefs")
			}
			if len(s.TargetRefs) != 1 {
				t.Fatalf("%d targetRefs, want one: the %s %s", len(s.TargetRefs), want.targetKind, want.targetName)
			}
			r := s.TargetRefs[0]
			if string(r.Group) != gatewayAPIGroup || string(r.Kind) != want.targetKind || string(r.Name) != want.targetName || r.SectionName != nil {
				t.Errorf("targetRefs[0] %s/%s %s (sectionName %v), want %s/%s %s", r.Group, r.Kind, r.Name, r.SectionName, gatewayAPIGroup, want.targetKind, want.targetName)
			}
			if s.MergeType != nil {
				t.Errorf("mergeType %s: the plugin would run twice on a route whose Gateway has it too", *s.MergeType)
			}
			if len(s.ExtProc) != 0 || len(s.Lua) != 0 || len(s.DynamicModule) != 0 {
				t.Errorf("extProc, lua or dynamicModule set: the policy carries the CORS plugin only")
			}
			if len(s.Wasm) != 1 {
				t.Fatalf("%d wasm entries, want one", len(s.Wasm))
			}
			w := s.Wasm[0]

			// The image of make image, pinned: Envoy Gateway compares sha256
			// with the digest of the image it pulls.
			if w.Code.Type != egv1a1.ImageWasmCodeSourceType || w.Code.Image == nil || w.Code.HTTP != nil {
				t.Fatalf("code.type %s, want %s with code.image", w.Code.Type, egv1a1.ImageWasmCodeSourceType)
			}
			img := w.Code.Image
			if img.SHA256 == nil || !regexp.MustCompile(`^[a-f0-9]{64}$`).MatchString(*img.SHA256) {
				t.Errorf("code.image.sha256 %q: want the digest make image printed, 64 lower-case hex digits without sha256:, as a quoted string", deref(img.SHA256))
			}
			url := img.URL
			if !strings.HasPrefix(url, "oci://") {
				url = "oci://" + url // Envoy Gateway adds it
			}
			checkImageURL(t, url, deref(img.SHA256))
			if w.Code.PullPolicy != nil {
				t.Errorf("code.pullPolicy %s: Envoy Gateway ignores it when sha256 is set", *w.Code.PullPolicy)
			}
			if w.FailOpen == nil || !*w.FailOpen {
				t.Errorf("failOpen unset or false, want true: a failed VM or image must let requests through without CORS headers, not answer 5xx")
			}
			if w.RootID == nil || *w.RootID != mesh.spec.pluginName {
				t.Errorf("rootID %q, want %s (the Istio manifests' pluginName)", deref(w.RootID), mesh.spec.pluginName)
			}
			if w.Env != nil {
				t.Errorf("env set: the plugin reads no host environment")
			}

			// The policy: Envoy Gateway passes config to the plugin as the
			// JSON the API server stored.
			if w.Config == nil {
				t.Fatalf("no config: the plugin would run with an empty policy")
			}
			policy := w.Config.Raw
			cfg, err := filter.Parse(policy)
			if err != nil {
				t.Fatalf("the plugin refuses the policy: %v", err)
			}
			if warn := cfg.Warnings(); len(warn) > 0 {
				t.Errorf("the policy loads with warnings: %v", warn)
			}
			if cfg.Mode().String() != "enforce" {
				t.Errorf("mode %s, want enforce", cfg.Mode())
			}
			var got, meshWant any
			if err := json.Unmarshal(policy, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(meshPolicy, &meshWant); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, meshWant) {
				g, _ := json.MarshalIndent(got, "", "  ")
				m, _ := json.MarshalIndent(meshWant, "", "  ")
				t.Errorf("config differs from the pluginConfig of %s/wasmplugin-mesh.yaml:\n%s", istioDir, lineDiff(string(m), string(g)))
			}

			// What Envoy receives, as Envoy Gateway builds it, with the
			// module served by Envoy Gateway's own HTTP server.
			wf := envoyGatewayWasmFilter(t, p.Name, w)
			validateDeep(t, wf, want.path+" as an Envoy Wasm filter")
			if !wf.GetConfig().GetFailOpen() {
				t.Errorf("Envoy would fail closed")
			}
		})
	}
}

// TestEnvoyGatewayManifestsDifferOnlyInTarget: the Gateway and HTTPRoute
// policies carry the same extension, image and policy.
func TestEnvoyGatewayManifestsDifferOnlyInTarget(t *testing.T) {
	var first *egv1a1.EnvoyExtensionPolicy
	for _, m := range envoyGatewayManifests {
		p := loadEnvoyExtensionPolicy(t, m.path)
		if first == nil {
			first = p
			continue
		}
		a, b := first.Spec.DeepCopy(), p.Spec.DeepCopy()
		a.TargetRefs, b.TargetRefs = nil, nil
		ja, _ := json.MarshalIndent(a, "", "  ")
		jb, _ := json.MarshalIndent(b, "", "  ")
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s differs from %s in more than targetRefs:\n%s", m.path, envoyGatewayManifests[0].path, lineDiff(string(ja), string(jb)))
		}
	}
}

// loadEnvoyExtensionPolicy decodes one manifest strictly into Envoy
// Gateway's type, then checks that its spec reads back as written. The
// round trip catches what strict decoding lets through: encoding/json
// matches field names case-insensitively (failopen would pass), and
// sigs.k8s.io/yaml turns a YAML number into a string field's text (an
// unquoted all-digit sha256 would read as 0).
func loadEnvoyExtensionPolicy(t *testing.T, rel string) *egv1a1.EnvoyExtensionPolicy {
	t.Helper()
	path := envoyGatewayDir + "/" + rel
	obj := oneObject(t, path)
	var p egv1a1.EnvoyExtensionPolicy
	if err := yaml.UnmarshalStrict([]byte(obj), &p); err != nil {
		t.Fatalf("%s is not a valid EnvoyExtensionPolicy: %v", path, err)
	}
	var written struct {
		Spec any `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(obj), &written); err != nil {
		t.Fatal(err)
	}
	back, err := json.Marshal(p.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var kept any
	if err := json.Unmarshal(back, &kept); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(written.Spec, kept) {
		w, _ := json.MarshalIndent(written.Spec, "", "  ")
		k, _ := json.MarshalIndent(kept, "", "  ")
		t.Errorf("%s: the spec does not read back as written:\n%s", path, lineDiff(string(w), string(k)))
	}
	return &p
}

// envoyGatewayWasmFilter builds the Envoy Wasm filter Envoy Gateway's xDS
// translator emits for a Wasm extension (wasmConfig): the config as a JSON
// StringValue, the rootID, failOpen, the v8 runtime, one VM per extension,
// and the code fetched from Envoy Gateway's Wasm HTTP server, checked by the
// sha256 of the module it extracted from the image.
func envoyGatewayWasmFilter(t *testing.T, policyName string, w egv1a1.Wasm) *wasmfilterv3.Wasm {
	t.Helper()
	configuration, err := anypb.New(wrapperspb.String(string(w.Config.Raw)))
	if err != nil {
		t.Fatal(err)
	}
	name := "envoyextensionpolicy/" + policyName + "/wasm/0"
	if w.Name != nil {
		name = *w.Name
	}
	return &wasmfilterv3.Wasm{Config: &wasmv3.PluginConfig{
		Name:          name,
		RootId:        deref(w.RootID),
		Configuration: configuration,
		FailOpen:      w.FailOpen != nil && *w.FailOpen,
		Vm: &wasmv3.PluginConfig_VmConfig{VmConfig: &wasmv3.VmConfig{
			VmId:    "envoyextensionpolicy/" + policyName + "/wasm/0",
			Runtime: v8Runtime,
			Code: &corev3.AsyncDataSource{Specifier: &corev3.AsyncDataSource_Remote{Remote: &corev3.RemoteDataSource{
				HttpUri: &corev3.HttpUri{
					Uri:              "https://envoy-gateway:18002/" + policyName + ".wasm",
					HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: "wasm_cluster"},
					Timeout:          durationpb.New(10e9),
				},
				Sha256: strings.Repeat("ab", 32),
			}}},
		}},
	}}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
