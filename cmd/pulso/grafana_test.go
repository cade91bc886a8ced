package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The operators' Grafana dashboard (configs/grafana/pulso.json) may only query metrics
// pulso really exports. The exported names are taken from the real thing: the batch
// metrics a real pipeline run writes (--metrics-file, the same registry it pushes to
// the Pushgateway) and a scrape of a real `pulso serve` after requests that give
// every labelled family a sample. The dashboard's names come from its PromQL through
// a small tokenizer, itself checked below so the comparison cannot pass vacuously.

const grafanaDashboard = "../../configs/grafana/pulso.json"

// promqlGrouping are the keywords followed by a parenthesised list of label names.
var promqlGrouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true}

// promqlKeywords are the other bare words of PromQL that are not metric names.
var promqlKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"inf": true, "nan": true, "atan2": true}

// promqlFunctions are PromQL's functions and aggregation operators.
var promqlFunctions = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`
		sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio
		abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp
		clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month
		deg delta deriv double_exponential_smoothing exp floor histogram_avg histogram_count
		histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum
		holt_winters hour idelta increase info irate label_join label_replace last_over_time ln log10
		log2 mad_over_time max_over_time min_over_time minute month pi predict_linear
		present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_desc
		sort_by_label sort_by_label_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh
		time timestamp vector year start end`) {
		promqlFunctions[f] = true
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdent(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipString returns the index after the string literal starting at i.
func skipString(s string, i int) (int, error) {
	quote := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && quote != '`':
			j++
		case s[j] == quote:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d in %q", i, s)
}

// skipGroup returns the index after the group opened at i, nested groups and string
// literals inside included.
func skipGroup(s string, i int, open, closing byte) (int, error) {
	depth := 0
	for j := i; j < len(s); {
		switch s[j] {
		case '"', '\'', '`':
			k, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = k
			continue
		case open:
			depth++
		case closing:
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
		j++
	}
	return 0, fmt.Errorf("unclosed %c at %d in %q", open, i, s)
}

// promqlMetricNames lists the metric names a PromQL expression selects. It drops
// string literals, label matchers {…}, ranges and subqueries […], the label lists of
// by/without/on/ignoring/group_left/group_right, numbers and durations, Grafana
// variables ($__rate_interval, ${x}), keywords and functions; a word called like a
// function that PromQL does not have is an error rather than a silent skip.
func promqlMetricNames(expr string) ([]string, error) {
	var names []string
	var err error
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i, err = skipString(expr, i)
		case c == '{':
			i, err = skipGroup(expr, i, '{', '}')
		case c == '[':
			i, err = skipGroup(expr, i, '[', ']')
		case c == '#': // a comment runs to the end of the line
			if j := strings.IndexByte(expr[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(expr)
			}
		case c == '$':
			i++
			if i < len(expr) && expr[i] == '{' {
				i, err = skipGroup(expr, i, '{', '}')
			} else {
				for i < len(expr) && isIdent(expr[i]) {
					i++
				}
			}
		case isDigit(c) || c == '.' && i+1 < len(expr) && isDigit(expr[i+1]):
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			word, lower := expr[i:j], strings.ToLower(expr[i:j])
			i = j
			k := i
			for k < len(expr) && strings.IndexByte(" \t\r\n", expr[k]) >= 0 {
				k++
			}
			called := k < len(expr) && expr[k] == '('
			switch {
			case promqlGrouping[lower]:
				if called {
					i, err = skipGroup(expr, k, '(', ')')
				}
			case promqlKeywords[lower] || promqlFunctions[lower]:
			case called:
				err = fmt.Errorf("%q is called like a function, and PromQL has no such function", word)
			default:
				names = append(names, word)
			}
		default:
			i++
		}
		if err != nil {
			return nil, fmt.Errorf("promql %q: %w", expr, err)
		}
	}
	return names, nil
}

// dashboardExprs collects the expr of every query of every panel, the panels nested
// in collapsed rows included: every object in any "targets" array, at any depth.
func dashboardExprs(b []byte) ([]string, error) {
	var d any
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	var out []string
	var walk func(v any, isTarget bool)
	walk = func(v any, isTarget bool) {
		switch x := v.(type) {
		case map[string]any:
			if isTarget {
				if e, ok := x["expr"].(string); ok {
					out = append(out, e)
				}
			}
			for k, val := range x {
				walk(val, false)
				if k == "targets" {
					if arr, ok := val.([]any); ok {
						for _, e := range arr {
							walk(e, true)
						}
					}
				}
			}
		case []any:
			for _, e := range x {
				walk(e, false)
			}
		}
	}
	walk(d, false)
	slices.Sort(out)
	return out, nil
}

// exposedNames are the sample names of a Prometheus text exposition: what a query
// can select (a histogram as name_bucket, name_sum, name_count).
func exposedNames(text string) map[string]bool {
	out := map[string]bool{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if end := strings.IndexAny(line, "{ \t"); end > 0 {
			out[line[:end]] = true
		}
	}
	return out
}

// unknownMetrics returns, per expression, the names it queries that exported lacks.
func unknownMetrics(exprs []string, exported map[string]bool) (map[string][]string, error) {
	out := map[string][]string{}
	var errs []error
	for _, e := range exprs {
		names, err := promqlMetricNames(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, n := range names {
			if !exported[n] && !slices.Contains(out[e], n) {
				out[e] = append(out[e], n)
			}
		}
	}
	return out, errors.Join(errs...)
}

func TestGrafanaPromQLTokenizer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr string
		want []string
	}{
		{`histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{route!="",method=~"GET|POST"}[$__rate_interval])))`,
			[]string{"http_request_duration_seconds_bucket"}},
		{`(sum(rate(http_requests_total{status=~"5.."}[5m])) or vector(0)) / sum(rate(http_requests_total[5m]))`,
			[]string{"http_requests_total", "http_requests_total"}},
		{`time() - max without (instance) (pulso_etl_last_success_timestamp)`, []string{"pulso_etl_last_success_timestamp"}},
		{`sum(cache_hits_total) by (backend) / clamp_min(sum by (backend) (cache_hits_total + cache_misses_total), 1e-9)`,
			[]string{"cache_hits_total", "cache_hits_total", "cache_misses_total"}},
		{`label_replace(up{job="a}b"}, "dst", "$1", "src", "(.*)") > bool 0.5`, []string{"up"}},
		{`foo offset 5m and on(instance) group_left(table) bar @ 1700000000 unless ignoring (x) baz`, []string{"foo", "bar", "baz"}},
		{`max_over_time(deriv(job:rows:rate5m[1h:5m])[${window}:]) # a comment naming fake_metric`, []string{"job:rows:rate5m"}},
		{`topk(3, sort_desc(pulso_batch_rows_total{outcome=~"loaded|rejected"}))`, []string{"pulso_batch_rows_total"}},
		{`changes(pulso_data_version[24h]) * 0x10 + .5`, []string{"pulso_data_version"}},
	}
	for _, c := range cases {
		got, err := promqlMetricNames(c.expr)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %q (%v)\nwant %q", c.expr, got, err, c.want)
		}
	}
	for _, bad := range []string{`rat(http_requests_total[5m])`, `sum(x{a="b)`, `sum(x{a="b"`, `rate(x[5m)`} {
		if names, err := promqlMetricNames(bad); err == nil {
			t.Errorf("%s: no error (names %q)", bad, names)
		}
	}
}

func TestGrafanaDashboardExprsWalkNestedRows(t *testing.T) {
	t.Parallel()
	exprs, err := dashboardExprs([]byte(`{"panels": [
		{"type": "timeseries", "targets": [{"expr": "a"}, {"expr": "b"}]},
		{"type": "row", "collapsed": true, "panels": [{"type": "stat", "targets": [{"expr": "c"}]}]},
		{"type": "row", "panels": [{"type": "row", "panels": [{"targets": [{"expr": "d"}]}]}]},
		{"type": "text", "options": {"expr": "not a query"}}]}`))
	if err != nil || !slices.Equal(exprs, []string{"a", "b", "c", "d"}) {
		t.Fatalf("exprs %q (%v), want a b c d", exprs, err)
	}
	b, err := os.ReadFile(grafanaDashboard)
	if err != nil {
		t.Fatal(err)
	}
	if exprs, err = dashboardExprs(b); err != nil {
		t.Fatal(err)
	}
	// The real dashboard: a query per panel, the collapsed row's included.
	var d struct {
		Panels []struct {
			Type   string            `json:"type"`
			Panels []json.RawMessage `json:"panels"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	panels, nested := 0, 0
	for _, p := range d.Panels {
		if p.Type != "row" {
			panels++
		}
		panels += len(p.Panels)
		nested += len(p.Panels)
	}
	if nested == 0 || len(exprs) < panels {
		t.Errorf("%d queries for %d panels (%d in collapsed rows)", len(exprs), panels, nested)
	}
}

// Every metric the dashboard queries is one pulso exports: names from a real
// pipeline's batch metrics and a real server's /metrics.
func TestGrafanaDashboardQueriesExportedMetrics(t *testing.T) {
	t.Parallel()
	url := migrated(t)
	batchFile := filepath.Join(t.TempDir(), "batch.prom")
	mustRun(t, url, pipelineArgs(demoSet(t), "--metrics-file", batchFile)...)
	b, err := os.ReadFile(batchFile)
	if err != nil {
		t.Fatalf("run-pipeline --metrics-file wrote nothing: %v", err)
	}
	exported := exposedNames(string(b))
	if !slices.ContainsFunc(slices.Collect(maps.Keys(exported)), func(n string) bool { return strings.HasPrefix(n, "pulso_batch_") }) {
		t.Fatalf("the batch metrics file has no pulso_batch_ sample:\n%s", b)
	}

	// serve on the same database (so the ledger has last successes); the dashboard
	// twice so the cache has a miss and then a hit, every labelled family a sample.
	api := startServe(t, url)
	token := api.login(t)
	for range 2 {
		api.mustGet(t, "/api/v1/dashboard", token, nil)
	}
	api.mustGet(t, "/api/v1/filters", token, nil)
	maps.Copy(exported, exposedNames(api.metricsBody(t)))

	dash, err := os.ReadFile(grafanaDashboard)
	if err != nil {
		t.Fatal(err)
	}
	exprs, err := dashboardExprs(dash)
	if err != nil {
		t.Fatal(err)
	}
	queried := map[string]bool{}
	for _, e := range exprs {
		names, err := promqlMetricNames(e)
		if err != nil {
			t.Error(err)
		}
		for _, n := range names {
			queried[n] = true
		}
	}
	// Not vacuous: the dashboard's names were found, the latency panel's among them.
	if len(queried) == 0 || !queried["http_request_duration_seconds_bucket"] {
		t.Fatalf("names extracted from the dashboard: %v; want http_request_duration_seconds_bucket among them", slices.Sorted(maps.Keys(queried)))
	}
	unknown, err := unknownMetrics(exprs, exported)
	if err != nil {
		t.Error(err)
	}
	for _, e := range slices.Sorted(maps.Keys(unknown)) {
		t.Errorf("the dashboard queries %q, which pulso does not export: %s", unknown[e], e)
	}
	if t.Failed() {
		t.Logf("exported: %v", slices.Sorted(maps.Keys(exported)))
	}

	// And the comparison reports a name pulso does not export.
	fake := `sum(rate(pulso_not_a_metric_total[5m])) / sum(rate(http_requests_total[5m]))`
	if got, err := unknownMetrics([]string{fake}, exported); err != nil || !slices.Equal(got[fake], []string{"pulso_not_a_metric_total"}) {
		t.Errorf("unknown names of %s: %v (%v), want [pulso_not_a_metric_total]", fake, got, err)
	}
}
