package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/corswasm/corswasm/filter"
)

const checkUsage = `Usage: corsctl check [--format text|json] [--strict] [--filter NAME] FILE...

Validates every plugin configuration in each FILE with the plugin's own
parser and prints what the plugin would log: the errors that make it refuse
the configuration and its warnings, each with the field's path and how to
fix it. Then lint findings the plugin accepts silently:
  - regexes that accept more than their author likely meant: attacker
    variants of each allowed origin (look-alike prefixes and suffixes, a dot
    matching any character, plain http, extra labels) are tried against the
    policy, and those a regex accepts are printed;
  - wildcard subdomains allowed with credentials (the plugin already warns
    about plain-http origins with credentials);
  - maxAge above what Safari caches (600 s; the plugin warns above
    Chromium's 7200 s);
  - safelisted methods and headers listed needlessly, and methods whose case
    browsers will not match;
  - policies that never apply because an earlier one matches first.

FILE is config.json, an Envoy configuration (each Wasm HTTP filter's
StringValue configuration is checked), or an Istio WasmPlugin manifest
(spec.pluginConfig); "-" reads standard input.

Flags:
  --format text|json   output format (default text)
  --strict             exit 1 on warnings too, not only on errors
  --filter NAME        check only the Wasm filter or WasmPlugin named NAME

Exit status: 0 when every configuration loads (with warnings or notes), 1
when one is refused (or warns, with --strict), 2 for bad usage or files that
cannot be read or hold no configuration.

Examples:
  corsctl check config.json envoy.yaml
  corsctl check --filter cors istio/wasmplugin.yaml
  corsctl check --format json --strict config.json
`

// checked is the result of checking one configuration.
type checked struct {
	File     string    `json:"file"`
	Where    string    `json:"where,omitempty"`
	Loads    bool      `json:"loads"`
	Summary  string    `json:"summary,omitempty"`
	Findings []finding `json:"findings"`
}

type checkReport struct {
	Configurations []checked `json:"configurations"`
	Errors         int       `json:"errors"`
	Warnings       int       `json:"warnings"`
	Notes          int       `json:"notes"`
}

func (e *env) check(args []string) int {
	fs := newFlags("check")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "")
	strict := fs.Bool("strict", false, "")
	only := fs.String("filter", "", "")
	files, help, err := parse(fs, args)
	if help {
		fmt.Fprint(e.stdout, checkUsage)
		return exitOK
	}
	if err != nil {
		return e.usageError("%v", err)
	}
	if len(files) == 0 {
		return e.usageError("check: name at least one FILE, e.g. corsctl check config.json")
	}
	var report checkReport
	for _, file := range files {
		sources, err := e.loadSources(file)
		if err != nil {
			return e.failf(exitUsage, "%v", err)
		}
		if sources, err = selectSources(sources, *only, file); err != nil {
			return e.failf(exitUsage, "%v", err)
		}
		for _, s := range sources {
			c := checkSource(s)
			for _, f := range c.Findings {
				switch f.Severity {
				case sevError:
					report.Errors++
				case sevWarning:
					report.Warnings++
				default:
					report.Notes++
				}
			}
			report.Configurations = append(report.Configurations, c)
		}
	}
	if format.value == "json" {
		writeJSON(e.stdout, report)
	} else {
		writeCheckText(e.stdout, report)
	}
	if report.Errors > 0 || *strict && report.Warnings > 0 {
		return exitProblem
	}
	return exitOK
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
	for _, f := range lint(cfg, s.JSON) {
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
