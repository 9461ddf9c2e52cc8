// explain --format curl: each request as a curl command and each answer as
// curl -i shows it, for pasting into a ticket.

package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/corswasm/corswasm/filter"
)

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

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
