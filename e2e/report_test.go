package e2e

import "testing"

// In report mode the plugin decides and counts as in enforce mode, plus
// cors.report.would_deny for each denial and the class of its comparison
// with the upstream's answer (agree, would_break, would_open), but never
// answers a request itself and never changes a header. corsUpstream answers
// "*" (with credentials, which an uncredentialed request ignores) and no
// methods: a browser reads actual requests' answers, not preflights'.
func TestReportMode(t *testing.T) {
	report := withSettings(`"mode": "report"`)
	runCases(t, []corsCase{
		{
			name: "an allowed preflight goes upstream and its response is untouched", config: report,
			req: preflight(app, "PUT").requesting("content-type"), upstream: plainUpstream, untouched: true,
			counters: counts{"cors.preflight.allowed": 1, "cors.report.would_open": 1},
		},
		{
			name: "a preflight from a disallowed origin goes upstream, untouched, and would be denied", config: report,
			req: preflight("https://evil.example.net", "PUT"), upstream: corsUpstream, untouched: true,
			counters: counts{"cors.preflight.denied": 1, "cors.report.would_deny": 1, "cors.report.agree": 1},
		},
		{
			name: "a preflight for a disallowed method goes upstream, untouched, and would be denied", config: report,
			req: preflight(app, "PATCH"), upstream: corsUpstream, untouched: true,
			counters: counts{"cors.preflight.denied": 1, "cors.report.would_deny": 1, "cors.report.agree": 1},
		},
		{
			name: "a preflight from an invalid origin goes upstream, untouched, and would be denied", config: report,
			req: preflight("https://app.example.com/", "PUT"), upstream: corsUpstream, untouched: true,
			counters: counts{"cors.preflight.denied": 1, "cors.origin.invalid": 1, "cors.report.would_deny": 1, "cors.report.agree": 1},
		},
		{
			name: "an actual request from an allowed origin gets no CORS headers added", config: report,
			req: crossOrigin("GET", app), upstream: plainUpstream, untouched: true,
			counters: counts{"cors.actual.allowed": 1, "cors.report.would_open": 1},
		},
		{
			name: "an actual request from a disallowed origin keeps the upstream's CORS headers", config: report,
			req: crossOrigin("GET", "https://evil.example.net"), upstream: corsUpstream, untouched: true,
			counters: counts{"cors.actual.denied": 1, "cors.report.would_deny": 1, "cors.report.would_break": 1},
		},
		{
			name: "an actual request from an invalid origin keeps the upstream's CORS headers", config: report,
			req: crossOrigin("GET", "https://APP.example.com"), upstream: corsUpstream, untouched: true,
			counters: counts{"cors.actual.denied": 1, "cors.origin.invalid": 1, "cors.report.would_deny": 1, "cors.report.would_break": 1},
		},
		{
			name: "a request without Origin gets no vary added", config: report,
			req: sameOrigin("GET"), upstream: plainUpstream, untouched: true,
			counters: counts{},
		},
		{
			name: "a 500 response to a disallowed origin is untouched", config: report,
			req: crossOrigin("GET", "https://evil.example.net"), status: 500, upstream: corsUpstream, untouched: true,
			counters: counts{"cors.actual.denied": 1, "cors.report.would_deny": 1, "cors.report.would_break": 1},
		},
		{
			name: "report mode with forwarded preflights behaves the same", config: withSettings(`"mode": "report"`, `"unmatchedPreflights": "forward"`),
			req: preflight("https://evil.example.net", "PUT"), upstream: corsUpstream, untouched: true,
			counters: counts{"cors.preflight.denied": 1, "cors.report.would_deny": 1, "cors.report.agree": 1},
		},
	})
}
