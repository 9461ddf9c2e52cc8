package e2e

// Checks of the Istio manifests attached to Gateway API Gateways through
// targetRefs: an ambient-mode waypoint (deploy/istio/ambient) and a Gateway
// API ingress Gateway (deploy/istio/gateway-api). Their schema, image,
// phase, failure policy and policy are checked with every other Istio
// manifest by TestIstioManifestsFollowTheIstioAPI, which calls
// checkIstioAttachment; this file adds what only they have.

import (
	"maps"
	"testing"

	"google.golang.org/protobuf/proto"
	extensions "istio.io/api/extensions/v1alpha1"
	typev1beta1 "istio.io/api/type/v1beta1"
)

const (
	istioRootNamespace = "istio-system"
	gatewayAPIGroup    = "gateway.networking.k8s.io"
)

// checkIstioAttachment checks where a manifest applies. selector and
// targetRefs are exclusive (Istio refuses a resource with both): a manifest
// uses the selector it is listed with, or targetRefs naming exactly its
// Gateway, or neither (the whole mesh). Without targetRefs it lives in the
// root namespace, so that it applies in every namespace; with them, in the
// namespace of the Gateway, since Istio resolves a targetRef only in the
// resource's own namespace (the CRD refuses a namespace in a targetRef).
func checkIstioAttachment(t *testing.T, m istioManifest, name, namespace string, selector map[string]string, gateway string) {
	t.Helper()
	if namespace == "" {
		namespace = istioRootNamespace
	}
	if m.obj.Metadata.Name != name || m.obj.Metadata.Namespace != namespace {
		t.Errorf("metadata %s/%s, want %s/%s", m.obj.Metadata.Namespace, m.obj.Metadata.Name, namespace, name)
	}
	s := m.spec
	if len(s.selector) > 0 && s.targetRefs > 0 {
		t.Errorf("both a selector %v and %d targetRefs: Istio refuses the resource (they are exclusive)", s.selector, s.targetRefs)
	}
	if !maps.Equal(s.selector, selector) {
		t.Errorf("selector %v, want %v", s.selector, selector)
	}

	var refs []*typev1beta1.PolicyTargetReference
	switch msg := m.msg.(type) {
	case *extensions.WasmPlugin:
		if msg.GetTargetRef() != nil {
			t.Errorf("targetRef (deprecated, single): use targetRefs")
		}
		refs = msg.GetTargetRefs()
	case *extensions.TrafficExtension:
		refs = msg.GetTargetRefs()
	}
	if gateway == "" {
		if len(refs) != 0 {
			t.Errorf("%d targetRefs, want none", len(refs))
		}
		return
	}
	if len(selector) > 0 {
		t.Fatalf("listed with both a selector and a Gateway")
	}
	if namespace == istioRootNamespace {
		t.Errorf("attached to a Gateway from the root namespace: put it in the Gateway's namespace")
	}
	if len(refs) != 1 {
		t.Fatalf("%d targetRefs, want one: the Gateway %s", len(refs), gateway)
	}
	r := refs[0]
	if r.GetGroup() != gatewayAPIGroup || r.GetKind() != "Gateway" || r.GetName() != gateway {
		t.Errorf("targetRefs[0] %s/%s %s, want %s/Gateway %s", r.GetGroup(), r.GetKind(), r.GetName(), gatewayAPIGroup, gateway)
	}
	if r.GetNamespace() != "" {
		t.Errorf("targetRefs[0].namespace %q: Istio refuses cross-namespace references; put the resource in the Gateway's namespace", r.GetNamespace())
	}
	// A waypoint or a Gateway API gateway: the traffic selectors for
	// sidecars (SERVER, CLIENT) do not apply.
	if len(s.modes) != 0 {
		t.Errorf("match modes %v on a Gateway: want none", s.modes)
	}
}

// TestGatewayAttachedPluginsAreTheMeshPlugin: the waypoint and Gateway API
// manifests run the same plugin as wasmplugin-mesh.yaml (image, pin, phase,
// priority, failure strategy, policy); only where it applies differs. With
// TestTrafficExtensionsMirrorWasmPlugins, the same holds for their
// TrafficExtensions.
func TestGatewayAttachedPluginsAreTheMeshPlugin(t *testing.T) {
	mesh := loadIstioManifest(t, "wasmplugin-mesh.yaml")
	want := proto.Clone(mesh.msg).(*extensions.WasmPlugin)
	want.Match = nil
	for _, rel := range []string{"ambient/wasmplugin-waypoint.yaml", "gateway-api/wasmplugin-gateway.yaml"} {
		m := loadIstioManifest(t, rel)
		got := proto.Clone(m.msg).(*extensions.WasmPlugin)
		got.TargetRefs = nil
		if !proto.Equal(got, want) {
			t.Errorf("%s differs from wasmplugin-mesh.yaml in more than targetRefs and match", rel)
		}
	}
}
