package e2e

// Checks of the Istio manifests under deploy/istio. Each spec is decoded
// into the istio.io/api extensions/v1alpha1 type of its kind with protojson,
// unknown fields refused. (Istio's own decoder ignores unknown fields, and
// Kubernetes prunes them: a misspelt field would be dropped silently in a
// cluster, so this test is where it is caught.) The spec must also survive a
// round trip unchanged, which refuses snake_case field names and numeric
// enums that a cluster would not keep as written. Then the Envoy Wasm
// configuration Istio builds from it is validated against Envoy's schema,
// and its policy must be accepted by the plugin (that it is config.json's is
// corsctl render --check's to say: artifacts_render_test.go).

import (
	"encoding/json"
	"io/fs"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"github.com/google/go-containerregistry/pkg/name"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	extensions "istio.io/api/extensions/v1alpha1"
	typev1beta1 "istio.io/api/type/v1beta1"
	"sigs.k8s.io/yaml"
)

const istioDir = "deploy/istio"

// istioManifests lists every manifest under deploy/istio and what it must
// be. A manifest not listed here fails the test, so none goes unchecked.
var istioManifests = []struct {
	path      string
	kind      string
	name      string
	selector  map[string]string // nil: the whole mesh, or the Gateway named by gateway
	gateway   string            // the Gateway attached through targetRefs ("": none)
	namespace string            // "": istio-system, the root namespace
	mode      string            // the policy's mode
	serverOff bool              // match mode SERVER (sidecar inbound only)
}{
	{path: "wasmplugin-mesh.yaml", kind: "WasmPlugin", name: "cors", mode: "enforce", serverOff: true},
	{path: "wasmplugin-ingressgateway.yaml", kind: "WasmPlugin", name: "cors-ingressgateway", selector: map[string]string{"istio": "ingressgateway"}, mode: "enforce"},
	{path: "trafficextension-mesh.yaml", kind: "TrafficExtension", name: "cors", mode: "enforce", serverOff: true},
	{path: "trafficextension-ingressgateway.yaml", kind: "TrafficExtension", name: "cors-ingressgateway", selector: map[string]string{"istio": "ingressgateway"}, mode: "enforce"},
	{path: "rollout/1-report.yaml", kind: "WasmPlugin", name: "cors", mode: "report", serverOff: true},
	{path: "rollout/2-enforce.yaml", kind: "WasmPlugin", name: "cors", mode: "enforce", serverOff: true},
	// Attached to Gateway API Gateways (e2e/artifacts_ambient_test.go): an
	// ambient waypoint, and an ingress Gateway.
	{path: "ambient/wasmplugin-waypoint.yaml", kind: "WasmPlugin", name: "cors-waypoint", gateway: "waypoint", namespace: "default", mode: "enforce"},
	{path: "ambient/trafficextension-waypoint.yaml", kind: "TrafficExtension", name: "cors-waypoint", gateway: "waypoint", namespace: "default", mode: "enforce"},
	{path: "gateway-api/wasmplugin-gateway.yaml", kind: "WasmPlugin", name: "cors-gateway", gateway: "gateway", namespace: "istio-ingress", mode: "enforce"},
	{path: "gateway-api/trafficextension-gateway.yaml", kind: "TrafficExtension", name: "cors-gateway", gateway: "gateway", namespace: "istio-ingress", mode: "enforce"},
}

// k8sObject is a Kubernetes object as the manifests write it; decoding is
// strict, so a top-level or metadata key outside it fails.
type k8sObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec json.RawMessage `json:"spec"`
}

// wasmSpec is what a WasmPlugin and a TrafficExtension's wasm share, read
// from the typed message.
type wasmSpec struct {
	selector      map[string]string
	targetRefs    int
	phase         string
	priority      *wrapperspb.Int32Value
	modes         []typev1beta1.WorkloadMode
	url, sha256   string
	pluginName    string
	pullPolicy    extensions.PullPolicy
	failStrategy  extensions.FailStrategy
	pluginType    extensions.PluginType
	pluginConfig  *structpb.Struct
	hasVMConfig   bool
	imagePullAuth string
}

type istioManifest struct {
	obj  k8sObject
	msg  proto.Message // *extensions.WasmPlugin or *extensions.TrafficExtension
	spec wasmSpec
}

func TestEveryIstioManifestIsChecked(t *testing.T) {
	var listed []string
	for _, m := range istioManifests {
		listed = append(listed, m.path)
	}
	wantListed(t, istioDir, listed)
}

// wantListed fails unless the YAML files under the repository's dir (as
// paths relative to it) are exactly listed: a manifest added to the
// repository must be added to the test that checks it.
func wantListed(t *testing.T, dir string, listed []string) {
	t.Helper()
	root := filepath.Join("..", dir)
	var onDisk []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			rel, _ := filepath.Rel(root, p)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	listed = slices.Clone(listed)
	slices.Sort(onDisk)
	slices.Sort(listed)
	if !slices.Equal(onDisk, listed) {
		t.Errorf("manifests under %s: %v; checked by the tests: %v", dir, onDisk, listed)
	}
}

// TestIstioManifestsFollowTheIstioAPI decodes each manifest and checks the
// choices every one of them makes: the AUTHN phase with a high priority,
// FAIL_OPEN, an oci:// image Istio's agent can parse (with a well-formed
// pin when there is one), and a policy the plugin accepts, as Envoy
// receives it.
func TestIstioManifestsFollowTheIstioAPI(t *testing.T) {
	for _, want := range istioManifests {
		t.Run(want.path, func(t *testing.T) {
			m := loadIstioManifest(t, want.path)
			s := m.spec
			if m.obj.APIVersion != "extensions.istio.io/v1alpha1" || m.obj.Kind != want.kind {
				t.Errorf("%s %s, want extensions.istio.io/v1alpha1 %s", m.obj.APIVersion, m.obj.Kind, want.kind)
			}
			// Where it applies: the root namespace with a selector or none, or
			// the namespace of the Gateway its targetRefs name.
			checkIstioAttachment(t, m, want.name, want.namespace, want.selector, want.gateway)
			wantModes := []typev1beta1.WorkloadMode(nil)
			if want.serverOff {
				wantModes = []typev1beta1.WorkloadMode{typev1beta1.WorkloadMode_SERVER}
			}
			if !slices.Equal(s.modes, wantModes) {
				t.Errorf("match modes %v, want %v", s.modes, wantModes)
			}

			// Before Istio's authn and authz filters, first among AUTHN plugins.
			if s.phase != "AUTHN" {
				t.Errorf("phase %s, want AUTHN", s.phase)
			}
			if s.priority == nil || s.priority.GetValue() < 1000 {
				t.Errorf("priority %s, want 1000 or more (ahead of other AUTHN plugins)", describePriority(s.priority))
			}
			if s.failStrategy != extensions.FailStrategy_FAIL_OPEN {
				t.Errorf("failStrategy %v, want FAIL_OPEN", s.failStrategy)
			}
			if s.pluginType != extensions.PluginType_HTTP || s.pluginName != "cors" {
				t.Errorf("type %v, pluginName %q; want HTTP, cors", s.pluginType, s.pluginName)
			}
			if s.pullPolicy != extensions.PullPolicy_IfNotPresent {
				t.Errorf("imagePullPolicy %v, want IfNotPresent", s.pullPolicy)
			}
			checkImageURL(t, s.url, s.sha256)

			// What Envoy receives, built as istiod builds it
			// (pilot/pkg/model/extensions.go), with the module the agent
			// fetched in place of the remote source.
			pc := envoyPluginConfig(t, m)
			validateDeep(t, pc, want.path+" as an Envoy PluginConfig")
			var policy wrapperspb.StringValue
			if err := pc.GetConfiguration().UnmarshalTo(&policy); err != nil {
				t.Fatal(err)
			}
			checkPolicyLoads(t, want.path, []byte(policy.GetValue()), want.mode)
		})
	}
}

// TestTrafficExtensionsMirrorWasmPlugins: each TrafficExtension is its
// WasmPlugin, with the Wasm fields under wasm.
func TestTrafficExtensionsMirrorWasmPlugins(t *testing.T) {
	for _, pair := range [][2]string{
		{"trafficextension-mesh.yaml", "wasmplugin-mesh.yaml"},
		{"trafficextension-ingressgateway.yaml", "wasmplugin-ingressgateway.yaml"},
		{"ambient/trafficextension-waypoint.yaml", "ambient/wasmplugin-waypoint.yaml"},
		{"gateway-api/trafficextension-gateway.yaml", "gateway-api/wasmplugin-gateway.yaml"},
	} {
		te := loadIstioManifest(t, pair[0])
		wp := loadIstioManifest(t, pair[1])
		js, err := protojson.Marshal(te.msg)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		if err := json.Unmarshal(js, &fields); err != nil {
			t.Fatal(err)
		}
		wasm, _ := fields["wasm"].(map[string]any)
		delete(fields, "wasm")
		for k, v := range wasm {
			fields[k] = v
		}
		flat, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		var asPlugin extensions.WasmPlugin
		if err := protojson.Unmarshal(flat, &asPlugin); err != nil {
			t.Fatalf("%s as a WasmPlugin: %v", pair[0], err)
		}
		if !proto.Equal(&asPlugin, wp.msg) || !reflect.DeepEqual(te.obj.Metadata, wp.obj.Metadata) {
			t.Errorf("%s is not %s with its Wasm fields under wasm", pair[0], pair[1])
		}
	}
}

// TestRolloutGoesFromReportToEnforce: step 2 is the mesh-wide WasmPlugin
// itself, and step 1 differs from it only in the policy's mode, so applying
// step 2 switches the same resource to enforce.
func TestRolloutGoesFromReportToEnforce(t *testing.T) {
	mesh := loadIstioManifest(t, "wasmplugin-mesh.yaml")
	report := loadIstioManifest(t, "rollout/1-report.yaml")
	enforce := loadIstioManifest(t, "rollout/2-enforce.yaml")
	if !proto.Equal(enforce.msg, mesh.msg) || !reflect.DeepEqual(enforce.obj.Metadata, mesh.obj.Metadata) {
		t.Errorf("rollout/2-enforce.yaml is not wasmplugin-mesh.yaml")
	}
	if !reflect.DeepEqual(report.obj.Metadata, mesh.obj.Metadata) {
		t.Errorf("rollout/1-report.yaml is %s/%s, step 2 is %s/%s: step 2 must replace step 1",
			report.obj.Metadata.Namespace, report.obj.Metadata.Name, mesh.obj.Metadata.Namespace, mesh.obj.Metadata.Name)
	}
	switched := proto.Clone(report.msg).(*extensions.WasmPlugin)
	if switched.GetPluginConfig().GetFields()["mode"].GetStringValue() != "report" {
		t.Fatalf("rollout/1-report.yaml does not set mode: report")
	}
	switched.GetPluginConfig().GetFields()["mode"] = structpb.NewStringValue("enforce")
	if !proto.Equal(switched, enforce.msg) {
		t.Errorf("rollout/1-report.yaml differs from step 2 in more than the mode")
	}
}

// oneObject returns the one YAML document of the repository file path;
// comment-only documents do not count.
func oneObject(t *testing.T, path string) string {
	t.Helper()
	docs := regexp.MustCompile(`(?m)^---\s*$`).Split(string(readRepoFile(t, path)), -1)
	var objs []string
	for _, d := range docs {
		if strings.TrimSpace(stripComments(d)) != "" {
			objs = append(objs, d)
		}
	}
	if len(objs) != 1 {
		t.Fatalf("%s holds %d objects, want 1", path, len(objs))
	}
	return objs[0]
}

func loadIstioManifest(t *testing.T, rel string) istioManifest {
	t.Helper()
	path := istioDir + "/" + rel
	obj := oneObject(t, path)
	var m istioManifest
	if err := yaml.UnmarshalStrict([]byte(obj), &m.obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var spec wasmSpec
	switch m.obj.Kind {
	case "WasmPlugin":
		var wp extensions.WasmPlugin
		decodeIstioSpec(t, path, m.obj.Spec, &wp)
		m.msg = &wp
		spec = wasmSpec{
			selector: wp.GetSelector().GetMatchLabels(), targetRefs: len(wp.GetTargetRefs()),
			phase: wp.GetPhase().String(), priority: wp.GetPriority(),
			url: wp.GetUrl(), sha256: wp.GetSha256(), pluginName: wp.GetPluginName(),
			pullPolicy: wp.GetImagePullPolicy(), failStrategy: wp.GetFailStrategy(), pluginType: wp.GetType(),
			pluginConfig: wp.GetPluginConfig(), hasVMConfig: wp.GetVmConfig() != nil, imagePullAuth: wp.GetImagePullSecret(),
		}
		if wp.GetTargetRef() != nil {
			spec.targetRefs++
		}
		for _, s := range wp.GetMatch() {
			spec.modes = append(spec.modes, s.GetMode())
		}
	case "TrafficExtension":
		var te extensions.TrafficExtension
		decodeIstioSpec(t, path, m.obj.Spec, &te)
		m.msg = &te
		w := te.GetWasm()
		if w == nil || te.GetLua() != nil {
			t.Fatalf("%s: want a wasm TrafficExtension", path)
		}
		spec = wasmSpec{
			selector: te.GetSelector().GetMatchLabels(), targetRefs: len(te.GetTargetRefs()),
			phase: te.GetPhase().String(), priority: te.GetPriority(),
			url: w.GetUrl(), sha256: w.GetSha256(), pluginName: w.GetPluginName(),
			pullPolicy: w.GetImagePullPolicy(), failStrategy: w.GetFailStrategy(), pluginType: w.GetType(),
			pluginConfig: w.GetPluginConfig(), hasVMConfig: w.GetVmConfig() != nil, imagePullAuth: w.GetImagePullSecret(),
		}
		for _, s := range te.GetMatch() {
			spec.modes = append(spec.modes, s.GetMode())
		}
	default:
		t.Fatalf("%s: kind %q, want WasmPlugin or TrafficExtension", path, m.obj.Kind)
	}
	m.spec = spec
	return m
}

// decodeIstioSpec decodes a spec strictly, then checks that it survives a
// round trip: protojson also accepts proto field names (plugin_config) and
// enum numbers, which a cluster's schema would not keep as written.
func decodeIstioSpec(t *testing.T, path string, spec []byte, msg proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal(spec, msg); err != nil {
		t.Fatalf("%s: the spec is not a valid %s: %v", path, msg.ProtoReflect().Descriptor().FullName(), err)
	}
	back, err := protojson.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	var written, kept any
	if err := json.Unmarshal(spec, &written); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(back, &kept); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(written, kept) {
		w, _ := json.MarshalIndent(written, "", "  ")
		k, _ := json.MarshalIndent(kept, "", "  ")
		t.Errorf("%s: the spec does not read back as written (use the API's camelCase names, enum names, no zero values):\n%s",
			path, lineDiff(string(w), string(k)))
	}
}

// checkImageURL checks an oci:// url the way Istio's agent reads it
// (pkg/wasm: the reference is host+path of the URL), and the sha256 pin:
// 64 lower-case hex digits (the CRD's pattern), the same as a digest in the
// url when both are given.
func checkImageURL(t *testing.T, raw, sha string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "oci" {
		t.Errorf("url %q: want oci://REGISTRY/REPOSITORY[:TAG|@sha256:DIGEST] (the image of make image)", raw)
		return
	}
	ref, err := name.ParseReference(u.Host + u.Path)
	if err != nil {
		t.Errorf("url %q is not an image reference Istio's agent can parse: %v", raw, err)
		return
	}
	hex64 := regexp.MustCompile(`^[a-f0-9]{64}$`)
	if sha != "" && !hex64.MatchString(sha) {
		t.Errorf("sha256 %q: want the image digest as 64 lower-case hex digits, without sha256:", sha)
	}
	if d, ok := ref.(name.Digest); ok {
		hex, found := strings.CutPrefix(d.DigestStr(), "sha256:")
		if !found || !hex64.MatchString(hex) {
			t.Errorf("url %q: the digest must be sha256:<64 hex digits>", raw)
		}
		if sha != "" && sha != hex {
			t.Errorf("url %q pins %s, but sha256 is %s: Istio refuses the image", raw, hex, sha)
		}
	}
}

// envoyPluginConfig builds the Envoy Wasm PluginConfig istiod sends for a
// manifest: the pluginConfig as JSON in a StringValue, the plugin name as
// root_id, the fail strategy mapped to a failure policy, the v8 runtime;
// the code is the local file the agent fetched the image into.
func envoyPluginConfig(t *testing.T, m istioManifest) *wasmv3.PluginConfig {
	t.Helper()
	s := m.spec
	js, err := protojson.Marshal(s.pluginConfig)
	if err != nil {
		t.Fatal(err)
	}
	configuration, err := anypb.New(wrapperspb.String(string(js)))
	if err != nil {
		t.Fatal(err)
	}
	pc := &wasmv3.PluginConfig{
		Name:          m.obj.Metadata.Namespace + "." + m.obj.Metadata.Name,
		RootId:        s.pluginName,
		Configuration: configuration,
		Vm: &wasmv3.PluginConfig_VmConfig{VmConfig: &wasmv3.VmConfig{
			Runtime: v8Runtime,
			Code: &corev3.AsyncDataSource{Specifier: &corev3.AsyncDataSource_Local{Local: &corev3.DataSource{
				Specifier: &corev3.DataSource_Filename{Filename: "/var/lib/istio/data/cors/plugin.wasm"},
			}}},
		}},
	}
	switch s.failStrategy {
	case extensions.FailStrategy_FAIL_OPEN:
		pc.FailurePolicy = wasmv3.FailurePolicy_FAIL_OPEN
	case extensions.FailStrategy_FAIL_CLOSE:
		pc.FailurePolicy = wasmv3.FailurePolicy_FAIL_CLOSED
	case extensions.FailStrategy_FAIL_RELOAD:
		pc.FailurePolicy = wasmv3.FailurePolicy_FAIL_RELOAD
	}
	return pc
}

// stripComments drops YAML comment lines, to tell an empty document apart.
func stripComments(doc string) string {
	var out []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func describePriority(p *wrapperspb.Int32Value) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(int(p.GetValue()))
}
