// explain --format text: the explanation as prose, step by step.

package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/filter"
)

// writeText prints the explanation for a reader: the fetch, the policy,
// each step with its checks and answer, the result and the fix.
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

// writeFix prints the fix found, or why there is none.
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

// writePolicy prints the policy that applies and its settings.
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
	for _, f := range policyFields {
		if v := policySetting(p, f); v != "" {
			fmt.Fprintf(w, "  %-20s %s\n", f, v)
		}
	}
}

// policySetting is one field of the policy as explain prints it: the
// values the plugin compiled, not the text written. "" leaves it out.
func policySetting(p filter.PolicyInfo, field string) string {
	switch field {
	case "match":
		byField := map[string][]string{"hosts": p.Hosts, "pathPrefixes": p.PathPrefixes, "routeNames": p.RouteNames}
		var match []string
		for _, f := range matchFields {
			if values := byField[f]; len(values) > 0 {
				match = append(match, f+" "+strings.Join(values, ", "))
			}
		}
		return strings.Join(match, "; ")
	case "allowOrigins":
		if p.AnyOrigin {
			return "* (any origin)"
		}
		return strings.Join(p.Origins, ", ")
	case "allowOriginRegexes":
		return strings.Join(p.Regexes, ", ")
	case "allowMethods":
		return p.AllowMethods
	case "allowHeaders":
		return p.AllowHeaders
	case "exposeHeaders":
		return p.ExposeHeaders
	case "allowCredentials":
		return fmt.Sprint(p.Credentials)
	case "maxAge":
		return p.MaxAge
	case "allowPrivateNetwork":
		if p.PrivateNetwork {
			return "true"
		}
	case "preflightStatus":
		return fmt.Sprint(p.PreflightStatus)
	case "unmatchedPreflights":
		return p.UnmatchedPreflights
	}
	return ""
}

// title upper-cases the first letter of s.
func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// writeChecks prints one line per check of a step, values aligned.
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

// passText says what let a passed check through.
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

// failText says why a check failed and what the page likely meant.
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

// writeVerdict says what the plugin does with a step and who answers.
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
