package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// Config is the effective configuration; cobra and viper stop here, every package
// below takes the typed pieces it needs.
type Config struct {
	Env       string                 `mapstructure:"env"`
	AsOf      string                 `mapstructure:"as_of"`
	Database  DatabaseConfig         `mapstructure:"database"`
	Redis     RedisConfig            `mapstructure:"redis"`
	Log       LogConfig              `mapstructure:"log"`
	Source    SourceConfig           `mapstructure:"source"`
	Files     FilesConfig            `mapstructure:"files"`
	BigQuery  BigQueryConfig         `mapstructure:"bigquery"`
	ETL       ETLConfig              `mapstructure:"etl"`
	Tables    map[string]TableConfig `mapstructure:"-"`
	Transform TransformConfig        `mapstructure:"transform"`
	HTTP      HTTPConfig             `mapstructure:"http"`
	Metrics   MetricsConfig          `mapstructure:"metrics"`
	// StaleAfter marks a table stale when its last successful load is older (api.md §4).
	StaleAfter time.Duration `mapstructure:"stale_after"`
	// ScheduleInterval is the pipeline's schedule (cron 0 */3 * * *), for next_scheduled.
	ScheduleInterval time.Duration `mapstructure:"schedule_interval"`
}

type DatabaseConfig struct {
	URL string `mapstructure:"url"`
}

type RedisConfig struct {
	URL string `mapstructure:"url"`
}

type LogConfig struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

type SourceConfig struct {
	Kind string `mapstructure:"kind"`
	Dir  string `mapstructure:"dir"`
}

type FilesConfig struct {
	MaxFieldBytes int `mapstructure:"max_field_bytes"`
}

type BigQueryConfig struct {
	Project            string        `mapstructure:"project"`
	Dataset            string        `mapstructure:"dataset"`
	UID                string        `mapstructure:"uid"`
	Location           string        `mapstructure:"location"`
	CredentialsFile    string        `mapstructure:"credentials_file"`
	MaximumBytesBilled int64         `mapstructure:"maximum_bytes_billed"`
	BillingProject     string        `mapstructure:"billing_project"`
	StorageRead        bool          `mapstructure:"storage_read"`
	QueryTimeout       time.Duration `mapstructure:"query_timeout"`
	MaxRetries         int           `mapstructure:"max_retries"`
	Endpoint           string        `mapstructure:"endpoint"`
}

type ETLConfig struct {
	RejectTolerance     float64 `mapstructure:"reject_tolerance"`
	MaxShrinkRatio      float64 `mapstructure:"max_shrink_ratio"`
	EjecutivosIDCliente int64   `mapstructure:"ejecutivos_id_cliente"`
	BatchRows           int     `mapstructure:"batch_rows"`
}

type TableConfig struct {
	BQTable      string `mapstructure:"bq_table"`
	LookbackDays int    `mapstructure:"lookback_days"`
	InitialFrom  string `mapstructure:"initial_from"`
}

type TransformConfig struct {
	Holidays        []string `mapstructure:"holidays"`
	PDPRecoveryDays int      `mapstructure:"pdp_recovery_days"`
	MaxPagosDocDia  int      `mapstructure:"max_pagos_doc_dia"`
}

type HTTPConfig struct {
	Addr string `mapstructure:"addr"`
}

type MetricsConfig struct {
	Addr string `mapstructure:"addr"`
}

// defaults declares every key (so viper binds its PULSO_* variable) with its default.
func defaults(reg *etl.Registry) map[string]any {
	d := map[string]any{
		"env":                       "production",
		"as_of":                     "",
		"database.url":              "",
		"redis.url":                 "",
		"log.level":                 "info",
		"log.format":                "auto",
		"source.kind":               "dir",
		"source.dir":                "",
		"files.max_field_bytes":     1 << 20,
		"bigquery.project":          "mibot-222814",
		"bigquery.dataset":          "BI_USA",
		"bigquery.uid":              "P3fV4dWNeMkN5RJMhV8e",
		"bigquery.location":         "US",
		"bigquery.credentials_file": "",
		// 100 GiB: a guard against a runaway query, far above any real window.
		"bigquery.maximum_bytes_billed": int64(100 << 30),
		// Jobs run (and bill) here; empty = bigquery.project.
		"bigquery.billing_project": "",
		// Read results through the Storage Read API (Arrow, several streams).
		"bigquery.storage_read":  false,
		"bigquery.query_timeout": "15m",
		"bigquery.max_retries":   5,
		// REST endpoint override: the emulator (unauthenticated unless credentials_file).
		"bigquery.endpoint":           "",
		"etl.reject_tolerance":        0.05,
		"etl.max_shrink_ratio":        0.5,
		"etl.ejecutivos_id_cliente":   145,
		"etl.batch_rows":              50000,
		"transform.holidays":          []string{},
		"transform.pdp_recovery_days": 7,
		"transform.max_pagos_doc_dia": 3,
		"http.addr":                   ":8000",
		"metrics.addr":                ":9090",
		"stale_after":                 "6h",
		"schedule_interval":           "3h",
	}
	for _, t := range reg.Tables() {
		p := "tables." + t.Name + "."
		d[p+"bq_table"] = t.BQTable
		d[p+"lookback_days"] = t.LookbackDays
		d[p+"initial_from"] = ""
	}
	return d
}

// envAliases are accepted besides PULSO_<KEY>.
var envAliases = map[string]string{"database.url": "DATABASE_URL", "redis.url": "REDIS_URL"}

// flagKeys maps global flags onto config keys (flag > env > file > default).
var flagKeys = map[string]string{
	"database-url": "database.url",
	"log-level":    "log.level",
	"log-format":   "log.format",
	"as-of":        "as_of",
	"source":       "source.kind",
	"dir":          "source.dir",
}

var identifierRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// errConfig marks configuration faults: exit code 2.
var errConfig = errors.New("configuration error")

// loadConfig resolves the configuration: flags > PULSO_* env > file > defaults. An
// explicit --config must exist; the default configs/pulso.yaml is optional.
func loadConfig(reg *etl.Registry, flags *pflag.FlagSet, path string, explicit bool) (*Config, error) {
	v := viper.New()
	defs := defaults(reg)
	for k, val := range defs {
		v.SetDefault(k, val)
	}
	v.SetEnvPrefix("PULSO")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	envNames := map[string][]string{}
	for k := range defs {
		envNames[k] = []string{"PULSO_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_"))}
		if alias, ok := envAliases[k]; ok {
			envNames[k] = append(envNames[k], alias)
		}
		_ = v.BindEnv(append([]string{k}, envNames[k]...)...)
	}
	var fileLines map[string]int
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			if fileLines, err = checkFileKeys(path, data, defs); err != nil {
				return nil, err
			}
			v.SetConfigType("yaml")
			if err := v.ReadConfig(strings.NewReader(string(data))); err != nil {
				return nil, fmt.Errorf("%w: config file %s: %v", errConfig, path, err)
			}
		case errors.Is(err, os.ErrNotExist) && !explicit:
		default:
			return nil, fmt.Errorf("%w: config file: %v", errConfig, err)
		}
	}
	if flags != nil {
		var bindErr error
		flags.VisitAll(func(f *pflag.Flag) {
			if key, ok := flagKeys[f.Name]; ok && bindErr == nil {
				bindErr = v.BindPFlag(key, f)
			}
		})
		if bindErr != nil {
			return nil, bindErr
		}
	}
	if err := checkValueTypes(v, defs, envNames, path, fileLines); err != nil {
		return nil, err
	}
	var cfg Config
	hook := mapstructure.ComposeDecodeHookFunc(yamlDateHook, mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","))
	if err := v.Unmarshal(&cfg, viper.DecodeHook(hook)); err != nil {
		return nil, fmt.Errorf("%w: %v", errConfig, err)
	}
	cfg.Tables = make(map[string]TableConfig, len(reg.Tables()))
	for _, t := range reg.Tables() {
		p := "tables." + t.Name + "."
		cfg.Tables[t.Name] = TableConfig{
			BQTable:      v.GetString(p + "bq_table"),
			LookbackDays: v.GetInt(p + "lookback_days"),
			InitialFrom:  v.GetString(p + "initial_from"),
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errConfig, err)
	}
	return &cfg, nil
}

// yamlDateHook turns an unquoted YAML date (decoded as a time) back into the text the
// string-typed keys expect.
func yamlDateHook(from reflect.Type, to reflect.Type, data any) (any, error) {
	t, ok := data.(time.Time)
	if !ok || to.Kind() != reflect.String {
		return data, nil
	}
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly), nil
	}
	return t.Format(time.RFC3339), nil
}

// checkValueTypes fails on a value that is not of its key's type (integer, number or
// boolean, as the default), naming the key, the value and where it came from (the
// variable, or the file and line; no flag sets a typed key): decoded leniently,
// "abc" would become 0 and "10.5" would become 10.
func checkValueTypes(v *viper.Viper, defs map[string]any, envNames map[string][]string, path string,
	fileLines map[string]int) error {
	var errs []string
	for k, def := range defs {
		var want string
		switch def.(type) {
		case int, int64:
			want = "an integer"
		case float64:
			want = "a number"
		case bool:
			want = "true or false"
		default:
			continue
		}
		var from string
		for _, name := range envNames[k] {
			if val, ok := os.LookupEnv(name); ok && val != "" { // viper ignores empty variables
				from = "variable " + name
				break
			}
		}
		if line, ok := fileLines[k]; ok && from == "" {
			from = fmt.Sprintf("config file %s:%d", path, line)
		}
		if from == "" {
			continue
		}
		if raw := v.Get(k); !validValue(raw, def) {
			errs = append(errs, fmt.Sprintf("%s: %q is not %s (%s)", k, fmt.Sprint(raw), want, from))
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("%w: %s", errConfig, strings.Join(errs, "; "))
	}
	return nil
}

// validValue reports whether raw (text from a variable, or a YAML scalar) is a value
// of def's type; an integer must be whole.
func validValue(raw, def any) bool {
	s, isText := raw.(string)
	switch def.(type) {
	case int, int64:
		switch r := raw.(type) {
		case int, int64:
			return true
		case float64:
			return r == math.Trunc(r)
		}
		_, err := strconv.ParseInt(s, 10, 64)
		return isText && err == nil
	case float64:
		switch raw.(type) {
		case int, int64, float64:
			return true
		}
		f, err := strconv.ParseFloat(s, 64)
		return isText && err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	case bool:
		if _, ok := raw.(bool); ok {
			return true
		}
		_, err := strconv.ParseBool(s)
		return isText && err == nil
	}
	return true
}

// checkFileKeys fails on any key of the file that is not declared, naming its line,
// and returns the line of each declared key it sets.
func checkFileKeys(path string, data []byte, defs map[string]any) (map[string]int, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%w: config file %s: %v", errConfig, path, err)
	}
	lines := map[string]int{}
	var unknown []string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind == yaml.DocumentNode {
			for _, c := range n.Content {
				walk(c, prefix)
			}
			return
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := strings.ToLower(k.Value)
			if prefix != "" {
				key = prefix + "." + key
			}
			if _, ok := defs[key]; ok {
				lines[key] = k.Line
				continue
			}
			if val.Kind == yaml.MappingNode && hasPrefixKey(defs, key+".") {
				walk(val, key)
				continue
			}
			unknown = append(unknown, fmt.Sprintf("%q (line %d)", key, k.Line))
		}
	}
	walk(&root, "")
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%w: config file %s: unknown key %s", errConfig, path, strings.Join(unknown, ", "))
	}
	return lines, nil
}

func hasPrefixKey(defs map[string]any, prefix string) bool {
	for k := range defs {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// Validate checks values once, at load; identifiers that are templated into BigQuery
// table names are restricted here so they can never carry SQL.
func (c *Config) Validate() error {
	var errs []error
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(c.Log.Level)) {
		errs = append(errs, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level))
	}
	if !slices.Contains([]string{"auto", "json", "text"}, strings.ToLower(c.Log.Format)) {
		errs = append(errs, fmt.Errorf("log.format %q: want auto, json or text", c.Log.Format))
	}
	if !slices.Contains([]string{"dir", "bigquery"}, c.Source.Kind) {
		errs = append(errs, fmt.Errorf("source.kind %q: want dir or bigquery", c.Source.Kind))
	}
	if c.AsOf != "" {
		if _, err := etl.ParseDate(c.AsOf); err != nil {
			errs = append(errs, fmt.Errorf("as_of: %v", err))
		}
	}
	for _, id := range []struct{ key, val string }{
		{"bigquery.project", c.BigQuery.Project}, {"bigquery.dataset", c.BigQuery.Dataset}, {"bigquery.uid", c.BigQuery.UID},
	} {
		if !identifierRE.MatchString(id.val) {
			errs = append(errs, fmt.Errorf("%s %q: must match %s", id.key, id.val, identifierRE))
		}
	}
	names := make([]string, 0, len(c.Tables))
	for n := range c.Tables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tc := c.Tables[n]
		if !identifierRE.MatchString(strings.ReplaceAll(tc.BQTable, "{uid}", "x")) {
			errs = append(errs, fmt.Errorf("tables.%s.bq_table %q: must match %s ({uid} allowed)", n, tc.BQTable, identifierRE))
		}
		if tc.LookbackDays < 0 {
			errs = append(errs, fmt.Errorf("tables.%s.lookback_days %d: must be ≥ 0", n, tc.LookbackDays))
		}
		if tc.InitialFrom != "" {
			if _, err := time.Parse(time.RFC3339, tc.InitialFrom); err != nil {
				if _, err := etl.ParseDate(tc.InitialFrom); err != nil {
					errs = append(errs, fmt.Errorf("tables.%s.initial_from %q: want a date or RFC 3339 timestamp", n, tc.InitialFrom))
				}
			}
		}
	}
	if c.ETL.RejectTolerance < 0 || c.ETL.RejectTolerance > 1 {
		errs = append(errs, fmt.Errorf("etl.reject_tolerance %v: want 0..1", c.ETL.RejectTolerance))
	}
	if c.ETL.MaxShrinkRatio < 0 || c.ETL.MaxShrinkRatio > 1 {
		errs = append(errs, fmt.Errorf("etl.max_shrink_ratio %v: want 0..1", c.ETL.MaxShrinkRatio))
	}
	if c.BigQuery.BillingProject != "" && !identifierRE.MatchString(c.BigQuery.BillingProject) {
		errs = append(errs, fmt.Errorf("bigquery.billing_project %q: must match %s", c.BigQuery.BillingProject, identifierRE))
	}
	if c.BigQuery.QueryTimeout <= 0 {
		errs = append(errs, fmt.Errorf("bigquery.query_timeout %s: want > 0", c.BigQuery.QueryTimeout))
	}
	if c.BigQuery.MaxRetries < 0 {
		errs = append(errs, fmt.Errorf("bigquery.max_retries %d: want ≥ 0", c.BigQuery.MaxRetries))
	}
	if c.BigQuery.MaximumBytesBilled < 0 {
		errs = append(errs, fmt.Errorf("bigquery.maximum_bytes_billed %d: want ≥ 0 (0 = the project's default)", c.BigQuery.MaximumBytesBilled))
	}
	if c.ETL.BatchRows < 1 {
		errs = append(errs, fmt.Errorf("etl.batch_rows %d: want ≥ 1", c.ETL.BatchRows))
	}
	if c.Files.MaxFieldBytes < 1024 {
		errs = append(errs, fmt.Errorf("files.max_field_bytes %d: want ≥ 1024", c.Files.MaxFieldBytes))
	}
	for _, h := range c.Transform.Holidays {
		if _, err := etl.ParseDate(h); err != nil {
			errs = append(errs, fmt.Errorf("transform.holidays: %v", err))
		}
	}
	return errors.Join(errs...)
}

// redacted returns the effective configuration as flat key → value with secrets hidden.
func (c *Config) redacted() map[string]any {
	out := map[string]any{}
	if err := mapstructure.Decode(c, &out); err != nil {
		return out
	}
	flat := map[string]any{}
	flatten("", out, flat)
	for k, v := range c.Tables {
		flat["tables."+k+".bq_table"] = v.BQTable
		flat["tables."+k+".lookback_days"] = v.LookbackDays
		flat["tables."+k+".initial_from"] = v.InitialFrom
	}
	delete(flat, "tables")
	flat["database.url"] = redactURL(c.Database.URL)
	flat["redis.url"] = redactURL(c.Redis.URL)
	return flat
}

func flatten(prefix string, in map[string]any, out map[string]any) {
	for k, v := range in {
		key := strings.ToLower(k)
		if prefix != "" {
			key = prefix + "." + key
		}
		if m, ok := v.(map[string]any); ok {
			flatten(key, m, out)
			continue
		}
		out[key] = v
	}
}

var urlPasswordRE = regexp.MustCompile(`(://[^:/@]*:)[^@]*@`)

// redactURL hides a password in a connection URL; key=value DSNs lose password=….
func redactURL(u string) string {
	u = urlPasswordRE.ReplaceAllString(u, "${1}REDACTED@")
	return regexp.MustCompile(`(password=)\S+`).ReplaceAllString(u, "${1}REDACTED")
}
