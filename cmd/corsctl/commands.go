// The command line of each command: its usage, its flags and its exit status.
// The work itself is in check.go, explain.go, import.go and report.go.

package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/filter"
	"github.com/corswasm/corswasm/internal/fetch"
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

// check validates and lints each configuration in the files named.
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

const explainUsage = `Usage: corsctl explain --config FILE --origin ORIGIN [flags]

Explains what the plugin does with a page's fetch() and why: the policy that
applies, each check with its result, the exact response headers the plugin
sends, and whether the browser accepts them. When the browser refuses, it
prints the error its console shows (Chromium's wording) and the smallest
change of the policy that lets the fetch through, checked by running it
again.

Like a browser, explain sends a preflight first when the fetch needs one (a
method other than GET, HEAD and POST, or a header that is not safelisted),
then the request itself if the preflight passes.

Flags:
  --config FILE         config.json, envoy.yaml or an Istio WasmPlugin ("-": standard input)
  --filter NAME         the Wasm filter or WasmPlugin to use, when FILE has several
  --origin ORIGIN       the page's origin, e.g. https://app.example.com (required)
  --method M            the fetch's method (default GET)
  --header H            a header the page sets: "name" or "name: value" (repeatable;
                        a comma-separated list of names works too)
  --credentials         the page sends credentials (credentials: "include")
  --url URL             the URL fetched, e.g. https://api.example.com/v1/things
  --host H, --path P    or its host and path (default path /)
  --route NAME          the Envoy route name, for policies that match routeNames
  --preflight           send only the preflight, even if the fetch needs none
  --private-network     the page asks for private network access
  --upstream-status N   the status the upstream answers (default 200)
  --upstream-header H   a header the upstream sends, "name: value" (repeatable)
  --format F            text (default), curl (commands and answers to paste into
                        a ticket) or json

Exit status: 0 when the browser gets the response, 1 when it is blocked, 2
for bad usage or a configuration that cannot be read or is refused.

Examples:
  corsctl explain --config config.json --origin https://app.example.com \
      --url https://api.example.com/v1/things --method PUT --header content-type
  corsctl explain --config envoy.yaml --origin https://evil.example --format curl
  corsctl explain --config config.json --origin https://app.example.com \
      --path /public/feed --credentials --format json
`

// explain turns its flags into a fetch, explains it against the one
// configuration named by --config and prints the explanation in --format.
func (e *env) explain(args []string) int {
	fs := newFlags("explain")
	config := fs.String("config", "", "")
	only := fs.String("filter", "", "")
	origin := fs.String("origin", "", "")
	method := fs.String("method", "GET", "")
	var headers, upstreamHeaders listFlag
	fs.Var(&headers, "header", "")
	fs.Var(&upstreamHeaders, "upstream-header", "")
	credentials := fs.Bool("credentials", false, "")
	rawURL := fs.String("url", "", "")
	host := fs.String("host", "", "")
	path := fs.String("path", "", "")
	route := fs.String("route", "", "")
	preflight := fs.Bool("preflight", false, "")
	privateNet := fs.Bool("private-network", false, "")
	upstreamStatus := fs.Int("upstream-status", 200, "")
	format := &formatFlag{value: "text", allowed: []string{"text", "curl", "json"}}
	fs.Var(format, "format", "")
	rest, help, err := parse(fs, args)
	if help {
		fmt.Fprint(e.stdout, explainUsage)
		return exitOK
	}
	if err != nil {
		return e.usageError("%v", err)
	}
	switch {
	case len(rest) > 0:
		return e.usageError("explain: unexpected argument %q; name the configuration with --config", rest[0])
	case *config == "":
		return e.usageError("explain: --config FILE is required (config.json, envoy.yaml or a WasmPlugin manifest)")
	case *origin == "":
		return e.usageError("explain: --origin is required: the origin of the calling page, e.g. https://app.example.com")
	case *rawURL != "" && (*host != "" || *path != ""):
		return e.usageError("explain: give either --url or --host and --path, not both")
	case *upstreamStatus < 100 || *upstreamStatus > 599:
		return e.usageError("explain: --upstream-status must be an HTTP status from 100 to 599")
	}
	sc := &scenario{origin: *origin, method: fetch.NormalizeMethod(*method), credentials: *credentials, route: *route,
		onlyPreflight: *preflight, privateNet: *privateNet, upstreamStatus: *upstreamStatus}
	if sc.method == "" || strings.ContainsAny(sc.method, " ,\t") {
		return e.usageError("explain: --method %q is not one method", *method)
	}
	if err := sc.setURL(*rawURL, *host, *path); err != nil {
		return e.usageError("explain: %v", err)
	}
	for _, h := range headers {
		for _, rh := range parseHeaderFlag(h) {
			if rh.name == "" {
				return e.usageError("explain: --header %q has no name", h)
			}
			if fetch.IsForbiddenRequestHeader(rh.name) {
				sc.dropped = append(sc.dropped, rh.name)
				continue
			}
			sc.headers = append(sc.headers, rh)
		}
	}
	for _, h := range upstreamHeaders {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return e.usageError("explain: --upstream-header %q must be \"name: value\"", h)
		}
		sc.upstreamHeaders = append(sc.upstreamHeaders, [2]string{strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)})
	}

	sources, err := e.loadSources(*config)
	if err != nil {
		return e.failf(exitUsage, "%v", err)
	}
	if sources, err = selectSources(sources, *only, *config); err != nil {
		return e.failf(exitUsage, "%v", err)
	}
	if len(sources) > 1 {
		var names []string
		for _, s := range sources {
			names = append(names, strconv.Quote(s.Name))
		}
		return e.usageError("explain: %s holds %d configurations (%s); choose one with --filter NAME", *config, len(sources), strings.Join(names, ", "))
	}
	src := sources[0]
	cfg, err := filter.Parse(src.JSON)
	if err != nil {
		var ce *filter.ConfigError
		if !errors.As(err, &ce) {
			return e.failf(exitUsage, "%s: the plugin refuses this configuration: %v", src.label(), err)
		}
		var lines []string
		for _, p := range ce.Problems {
			lines = append(lines, "  "+prefixed(src.Prefix, p.Path)+": "+p.Message)
		}
		return e.failf(exitUsage, "%s: the plugin refuses this configuration:\n%s\n(\"corsctl check %s\" says more)", src.label(), strings.Join(lines, "\n"), *config)
	}
	x, err := explainRun(src, cfg, sc)
	if err != nil {
		return e.failf(exitUsage, "%s: %v", src.label(), err)
	}
	switch format.value {
	case "json":
		writeJSON(e.stdout, x.json())
	case "curl":
		x.writeCurl(e.stdout)
	default:
		x.writeText(e.stdout)
	}
	if x.sim.blocked() {
		return exitProblem
	}
	return exitOK
}

// setURL fills the URL, host and path from the flags.
func (sc *scenario) setURL(rawURL, host, path string) error {
	if rawURL != "" {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return errors.New("--url must be an absolute http or https URL, e.g. https://api.example.com/v1/things")
		}
		sc.host, sc.path = u.Host, u.EscapedPath()
		if u.RawQuery != "" {
			sc.path += "?" + u.RawQuery
		}
		if sc.path == "" {
			sc.path = "/"
		}
		sc.url = u.Scheme + "://" + u.Host + sc.path
		return nil
	}
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("--path %q must start with /", path)
	}
	sc.host, sc.path = host, path
	shown := host
	if shown == "" {
		shown = "<host>"
	}
	sc.url = "https://" + shown + path
	return nil
}

// parseHeaderFlag reads "name", "name: value" or "name1,name2".
func parseHeaderFlag(s string) []reqHeader {
	if name, value, ok := strings.Cut(s, ":"); ok {
		return []reqHeader{{name: strings.ToLower(strings.TrimSpace(name)), value: strings.TrimSpace(value), hasValue: true}}
	}
	var out []reqHeader
	for _, name := range strings.Split(s, ",") {
		out = append(out, reqHeader{name: strings.ToLower(strings.TrimSpace(name))})
	}
	return out
}

const importUsage = `Usage: corsctl import [--strict] FILE...

Converts the CORS policies of Istio and Envoy into this plugin's
configuration, one policy per route or virtual host, and prints it on
standard output, so that a mesh can move its CORS to the plugin:
  - Istio VirtualService: the corsPolicy of each spec.http[] route
    (allowOrigins with exact, prefix or regex matches, allowMethods,
    allowHeaders, exposeHeaders, maxAge, allowCredentials,
    unmatchedPreflights);
  - Envoy: the CorsPolicy of routes, virtual hosts and route
    configurations, in typed_per_filter_config (envoy.filters.http.cors) or
    the legacy cors field, merged field by field as Envoy merges them (the
    route's fields over the virtual host's).
A policy matches its route by name (routeNames; Istio names the Envoy route
"<http name>" or "<http name>.<match name>") when the route has one, else by
its path prefixes, and by the hosts of its VirtualService or virtual host.
Whatever does not translate one to one is printed on standard error, never
dropped silently: prefix, suffix and contains origin matches (kept as
regexes, which accept look-alikes), origin regexes outside the subset of
RE2 the plugin supports (left out), Envoy's echo of any origin with
credentials (which the plugin refuses), route matches the plugin cannot
express, runtime fractions. The result goes through the plugin's parser
before it is printed.

Flags:
  --strict   exit 1 when anything does not translate one to one

Exit status: 0 when the configuration is written, 1 when no CORS policy is
found or the plugin would refuse the result (or, with --strict, when
anything does not translate), 2 for bad usage or unreadable files.

Examples:
  corsctl import istio/virtualservices.yaml > config.json
  corsctl import envoy.yaml > config.json && corsctl check config.json
`

// importCmd translates the CORS policies of Istio and Envoy files into one
// configuration of the plugin, printed on standard output; what does not
// translate one to one goes to standard error.
func (e *env) importCmd(args []string) int {
	fs := newFlags("import")
	strict := fs.Bool("strict", false, "")
	files, help, err := parse(fs, args)
	if help {
		fmt.Fprint(e.stdout, importUsage)
		return exitOK
	}
	if err != nil {
		return e.usageError("%v", err)
	}
	if len(files) == 0 {
		return e.usageError("import: name at least one FILE, e.g. corsctl import virtualservice.yaml")
	}
	im := &importer{}
	for _, file := range files {
		data, err := e.readFile(file)
		if err != nil {
			return e.failf(exitUsage, "%v", err)
		}
		docs, err := yamlDocuments(data)
		if err != nil {
			return e.failf(exitUsage, "%s is neither JSON nor YAML: %v", displayName(file), err)
		}
		for _, d := range docs {
			m, ok := d.(map[string]any)
			if !ok {
				continue
			}
			switch kind, _ := m["kind"].(string); kind {
			case "VirtualService":
				im.virtualService(file, m)
			case "":
				im.envoy(file, m)
			}
		}
	}
	if len(im.policies) == 0 && im.def == nil {
		for _, w := range im.warnings {
			fmt.Fprintf(e.stderr, "corsctl: warning: %s\n", w)
		}
		what := "no CORS policy"
		if im.sourcesOfCORS > 0 {
			what = "no CORS policy that translates"
		}
		return e.failf(exitProblem, "%s found in %s: import reads Istio VirtualServices (spec.http[].corsPolicy) and Envoy route configurations (CorsPolicy in typed_per_filter_config or cors)", what, strings.Join(files, ", "))
	}
	out := im.render()
	e.stdout.Write(out)
	fmt.Fprintf(e.stderr, "corsctl: %d %s from %s:\n", im.count(), pluralN(im.count(), "policy", "policies"), strings.Join(files, ", "))
	for i, p := range im.policies {
		fmt.Fprintf(e.stderr, "  policies[%d]  %s\n", i, p.where)
	}
	if im.def != nil {
		fmt.Fprintf(e.stderr, "  default      %s\n", im.def.where)
	}
	if im.forwardUnset {
		im.warnings = append(im.warnings, `Envoy and Istio forward preflights from origins they do not allow to the upstream by default; the plugin answers them itself with 403 ("unmatchedPreflights": "reject"). Add "unmatchedPreflights": "forward" to a policy whose upstream answers such preflights`)
	}
	for _, w := range im.warnings {
		fmt.Fprintf(e.stderr, "corsctl: warning: %s\n", w)
	}
	cfg, err := filter.Parse(out)
	if err != nil {
		var ce *filter.ConfigError
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				fmt.Fprintf(e.stderr, "corsctl: error: %s\n", p)
			}
		}
		return e.failf(exitProblem, "the plugin refuses the result; fix the errors above in the source or in the output")
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(e.stderr, "corsctl: the plugin will warn: %s\n", w)
	}
	if *strict && len(im.warnings) > 0 {
		return exitProblem
	}
	return exitOK
}

const reportUsage = `Usage: corsctl report [--config FILE] [--filter NAME] [--format text|json] FILE...

Tells whether a policy running in report mode is safe to enforce, from what
the proxies saw: for each policy, how many requests the policy and the
upstream's own CORS answer agree on (agree), how many the upstream lets a
browser read today and the policy would not (would_break) and the reverse
(would_open), with the origins and paths that would break, most frequent
first. Then the verdict: "safe to enforce" when nothing would break, or the
smallest change of the policy in --config that lets every request that would
break through, checked by replaying each one with the plugin's engine, as
explain checks its fixes.

Each FILE is read as what it holds (the kind found is printed):
  - Envoy /stats text, or "pilot-agent request GET stats" output, from one
    or more proxies (counters are summed): wasmcustom.cors.report.* and
    wasmcustom.cors.policy.<name>.report.*;
  - Prometheus text: cors_policy_<name>_report_would_break, or
    cors_policy_report_would_break{cors_policy="<name>"} with the stats tag
    (an envoy_wasmcustom_ prefix is accepted too);
  - proxy logs (Envoy's or istio-proxy's format) with the plugin's
    "cors: report would_break ..." lines (info level) and would_open lines
    (debug level).
Counts come from the stats; with logs only, they are log lines. The change
needs the would_break log lines: they say which requests would break.
"-" reads standard input.

Flags:
  --config FILE    the configuration to change: config.json (the default),
                   envoy.yaml or an Istio WasmPlugin, as for check
  --filter NAME    the Wasm filter or WasmPlugin to use, when FILE has several
  --format F       text (default) or json (schemaVersion 1, for CI gates)

Exit status: 0 when safe to enforce, 1 while anything would break, 2 for
bad usage or a file that is neither stats nor a log (its line is named), or
a configuration that cannot be read.

Examples:
  kubectl exec deploy/my-service -c istio-proxy -- pilot-agent request GET stats > a.stats
  kubectl logs deploy/my-service -c istio-proxy > a.log
  corsctl report --config deploy/wasmplugin.yaml a.stats a.log
  corsctl report --format json proxy-*.stats proxy-*.log
`

// reportCmd reads stats and logs of report mode and prints, per policy,
// what would break, then whether the policy is safe to enforce.
func (e *env) reportCmd(args []string) int {
	fs := newFlags("report")
	config := fs.String("config", "", "")
	only := fs.String("filter", "", "")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "")
	files, help, err := parse(fs, args)
	if help {
		fmt.Fprint(e.stdout, reportUsage)
		return exitOK
	}
	if err != nil {
		return e.usageError("%v", err)
	}
	if len(files) == 0 {
		return e.usageError("report: name at least one FILE of stats or logs, e.g. corsctl report proxy.stats proxy.log")
	}
	var inputs []reportInput
	var samples []sample
	var lines []reportLine
	for _, file := range files {
		data, err := e.readFile(file)
		if err != nil {
			return e.failf(exitUsage, "report: %v", err)
		}
		in, s, l, err := readReportFile(file, data)
		if err != nil {
			return e.failf(exitUsage, "report: %v", err)
		}
		inputs, samples, lines = append(inputs, in), append(samples, s...), append(lines, l...)
	}
	r := buildReport(inputs, samples, lines)
	if r.wouldBreak() && len(r.Breaks) > 0 {
		spec, src, why, status := e.reportConfig(*config, *only)
		if status != exitOK {
			return status
		}
		r.decide(spec, src, why)
	} else {
		r.decide(nil, source{}, "")
	}
	if format.value == "json" {
		writeJSON(e.stdout, r.json())
	} else {
		r.writeText(e.stdout)
	}
	if !r.Verdict.Safe {
		return exitProblem
	}
	return exitOK
}

// reportConfig reads the configuration report changes. Without --config it
// tries config.json, and a missing one only means no change is suggested
// (why says so); a named file that cannot be used is bad input.
func (e *env) reportConfig(file, only string) (*filter.Spec, source, string, int) {
	named := file != ""
	if !named {
		file = "config.json"
		if _, err := os.Stat(file); err != nil {
			return nil, source{}, "no configuration to change: config.json is not here; name the one the proxies run with --config FILE", exitOK
		}
	}
	sources, err := e.loadSources(file)
	if err != nil {
		return nil, source{}, "", e.failf(exitUsage, "report: %v", err)
	}
	if sources, err = selectSources(sources, only, file); err != nil {
		return nil, source{}, "", e.failf(exitUsage, "report: %v", err)
	}
	if len(sources) > 1 {
		var names []string
		for _, s := range sources {
			names = append(names, strconv.Quote(s.Name))
		}
		return nil, source{}, "", e.usageError("report: %s holds %d configurations (%s); choose one with --filter NAME", file, len(sources), strings.Join(names, ", "))
	}
	src := sources[0]
	spec, err := filter.DecodeSpec(src.JSON)
	if err == nil {
		_, err = filter.Compile(spec)
	}
	if err != nil {
		return nil, source{}, "", e.failf(exitUsage, "report: %s: the plugin refuses this configuration: %v (\"corsctl check %s\" says more)", src.label(), err, file)
	}
	return &spec, src, "", exitOK
}
