package e2e

// Checks of the files users run: config.json, envoy.yaml, the Envoy
// configuration and compose file of docker-compose.yaml. Envoy
// configurations are decoded into Envoy's own v3 Bootstrap
// (github.com/envoyproxy/go-control-plane) with unknown fields refused and
// every typed_config resolved, then validated with the schema's rules
// (ValidateAll); the policy inside is checked with the plugin's own parser.
// The Istio manifests are checked in artifacts_istio_test.go; a run against
// a real Envoy, when one is installed, is in artifacts_envoyrun_test.go.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protopath"
	"google.golang.org/protobuf/reflect/protorange"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"sigs.k8s.io/yaml"

	// The typed_config types the configurations use: linked in so that
	// protojson resolves them from the global registry.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"

	"github.com/corswasm/corswasm/filter"
	"github.com/corswasm/corswasm/internal/wasmbuild"
)

const (
	envoyYAML        = "envoy.yaml"
	composeEnvoyYAML = "deploy/envoy/envoy.compose.yaml"
	composeYAML      = "docker-compose.yaml"

	wasmFilterType = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
	routerType     = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
	v8Runtime      = "envoy.wasm.runtime.v8"
)

// fixedPolicy is the policy of the tests that need one: e2e/testdata/
// policy.json, the example config.json of the repository as it was written.
// Tests never read config.json as a fixed policy: a user edits it, runs
// corsctl render, and the tests still pass (artifacts_render_test.go checks
// that every artifact carries config.json, whatever it says).
const fixedPolicyFile = "testdata/policy.json"

func fixedPolicy(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(fixedPolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestExampleConfigurationLoadsCleanly checks that the example policy is
// accepted without warnings, and that config.json, whatever policy it
// holds, is accepted (its warnings are the user's to weigh: corsctl check).
func TestExampleConfigurationLoadsCleanly(t *testing.T) {
	cfg, err := filter.Parse(fixedPolicy(t))
	if err != nil {
		t.Fatalf("%s is refused: %v", fixedPolicyFile, err)
	}
	if w := cfg.Warnings(); len(w) > 0 {
		t.Errorf("%s loads with warnings: %v", fixedPolicyFile, w)
	}
	cfg, err = filter.Parse(readRepoFile(t, "config.json"))
	if err != nil {
		t.Fatalf("config.json is refused: %v", err)
	}
	if w := cfg.Warnings(); len(w) > 0 {
		t.Logf("config.json loads with warnings: %v", w)
	}
}

// TestEnvoyConfigurationsFollowEnvoysSchema decodes each Envoy configuration
// into Envoy's v3 Bootstrap and validates it, typed_config contents included.
func TestEnvoyConfigurationsFollowEnvoysSchema(t *testing.T) {
	for _, name := range []string{envoyYAML, composeEnvoyYAML} {
		t.Run(name, func(t *testing.T) {
			b := loadBootstrap(t, name)
			// The listener's HttpConnectionManager, the Wasm filter, its
			// StringValue configuration and the router.
			if n := validateDeep(t, b, name); n < 4 {
				t.Errorf("%s: %d typed_config values resolved, want at least 4", name, n)
			}
		})
	}
}

// TestEnvoyYAMLCarriesTheExamplePolicy checks what `envoy -c envoy.yaml`
// runs: the listener on port 10000, the Wasm filter first (on the v8
// runtime, loading plugin.wasm from the working directory, failing open)
// with a policy the plugin accepts, the router last, and the upstream on
// 127.0.0.1:8081. That the policy is config.json's is corsctl render
// --check's to say (artifacts_render_test.go).
func TestEnvoyYAMLCarriesTheExamplePolicy(t *testing.T) {
	b := loadBootstrap(t, envoyYAML)
	c := inspectEnvoy(t, b, envoyYAML)
	if c.listener.GetAddress() != "0.0.0.0" || c.listener.GetPortValue() != 10000 {
		t.Errorf("the listener is on %s:%d, want 0.0.0.0:10000", c.listener.GetAddress(), c.listener.GetPortValue())
	}
	if got := c.plugin.GetVmConfig().GetCode().GetLocal().GetFilename(); got != "plugin.wasm" {
		t.Errorf("vm_config loads %q, want plugin.wasm (the output of make build)", got)
	}
	if len(c.upstreams) != 1 || c.upstreams[0] != "127.0.0.1:8081" {
		t.Errorf("the upstream cluster's endpoints are %v, want [127.0.0.1:8081]", c.upstreams)
	}
	if got := socketString(b.GetAdmin().GetAddress().GetSocketAddress()); got != "127.0.0.1:9901" {
		t.Errorf("the admin interface is on %s, want 127.0.0.1:9901 (loopback only)", got)
	}
}

// TestComposeEnvoyConfigDiffersOnlyInAddresses keeps the two Envoy
// configurations in step: with the module path, the upstream endpoint and
// the admin address of envoy.yaml put back, they must be the same message.
func TestComposeEnvoyConfigDiffersOnlyInAddresses(t *testing.T) {
	plain := loadBootstrap(t, envoyYAML)
	compose := loadBootstrap(t, composeEnvoyYAML)
	inspectEnvoy(t, compose, composeEnvoyYAML) // the same checks of filters and policy

	pc := inspectEnvoy(t, plain, envoyYAML)
	cc := inspectEnvoy(t, compose, composeEnvoyYAML)
	if !strings.HasPrefix(cc.plugin.GetVmConfig().GetCode().GetLocal().GetFilename(), "/") {
		t.Errorf("%s: the module path must be absolute in a container, got %q", composeEnvoyYAML,
			cc.plugin.GetVmConfig().GetCode().GetLocal().GetFilename())
	}

	// Put envoy.yaml's values back into the compose configuration.
	setWasmFilename(t, compose, pc.plugin.GetVmConfig().GetCode().GetLocal().GetFilename())
	for _, cl := range compose.GetStaticResources().GetClusters() {
		for _, eps := range cl.GetLoadAssignment().GetEndpoints() {
			for _, lb := range eps.GetLbEndpoints() {
				lb.GetEndpoint().GetAddress().GetSocketAddress().Address = "127.0.0.1"
			}
		}
	}
	compose.GetAdmin().GetAddress().GetSocketAddress().Address = "127.0.0.1"

	if !proto.Equal(plain, compose) {
		a, _ := protojson.MarshalOptions{Multiline: true}.Marshal(plain)
		b, _ := protojson.MarshalOptions{Multiline: true}.Marshal(compose)
		t.Errorf("%s differs from %s in more than the module path, the upstream host and the admin address:\n%s",
			composeEnvoyYAML, envoyYAML, lineDiff(string(a), string(b)))
	}
}

// composeFile is the part of the compose specification docker-compose.yaml
// uses; decoding is strict, so a key outside it fails the test (extend the
// struct when the file grows).
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]map[string]any `json:"volumes"`
}

type composeService struct {
	Image       string            `json:"image"`
	Command     []string          `json:"command"`
	WorkingDir  string            `json:"working_dir"`
	Environment map[string]string `json:"environment"`
	Volumes     []string          `json:"volumes"`
	Ports       []string          `json:"ports"`
	Expose      []string          `json:"expose"`
	DependsOn   []string          `json:"depends_on"`
}

// TestDockerComposeAgreesWithItsEnvoyConfig checks docker-compose.yaml
// against the Envoy configuration it mounts: the image is Envoy 1.33 or
// newer (the configuration's failure_policy needs it), the configuration and the module are mounted where Envoy reads
// them, the listener's port is published, the cluster's endpoints are
// compose services listening on those ports, and the demo page is on an
// origin the policy allows, calling the API on the published port.
func TestDockerComposeAgreesWithItsEnvoyConfig(t *testing.T) {
	var cf composeFile
	if err := yaml.UnmarshalStrict(readRepoFile(t, composeYAML), &cf); err != nil {
		t.Fatalf("%s: %v", composeYAML, err)
	}
	envoy, ok := cf.Services["envoy"]
	if !ok {
		t.Fatalf("%s has no service envoy (services: %v)", composeYAML, mapKeys(cf.Services))
	}

	// The image: Envoy 1.33 or newer, pinned to a release line or release.
	m := regexp.MustCompile(`^envoyproxy/envoy:v1\.(\d+)(?:-latest|\.\d+)$`).FindStringSubmatch(envoy.Image)
	if m == nil {
		t.Errorf("envoy image %q: want envoyproxy/envoy:v1.N-latest or v1.N.P", envoy.Image)
	} else if minor, _ := strconv.Atoi(m[1]); minor < 33 {
		t.Errorf("envoy image %q: Envoy before 1.33 does not know the configuration's failure_policy (docs/compatibility.md)", envoy.Image)
	}

	// The configuration Envoy reads, and where it comes from.
	configPath := "/etc/envoy/envoy.yaml" // the image's default
	if i := slices.Index(envoy.Command, "-c"); i >= 0 && i+1 < len(envoy.Command) {
		configPath = envoy.Command[i+1]
	} else if len(envoy.Command) > 0 {
		t.Errorf("envoy command %q does not name its configuration with -c", envoy.Command)
	}
	mounts := parseMounts(t, envoy.Volumes)
	src, ok := mounts[configPath]
	if !ok {
		t.Fatalf("envoy reads %s, but no volume is mounted there (volumes: %v)", configPath, envoy.Volumes)
	}
	if src.source != "./"+composeEnvoyYAML || !src.readOnly {
		t.Errorf("%s is mounted from %q (read-only %v), want ./%s read-only", configPath, src.source, src.readOnly, composeEnvoyYAML)
	}
	b := loadBootstrap(t, composeEnvoyYAML)
	c := inspectEnvoy(t, b, composeEnvoyYAML)

	// The module.
	wasmPath := c.plugin.GetVmConfig().GetCode().GetLocal().GetFilename()
	if w, ok := mounts[wasmPath]; !ok {
		t.Errorf("the Envoy configuration loads %s, but nothing is mounted there (volumes: %v)", wasmPath, envoy.Volumes)
	} else if w.source != "./plugin.wasm" || !w.readOnly {
		t.Errorf("%s is mounted from %q (read-only %v), want ./plugin.wasm (the output of make build) read-only", wasmPath, w.source, w.readOnly)
	}

	// The listener's port, published.
	published := parsePorts(t, envoy.Ports)
	listenPort := int(c.listener.GetPortValue())
	if c.listener.GetAddress() != "0.0.0.0" {
		t.Errorf("the listener is on %s: in a container it must listen on 0.0.0.0 to be published", c.listener.GetAddress())
	}
	apiHostPort, ok := published[listenPort]
	if !ok {
		t.Errorf("the listener's port %d is not published by service envoy (ports: %v)", listenPort, envoy.Ports)
	}
	// The admin interface, if published, listens on the container's interfaces.
	if admin := b.GetAdmin().GetAddress().GetSocketAddress(); admin != nil {
		if _, ok := published[int(admin.GetPortValue())]; ok && admin.GetAddress() != "0.0.0.0" {
			t.Errorf("the admin port %d is published, but admin listens on %s", admin.GetPortValue(), admin.GetAddress())
		}
	}

	// The upstream endpoints: compose services listening on those ports.
	if len(c.upstreams) == 0 {
		t.Fatal("the Envoy configuration has no upstream endpoint")
	}
	for _, ep := range c.upstreams {
		host, port, _ := net.SplitHostPort(ep)
		svc, ok := cf.Services[host]
		if !ok {
			t.Errorf("the upstream endpoint %s is not a compose service (services: %v)", ep, mapKeys(cf.Services))
			continue
		}
		if !slices.Contains(svc.Expose, port) {
			t.Errorf("service %s does not expose port %s, which Envoy connects to (expose: %v)", host, port, svc.Expose)
		}
		if !listensOnAllInterfaces(svc.Command, port) {
			t.Errorf("service %s's command %q does not listen on 0.0.0.0:%s (Envoy connects to %s)", host, svc.Command, port, ep)
		}
		if !slices.Contains(envoy.DependsOn, host) {
			t.Errorf("service envoy does not depend on %s, its upstream", host)
		}
	}
	for _, cl := range b.GetStaticResources().GetClusters() {
		if cl.GetType() != clusterv3.Cluster_STRICT_DNS && cl.GetType() != clusterv3.Cluster_LOGICAL_DNS {
			t.Errorf("cluster %s is %v: compose service names need STRICT_DNS or LOGICAL_DNS", cl.GetName(), cl.GetType())
		}
	}

	// The demo page: published, calling the API through Envoy's published
	// port, from an origin the example policy (testdata/policy.json, the
	// config.json the repository ships) allows for a credentialed preflight.
	// A user's own policy may not allow it: the demo is for the example.
	page, ok := cf.Services["page"]
	if !ok {
		t.Fatalf("%s has no service page (the demo page)", composeYAML)
	}
	pagePorts := parsePorts(t, page.Ports)
	if len(pagePorts) != 1 {
		t.Fatalf("service page publishes %v, want one port", page.Ports)
	}
	var pageOrigin string
	for containerPort, hostPort := range pagePorts {
		if !listensOnAllInterfaces(page.Command, strconv.Itoa(containerPort)) {
			t.Errorf("service page's command %q does not listen on 0.0.0.0:%d", page.Command, containerPort)
		}
		pageOrigin = "http://localhost:" + strconv.Itoa(hostPort)
	}
	apiURL := "http://localhost:" + strconv.Itoa(apiHostPort)
	if !slices.Contains(page.Command, apiURL) {
		t.Errorf("service page's command %q does not point the page at the API through Envoy, %s", page.Command, apiURL)
	}
	if pageOrigin == apiURL {
		t.Errorf("the page and the API share the origin %s: the demo needs two origins", apiURL)
	}
	cfg, err := filter.Parse(fixedPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	var r filter.Request
	r.AddHeader(":method", "OPTIONS")
	r.AddHeader(":authority", "localhost:"+strconv.Itoa(apiHostPort))
	r.AddHeader(":path", "/v1/things")
	r.AddHeader("origin", pageOrigin)
	r.AddHeader("access-control-request-method", "PUT")
	d := cfg.Evaluate(&r)
	status, headers, _ := d.LocalResponse(nil)
	if status != 204 || !slices.Contains(headers, [2]string{"access-control-allow-origin", pageOrigin}) {
		t.Errorf("the policy does not allow a PUT preflight from the demo page's origin %s: status %d, headers %v", pageOrigin, status, headers)
	}

	// Services that run a command of this repository: the Go image of
	// go.mod's release, and flags the command accepts.
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readRepoFile(t, "go.mod"))
	for _, name := range mapKeys(cf.Services) {
		svc := cf.Services[name]
		if len(svc.Command) < 3 || svc.Command[0] != "go" || svc.Command[1] != "run" {
			continue
		}
		if want := "golang:" + string(goVersion[1]); svc.Image != want {
			t.Errorf("service %s runs go in %s, want %s (go.mod's release)", name, svc.Image, want)
		}
		if svc.WorkingDir != "/src" || parseMounts(t, svc.Volumes)["/src"].source != "." {
			t.Errorf("service %s: want the repository mounted at /src, its working directory", name)
		}
		checkCommandAcceptsFlags(t, name, svc.Command[2], svc.Command[3:])
	}

	// Named volumes used by services are declared.
	for name, svc := range cf.Services {
		for _, v := range svc.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				if _, ok := cf.Volumes[src]; !ok {
					t.Errorf("service %s mounts the named volume %s, which is not declared", name, src)
				}
			}
		}
	}
}

// checkCommandAcceptsFlags builds a command of this repository and runs it
// with args and -h: Go's flag package exits 0 on -h once every flag before
// it parsed, and 2 on a flag it does not define.
func checkCommandAcceptsFlags(t *testing.T, service, pkg string, args []string) {
	t.Helper()
	root, err := wasmbuild.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cmd")
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Errorf("service %s runs %s, which does not build: %v\n%s", service, pkg, err, out)
		return
	}
	out, err := exec.Command(bin, append(slices.Clone(args), "-h")...).CombinedOutput()
	if err != nil {
		t.Errorf("service %s: %s does not accept the arguments %q: %v\n%s", service, pkg, args, err, out)
	}
}

// envoyConfig holds what the tests look at in a bootstrap.
type envoyConfig struct {
	listener  *corev3.SocketAddress
	plugin    *wasmv3.PluginConfig
	policy    string   // the plugin configuration, a JSON document
	upstreams []string // host:port of the endpoints of the routed cluster
}

// inspectEnvoy checks the shape every configuration shares (one listener
// whose HttpConnectionManager runs the CORS Wasm filter first and the router
// last, routing to a defined cluster; the plugin on the v8 runtime, failing
// open, with a policy the plugin accepts as a StringValue) and returns its
// parts.
func inspectEnvoy(t *testing.T, b *bootstrapv3.Bootstrap, name string) envoyConfig {
	t.Helper()
	var c envoyConfig
	listeners := b.GetStaticResources().GetListeners()
	if len(listeners) != 1 {
		t.Fatalf("%s: %d listeners, want 1", name, len(listeners))
	}
	l := listeners[0]
	c.listener = l.GetAddress().GetSocketAddress()
	hcm := httpConnectionManager(t, l, name)

	filters := hcm.GetHttpFilters()
	if len(filters) < 2 {
		t.Fatalf("%s: http_filters %v, want the CORS filter and the router", name, filters)
	}
	first, last := filters[0], filters[len(filters)-1]
	if first.GetTypedConfig().GetTypeUrl() != wasmFilterType {
		t.Errorf("%s: the first HTTP filter is %s (%s): the CORS filter must come first, to see every request and put CORS headers on the replies of the filters after it",
			name, first.GetName(), first.GetTypedConfig().GetTypeUrl())
	}
	if last.GetTypedConfig().GetTypeUrl() != routerType {
		t.Errorf("%s: the last HTTP filter is %s, want the router", name, last.GetTypedConfig().GetTypeUrl())
	}
	var w wasmfilterv3.Wasm
	if err := first.GetTypedConfig().UnmarshalTo(&w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	c.plugin = w.GetConfig()
	vm := c.plugin.GetVmConfig()
	if vm.GetRuntime() != v8Runtime {
		t.Errorf("%s: vm_config.runtime %q, want %s", name, vm.GetRuntime(), v8Runtime)
	}
	if c.plugin.GetFailurePolicy() != wasmv3.FailurePolicy_FAIL_OPEN || c.plugin.GetFailOpen() {
		t.Errorf("%s: failure_policy %v (deprecated fail_open %v), want FAIL_OPEN and no fail_open", name, c.plugin.GetFailurePolicy(), c.plugin.GetFailOpen())
	}
	if vm.GetCode().GetLocal().GetFilename() == "" {
		t.Errorf("%s: vm_config.code is not a local file", name)
	}
	var policy wrapperspb.StringValue
	if err := c.plugin.GetConfiguration().UnmarshalTo(&policy); err != nil {
		t.Fatalf("%s: the plugin configuration is a %s, want a google.protobuf.StringValue: %v", name, c.plugin.GetConfiguration().GetTypeUrl(), err)
	}
	c.policy = policy.GetValue()
	checkPolicyLoads(t, name, []byte(c.policy), "")

	// The route and the cluster it leads to.
	var routed []string
	for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			if cl := r.GetRoute().GetCluster(); cl != "" {
				routed = append(routed, cl)
			}
		}
	}
	if len(routed) == 0 {
		t.Fatalf("%s: no route leads to a cluster", name)
	}
	for _, cl := range b.GetStaticResources().GetClusters() {
		if !slices.Contains(routed, cl.GetName()) {
			continue
		}
		for _, eps := range cl.GetLoadAssignment().GetEndpoints() {
			for _, lb := range eps.GetLbEndpoints() {
				c.upstreams = append(c.upstreams, socketString(lb.GetEndpoint().GetAddress().GetSocketAddress()))
			}
		}
		routed = slices.DeleteFunc(routed, func(s string) bool { return s == cl.GetName() })
	}
	if len(routed) > 0 {
		t.Errorf("%s: routes lead to undefined clusters %v", name, routed)
	}
	return c
}

func httpConnectionManager(t *testing.T, l *listenerv3.Listener, name string) *hcmv3.HttpConnectionManager {
	t.Helper()
	chains := l.GetFilterChains()
	if len(chains) != 1 || len(chains[0].GetFilters()) != 1 {
		t.Fatalf("%s: want one filter chain with one network filter, the HttpConnectionManager", name)
	}
	var hcm hcmv3.HttpConnectionManager
	if err := chains[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		t.Fatalf("%s: the network filter is not an HttpConnectionManager: %v", name, err)
	}
	return &hcm
}

// setWasmFilename rewrites the module path of the CORS filter in place.
func setWasmFilename(t *testing.T, b *bootstrapv3.Bootstrap, filename string) {
	t.Helper()
	chain := b.GetStaticResources().GetListeners()[0].GetFilterChains()[0]
	hcm := httpConnectionManager(t, b.GetStaticResources().GetListeners()[0], "bootstrap")
	first := hcm.GetHttpFilters()[0]
	var w wasmfilterv3.Wasm
	if err := first.GetTypedConfig().UnmarshalTo(&w); err != nil {
		t.Fatal(err)
	}
	w.GetConfig().GetVmConfig().GetCode().GetLocal().Specifier = &corev3.DataSource_Filename{Filename: filename}
	mustRepack(t, first.GetTypedConfig(), &w)
	mustRepack(t, chain.GetFilters()[0].GetTypedConfig(), hcm)
}

func mustRepack(t *testing.T, a *anypb.Any, m proto.Message) {
	t.Helper()
	if err := a.MarshalFrom(m); err != nil {
		t.Fatal(err)
	}
}

// checkPolicyLoads checks that a policy document is accepted by the
// plugin and, when wantMode is set, has that mode. Whether it is
// config.json's policy is corsctl render --check's to say.
func checkPolicyLoads(t *testing.T, where string, policy []byte, wantMode string) {
	t.Helper()
	cfg, err := filter.Parse(policy)
	if err != nil {
		t.Errorf("%s: the plugin refuses the policy: %v", where, err)
		return
	}
	if w := cfg.Warnings(); len(w) > 0 {
		t.Logf("%s: the policy loads with warnings: %v", where, w)
	}
	if wantMode != "" && cfg.Mode().String() != wantMode {
		t.Errorf("%s: the plugin reads mode %s, want %s", where, cfg.Mode(), wantMode)
	}
}

// setWasmPolicy replaces the policy of the CORS filter in place.
func setWasmPolicy(t *testing.T, b *bootstrapv3.Bootstrap, policy []byte) {
	t.Helper()
	chain := b.GetStaticResources().GetListeners()[0].GetFilterChains()[0]
	hcm := httpConnectionManager(t, b.GetStaticResources().GetListeners()[0], "bootstrap")
	first := hcm.GetHttpFilters()[0]
	var w wasmfilterv3.Wasm
	if err := first.GetTypedConfig().UnmarshalTo(&w); err != nil {
		t.Fatal(err)
	}
	configuration, err := anypb.New(wrapperspb.String(string(policy)))
	if err != nil {
		t.Fatal(err)
	}
	w.GetConfig().Configuration = configuration
	mustRepack(t, first.GetTypedConfig(), &w)
	mustRepack(t, chain.GetFilters()[0].GetTypedConfig(), hcm)
}

// loadBootstrap decodes a YAML Envoy configuration as Envoy does: into the
// v3 Bootstrap, refusing unknown fields and unresolvable typed_config types.
func loadBootstrap(t *testing.T, name string) *bootstrapv3.Bootstrap {
	t.Helper()
	js, err := yaml.YAMLToJSON(readRepoFile(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatalf("%s does not follow Envoy's v3 Bootstrap schema: %v", name, err)
	}
	return &b
}

// validateDeep runs the schema's validation rules on m and on the content
// of every Any inside it (which ValidateAll does not open), recursively. It
// returns how many Any values it opened.
func validateDeep(t *testing.T, m proto.Message, where string) int {
	t.Helper()
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			t.Errorf("%s: %s fails validation: %v", where, m.ProtoReflect().Descriptor().FullName(), err)
		}
	}
	opened := 0
	err := protorange.Range(m.ProtoReflect(), func(p protopath.Values) error {
		last := p.Index(-1)
		msg, ok := last.Value.Interface().(protoreflect.Message)
		if !ok || msg.Descriptor().FullName() != "google.protobuf.Any" || len(p.Path) == 1 {
			return nil
		}
		a := msg.Interface().(*anypb.Any)
		inner, err := a.UnmarshalNew()
		if err != nil {
			return fmt.Errorf("%s: %v", p.Path, err)
		}
		opened++
		opened += validateDeep(t, inner, where+" "+a.GetTypeUrl())
		return protorange.Break
	})
	if err != nil && err != protorange.Break {
		t.Errorf("%s: %v", where, err)
	}
	return opened
}

func socketString(s *corev3.SocketAddress) string {
	return net.JoinHostPort(s.GetAddress(), strconv.Itoa(int(s.GetPortValue())))
}

type mount struct {
	source   string
	readOnly bool
}

// parseMounts reads compose short-syntax volumes, SOURCE:TARGET[:ro], by target.
func parseMounts(t *testing.T, volumes []string) map[string]mount {
	t.Helper()
	out := map[string]mount{}
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Errorf("volume %q: want SOURCE:TARGET[:ro]", v)
			continue
		}
		out[parts[1]] = mount{source: parts[0], readOnly: len(parts) == 3 && parts[2] == "ro"}
	}
	return out
}

// parsePorts reads compose short-syntax ports, [IP:]HOST:CONTAINER, as
// container port to host port.
func parsePorts(t *testing.T, ports []string) map[int]int {
	t.Helper()
	out := map[int]int{}
	for _, p := range ports {
		parts := strings.Split(p, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Errorf("port %q: want [IP:]HOST:CONTAINER", p)
			continue
		}
		host, err1 := strconv.Atoi(parts[len(parts)-2])
		container, err2 := strconv.Atoi(parts[len(parts)-1])
		if err1 != nil || err2 != nil {
			t.Errorf("port %q: want numeric ports", p)
			continue
		}
		out[container] = host
	}
	return out
}

// listensOnAllInterfaces reports whether a command names a listen address
// on port that is not a loopback one: 0.0.0.0:port, [::]:port or :port.
func listensOnAllInterfaces(command []string, port string) bool {
	for _, arg := range command {
		for _, a := range strings.Split(arg, "=") {
			if a == "0.0.0.0:"+port || a == "[::]:"+port || a == ":"+port {
				return true
			}
		}
	}
	return false
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lineDiff lists the lines of b missing from a (-) and of a missing from b
// (+): enough to point at the difference between two documents.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for _, l := range wl {
		if !slices.Contains(gl, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range gl {
		if !slices.Contains(wl, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
