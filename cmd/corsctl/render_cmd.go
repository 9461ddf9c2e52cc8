package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/corswasm/corswasm/filter"
)

const renderUsage = `Usage: corsctl render [--config FILE] [--check] [FILE...]
       corsctl render [--config FILE] --envoy-filter
       corsctl render [--config FILE] --wasmplugin NAME [--namespace NS] --url oci://...
       corsctl render [--config FILE] --trafficextension NAME [--namespace NS] --url oci://...

Writes the policy of one file (config.json by default) into every artifact
of the repository that carries it, and changes nothing else in them:
  - the StringValue (value: |) of the plugin's Wasm HTTP filter in Envoy
    configurations: envoy.yaml, deploy/envoy/envoy.compose.yaml;
  - the pluginConfig of the plugin's Istio WasmPlugins and
    TrafficExtensions under deploy/;
  - the config of the plugin's entries in Envoy Gateway
    EnvoyExtensionPolicies under deploy/.
It looks into envoy.yaml and every YAML file under deploy/ (run it from the
repository's root), or only into the FILEs named. The policy is written as
the policy file has it (members in its order, defaults written out kept):
as JSON in config.json's layout for Envoy, as YAML for manifests. An
artifact's own mode is kept: the report step of a rollout stays in report.

A policy the plugin refuses is an error, and nothing is written; files are
written whole or not at all.

With --envoy-filter, --wasmplugin or --trafficextension it writes nothing
and prints a fresh artifact carrying the policy, for your own deployment,
with the project's defaults (first in the filter chain or phase AUTHN with
priority 1000, failing open).

Flags:
  --config FILE             the policy file (default config.json)
  --check                   write nothing; exit 1 naming each artifact that differs
  --envoy-filter            print the HTTP filter entry for an Envoy configuration
  --wasmplugin NAME         print an Istio WasmPlugin named NAME
  --trafficextension NAME   print an Istio TrafficExtension (Istio 1.30+) named NAME
  --namespace NS            its namespace (default istio-system: the whole mesh)
  --url URL                 its image, oci://REGISTRY/REPOSITORY:TAG or @sha256:DIGEST

Exit status: 0 when every artifact carries the policy (after writing it);
1 when --check finds an artifact that differs; 2 for bad usage, a policy the
plugin refuses, or files that cannot be read or written.

Examples:
  corsctl render
  corsctl render --check
  corsctl render --config staging.json deploy/istio/wasmplugin-mesh.yaml
  corsctl render --wasmplugin cors --namespace shop --url oci://registry.example.com/corswasm:0.1.0
`

// renderCmd is corsctl render.
func (e *env) renderCmd(args []string) int {
	fs := newFlags("render")
	config := fs.String("config", "config.json", "")
	check := fs.Bool("check", false, "")
	envoyFilter := fs.Bool("envoy-filter", false, "")
	wasmPlugin := fs.String("wasmplugin", "", "")
	trafficExt := fs.String("trafficextension", "", "")
	namespace := fs.String("namespace", "istio-system", "")
	image := fs.String("url", "", "")
	files, help, err := parse(fs, args)
	if help {
		fmt.Fprint(e.stdout, renderUsage)
		return exitOK
	}
	if err != nil {
		return e.usageError("%v", err)
	}
	fresh := 0
	for _, on := range []bool{*envoyFilter, *wasmPlugin != "", *trafficExt != ""} {
		if on {
			fresh++
		}
	}
	if fresh > 0 {
		switch {
		case fresh > 1:
			return e.usageError("render: give one of --envoy-filter, --wasmplugin and --trafficextension")
		case *check || len(files) > 0:
			return e.usageError("render: --envoy-filter, --wasmplugin and --trafficextension print an artifact; they take no FILE and no --check")
		}
		if !*envoyFilter {
			if err := checkOCI(*image); err != nil {
				return e.usageError("render: %v", err)
			}
		}
		policy, err := readPolicy(*config)
		if err != nil {
			return e.failf(exitUsage, "%v", err)
		}
		if *envoyFilter {
			fmt.Fprint(e.stdout, freshEnvoyFilter(policy))
			return exitOK
		}
		if *wasmPlugin != "" {
			fmt.Fprint(e.stdout, freshWasmPlugin(policy, *wasmPlugin, *namespace, *image))
		} else {
			fmt.Fprint(e.stdout, freshTrafficExtension(policy, *trafficExt, *namespace, *image))
		}
		return exitOK
	}

	plan, err := planRender(".", *config, files)
	if err != nil {
		return e.failf(exitUsage, "%v", err)
	}
	diffs := plan.differences(*config)
	if *check {
		if len(diffs) > 0 {
			fmt.Fprintf(e.stderr, "%s\n", strings.Join(diffs, "\n"))
			return e.failf(exitProblem, "%d of %d artifacts differ from %s; run corsctl render to write the policy into them", len(diffs), len(plan.changes), *config)
		}
		fmt.Fprintf(e.stdout, "%d artifacts carry the policy of %s\n", len(plan.changes), *config)
		return exitOK
	}
	if err := plan.write(); err != nil {
		return e.failf(exitUsage, "%v", err)
	}
	for _, c := range plan.changes {
		if !c.same {
			fmt.Fprintf(e.stdout, "wrote %s:%d: %s\n", c.File, c.Line, c.Where)
		}
	}
	fmt.Fprintf(e.stdout, "%d artifacts carry the policy of %s (%d rewritten)\n", len(plan.changes), *config, len(diffs))
	return exitOK
}

// readPolicy reads a policy file the engine accepts.
func readPolicy(file string) (*pval, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the policy file: %v", err)
	}
	if _, err := filter.Parse(data); err != nil {
		return nil, fmt.Errorf("the plugin refuses %s:\n%v", file, err)
	}
	policy, err := decodePolicyDoc(data)
	if err != nil || policy.kind != 'o' {
		return nil, fmt.Errorf("%s: not a JSON object", file)
	}
	return policy, nil
}

// checkOCI checks an image URL as Istio's agent needs it.
func checkOCI(raw string) error {
	if raw == "" {
		return errors.New("--url is required: the image of make image, oci://REGISTRY/REPOSITORY:TAG (pin it with @sha256:DIGEST)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "oci" || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return fmt.Errorf("--url %q: want oci://REGISTRY/REPOSITORY:TAG or oci://REGISTRY/REPOSITORY@sha256:DIGEST", raw)
	}
	return nil
}

// indentJSON is the policy's JSON with every line indented.
func indentJSON(policy *pval, indent string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(policyDocJSON(policy), "\n") {
		b.WriteString(indent + line + "\n")
	}
	return b.String()
}

// freshEnvoyFilter is the plugin's entry of http_filters, as envoy.yaml has it.
func freshEnvoyFilter(policy *pval) string {
	return `# The CORS plugin's HTTP filter (Envoy 1.33 or newer): put it first in the
# http_filters of your HttpConnectionManager, so that it sees every request
# and can put CORS headers on the replies of the filters after it, and set
# the module's path in vm_config.code.local.filename.
- name: cors
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
    config:
      name: cors
      root_id: cors
      # If the VM fails, requests pass without CORS headers: browsers deny
      # cross-origin reads (fail safe).
      failure_policy: FAIL_OPEN
      configuration:
        "@type": type.googleapis.com/google.protobuf.StringValue
        value: |
` + indentJSON(policy, "          ") + `      vm_config:
        vm_id: cors
        runtime: envoy.wasm.runtime.v8
        code:
          local: {filename: plugin.wasm}
`
}

// istioHeader is the start of a WasmPlugin or TrafficExtension.
func istioHeader(kind, name, namespace string) string {
	return `apiVersion: extensions.istio.io/v1alpha1
kind: ` + kind + `
metadata:
  # In the root namespace (istio-system by default) and without a selector
  # or targetRefs, it applies to every workload of the mesh; in another
  # namespace, to every workload of that namespace. Add a selector or
  # targetRefs to narrow it.
  name: ` + yamlScalar(name) + `
  namespace: ` + yamlScalar(namespace) + `
spec:
  # Before Istio's authentication and authorization filters, first among
  # AUTHN plugins, so that their 401 and 403 replies get CORS headers.
  phase: AUTHN
  priority: 1000
`
}

// istioWasm is the Wasm fields of a WasmPlugin (indent "  ") or of a
// TrafficExtension's wasm (indent "    ").
func istioWasm(policy *pval, image, indent string) string {
	lines := []string{
		"# Pin the image: oci://REGISTRY/REPOSITORY@sha256:DIGEST, or sha256: DIGEST.",
		"url: " + yamlScalar(image),
		"imagePullPolicy: IfNotPresent",
		"pluginName: cors",
		"type: HTTP",
		"# A failed VM lets requests through without CORS headers: browsers deny",
		"# cross-origin reads, so failing open is safe.",
		"failStrategy: FAIL_OPEN",
		"pluginConfig:",
		"  " + policyYAML(policy, indent+"  "),
	}
	return indent + strings.Join(lines, "\n"+indent) + "\n"
}

func freshWasmPlugin(policy *pval, name, namespace, image string) string {
	return istioHeader("WasmPlugin", name, namespace) + istioWasm(policy, image, "  ")
}

func freshTrafficExtension(policy *pval, name, namespace, image string) string {
	return "# Istio 1.30 or newer. Apply it or a WasmPlugin, not both.\n" +
		istioHeader("TrafficExtension", name, namespace) + "  wasm:\n" + istioWasm(policy, image, "    ")
}
