package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/filter"
)

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
	sc := &scenario{origin: *origin, method: browserMethod(*method), credentials: *credentials, route: *route,
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
			if forbiddenHeader(rh.name) {
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

// explanation is everything explain prints.
type explanation struct {
	src    source
	cfg    *filter.Config
	report bool // the configuration is in report mode; sim is enforce mode's
	sc     *scenario
	sim    simulation
	fix    fixResult
}

// explainRun simulates the fetch sc with cfg, the configuration parsed from
// src, and looks for a fix when the fetch is blocked. A configuration in
// report mode is simulated as enforce mode will run it; it fails when that
// configuration cannot be built.
func explainRun(src source, cfg *filter.Config, sc *scenario) (*explanation, error) {
	x := &explanation{src: src, cfg: cfg, sc: sc}
	enforce := func(d doc) {
		if d["mode"] != nil {
			d["mode"] = "enforce"
		}
	}
	if cfg.Mode() == filter.ModeReport {
		// Report mode changes nothing; what matters is what enforce will do.
		x.report = true
		d, err := decodeDoc(src.JSON)
		if err != nil {
			return nil, fmt.Errorf("cannot read the configuration again to explain it in enforce mode: %v", err)
		}
		enforce(d)
		if x.cfg, err = filter.Parse(mustJSON(d)); err != nil {
			return nil, fmt.Errorf("the plugin refuses the configuration in enforce mode: %v", err)
		}
	}
	x.sim = simulate(x.cfg, sc)
	if x.sim.blocked() || !x.sim.pluginAllows() {
		x.fix = suggestFix(src.JSON, sc, enforce)
	}
	return x, nil
}

// policy is the policy that applies, if any.
func (x *explanation) policy() (filter.PolicyInfo, bool) {
	e := x.sim.Steps[0].Explanation
	if e.Policy < 0 {
		return filter.PolicyInfo{}, false
	}
	return x.cfg.Policies()[e.Policy], true
}

func (x *explanation) writeText(w io.Writer) {
	sc := x.sc
	mode := x.cfg.Mode().String()
	if x.report {
		mode = "report"
	}
	fmt.Fprintf(w, "Configuration: %s (mode %s)\n", x.src.label(), mode)
	if x.report {
		fmt.Fprintln(w, "  In report mode the plugin changes nothing; below is what it will do in enforce mode.")
	}
	fmt.Fprintf(w, "Fetch: %s %s from origin %s", sc.method, sc.url, sc.origin)
	if sc.credentials {
		fmt.Fprint(w, ", with credentials")
	}
	fmt.Fprintln(w)
	if len(sc.headers) > 0 {
		var hs []string
		for _, h := range sc.headers {
			if h.hasValue {
				hs = append(hs, h.name+": "+h.value)
			} else {
				hs = append(hs, h.name)
			}
		}
		fmt.Fprintf(w, "  headers: %s\n", strings.Join(hs, "; "))
	}
	for _, h := range sc.dropped {
		fmt.Fprintf(w, "  %s is a forbidden request header: the browser never lets a page set it, so it is not sent\n", h)
	}
	if x.sim.Preflight {
		fmt.Fprintf(w, "  The browser sends a preflight first: %s.\n", strings.Join(x.sim.Why, "; "))
	} else {
		fmt.Fprintln(w, "  No preflight: the method and headers are CORS-safelisted.")
	}
	fmt.Fprintln(w)
	x.writePolicy(w)
	for i, st := range x.sim.Steps {
		fmt.Fprintf(w, "\n%d. %s: %s %s\n", i+1, title(st.Kind), st.Method, sc.path)
		writeChecks(w, st.Explanation.Checks)
		writeVerdict(w, st, x.report)
		for _, h := range append([][2]string{{"HTTP", fmt.Sprint(st.Status)}}, st.Response...) {
			if h[0] == "HTTP" {
				fmt.Fprintf(w, "     HTTP %s\n", h[1])
			} else {
				fmt.Fprintf(w, "     %s: %s\n", h[0], h[1])
			}
		}
		if st.Failure != nil {
			fmt.Fprintln(w, "   The browser blocks it; its console shows (Chromium):")
			fmt.Fprintf(w, "     %s\n", consoleMessage(sc.url, sc.origin, st.Failure))
		} else if st.Kind == "preflight" && i+1 < len(x.sim.Steps) {
			fmt.Fprintln(w, "   The browser accepts the answer and sends the request.")
		} else if st.Kind == "preflight" {
			fmt.Fprintln(w, "   The browser accepts the answer.")
		} else {
			fmt.Fprintln(w, "   The browser accepts the answer: the page can read the response.")
		}
	}
	fmt.Fprintln(w)
	if !x.sim.blocked() {
		fmt.Fprintln(w, "Result: ALLOWED")
		if x.report && !x.sim.pluginAllows() {
			fmt.Fprintln(w, "(the upstream's own answer lets it through; enforce mode would not)")
		}
		x.writeFix(w)
		return
	}
	last := x.sim.Steps[len(x.sim.Steps)-1]
	fmt.Fprintf(w, "Result: BLOCKED by the %s\n", map[string]string{"preflight": "preflight", "request": "browser's check of the response"}[last.Kind])
	if why := x.why(); why != "" {
		fmt.Fprintf(w, "Why: %s\n", why)
	}
	x.writeFix(w)
}

func (x *explanation) writeFix(w io.Writer) {
	f := x.fix
	switch {
	case f.Verified:
		fmt.Fprintln(w, "Smallest change that allows it:")
		for _, c := range f.Changes {
			fmt.Fprintf(w, "  %s%s\n", x.pathNote(), c)
		}
		fmt.Fprintln(w, "  (checked: with this change the plugin allows it and the browser accepts the answers)")
	case f.None != "":
		fmt.Fprintf(w, "No policy change allows it: %s.\n", f.None)
	}
}

// pathNote is the prefix of change paths in the source file.
func (x *explanation) pathNote() string { return x.src.Prefix }

// why explains the first failure in a sentence.
func (x *explanation) why() string {
	for _, st := range x.sim.Steps {
		e := st.Explanation
		d := e.Decision
		switch {
		case d.Kind == filter.KindUncovered:
			return "no policy applies to this request (" + triedText(e.Tried) + "), so the plugin leaves it and its answer untouched: the browser judges the upstream's own answer"
		case !d.Allowed && d.Kind != filter.KindNoOrigin:
			var parts []string
			for _, c := range e.Checks {
				if !c.Passed {
					v := c.Detail
					if len(c.Denied) > 0 {
						v = strings.Join(c.Denied, ", ")
					}
					parts = append(parts, c.Reason.String()+" "+strconv.Quote(truncate(v)))
				}
			}
			return "policy " + d.Policy() + " denies the " + st.Kind + ": " + strings.Join(parts, "; ") +
				". A denied " + st.Kind + " gets no CORS headers at all, so the browser reports a missing Access-Control-Allow-Origin header whatever the reason"
		case st.Failure != nil:
			p, _ := x.policy()
			switch {
			case x.sc.credentials && p.AnyOrigin:
				return "the plugin allows the " + st.Kind + ", but the page sends credentials and policy " + p.Name + " answers any origin with \"*\", which browsers refuse on credentialed requests"
			case x.sc.credentials && !p.Credentials:
				return "the plugin allows the " + st.Kind + ", but the page sends credentials and policy " + p.Name + " does not set allowCredentials, so the answer lacks access-control-allow-credentials: true"
			}
			return "the answer fails the browser's check"
		}
	}
	return ""
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func (x *explanation) writePolicy(w io.Writer) {
	e := x.sim.Steps[0].Explanation
	p, ok := x.policy()
	if !ok {
		fmt.Fprintf(w, "Policy: none applies (%s)\n", triedText(e.Tried))
		return
	}
	tried := ""
	if len(e.Tried) > 1 {
		tried = " (" + triedText(e.Tried[:len(e.Tried)-1]) + ")"
	}
	fmt.Fprintf(w, "Policy: %s%s\n", p.Name, tried)
	row := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "  %-20s %s\n", name, value)
		}
	}
	var match []string
	for _, m := range []struct {
		name   string
		values []string
	}{{"hosts", p.Hosts}, {"pathPrefixes", p.PathPrefixes}, {"routeNames", p.RouteNames}} {
		if len(m.values) > 0 {
			match = append(match, m.name+" "+strings.Join(m.values, ", "))
		}
	}
	row("match", strings.Join(match, "; "))
	origins := strings.Join(p.Origins, ", ")
	if p.AnyOrigin {
		origins = "* (any origin)"
	}
	row("allowOrigins", origins)
	row("allowOriginRegexes", strings.Join(p.Regexes, ", "))
	row("allowMethods", p.AllowMethods)
	row("allowHeaders", p.AllowHeaders)
	row("exposeHeaders", p.ExposeHeaders)
	row("allowCredentials", fmt.Sprint(p.Credentials))
	row("maxAge", p.MaxAge)
	if p.PrivateNetwork {
		row("allowPrivateNetwork", "true")
	}
	row("preflightStatus", fmt.Sprint(p.PreflightStatus))
	row("unmatchedPreflights", p.UnmatchedPreflights)
}

func triedText(tried []filter.PolicyMatch) string {
	var parts []string
	for _, m := range tried {
		if !m.Matched {
			parts = append(parts, m.Policy+" does not match its "+m.Failed)
		}
	}
	if len(parts) == 0 {
		return "there is no default policy"
	}
	return strings.Join(parts, "; ")
}

func writeChecks(w io.Writer, checks []filter.Check) {
	width := 0
	for _, c := range checks {
		width = max(width, len(shorten(c.Value)))
	}
	for _, c := range checks {
		result := "pass"
		why := passText(c)
		if !c.Passed {
			result, why = "FAIL", failText(c)
		}
		value := shorten(c.Value)
		if value == "" {
			value = "-"
		}
		fmt.Fprintf(w, "   %s  %-16s %-*s  %s\n", result, c.Name, width, value, why)
	}
}

// shorten keeps request values on one line: escaped, and cut when long.
func shorten(s string) string {
	s = strconv.Quote(s)
	return truncate(s[1 : len(s)-1])
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func passText(c filter.Check) string {
	switch c.By {
	case "exact":
		return "allowed: exact origin " + c.Entry
	case "pattern":
		return "allowed by the pattern " + c.Entry
	case "regex":
		return "allowed by the regex " + c.Entry
	case "any":
		switch c.Name {
		case filter.CheckOrigin:
			return `allowed: allowOrigins is "*"`
		case filter.CheckMethod:
			return `allowed: allowMethods has "*"`
		}
		return `allowed: allowHeaders has "*"`
	case "null":
		return `allowed: allowOrigins lists "null"`
	case "safelisted":
		return "allowed: CORS-safelisted, always allowed"
	case "listed":
		if c.Name == filter.CheckMethod {
			return "allowed: listed in allowMethods"
		}
		return "allowed: listed in allowHeaders"
	case "none":
		return "none requested"
	case "allowPrivateNetwork":
		return "allowed: allowPrivateNetwork is true"
	}
	return "allowed"
}

func failText(c filter.Check) string {
	switch c.Reason {
	case filter.ReasonOriginNotAllowed:
		return "origin not allowed: no allowOrigins entry or regex matches it"
	case filter.ReasonOriginInvalid:
		return "invalid origin: " + originHint(c.Value)
	case filter.ReasonMethodNotAllowed:
		msg := "method not allowed: not in allowMethods (compared case-sensitively)"
		if up := strings.ToUpper(c.Value); up != c.Value {
			msg += "; browsers upper-case only DELETE, GET, HEAD, OPTIONS, POST and PUT, so the page sends " +
				strconv.Quote(c.Value) + " as written: it likely means " + strconv.Quote(up)
		}
		return msg
	case filter.ReasonMethodInvalid:
		return "invalid method: not a single method token"
	case filter.ReasonHeaderNotAllowed:
		return "not allowed: " + strings.Join(c.Denied, ", ") + " not in allowHeaders"
	case filter.ReasonHeadersInvalid:
		return "invalid request headers: " + shorten(c.Detail)
	case filter.ReasonPrivateNetworkDenied:
		return "private network access not allowed: allowPrivateNetwork is false"
	}
	return c.Reason.String()
}

func writeVerdict(w io.Writer, st step, report bool) {
	d := st.Explanation.Decision
	// verb conjugates for "the plugin": "allows", or "would allow" in report mode.
	verb := func(v, s string) string {
		if report {
			return "would " + v
		}
		return s
	}
	var verdict string
	switch {
	case d.Kind == filter.KindUncovered:
		verdict = "No policy applies: the plugin leaves the request and its answer untouched."
	case d.Allowed:
		verdict = "The plugin " + verb("allow", "allows") + " it"
	default:
		verdict = "The plugin " + verb("deny", "denies") + " it (" + d.Reason.String() + ")"
	}
	switch {
	case d.Kind == filter.KindUncovered:
		verdict += fmt.Sprintf(" The upstream answers (%d here, without CORS headers unless --upstream-header):", st.Status)
	case st.ByPlugin:
		verdict += " and " + verb("answer", "answers") + " without calling the upstream:"
	case st.Kind == "preflight":
		verdict += "; the preflight goes to the upstream (unmatchedPreflights \"forward\"), which answers (" + fmt.Sprint(st.Status) + " here):"
	case !d.Allowed:
		verdict += "; the request still goes to the upstream (CORS guards reading the answer, not sending the request), and on its answer (" +
			fmt.Sprint(st.Status) + " here) the plugin " + verb("send", "sends") + ":"
	default:
		verdict += "; the request goes to the upstream, and on its answer (" + fmt.Sprint(st.Status) + " here) the plugin " + verb("send", "sends") + ":"
	}
	fmt.Fprintf(w, "   %s\n", verdict)
}

// writeCurl prints each request as a curl command and each answer as
// curl -i shows it, for pasting into a ticket.
func (x *explanation) writeCurl(w io.Writer) {
	sc := x.sc
	p, ok := x.policy()
	name := "none"
	if ok {
		name = p.Name
	}
	mode := "enforce"
	if x.report {
		mode = "report (shown as enforce mode will answer)"
	}
	fmt.Fprintf(w, "# corsctl explain: %s, policy %s, mode %s\n", x.src.label(), name, mode)
	for i, st := range x.sim.Steps {
		d := st.Explanation.Decision
		verdict := "allowed"
		switch {
		case d.Kind == filter.KindUncovered:
			verdict = "no policy applies"
		case !d.Allowed:
			verdict = "denied: " + d.Reason.String()
		}
		who := "the plugin answers"
		if !st.ByPlugin {
			who = fmt.Sprintf("status %d and other headers stand for the upstream's answer", st.Status)
		}
		fmt.Fprintf(w, "\n# %d. %s: %s (%s)\n", i+1, st.Kind, verdict, who)
		fmt.Fprintf(w, "curl -si -X %s %s", st.Method, shellQuote(sc.url))
		for _, h := range st.Sent {
			fmt.Fprintf(w, " \\\n  -H %s", shellQuote(h[0]+": "+h[1]))
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "HTTP/1.1 %d %s\n", st.Status, http.StatusText(st.Status))
		for _, h := range st.Response {
			fmt.Fprintf(w, "%s: %s\n", h[0], h[1])
		}
		if st.Failure != nil {
			fmt.Fprintf(w, "\n# Chromium: %s\n", consoleMessage(sc.url, sc.origin, st.Failure))
		}
	}
	fmt.Fprintln(w)
	if x.sim.blocked() {
		fmt.Fprintln(w, "# Result: BLOCKED")
		if why := x.why(); why != "" {
			fmt.Fprintf(w, "# Why: %s\n", why)
		}
	} else {
		fmt.Fprintln(w, "# Result: ALLOWED")
	}
	if x.fix.Verified {
		for _, c := range x.fix.Changes {
			fmt.Fprintf(w, "# Fix: %s%s\n", x.pathNote(), c)
		}
	} else if x.fix.None != "" {
		fmt.Fprintf(w, "# No policy change allows it: %s.\n", x.fix.None)
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// JSON output.

type explainJSON struct {
	Configuration string               `json:"configuration"`
	Mode          string               `json:"mode"`
	Note          string               `json:"note,omitempty"`
	Fetch         fetchJSON            `json:"fetch"`
	Policy        *filter.PolicyInfo   `json:"policy"`
	Tried         []filter.PolicyMatch `json:"tried"`
	Steps         []stepJSON           `json:"steps"`
	Allowed       bool                 `json:"allowed"`
	ConsoleError  string               `json:"consoleError,omitempty"`
	Why           string               `json:"why,omitempty"`
	Fix           *fixResult           `json:"fix,omitempty"`
}

type fetchJSON struct {
	URL          string   `json:"url"`
	Origin       string   `json:"origin"`
	Method       string   `json:"method"`
	Headers      []string `json:"headers,omitempty"`
	Dropped      []string `json:"droppedHeaders,omitempty"`
	Credentials  bool     `json:"credentials"`
	Preflight    bool     `json:"preflight"`
	PreflightWhy []string `json:"preflightWhy,omitempty"`
}

type stepJSON struct {
	Kind         string       `json:"kind"`
	Method       string       `json:"method"`
	Path         string       `json:"path"`
	Headers      []headerJSON `json:"requestHeaders"`
	Policy       string       `json:"policy,omitempty"`
	Checks       []checkJSON  `json:"checks"`
	Verdict      string       `json:"verdict"` // allowed, denied, uncovered
	Reason       string       `json:"reason"`
	AnsweredBy   string       `json:"answeredBy"` // plugin or upstream
	Status       int          `json:"status"`
	Response     []headerJSON `json:"responseHeaders"`
	ConsoleError string       `json:"consoleError,omitempty"`
}

type headerJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func headersJSON(hs [][2]string) []headerJSON {
	out := []headerJSON{}
	for _, h := range hs {
		out = append(out, headerJSON{h[0], h[1]})
	}
	return out
}

type checkJSON struct {
	filter.Check
	Reason string `json:"reason"`
}

func (x *explanation) json() explainJSON {
	sc := x.sc
	out := explainJSON{Configuration: x.src.label(), Mode: x.cfg.Mode().String(), Steps: []stepJSON{},
		Allowed: !x.sim.blocked()}
	if x.report {
		out.Mode = "report"
		out.Note = "in report mode the plugin changes nothing; the steps show what it will do in enforce mode"
	}
	out.Fetch = fetchJSON{URL: sc.url, Origin: sc.origin, Method: sc.method, Dropped: sc.dropped,
		Credentials: sc.credentials, Preflight: x.sim.Preflight, PreflightWhy: x.sim.Why}
	for _, h := range sc.headers {
		if h.hasValue {
			out.Fetch.Headers = append(out.Fetch.Headers, h.name+": "+h.value)
		} else {
			out.Fetch.Headers = append(out.Fetch.Headers, h.name)
		}
	}
	if p, ok := x.policy(); ok {
		out.Policy = &p
	}
	out.Tried = x.sim.Steps[0].Explanation.Tried
	for _, st := range x.sim.Steps {
		d := st.Explanation.Decision
		s := stepJSON{Kind: st.Kind, Method: st.Method, Path: sc.path, Headers: headersJSON(st.Sent), Policy: d.Policy(),
			Checks: []checkJSON{}, Reason: d.Reason.String(), AnsweredBy: "upstream", Status: st.Status, Response: headersJSON(st.Response)}
		switch {
		case d.Kind == filter.KindUncovered:
			s.Verdict = "uncovered"
		case d.Allowed:
			s.Verdict = "allowed"
		default:
			s.Verdict = "denied"
		}
		if st.ByPlugin {
			s.AnsweredBy = "plugin"
		}
		for _, c := range st.Explanation.Checks {
			s.Checks = append(s.Checks, checkJSON{Check: c, Reason: c.Reason.String()})
		}
		if st.Failure != nil {
			s.ConsoleError = consoleMessage(sc.url, sc.origin, st.Failure)
			out.ConsoleError = s.ConsoleError
		}
		out.Steps = append(out.Steps, s)
	}
	if x.sim.blocked() {
		out.Why = x.why()
	}
	if x.fix.Verified || x.fix.None != "" {
		f := x.fix
		for i := range f.Changes {
			f.Changes[i] = x.pathNote() + f.Changes[i]
		}
		out.Fix = &f
	}
	return out
}
