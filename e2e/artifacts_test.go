package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/corswasm/corswasm/filter"
)

// TestExampleConfigurationLoadsCleanly checks that config.json, the example
// the README points to, is accepted without warnings.
func TestExampleConfigurationLoadsCleanly(t *testing.T) {
	data := readRepoFile(t, "config.json")
	cfg, err := filter.Parse(data)
	if err != nil {
		t.Fatalf("config.json is refused: %v", err)
	}
	if w := cfg.Warnings(); len(w) > 0 {
		t.Errorf("config.json loads with warnings: %v", w)
	}
}

// TestEnvoyYAMLCarriesTheExamplePolicy checks that envoy.yaml loads
// plugin.wasm with exactly the policy of config.json, as a StringValue.
func TestEnvoyYAMLCarriesTheExamplePolicy(t *testing.T) {
	var bootstrap struct {
		StaticResources struct {
			Listeners []struct {
				FilterChains []struct {
					Filters []struct {
						TypedConfig struct {
							HTTPFilters []struct {
								Name        string `json:"name"`
								TypedConfig struct {
									Config struct {
										Configuration struct {
											Type  string `json:"@type"`
											Value string `json:"value"`
										} `json:"configuration"`
										VMConfig struct {
											Runtime string `json:"runtime"`
											Code    struct {
												Local struct {
													Filename string `json:"filename"`
												} `json:"local"`
											} `json:"code"`
										} `json:"vm_config"`
									} `json:"config"`
								} `json:"typed_config"`
							} `json:"http_filters"`
						} `json:"typed_config"`
					} `json:"filters"`
				} `json:"filter_chains"`
			} `json:"listeners"`
		} `json:"static_resources"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "envoy.yaml"), &bootstrap); err != nil {
		t.Fatalf("envoy.yaml: %v", err)
	}
	filters := bootstrap.StaticResources.Listeners[0].FilterChains[0].Filters[0].TypedConfig.HTTPFilters
	if len(filters) < 2 || filters[0].Name != "cors" {
		t.Fatalf("the CORS filter must come first in http_filters, got %+v", filters)
	}
	plugin := filters[0].TypedConfig.Config
	if got := plugin.VMConfig.Code.Local.Filename; got != "plugin.wasm" {
		t.Errorf("vm_config loads %q, want plugin.wasm", got)
	}
	if got := plugin.Configuration.Type; got != "type.googleapis.com/google.protobuf.StringValue" {
		t.Errorf("configuration is a %s, want a StringValue", got)
	}
	if _, err := filter.Parse([]byte(plugin.Configuration.Value)); err != nil {
		t.Fatalf("the policy in envoy.yaml is refused: %v", err)
	}
	var inYAML, inJSON any
	if err := json.Unmarshal([]byte(plugin.Configuration.Value), &inYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readRepoFile(t, "config.json"), &inJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(inYAML, inJSON) {
		t.Errorf("the policy in envoy.yaml differs from config.json")
	}
}

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
