package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/corswasm/corswasm/filter"
)

// checked is the result of checking one configuration.
type checked struct {
	File     string    `json:"file"`
	Where    string    `json:"where,omitempty"`
	Loads    bool      `json:"loads"`
	Summary  string    `json:"summary,omitempty"`
	Findings []finding `json:"findings"`
}

// checkReport is what check prints: every configuration checked and the
// count of findings by severity.
type checkReport struct {
	Configurations []checked `json:"configurations"`
	Errors         int       `json:"errors"`
	Warnings       int       `json:"warnings"`
	Notes          int       `json:"notes"`
}

// selectSources keeps the sources named only, if set.
func selectSources(sources []source, only, file string) ([]source, error) {
	if only == "" {
		return sources, nil
	}
	var names []string
	var kept []source
	for _, s := range sources {
		if s.Name == only {
			kept = append(kept, s)
		}
		if s.Name != "" {
			names = append(names, fmt.Sprintf("%q", s.Name))
		}
	}
	if len(kept) == 0 {
		if len(names) == 0 {
			return nil, fmt.Errorf("--filter %q: %s holds a plain configuration, with no filter names", only, file)
		}
		return nil, fmt.Errorf("--filter %q: no such Wasm filter or WasmPlugin in %s; it has %s", only, file, strings.Join(names, ", "))
	}
	return kept, nil
}

// checkSource parses one configuration as the plugin would and lints it.
func checkSource(s source) checked {
	c := checked{File: s.File, Where: s.Where, Findings: []finding{}}
	cfg, err := filter.Parse(s.JSON)
	if err != nil {
		var ce *filter.ConfigError
		if !errors.As(err, &ce) {
			ce = &filter.ConfigError{Problems: []filter.Problem{{Message: err.Error()}}}
		}
		for _, p := range ce.Problems {
			c.Findings = append(c.Findings, finding{Severity: sevError, Path: prefixed(s.Prefix, p.Path), Message: p.Message})
		}
		return c
	}
	c.Loads = true
	c.Summary = strings.TrimPrefix(cfg.Summary(), "cors: configuration loaded: ")
	for _, w := range cfg.Warnings() {
		c.Findings = append(c.Findings, finding{Severity: sevWarning, Path: prefixed(s.Prefix, w.Path), Message: w.Message})
	}
	spec, err := filter.DecodeSpec(s.JSON)
	if err != nil { // Parse read it, so only a disagreement of the readers gets here
		c.Findings = append(c.Findings, finding{Severity: sevError, Message: "cannot read the configuration again to lint it: " + err.Error()})
		return c
	}
	for _, f := range lint(cfg, spec) {
		f.Path = prefixed(s.Prefix, f.Path)
		c.Findings = append(c.Findings, f)
	}
	return c
}

// prefixed puts a source's prefix before a field path; a whole-document
// problem gets the prefix without its final dot.
func prefixed(prefix, path string) string {
	if path == "" {
		return strings.TrimSuffix(prefix, ".")
	}
	return prefix + path
}

// writeCheckText prints the report for a reader: each configuration's
// verdict and findings, then the counts.
func writeCheckText(w io.Writer, r checkReport) {
	for _, c := range r.Configurations {
		label := c.File
		if c.Where != "" {
			label += ", " + c.Where
		}
		if c.Loads {
			fmt.Fprintf(w, "%s: loads: %s\n", label, c.Summary)
		} else {
			fmt.Fprintf(w, "%s: REFUSED: the plugin rejects this configuration (Envoy keeps the previous one, or does not start)\n", label)
		}
		for _, f := range c.Findings {
			head := fmt.Sprintf("  %-8s", f.Severity)
			if f.Path != "" {
				fmt.Fprintf(w, "%s%s: %s\n", head, f.Path, f.Message)
			} else {
				fmt.Fprintf(w, "%s%s\n", head, f.Message)
			}
			if f.Fix != "" {
				fmt.Fprintf(w, "  %-8sfix: %s\n", "", f.Fix)
			}
		}
	}
	fmt.Fprintf(w, "\n%d %s checked: %s, %s, %s\n", len(r.Configurations),
		pluralN(len(r.Configurations), "configuration", "configurations"),
		count(r.Errors, "error"), count(r.Warnings, "warning"), count(r.Notes, "note"))
}

func pluralN(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func count(n int, what string) string { return fmt.Sprintf("%d %s", n, pluralN(n, what, what+"s")) }

// writeJSON writes v indented, without escaping <, > and &.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
