// explain runs a page's fetch() through the engine, as a browser would send
// it, and works out why it is blocked; explain_text.go, explain_curl.go and
// explain_json.go print the result.

package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/filter"
)

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
	spec, err := filter.DecodeSpec(src.JSON)
	if err != nil {
		// Parse read the same bytes, so only a disagreement of the two
		// readers gets here.
		return nil, fmt.Errorf("cannot read the configuration again to explain it as enforce mode runs it: %v", err)
	}
	if cfg.Mode() == filter.ModeReport {
		// Report mode changes nothing; what matters is what enforce will do.
		x.report = true
		spec.Mode = filter.ModeEnforce
		if x.cfg, err = filter.Compile(spec); err != nil {
			return nil, fmt.Errorf("the plugin refuses the configuration in enforce mode: %v", err)
		}
	}
	x.sim = simulate(x.cfg, sc)
	if x.sim.blocked() || !x.sim.pluginAllows() {
		x.fix = suggestFix(spec, sc)
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

// triedText says why the policies tried did not match.
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

// truncate cuts s to 60 bytes, marking the cut with "...".
func truncate(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
