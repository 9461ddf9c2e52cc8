//go:build !wasip1

package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protopath"
	"google.golang.org/protobuf/reflect/protorange"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	// typed_config types of the configurations, for protojson's registry.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"

	"github.com/corswasm/corswasm/filter"
)

// The Envoy configurations of scripts/envoy-bench.sh: no Envoy runs here,
// so they are checked against Envoy's v3 schema instead.
var envoyConfigs = []string{"none", "native", "plugin"}

// TestEnvoyConfigs decodes each configuration into Envoy's Bootstrap,
// refusing unknown fields, and runs the schema's validation rules on it and
// on every typed_config inside; checks that the configurations differ only
// in the front listener's CORS handling; and that the plugin's policy is
// the one the module benchmarks use.
func TestEnvoyConfigs(t *testing.T) {
	boots := map[string]*bootstrapv3.Bootstrap{}
	for _, name := range envoyConfigs {
		data, err := os.ReadFile(filepath.Join("envoy", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		js, err := yaml.YAMLToJSON(data)
		if err != nil {
			t.Fatalf("%s.yaml: %v", name, err)
		}
		var b bootstrapv3.Bootstrap
		if err := protojson.Unmarshal(js, &b); err != nil {
			t.Fatalf("%s.yaml does not follow Envoy's v3 Bootstrap schema: %v", name, err)
		}
		validateDeep(t, &b, name+".yaml")
		boots[name] = &b
	}

	// Without the CORS parts, the three are the same configuration.
	strip := func(b *bootstrapv3.Bootstrap) []byte {
		b = proto.Clone(b).(*bootstrapv3.Bootstrap)
		hcm := frontManager(t, b)
		clear(hcm.GetRouteConfig().GetVirtualHosts()[0].TypedPerFilterConfig)
		filters := hcm.HttpFilters[:0]
		for _, f := range hcm.HttpFilters {
			if f.Name == "envoy.filters.http.router" {
				filters = append(filters, f)
			}
		}
		hcm.HttpFilters = filters
		a, err := anypb.New(hcm)
		if err != nil {
			t.Fatal(err)
		}
		b.StaticResources.Listeners[0].FilterChains[0].Filters[0].GetTypedConfig().Value = a.Value
		out, _ := protojson.MarshalOptions{Multiline: true}.Marshal(b)
		return out
	}
	base := strip(boots["none"])
	for _, name := range envoyConfigs[1:] {
		if got := strip(boots[name]); !bytes.Equal(got, base) {
			t.Errorf("%s.yaml differs from none.yaml outside the front listener's CORS handling", name)
		}
	}

	// The plugin's policy is smallPolicy.
	hcm := frontManager(t, boots["plugin"])
	var wasm wasmfilterv3.Wasm
	if err := hcm.HttpFilters[0].GetTypedConfig().UnmarshalTo(&wasm); err != nil {
		t.Fatalf("plugin.yaml: first filter: %v", err)
	}
	var policy wrapperspb.StringValue
	if err := wasm.GetConfig().GetConfiguration().UnmarshalTo(&policy); err != nil {
		t.Fatalf("plugin.yaml: configuration: %v", err)
	}
	if _, err := filter.Parse([]byte(policy.Value)); err != nil {
		t.Errorf("plugin.yaml: the plugin refuses its configuration: %v", err)
	}
	if compact(t, policy.Value) != compact(t, smallPolicy) {
		t.Errorf("plugin.yaml: the policy is not bench's smallPolicy:\n%s", policy.Value)
	}
	if f := wasm.GetConfig().GetVmConfig().GetCode().GetLocal().GetFilename(); f != "plugin.wasm" {
		t.Errorf("plugin.yaml loads %q, want plugin.wasm (the script runs Envoy beside it)", f)
	}
}

func frontManager(t *testing.T, b *bootstrapv3.Bootstrap) *hcmv3.HttpConnectionManager {
	t.Helper()
	l := b.GetStaticResources().GetListeners()
	if len(l) == 0 || l[0].GetName() != "front" {
		t.Fatal("the first listener is not front")
	}
	var hcm hcmv3.HttpConnectionManager
	if err := l[0].GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		t.Fatalf("front listener: %v", err)
	}
	return &hcm
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(strings.TrimSpace(s))); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// validateDeep runs the schema's validation rules on m and on the content
// of every Any inside it (which ValidateAll does not open), recursively.
func validateDeep(t *testing.T, m proto.Message, where string) {
	t.Helper()
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			t.Errorf("%s: %s fails validation: %v", where, m.ProtoReflect().Descriptor().FullName(), err)
		}
	}
	err := protorange.Range(m.ProtoReflect(), func(p protopath.Values) error {
		msg, ok := p.Index(-1).Value.Interface().(protoreflect.Message)
		if !ok || msg.Descriptor().FullName() != "google.protobuf.Any" || len(p.Path) == 1 {
			return nil
		}
		a := msg.Interface().(*anypb.Any)
		inner, err := a.UnmarshalNew()
		if err != nil {
			t.Errorf("%s: %s: %v", where, p.Path, err)
			return protorange.Break
		}
		validateDeep(t, inner, where+" "+a.GetTypeUrl())
		return protorange.Break
	})
	if err != nil && err != protorange.Break {
		t.Errorf("%s: %v", where, err)
	}
}
