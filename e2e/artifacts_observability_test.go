//go:build !wasip1

package e2e

// Checks of deploy/observability: the Grafana dashboard, the PrometheusRule
// and the Istio stats-tag bootstrap. Every metric they query must be one the
// plugin defines, under the name the proxies export to Prometheus.
//
// What the plugin defines is read from the real module: plugin.wasm runs in
// internal/wasmhost with a report-mode policy that has named and unnamed
// policies, and every metric it defines is collected (VM.Metrics).
//
// The exported names follow what Envoy does, as read in its source
// (source/extensions/common/wasm, source/common/stats, and
// source/server/admin/prometheus_stats.cc): a Wasm plugin's metric NAME is
// the stat wasmcustom.NAME; the stats tags of the bootstrap (envoy.yaml's
// stats_config, read here, not copied) extract their value and remove their
// first capture group from the name; the Wasm filter registers wasmcustom as
// a custom stat namespace, so /stats/prometheus strips it, adds no envoy_
// prefix, and turns every character outside [a-zA-Z0-9_] into '_'. Counters
// have no _total suffix there. Istio's proxy is the same Envoy: its bootstrap
// always keeps stats starting with "wasm", and the tag comes from
// deploy/observability/istio-stats-tag.yaml, which must carry envoy.yaml's
// tag exactly.
//
// The dashboard is decoded strictly with the Grafana Foundation SDK's
// dashboard types, its queries and the rules' expressions are parsed with
// Prometheus's own PromQL parser, and the rule file is decoded strictly into
// the Prometheus Operator's PrometheusRule type.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/config/metrics/v3"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	grafanaprom "github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmhost"
)

const (
	dashboardFile      = "deploy/observability/grafana-dashboard.json"
	prometheusRuleFile = "deploy/observability/prometheusrule.yaml"
	istioStatsTagFile  = "deploy/observability/istio-stats-tag.yaml"

	// policyTag is the stats tag that carries the policy (contract of issue 12).
	policyTag = "cors_policy"
	// wasmStatNamespace is the custom stat namespace Envoy's Wasm filter puts
	// before every metric a plugin defines.
	wasmStatNamespace = "wasmcustom"
)

// observedPolicy is a report-mode configuration with the three kinds of
// policy: the top level (metric segment "default"), a named entry and an
// unnamed one (segment "policies_1").
const observedPolicy = `{
  "allowOrigins": ["https://app.example.com"],
  "mode": "report",
  "policies": [
    {"name": "admin", "match": {"pathPrefixes": ["/admin/"]}, "allowOrigins": ["https://admin.example.com"]},
    {"match": {"pathPrefixes": ["/public/"]}, "allowOrigins": ["*"]}
  ]
}`

// targetLabels are labels Prometheus adds when it scrapes (job and instance)
// or that Kubernetes service discovery relabelling usually adds (namespace,
// pod); a query may group or filter by them.
var targetLabels = []string{"job", "instance", "namespace", "pod"}

// perPolicyCounters are the counters every policy gets (contract of issue
// 12, section 2), without the cors.policy.<segment>. prefix.
var perPolicyCounters = []string{
	"preflight.allowed", "preflight.denied", "actual.allowed", "actual.denied",
	"report.agree", "report.would_break", "report.would_open",
}

// promSeries is a metric as Prometheus receives it: a name and the names of
// its labels (values aside).
type promSeries struct {
	name   string
	labels []string
}

// exportedMetrics maps each Prometheus metric name to the label names its
// series carry, and to the plugin metric it comes from.
type exportedMetrics map[string]exportedMetric

type exportedMetric struct {
	labels []string
	from   []string // the plugin's metric names
}

// pluginMetricNames runs plugin.wasm with observedPolicy and returns every
// metric name it defined.
func pluginMetricNames(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	vm, err := wasmhost.New(ctx, testmodule.Get(t, testmodule.Release), wasmhost.Options{Cache: testmodule.Cache()})
	if err != nil {
		t.Fatalf("loading plugin.wasm: %v", err)
	}
	defer func() {
		if err := vm.Close(ctx); err != nil && !errors.Is(err, wasmhost.ErrFailed) {
			t.Errorf("closing the VM: %v", err)
		}
	}()
	if _, err := vm.StartPlugin([]byte(observedPolicy)); err != nil {
		var lines []string
		for _, l := range vm.Logs() {
			lines = append(lines, fmt.Sprint(l))
		}
		t.Fatalf("the plugin refused a report-mode configuration with a named policy (policy names, issue 12 item 2, are needed for per-policy counters): %v\nconfiguration: %s\nmodule log:\n%s",
			err, observedPolicy, strings.Join(lines, "\n"))
	}
	return slices.Sorted(maps.Keys(vm.Metrics()))
}

// envoyStatsTags returns the stats tags of envoy.yaml, and the one named
// policyTag.
func envoyStatsTags(t *testing.T) ([]*metricsv3.TagSpecifier, *metricsv3.TagSpecifier) {
	t.Helper()
	b := loadBootstrap(t, envoyYAML)
	tags := b.GetStatsConfig().GetStatsTags()
	for _, tag := range tags {
		if tag.GetTagName() == policyTag {
			return tags, tag
		}
	}
	t.Fatalf("%s has no stats_config.stats_tags entry named %q; without it Prometheus shows the policy inside the metric name", envoyYAML, policyTag)
	return nil, nil
}

// prometheusName returns the metric name and tag names under which Envoy's
// /stats/prometheus exports the plugin's metric name, given the bootstrap's
// stats tags.
func prometheusName(t *testing.T, tags []*metricsv3.TagSpecifier, metric string) promSeries {
	t.Helper()
	stat := wasmStatNamespace + "." + metric
	var tagNames []string
	for _, tag := range tags {
		switch v := tag.GetTagValue().(type) {
		case *metricsv3.TagSpecifier_FixedValue:
			tagNames = append(tagNames, tag.GetTagName())
		case *metricsv3.TagSpecifier_Regex:
			re, err := regexp.Compile(v.Regex)
			if err != nil {
				t.Fatalf("stats tag %s: regex %q: %v", tag.GetTagName(), v.Regex, err)
			}
			if re.NumSubexp() < 1 {
				t.Fatalf("stats tag %s: regex %q has no capture group (Envoy removes the first from the name)", tag.GetTagName(), v.Regex)
			}
			m := re.FindStringSubmatchIndex(stat)
			if m == nil {
				continue
			}
			// Envoy removes the first capture group from the name; the value
			// is the second group, or the first when there is only one.
			value := stat[m[2]:m[3]]
			if len(m) > 4 && m[4] >= 0 {
				value = stat[m[4]:m[5]]
			}
			if value == "" {
				t.Errorf("stats tag %s extracts an empty value from %s", tag.GetTagName(), stat)
			}
			stat = stat[:m[2]] + stat[m[3]:]
			tagNames = append(tagNames, tag.GetTagName())
		default:
			// A tag without value (a default tag by name) does not apply to
			// the plugin's stats.
		}
	}
	name, ok := strings.CutPrefix(stat, wasmStatNamespace+".")
	if !ok {
		t.Fatalf("after tag extraction %s no longer starts with %s.: a stats tag removes part of the namespace", stat, wasmStatNamespace)
	}
	sanitized := []byte(name)
	for i, c := range sanitized {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			sanitized[i] = '_'
		}
	}
	sort.Strings(tagNames)
	return promSeries{name: string(sanitized), labels: tagNames}
}

// exportedByEnvoy computes what Prometheus sees of the plugin's metrics
// through envoy.yaml's stats tags, and checks that one Prometheus name never
// mixes label sets.
func exportedByEnvoy(t *testing.T, defined []string) exportedMetrics {
	t.Helper()
	tags, _ := envoyStatsTags(t)
	out := exportedMetrics{}
	for _, m := range defined {
		s := prometheusName(t, tags, m)
		if prev, ok := out[s.name]; ok {
			if !slices.Equal(prev.labels, s.labels) {
				t.Errorf("Prometheus name %s mixes label sets: %v (from %v) and %v (from %s)", s.name, prev.labels, prev.from, s.labels, m)
			}
			prev.from = append(prev.from, m)
			out[s.name] = prev
			continue
		}
		out[s.name] = exportedMetric{labels: s.labels, from: []string{m}}
	}
	return out
}

// TestPluginMetricsAsPrometheusSeesThem checks the plugin's metric
// definitions against the contract of issue 12 and what Envoy exports with
// envoy.yaml's tag: the global counters keep their names, and the
// per-policy counters of every policy (named, default, unnamed) become one
// Prometheus metric with a cors_policy label per counter.
func TestPluginMetricsAsPrometheusSeesThem(t *testing.T) {
	defined := pluginMetricNames(t)
	var missing []string
	want := []string{
		"cors.preflight.allowed", "cors.preflight.denied", "cors.actual.allowed", "cors.actual.denied",
		"cors.origin.invalid", "cors.report.would_deny", "cors.internal_error",
		"cors.report.agree", "cors.report.would_break", "cors.report.would_open",
	}
	for _, segment := range []string{"default", "admin", "policies_1"} {
		for _, c := range perPolicyCounters {
			want = append(want, "cors.policy."+segment+"."+c)
		}
	}
	for _, m := range want {
		if !slices.Contains(defined, m) {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		t.Errorf("the plugin, in report mode with policies default, admin and an unnamed one, does not define:\n  %s\ndefined: %v",
			strings.Join(missing, "\n  "), defined)
	}

	exported := exportedByEnvoy(t, defined)
	for _, c := range perPolicyCounters {
		name := "cors_policy_" + strings.ReplaceAll(c, ".", "_")
		e, ok := exported[name]
		if !ok {
			t.Errorf("no Prometheus metric %s{%s=...}", name, policyTag)
			continue
		}
		if !slices.Equal(e.labels, []string{policyTag}) {
			t.Errorf("%s carries labels %v, want [%s]", name, e.labels, policyTag)
		}
	}
	for _, name := range []string{"cors_preflight_allowed", "cors_internal_error", "cors_report_would_break"} {
		if e, ok := exported[name]; !ok || len(e.labels) != 0 {
			t.Errorf("global counter %s: exported %v (labels %v), want it without labels", name, ok, e.labels)
		}
	}
	if t.Failed() {
		var rows []string
		for _, n := range slices.Sorted(maps.Keys(exported)) {
			rows = append(rows, fmt.Sprintf("  %s%v <- %v", n, exported[n].labels, exported[n].from))
		}
		t.Logf("exported by Envoy with envoy.yaml's stats tags:\n%s", strings.Join(rows, "\n"))
	}
}

// TestPolicyTagExtractsEverySegment checks envoy.yaml's tag on the metric
// segments the contract allows: the longest name, digits, '-', and the
// policies_<i> of unnamed entries; and that it leaves global counters alone.
func TestPolicyTagExtractsEverySegment(t *testing.T) {
	tags, _ := envoyStatsTags(t)
	for _, seg := range []string{"a", "admin", "policies_0", "policies_12", "api-v2", strings.Repeat("a", 30) + "-" + strings.Repeat("9", 32)} {
		got := prometheusName(t, tags, "cors.policy."+seg+".report.would_break")
		if got.name != "cors_policy_report_would_break" || !slices.Equal(got.labels, []string{policyTag}) {
			t.Errorf("segment %q: exported as %s%v, want cors_policy_report_would_break[%s]", seg, got.name, got.labels, policyTag)
		}
	}
	for _, global := range []string{"cors.report.would_break", "cors.internal_error", "cors.preflight.allowed"} {
		got := prometheusName(t, tags, global)
		if len(got.labels) != 0 || got.name != strings.ReplaceAll(global, ".", "_") {
			t.Errorf("%s: exported as %s%v, want %s without labels", global, got.name, got.labels, strings.ReplaceAll(global, ".", "_"))
		}
	}
}

// ---------------------------------------------------------------------------
// PromQL.

// grafanaVariables are the Grafana variables a query may use outside
// strings, replaced by a duration before parsing; any other $variable must
// be inside a label matcher's string.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h")

// promQuery is one query of the dashboard or the rules.
type promQuery struct {
	where string
	expr  string
}

// checkQuery parses a query with Prometheus's PromQL parser and checks that
// every metric it selects is one the plugin exports, filtered and grouped
// only by labels that metric has (or target labels). It returns the metric
// names it selects.
func checkQuery(t *testing.T, q promQuery, exported exportedMetrics) []string {
	t.Helper()
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVariables.Replace(q.expr))
	if err != nil {
		t.Errorf("%s: %q is not PromQL: %v", q.where, q.expr, err)
		return nil
	}
	var names []string
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			name := n.Name
			for _, m := range n.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
			if name == "" {
				t.Errorf("%s: %q selects %s without a metric name", q.where, q.expr, n)
				return nil
			}
			names = append(names, name)
			e, ok := exported[name]
			if !ok {
				t.Errorf("%s: %q queries %s, which the plugin does not export under that name (exported: %v)",
					q.where, q.expr, name, slices.Sorted(maps.Keys(exported)))
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != labels.MetricName && !slices.Contains(e.labels, m.Name) && !slices.Contains(targetLabels, m.Name) {
					t.Errorf("%s: %q filters %s by label %s, which it does not have (labels: %v)", q.where, q.expr, name, m.Name, e.labels)
				}
			}
			// Every aggregation above the selector groups by labels it has.
			for _, p := range path {
				agg, ok := p.(*parser.AggregateExpr)
				if !ok || agg.Without {
					continue
				}
				for _, l := range agg.Grouping {
					if !slices.Contains(e.labels, l) && !slices.Contains(targetLabels, l) {
						t.Errorf("%s: %q groups %s by %s, a label it does not have (labels: %v)", q.where, q.expr, name, l, e.labels)
					}
				}
			}
		case *parser.MatrixSelector, *parser.SubqueryExpr, *parser.AggregateExpr, *parser.Call,
			*parser.BinaryExpr, *parser.ParenExpr, *parser.NumberLiteral, *parser.StringLiteral,
			*parser.UnaryExpr, *parser.StepInvariantExpr, *parser.DurationExpr, parser.Expressions, *parser.EvalStmt, nil:
		default:
			t.Errorf("%s: %q: unexpected node %T", q.where, q.expr, node)
		}
		return nil
	})
	return names
}

// ---------------------------------------------------------------------------
// The dashboard.

// dashPanel is a panel of the dashboard and its Prometheus queries.
type dashPanel struct {
	title   string
	targets []grafanaprom.Dataquery
}

// loadDashboard decodes the dashboard strictly, with the panel and query
// types it uses registered so that their options and targets are decoded
// strictly too.
//
// The SDK's strict decoders return their list of errors as an error even
// when it is empty (see cogError); the dashboard's own decoder then drops
// every panel and target it has checked. So the dashboard is checked whole,
// and its panels and targets are decoded again one by one.
func loadDashboard(t *testing.T) (*dashboard.Dashboard, []dashPanel) {
	t.Helper()
	rt := cog.NewRuntime()
	rt.RegisterPanelcfgVariant(timeseries.VariantConfig())
	rt.RegisterPanelcfgVariant(stat.VariantConfig())
	rt.RegisterDataqueryVariant(grafanaprom.VariantConfig())
	data := readRepoFile(t, dashboardFile)
	var d dashboard.Dashboard
	if err := cogError(d.UnmarshalJSONStrict(data)); err != nil {
		t.Fatalf("%s does not follow Grafana's dashboard schema: %v", dashboardFile, err)
	}
	if err := cogError(d.Validate()); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}

	var raw struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var panels []dashPanel
	for i, rp := range raw.Panels {
		var p dashboard.Panel
		if err := cogError(p.UnmarshalJSONStrict(rp)); err != nil {
			t.Fatalf("%s: panels[%d]: %v", dashboardFile, i, err)
		}
		if p.Type == "row" {
			t.Fatalf("%s: panels[%d] is a row: keep the panels flat (this test reads no rows)", dashboardFile, i)
		}
		if p.Type != "timeseries" && p.Type != "stat" {
			t.Errorf("%s: panels[%d] is a %q panel; this test knows timeseries and stat (register the type's variant to check its options)", dashboardFile, i, p.Type)
		}
		var targets struct {
			Targets []json.RawMessage `json:"targets"`
		}
		if err := json.Unmarshal(rp, &targets); err != nil {
			t.Fatalf("%s: panels[%d]: %v", dashboardFile, i, err)
		}
		dp := dashPanel{title: fmt.Sprintf("panels[%d]", i)}
		if p.Title != nil {
			dp.title = *p.Title
		}
		for j, rt := range targets.Targets {
			var q grafanaprom.Dataquery
			if err := cogError(q.UnmarshalJSONStrict(rt)); err != nil {
				t.Fatalf("%s: panel %q, targets[%d] is not a Prometheus query: %v", dashboardFile, dp.title, j, err)
			}
			dp.targets = append(dp.targets, q)
		}
		panels = append(panels, dp)
	}
	return &d, panels
}

// cogError returns err, or nil when it is the SDK's empty list of errors
// (its functions return their cog.BuildErrors as an error even when empty).
func cogError(err error) error {
	var list cog.BuildErrors
	if errors.As(err, &list) && len(list) == 0 {
		return nil
	}
	return err
}

// dashboardQueries returns every Prometheus query of the dashboard: the
// panels' targets and the query variables' label_values(METRIC, LABEL). It
// also checks the datasource and policy variables and that every target
// queries a Prometheus data source through the datasource variable.
func dashboardQueries(t *testing.T, d *dashboard.Dashboard, panels []dashPanel) []promQuery {
	t.Helper()
	var qs []promQuery
	vars := map[string]dashboard.VariableModel{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if v, ok := vars["datasource"]; !ok || v.Type != dashboard.VariableTypeDatasource || v.Query == nil || v.Query.String == nil || *v.Query.String != "prometheus" {
		t.Errorf("%s: want a datasource variable named datasource over Prometheus data sources, got %+v", dashboardFile, v)
	}
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	if v, ok := vars["policy"]; !ok || v.Type != dashboard.VariableTypeQuery || v.Query == nil || v.Query.String == nil {
		t.Errorf("%s: want a query variable named policy, got %+v", dashboardFile, v)
	} else if m := labelValues.FindStringSubmatch(*v.Query.String); m == nil || m[2] != policyTag {
		t.Errorf("%s: variable policy: query %q, want label_values(<metric>, %s)", dashboardFile, *v.Query.String, policyTag)
	} else {
		// Checked as a query grouping by the label it lists.
		qs = append(qs, promQuery{where: "variable policy", expr: "count by (" + m[2] + ") (" + m[1] + ")"})
		if v.Datasource == nil || v.Datasource.Uid == nil || *v.Datasource.Uid != "${datasource}" {
			t.Errorf("%s: variable policy does not query the datasource variable", dashboardFile)
		}
	}

	if len(panels) == 0 {
		t.Fatalf("%s has no panels", dashboardFile)
	}
	for _, p := range panels {
		if len(p.targets) == 0 {
			t.Errorf("%s: panel %q has no query", dashboardFile, p.title)
		}
		for i, q := range p.targets {
			where := fmt.Sprintf("panel %q, target %d", p.title, i)
			if q.Datasource == nil || q.Datasource.Type == nil || *q.Datasource.Type != "prometheus" ||
				q.Datasource.Uid == nil || *q.Datasource.Uid != "${datasource}" {
				t.Errorf("%s: %s does not query {type: prometheus, uid: ${datasource}}", dashboardFile, where)
			}
			qs = append(qs, promQuery{where: where, expr: q.Expr})
		}
	}
	return qs
}

// TestDashboardQueriesThePluginsMetrics checks that the dashboard decodes
// as a Grafana dashboard, that every query is PromQL over metrics the
// plugin exports, and that it shows what issue 12 asks for: preflights and
// actual requests allowed and denied, agree, would_break and would_open,
// by policy, and internal errors.
func TestDashboardQueriesThePluginsMetrics(t *testing.T) {
	d, panels := loadDashboard(t)
	exported := exportedByEnvoy(t, pluginMetricNames(t))
	queried := map[string]bool{}
	for _, q := range dashboardQueries(t, d, panels) {
		for _, n := range checkQuery(t, q, exported) {
			queried[n] = true
		}
		if strings.Contains(q.expr, "cors_policy_") && q.where != "variable policy" &&
			!strings.Contains(q.expr, policyTag+`=~"$policy"`) {
			t.Errorf("%s: %s: %q does not filter by the policy variable (%s=~\"$policy\")", dashboardFile, q.where, q.expr, policyTag)
		}
	}
	var want []string
	for _, c := range perPolicyCounters {
		want = append(want, "cors_policy_"+strings.ReplaceAll(c, ".", "_"))
	}
	want = append(want, "cors_internal_error")
	for _, n := range want {
		if !queried[n] {
			t.Errorf("%s has no panel over %s", dashboardFile, n)
		}
	}
}

// ---------------------------------------------------------------------------
// The PrometheusRule.

// TestPrometheusRuleAlertsOnWouldBreakAndInternalErrors decodes the rule
// file into the Prometheus Operator's type, refusing unknown fields, checks
// every expression, and that there is an alert naming the policy when
// would_break rises and one when internal_error rises.
func TestPrometheusRuleAlertsOnWouldBreakAndInternalErrors(t *testing.T) {
	var pr monitoringv1.PrometheusRule
	if err := yaml.UnmarshalStrict(readRepoFile(t, prometheusRuleFile), &pr); err != nil {
		t.Fatalf("%s is not a PrometheusRule: %v", prometheusRuleFile, err)
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" || pr.Name == "" {
		t.Fatalf("%s: apiVersion %q kind %q name %q, want monitoring.coreos.com/v1 PrometheusRule with a name", prometheusRuleFile, pr.APIVersion, pr.Kind, pr.Name)
	}
	exported := exportedByEnvoy(t, pluginMetricNames(t))
	alerts := map[string][]string{} // metric -> alerts querying it
	for _, g := range pr.Spec.Groups {
		if g.Name == "" {
			t.Errorf("%s: a group without a name", prometheusRuleFile)
		}
		for _, r := range g.Rules {
			where := fmt.Sprintf("group %s, rule %s%s", g.Name, r.Alert, r.Record)
			if (r.Alert == "") == (r.Record == "") {
				t.Errorf("%s: %s: a rule is an alert or a recording rule", prometheusRuleFile, where)
			}
			if r.Expr.Type != 1 { // intstr.String
				t.Errorf("%s: %s: expr is not a string", prometheusRuleFile, where)
				continue
			}
			names := checkQuery(t, promQuery{where: where, expr: r.Expr.StrVal}, exported)
			if r.Alert == "" {
				continue
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: %s: want a severity label and summary and description annotations", prometheusRuleFile, where)
			}
			for _, n := range names {
				alerts[n] = append(alerts[n], r.Alert)
			}
			if slices.Contains(names, "cors_policy_report_would_break") {
				if !strings.Contains(r.Expr.StrVal, "by ("+policyTag) && !strings.Contains(r.Expr.StrVal, ", "+policyTag+")") {
					t.Errorf("%s: %s: %q does not keep the %s label", prometheusRuleFile, where, r.Expr.StrVal, policyTag)
				}
				if !strings.Contains(r.Annotations["summary"], "$labels."+policyTag) {
					t.Errorf("%s: %s: the summary does not name the policy ({{ $labels.%s }})", prometheusRuleFile, where, policyTag)
				}
			}
		}
	}
	for _, n := range []string{"cors_policy_report_would_break", "cors_internal_error"} {
		if len(alerts[n]) == 0 {
			t.Errorf("%s has no alert on %s", prometheusRuleFile, n)
		}
	}
}

// ---------------------------------------------------------------------------
// Istio.

// TestIstioStatsTagIsEnvoyYAMLs checks the ConfigMap Istio pods name in
// sidecar.istio.io/bootstrapOverride: its custom_bootstrap.json is an Envoy
// v3 Bootstrap (unknown fields refused) that sets only the stats tags, and
// they are exactly envoy.yaml's policy tag, so Istio proxies export the
// names Envoy does.
func TestIstioStatsTagIsEnvoyYAMLs(t *testing.T) {
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(readRepoFile(t, istioStatsTagFile), &cm); err != nil {
		t.Fatalf("%s is not a ConfigMap: %v", istioStatsTagFile, err)
	}
	if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || cm.Name == "" {
		t.Fatalf("%s: apiVersion %q kind %q name %q, want a v1 ConfigMap with a name", istioStatsTagFile, cm.APIVersion, cm.Kind, cm.Name)
	}
	// The sidecar injector mounts the ConfigMap at /etc/istio/custom-bootstrap
	// and pilot-agent reads custom_bootstrap.json there.
	js, ok := cm.Data["custom_bootstrap.json"]
	if !ok || len(cm.Data) != 1 {
		t.Fatalf("%s: want exactly one key, custom_bootstrap.json; got %v", istioStatsTagFile, slices.Sorted(maps.Keys(cm.Data)))
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal([]byte(js), &b); err != nil {
		t.Fatalf("%s: custom_bootstrap.json does not follow Envoy's v3 Bootstrap schema: %v", istioStatsTagFile, err)
	}
	if err := b.ValidateAll(); err != nil {
		t.Errorf("%s: custom_bootstrap.json: %v", istioStatsTagFile, err)
	}
	_, want := envoyStatsTags(t)
	only := &bootstrapv3.Bootstrap{StatsConfig: &metricsv3.StatsConfig{StatsTags: []*metricsv3.TagSpecifier{want}}}
	if !proto.Equal(&b, only) {
		got, _ := protojson.Marshal(&b)
		w, _ := protojson.Marshal(only)
		t.Errorf("%s: custom_bootstrap.json is\n  %s\nwant only envoy.yaml's %s tag:\n  %s", istioStatsTagFile, got, policyTag, w)
	}
}
