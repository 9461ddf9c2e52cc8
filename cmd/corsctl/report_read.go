// report's readers: Envoy /stats text dumps (and pilot-agent's), Prometheus
// text exposition, and proxy logs holding the plugin's "cors: report" lines.
// Each file is read as one kind, found from its lines; a file of no kind is
// refused at the first line that fits none.

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Kinds of report input.
const (
	kindEnvoyStats = "envoy-stats" // Envoy /stats text, or pilot-agent request GET stats
	kindPrometheus = "prometheus"  // Prometheus text exposition (/stats/prometheus, a scrape)
	kindEnvoyLog   = "envoy-log"   // Envoy's own log format
	kindIstioLog   = "istio-log"   // istio-proxy's log format
	kindProxyLog   = "proxy-log"   // a log with both formats, or no report line to tell
)

// kindText describes an input kind for the text output.
var kindText = map[string]string{
	kindEnvoyStats: "Envoy stats (/stats or pilot-agent request GET stats)",
	kindPrometheus: "Prometheus metrics",
	kindEnvoyLog:   "Envoy log",
	kindIstioLog:   "Istio proxy log",
	kindProxyLog:   "proxy log",
}

// The classes of the report comparison, as counters and log lines name them.
const (
	classAgree      = "agree"
	classWouldBreak = "would_break"
	classWouldOpen  = "would_open"
)

// reportInput is one file read, and what was found in it.
type reportInput struct {
	File string `json:"file"`
	Kind string `json:"kind"` // envoy-stats, prometheus, envoy-log, istio-log or proxy-log
	// Counters is how many samples of the plugin's report counters a
	// stats file holds.
	Counters int `json:"counters,omitempty"`
	// WouldBreak and WouldOpen count a log's report lines.
	WouldBreak int `json:"wouldBreakLines,omitempty"`
	WouldOpen  int `json:"wouldOpenLines,omitempty"`
}

// sample is one value of a report counter: a policy's (Policy is its
// display name) or, with Policy "", the global one.
type sample struct {
	Policy string
	Class  string // agree, would_break or would_open
	Value  int64
}

// reportLine is one "cors: report" log line, as contract §4 writes it:
//
//	cors: report would_break preflight from origin "https://a.example" method "PATCH" headers "x-a, x-b" credentialed false path "/v1/things" (policy admin): upstream allowed method "PATCH"; policy: method not allowed
type reportLine struct {
	File string
	Line int

	Class        string // would_break or would_open
	Kind         string // preflight or actual
	Origin       string
	Method       string // Access-Control-Request-Method of a preflight, :method of an actual request
	Headers      string // Access-Control-Request-Headers of a preflight, "" otherwise
	Credentialed bool
	Path         string
	Policy       string // the display name
	Difference   string // all after "(policy NAME): "
	// Item is what the upstream allowed and the policy would not, for a
	// would_break line: "origin", "method" (`method "M"`), "header"
	// (`header "h"`), "credentials" or "private network access" (which
	// the plugin adds to contract §4's items for Private Network Access
	// preflights); "" when the difference says none of these.
	Item      string
	ItemValue string // M or h
	// Cut says a value was cut in the log (longer than 128 bytes): the
	// request cannot be replayed exactly.
	Cut bool
}

// readReportFile reads one file of stats or logs. It fails, naming the
// line, on a file that is neither, and on a report line or counter it
// cannot read.
func readReportFile(file string, data []byte) (reportInput, []sample, []reportLine, error) {
	in := reportInput{File: file}
	name := displayName(file)
	if len(bytes.TrimSpace(data)) == 0 {
		return in, nil, nil, fmt.Errorf("%s is empty; pass Envoy /stats output, Prometheus metrics or a proxy log", name)
	}
	lines := splitLines(data)
	kind, bad := detectKind(lines)
	if kind == "" {
		return in, nil, nil, fmt.Errorf("%s:%d: neither Envoy stats (\"name: value\"), Prometheus metrics nor a proxy log with the plugin's \"cors: report\" lines: %s",
			name, bad+1, quoteCut(lines[bad]))
	}
	in.Kind = kind
	switch kind {
	case kindEnvoyStats, kindPrometheus:
		samples, err := readStats(name, kind, lines)
		in.Counters = len(samples)
		return in, samples, nil, err
	}
	recs, err := readLog(file, lines)
	envoy, istio := false, false
	for _, r := range recs {
		if r.Class == classWouldBreak {
			in.WouldBreak++
		} else {
			in.WouldOpen++
		}
		switch lineFormat(lines[r.Line-1]) {
		case kindEnvoyLog:
			envoy = true
		case kindIstioLog:
			istio = true
		}
	}
	switch {
	case envoy && !istio:
		in.Kind = kindEnvoyLog
	case istio && !envoy:
		in.Kind = kindIstioLog
	}
	return in, nil, recs, err
}

// splitLines splits data into lines without their line ends.
func splitLines(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		out = append(out, strings.TrimSuffix(sc.Text(), "\r"))
	}
	return out
}

// reportMarker starts the plugin's report lines, wherever the log format
// puts them in a line.
const reportMarker = "cors: report "

// reportAt returns where the report line in l starts, or -1. The marker
// must be followed by a class: the plugin's older report-mode denial line,
// "cors: report mode, would deny ...", is not a comparison and is skipped.
func reportAt(l string) int {
	i := strings.Index(l, reportMarker+"would_")
	if i < 0 {
		return -1
	}
	return i
}

var (
	// timestamp finds the date and time every proxy log line carries:
	// Envoy's "[2026-12-04 10:00:00.000]", Istio's "2026-12-04T10:00:00.000000Z".
	timestamp = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}`)
	// envoyStat is a line of Envoy's /stats text: a name without spaces,
	// ": ", a value.
	envoyStat = regexp.MustCompile(`^([^\s#\[]\S*): (.*)$`)
	// promSample is a sample of the Prometheus text format: a metric name,
	// optional labels, a value and an optional timestamp.
	promSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?[ \t]+([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))([ \t]+-?\d+)?$`)
)

// detectKind says what kind of input lines are: a log when a line holds
// the report marker or the first line is a timestamped log line, else
// stats of the kind of the first line, which every line must then be. It
// returns "" and the index of the first line that fits no kind.
func detectKind(lines []string) (kind string, bad int) {
	first := -1
	for i, l := range lines {
		if reportAt(l) >= 0 {
			return kindProxyLog, 0
		}
		if first < 0 && strings.TrimSpace(l) != "" {
			first = i
		}
	}
	switch l := lines[first]; {
	case timestamp.MatchString(l):
		return kindProxyLog, 0
	case strings.HasPrefix(l, "# HELP ") || strings.HasPrefix(l, "# TYPE ") || promSample.MatchString(l):
		kind = kindPrometheus
	case envoyStat.MatchString(l):
		kind = kindEnvoyStats
	default:
		return "", first
	}
	for i := first; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.TrimSpace(l) == "":
		case kind == kindPrometheus && (strings.HasPrefix(l, "#") || promSample.MatchString(l)):
		case kind == kindEnvoyStats && envoyStat.MatchString(l):
		default:
			return "", i
		}
	}
	return kind, 0
}

// lineFormat says whether a log line is in Envoy's format ("[date time]
// [thread][level][logger] ...") or Istio's ("dateTtimeZ<TAB>level<TAB>...").
func lineFormat(l string) string {
	switch i := reportAt(l); {
	case i < 0:
		return ""
	case strings.Contains(l[:i], "]["):
		return kindEnvoyLog
	case strings.Contains(l[:i], "\t"):
		return kindIstioLog
	}
	return ""
}

// The report counters, after Envoy's "wasmcustom." prefix.
var (
	// statGlobal is cors.report.<class>.
	statGlobal = regexp.MustCompile(`^(?:wasmcustom\.)?cors\.report\.(agree|would_break|would_open)$`)
	// statPolicy is cors.policy.<segment>.report.<class>.
	statPolicy = regexp.MustCompile(`^(?:wasmcustom\.)?cors\.policy\.([a-z0-9_-]+)\.report\.(agree|would_break|would_open)$`)
	// promGlobal is the same as Prometheus names it. Envoy's
	// /stats/prometheus strips its "wasmcustom" stat namespace and adds no
	// "envoy_" (cors_report_would_break); the longer forms are accepted
	// for scrapers that keep them. Dots become underscores; "_total" as
	// OpenMetrics adds it.
	promGlobal = regexp.MustCompile(`^(?:envoy_)?(?:wasmcustom_)?cors_report_(agree|would_break|would_open)(?:_total)?$`)
	// promPolicy is a per-policy counter whose segment a stats tag
	// (cors_policy) took out of the name; promPolicyUntagged keeps it in.
	promPolicy         = regexp.MustCompile(`^(?:envoy_)?(?:wasmcustom_)?cors_policy_report_(agree|would_break|would_open)(?:_total)?$`)
	promPolicyUntagged = regexp.MustCompile(`^(?:envoy_)?(?:wasmcustom_)?cors_policy_([a-z0-9_]+)_report_(agree|would_break|would_open)(?:_total)?$`)
	// segmentIndex is the metric segment of an unnamed policy.
	segmentIndex = regexp.MustCompile(`^policies_(\d+)$`)
)

// readStats reads the report counters of a stats file; other metrics are
// skipped.
func readStats(name, kind string, lines []string) ([]sample, error) {
	var out []sample
	for i, l := range lines {
		var s sample
		var value string
		if kind == kindEnvoyStats {
			m := envoyStat.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			if g := statGlobal.FindStringSubmatch(m[1]); g != nil {
				s.Class = g[1]
			} else if p := statPolicy.FindStringSubmatch(m[1]); p != nil {
				s.Policy, s.Class = displayOfSegment(p[1]), p[2]
			} else {
				continue
			}
			value = m[2]
		} else {
			m := promSample.FindStringSubmatch(l)
			if m == nil || strings.HasPrefix(l, "#") {
				continue
			}
			switch {
			case promGlobal.MatchString(m[1]):
				s.Class = promGlobal.FindStringSubmatch(m[1])[1]
			case promPolicy.MatchString(m[1]):
				seg, ok := promLabel(m[2], "cors_policy")
				if !ok {
					return nil, fmt.Errorf("%s:%d: %s has no cors_policy label, which the stats tag of envoy.yaml adds (docs/observability.md)", name, i+1, m[1])
				}
				s.Policy, s.Class = displayOfSegment(seg), promPolicy.FindStringSubmatch(m[1])[1]
			case promPolicyUntagged.MatchString(m[1]):
				p := promPolicyUntagged.FindStringSubmatch(m[1])
				// Prometheus names turn '-' into '_'; names have no '_'.
				seg := p[1]
				if !segmentIndex.MatchString(seg) {
					seg = strings.ReplaceAll(seg, "_", "-")
				}
				s.Policy, s.Class = displayOfSegment(seg), p[2]
			default:
				continue
			}
			value = m[3]
		}
		v, err := counterValue(value)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, i+1, err)
		}
		s.Value = v
		out = append(out, s)
	}
	return out, nil
}

// counterValue reads a counter's value: an integer, or a float that is
// one (Prometheus writes 3 or 3e+00).
func counterValue(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil && v >= 0 {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != math.Trunc(f) || f > math.MaxInt64/2 {
		return 0, fmt.Errorf("counter value %s is not a count", quoteCut(s))
	}
	return int64(f), nil
}

// promLabel finds label name's value in a Prometheus label set
// ({a="x",b="y"}).
func promLabel(set, name string) (string, bool) {
	rest := strings.TrimSuffix(strings.TrimPrefix(set, "{"), "}")
	for rest != "" {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			return "", false
		}
		q, err := strconv.QuotedPrefix(after)
		if err != nil {
			return "", false
		}
		value, _ := strconv.Unquote(q)
		if strings.TrimSpace(key) == name {
			return value, true
		}
		rest = strings.TrimLeft(after[len(q):], ", ")
	}
	return "", false
}

// displayOfSegment turns a metric segment into the policy's display name:
// policies_<i> is the unnamed entry policies[i]; a name and "default" stay.
func displayOfSegment(seg string) string {
	if m := segmentIndex.FindStringSubmatch(seg); m != nil {
		return "policies[" + m[1] + "]"
	}
	return seg
}

// readLog reads the report lines of a log; other lines are skipped.
func readLog(file string, lines []string) ([]reportLine, error) {
	var out []reportLine
	for i, l := range lines {
		at := reportAt(l)
		if at < 0 {
			continue
		}
		r, err := parseReportLine(l[at+len(reportMarker):])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: cannot read the report line: %v", displayName(file), i+1, err)
		}
		r.File, r.Line = file, i+1
		out = append(out, r)
	}
	return out, nil
}

// lineReader takes a report line apart, left to right.
type lineReader struct {
	rest string
	cut  bool
}

// word reads a token up to the next space.
func (lr *lineReader) word() string {
	w, rest, _ := strings.Cut(lr.rest, " ")
	lr.rest = rest
	return w
}

// literal reads s, or fails.
func (lr *lineReader) literal(s string) error {
	if !strings.HasPrefix(lr.rest, s) {
		return fmt.Errorf("expected %q at %s", s, quoteCut(lr.rest))
	}
	lr.rest = lr.rest[len(s):]
	return nil
}

// quoted reads a value quoted as the plugin quotes it: Go's ASCII quoting,
// and "... (N bytes)" after a value cut at 128 bytes.
func (lr *lineReader) quoted(what string) (string, error) {
	q, err := strconv.QuotedPrefix(lr.rest)
	if err != nil {
		return "", fmt.Errorf("%s is not a quoted value at %s", what, quoteCut(lr.rest))
	}
	v, _ := strconv.Unquote(q)
	lr.rest = lr.rest[len(q):]
	if m := cutMark.FindString(lr.rest); m != "" {
		lr.rest = lr.rest[len(m):]
		lr.cut = true
	}
	return v, nil
}

// cutMark follows a value the plugin cut.
var cutMark = regexp.MustCompile(`^\.\.\. \(\d+ bytes\)`)

// parseReportLine reads what follows "cors: report " in a line.
func parseReportLine(s string) (reportLine, error) {
	var r reportLine
	lr := &lineReader{rest: s}
	r.Class = lr.word()
	if r.Class != classWouldBreak && r.Class != classWouldOpen {
		return r, fmt.Errorf("class %s is neither would_break nor would_open", quoteCut(r.Class))
	}
	r.Kind = lr.word()
	if r.Kind != "preflight" && r.Kind != "actual" {
		return r, fmt.Errorf("kind %s is neither preflight nor actual", quoteCut(r.Kind))
	}
	var err error
	step := func(lit, what string, v *string) {
		if err == nil {
			if err = lr.literal(lit); err == nil {
				*v, err = lr.quoted(what)
			}
		}
	}
	step("from origin ", "the origin", &r.Origin)
	step(" method ", "the method", &r.Method)
	step(" headers ", "the headers", &r.Headers)
	var cred string
	if err == nil {
		if err = lr.literal(" credentialed "); err == nil {
			cred = lr.word()
			if cred != "true" && cred != "false" {
				err = fmt.Errorf("credentialed is %s, not true or false", quoteCut(cred))
			}
			lr.rest = " " + lr.rest
		}
	}
	step(" path ", "the path", &r.Path)
	if err == nil {
		err = lr.literal(" (policy ")
	}
	if err != nil {
		return r, err
	}
	r.Credentialed, r.Cut = cred == "true", lr.cut
	policy, diff, ok := strings.Cut(lr.rest, "): ")
	if !ok || policy == "" || strings.ContainsAny(policy, " \t") {
		return r, fmt.Errorf("expected the policy's name and \"): \" at %s", quoteCut(lr.rest))
	}
	// Istio's format appends "\tthread=N".
	diff, _, _ = strings.Cut(diff, "\t")
	r.Policy, r.Difference = policy, strings.TrimSpace(diff)
	if r.Class == classWouldBreak {
		r.Item, r.ItemValue = parseItem(r.Difference)
	}
	return r, nil
}

// parseItem reads the <item> of "upstream allowed <item>; policy: ...".
func parseItem(diff string) (item, value string) {
	rest, ok := strings.CutPrefix(diff, "upstream allowed ")
	if !ok {
		return "", ""
	}
	for _, it := range []string{"origin", "credentials", itemPrivateNetwork} {
		if strings.HasPrefix(rest, it+";") || rest == it {
			return it, ""
		}
	}
	for _, it := range []string{"method", "header"} {
		if after, ok := strings.CutPrefix(rest, it+" "); ok {
			lr := &lineReader{rest: after}
			if v, err := lr.quoted(it); err == nil && !lr.cut {
				return it, v
			}
		}
	}
	return "", ""
}

// itemPrivateNetwork is the item of a Private Network Access preflight.
const itemPrivateNetwork = "private network access"

// quoteCut quotes s for a message, cut at 60 bytes.
func quoteCut(s string) string { return strconv.Quote(truncate(s)) }
