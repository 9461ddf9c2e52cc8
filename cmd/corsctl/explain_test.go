package main

import (
	"strings"
	"testing"

	"github.com/corswasm/corswasm/filter"
)

// TestExplainRunSaysWhenEnforceModeCannotBeBuilt: a configuration in report
// mode is explained as enforce mode will run it, which takes reading the
// configuration a second time. When that fails, explainRun must say so; it
// used to drop both errors and simulate with a nil configuration.
func TestExplainRunSaysWhenEnforceModeCannotBeBuilt(t *testing.T) {
	cfg, err := filter.Parse([]byte(`{"mode": "report", "allowOrigins": ["https://app.example.com"]}`))
	if err != nil {
		t.Fatal(err)
	}
	// The bytes do not hold the configuration cfg came from: the second
	// reading fails, as it would if corsctl's reader and the engine's ever
	// disagreed on a document.
	src := source{File: "config.json", JSON: []byte(`["not", "an", "object"]`)}
	sc := &scenario{origin: "https://evil.example", method: "PUT", host: "api.example.com", path: "/", url: "https://api.example.com/", upstreamStatus: 200}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("explainRun panicked instead of returning an error: %v", r)
		}
	}()
	x, err := explainRun(src, cfg, sc)
	if err == nil {
		t.Fatalf("explainRun returned %+v and no error", x)
	}
	if !strings.Contains(err.Error(), "enforce") {
		t.Errorf("error %q does not say enforce mode could not be built", err)
	}
}
