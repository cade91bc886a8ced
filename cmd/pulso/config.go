package main

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"reflect"
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
	"github.com/pulso-cobranzas/pulso/internal/etl/source/bigquery"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// Config is the effective configuration, typed once at load: every value below has
// been parsed and checked, and each component takes its own piece (embedded, with
// the key names as mapstructure tags). cobra and viper stop here.
type Config struct {
	Env string `mapstructure:"env"`
	// AsOf fixes today's Lima date (zero: the clock's).
	AsOf      etl.Date               `mapstructure:"as_of"`
	Database  DatabaseConfig         `mapstructure:"database"`
	Redis     RedisConfig            `mapstructure:"redis"`
	Log       LogConfig              `mapstructure:"log"`
	Source    SourceConfig           `mapstructure:"source"`
	Files     files.Options          `mapstructure:"files"`
	BigQuery  bigquery.Config        `mapstructure:"bigquery"`
	ETL       ETLConfig              `mapstructure:"etl"`
	Tables    map[string]TableConfig `mapstructure:"-"`
	Transform TransformConfig        `mapstructure:"transform"`
	HTTP      HTTPConfig             `mapstructure:"http"`
	Metrics   MetricsConfig          `mapstructure:"metrics"`
	// StaleAfter marks a table stale when its last successful load is older (api.md §4).
	StaleAfter time.Duration `mapstructure:"stale_after"`
	// ScheduleInterval is the pipeline's schedule (cron 0 */3 * * *), for next_scheduled.
	ScheduleInterval time.Duration `mapstructure:"schedule_interval"`
	JWT              JWTConfig     `mapstructure:"jwt"`
	Bcrypt           BcryptConfig  `mapstructure:"bcrypt"`
	Login            LoginConfig   `mapstructure:"login"`
	Lockout          LockoutConfig `mapstructure:"lockout"`
	// TrustedProxies are the IPs or CIDRs whose X-Forwarded-For the login limit believes.
	TrustedProxies []string        `mapstructure:"trusted_proxies"`
	Bootstrap      BootstrapConfig `mapstructure:"bootstrap"`
	Cache          CacheConfig     `mapstructure:"cache"`
	CORS           CORSConfig      `mapstructure:"cors"`
	HSTS           bool            `mapstructure:"hsts"`
	Docs           DocsConfig      `mapstructure:"docs"`
}

// The serve keys (api.md §7).
type JWTConfig struct {
	Secret     string        `mapstructure:"secret"`
	AccessTTL  time.Duration `mapstructure:"access_ttl"`
	RefreshTTL time.Duration `mapstructure:"refresh_ttl"`
}

type BcryptConfig struct {
	Cost int `mapstructure:"cost"`
}

type LoginConfig struct {
	// Rate is login attempts per client IP: "10/min", "1/s", "100/h" or a bare
	// number per minute.
	Rate        string `mapstructure:"rate"`
	MaxFailures int    `mapstructure:"max_failures"`
}

type LockoutConfig struct {
	Duration time.Duration `mapstructure:"duration"`
}

type BootstrapConfig struct {
	AdminEmail    string `mapstructure:"admin_email"`
	AdminPassword string `mapstructure:"admin_password"`
}

type CacheConfig struct {
	Enabled         bool           `mapstructure:"enabled"`
	LocalMaxEntries int            `mapstructure:"local_max_entries"`
	TTL             CacheTTLConfig `mapstructure:"ttl"`
}

// CacheTTLConfig is each cached endpoint's TTL in seconds.
type CacheTTLConfig struct {
	Dashboard    int `mapstructure:"dashboard"`
	Operation    int `mapstructure:"operation"`
	Evolution    int `mapstructure:"evolution"`
	Filters      int `mapstructure:"filters"`
	Assignment   int `mapstructure:"assignment"`
	Productivity int `mapstructure:"productivity"`
}

type CORSConfig struct {
	Origins []string `mapstructure:"origins"`
}

type DocsConfig struct {
	Enabled bool `mapstructure:"enabled"`
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
	// LevelGiven: some flag, variable or file set the level (on a terminal the
	// default is quieter: the progress bars and the summary say what info would).
	LevelGiven bool `mapstructure:"-"`
}

type SourceConfig struct {
	Kind etl.SourceKind `mapstructure:"kind"`
	Dir  string         `mapstructure:"dir"`
}

type ETLConfig struct {
	postgres.StoreOptions `mapstructure:",squash"`
	RejectTolerance       float64 `mapstructure:"reject_tolerance"`
	EjecutivosIDCliente   int64   `mapstructure:"ejecutivos_id_cliente"`
}

type TableConfig struct {
	BQTable      string
	LookbackDays int
	// InitialFrom bounds a table's first read (zero: everything).
	InitialFrom time.Time
}

type TransformConfig struct {
	etl.TransformConfig `mapstructure:",squash"`
	// Holidays are the non-business days; the API counts business days with them.
	Holidays []etl.Date `mapstructure:"holidays"`
	// Engine builds the aux and mart layers: postgres (from the raw layer) or
	// bigquery (next to the source tables; only the served tables travel).
	Engine string `mapstructure:"engine"`
}

type HTTPConfig struct {
	Addr string `mapstructure:"addr"`
}

type MetricsConfig struct {
	Addr string `mapstructure:"addr"`
}

// The transform engines (transform.engine, --engine).
const (
	enginePostgres = "postgres"
	engineBigQuery = "bigquery"
)

func validEngine(e string) bool { return e == enginePostgres || e == engineBigQuery }

// Load is what every load takes from the configuration.
func (c *Config) Load() etl.LoadConfig {
	lc := etl.LoadConfig{Lookback: map[string]int{}, InitialFrom: map[string]time.Time{},
		EjecutivosIDCliente: c.ETL.EjecutivosIDCliente, RejectTolerance: c.ETL.RejectTolerance}
	for name, tc := range c.Tables {
		lc.Lookback[name] = tc.LookbackDays
		if !tc.InitialFrom.IsZero() {
			lc.InitialFrom[name] = tc.InitialFrom
		}
	}
	return lc
}

// BigQuerySource is the BigQuery source's configuration with the table patterns and
// the ejecutivos filter, which live under other keys.
func (c *Config) BigQuerySource() bigquery.Config {
	bc := c.BigQuery
	bc.EjecutivosIDCliente = c.ETL.EjecutivosIDCliente
	bc.Tables = make(map[string]string, len(c.Tables))
	for name, tc := range c.Tables {
		bc.Tables[name] = tc.BQTable
	}
	return bc
}

// defaults declares every key (so viper binds its PULSO_* variable) with its default.
func defaults(reg *etl.Registry) map[string]any {
	d := map[string]any{
		"env":                        "production",
		"as_of":                      "",
		"database.url":               "",
		"redis.url":                  "",
		"log.level":                  "info",
		"log.format":                 "auto",
		"source.kind":                "dir",
		"source.dir":                 "",
		"files.max_field_bytes":      1 << 20,
		"bigquery.project":           "mibot-222814",
		"bigquery.dataset":           "BI_USA",
		"bigquery.transform_dataset": "pulso_transform",
		"bigquery.uid":               "P3fV4dWNeMkN5RJMhV8e",
		"bigquery.location":          "US",
		"bigquery.credentials_file":  "",
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
		"transform.engine":            "postgres",
		"http.addr":                   ":8000",
		"metrics.addr":                ":9090",
		"stale_after":                 "6h",
		"schedule_interval":           "3h",
		"jwt.secret":                  "",
		"jwt.access_ttl":              "30m",
		"jwt.refresh_ttl":             "168h",
		"bcrypt.cost":                 12,
		"login.rate":                  "10/min",
		"login.max_failures":          5,
		"lockout.duration":            "30m",
		"trusted_proxies":             []string{},
		"bootstrap.admin_email":       "",
		"bootstrap.admin_password":    "",
		"cache.enabled":               true,
		"cache.local_max_entries":     1000,
		"cache.ttl.dashboard":         1800,
		"cache.ttl.operation":         1800,
		"cache.ttl.evolution":         3600,
		"cache.ttl.filters":           3600,
		"cache.ttl.assignment":        7200,
		"cache.ttl.productivity":      7200,
		"cors.origins":                []string{},
		"hsts":                        false,
		"docs.enabled":                true,
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
	src := valueSources{flags: flags, env: envNames, path: path, lines: fileLines}
	if err := checkValueTypes(v, defs, src); err != nil {
		return nil, err
	}
	var cfg Config
	hook := mapstructure.ComposeDecodeHookFunc(yamlTimeHook, mapstructure.TextUnmarshallerHookFunc(),
		mapstructure.StringToTimeDurationHookFunc(), mapstructure.StringToSliceHookFunc(","))
	if err := v.Unmarshal(&cfg, viper.DecodeHook(hook)); err != nil {
		return nil, fmt.Errorf("%w: %v", errConfig, err)
	}
	cfg.Log.LevelGiven = src.of("log.level") != ""
	cfg.Tables = make(map[string]TableConfig, len(reg.Tables()))
	for _, t := range reg.Tables() {
		p := "tables." + t.Name + "."
		from, _ := instantValue(v.Get(p + "initial_from")) // checked by checkValueTypes
		cfg.Tables[t.Name] = TableConfig{
			BQTable:      v.GetString(p + "bq_table"),
			LookbackDays: v.GetInt(p + "lookback_days"),
			InitialFrom:  from,
		}
	}
	if err := cfg.Validate(reg); err != nil {
		return nil, fmt.Errorf("%w: %v", errConfig, err)
	}
	return &cfg, nil
}

// yamlTimeHook turns an unquoted YAML date or timestamp (decoded as a time) back
// into text for the keys that take text (etl.Date parses it again).
func yamlTimeHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	t, ok := data.(time.Time)
	if !ok || to == reflect.TypeFor[time.Time]() {
		return data, nil
	}
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly), nil
	}
	return t.Format(time.RFC3339), nil
}

// valueSources says where a key's value came from, in precedence order.
type valueSources struct {
	flags *pflag.FlagSet
	env   map[string][]string
	path  string
	lines map[string]int
}

func (s valueSources) of(key string) string {
	if s.flags != nil {
		for name, k := range flagKeys {
			if f := s.flags.Lookup(name); k == key && f != nil && f.Changed {
				return "flag --" + name
			}
		}
	}
	for _, name := range s.env[key] {
		if val, ok := os.LookupEnv(name); ok && val != "" { // viper ignores empty variables
			return "variable " + name
		}
	}
	if line, ok := s.lines[key]; ok {
		return fmt.Sprintf("config file %s:%d", s.path, line)
	}
	return ""
}

// checkValueTypes fails on a value that is not of its key's type, naming the key, the
// value and where it came from (flag, variable, or file and line): decoded
// leniently, "abc" would become 0, "10.5" would become 10 and a mistyped date would
// fail later with no key to name.
func checkValueTypes(v *viper.Viper, defs map[string]any, src valueSources) error {
	var errs []string
	for k, def := range defs {
		valid, want := keyType(k, def)
		if valid == nil {
			continue
		}
		from := src.of(k)
		if from == "" {
			continue
		}
		if raw := v.Get(k); !valid(raw) {
			errs = append(errs, fmt.Sprintf("%s: %q is not %s (%s)", k, valueText(raw), want, from))
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("%w: %s", errConfig, strings.Join(errs, "; "))
	}
	return nil
}

// keyType returns the check of a key's values and what it wants, from the key's
// default (integer, number, boolean) or, for keys whose default is text, its name.
func keyType(key string, def any) (func(any) bool, string) {
	switch def.(type) {
	case int, int64:
		return intValue, "an integer"
	case float64:
		return floatValue, "a number"
	case bool:
		return boolValue, "true or false"
	}
	switch {
	case key == "as_of":
		return dateValue, "a date (YYYY-MM-DD)"
	case key == "transform.holidays":
		return datesValue, "a list of dates (YYYY-MM-DD)"
	case strings.HasPrefix(key, "tables.") && strings.HasSuffix(key, ".initial_from"):
		return func(raw any) bool { _, ok := instantValue(raw); return ok }, "a date or an RFC 3339 timestamp"
	case slices.Contains([]string{"stale_after", "schedule_interval", "bigquery.query_timeout",
		"jwt.access_ttl", "jwt.refresh_ttl", "lockout.duration"}, key):
		return durationValue, "a duration (90s, 15m, 6h)"
	}
	return nil, ""
}

// valueText is a value as its source wrote it: YAML dates print as dates.
func valueText(raw any) string {
	switch r := raw.(type) {
	case time.Time:
		if dateValue(r) {
			return r.Format(time.DateOnly)
		}
		return r.Format(time.RFC3339)
	case []any:
		parts := make([]string, len(r))
		for i, v := range r {
			parts[i] = valueText(v)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(raw)
}

// The value checks take text from a flag or variable, or a YAML scalar.

func intValue(raw any) bool {
	switch r := raw.(type) {
	case int, int64:
		return true
	case float64:
		return r == math.Trunc(r)
	case string:
		_, err := strconv.ParseInt(r, 10, 64)
		return err == nil
	}
	return false
}

func floatValue(raw any) bool {
	switch r := raw.(type) {
	case int, int64, float64:
		return true
	case string:
		f, err := strconv.ParseFloat(r, 64)
		return err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return false
}

func boolValue(raw any) bool {
	switch r := raw.(type) {
	case bool:
		return true
	case string:
		_, err := strconv.ParseBool(r)
		return err == nil
	}
	return false
}

func dateValue(raw any) bool {
	switch r := raw.(type) {
	case time.Time:
		return r.Equal(time.Date(r.Year(), r.Month(), r.Day(), 0, 0, 0, 0, r.Location()))
	case string:
		var d etl.Date
		return d.UnmarshalText([]byte(r)) == nil
	}
	return false
}

func datesValue(raw any) bool {
	switch r := raw.(type) {
	case string:
		if r == "" {
			return true
		}
		return !slices.ContainsFunc(strings.Split(r, ","), func(s string) bool { return !dateValue(s) })
	case []string:
		return !slices.ContainsFunc(r, func(s string) bool { return !dateValue(s) })
	case []any:
		return !slices.ContainsFunc(r, func(v any) bool { return !dateValue(v) })
	}
	return false
}

func durationValue(raw any) bool {
	switch r := raw.(type) {
	case int, int64, time.Duration:
		return true
	case string:
		_, err := time.ParseDuration(r)
		return err == nil
	}
	return false
}

// instantValue reads an initial_from: a date (00:00 Lima) or an RFC 3339 timestamp;
// empty is no bound.
func instantValue(raw any) (time.Time, bool) {
	switch r := raw.(type) {
	case nil:
		return time.Time{}, true
	case time.Time:
		if dateValue(r) {
			return etl.NewDate(r.Year(), r.Month(), r.Day()).Start(), true
		}
		return r, true
	case string:
		if r == "" {
			return time.Time{}, true
		}
		t, err := parseInstant(r)
		return t, err == nil
	}
	return time.Time{}, false
}

// parseInstant reads a date (00:00 Lima) or an RFC 3339 timestamp.
func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := etl.ParseDate(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q: want YYYY-MM-DD or RFC 3339", s)
	}
	return d.Start(), nil
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

// Validate checks what the types alone do not: ranges, names, and identifiers
// templated into BigQuery table names (restricted so they can never carry SQL).
func (c *Config) Validate(reg *etl.Registry) error {
	var errs []error
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(c.Log.Level)) {
		errs = append(errs, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level))
	}
	if !slices.Contains([]string{"auto", "json", "text"}, strings.ToLower(c.Log.Format)) {
		errs = append(errs, fmt.Errorf("log.format %q: want auto, json or text", c.Log.Format))
	}
	if _, ok := etl.ParseSourceKind(string(c.Source.Kind)); !ok {
		errs = append(errs, fmt.Errorf("source.kind %q: want dir or bigquery", c.Source.Kind))
	}
	if !validEngine(c.Transform.Engine) {
		errs = append(errs, fmt.Errorf("transform.engine %q: want %s or %s", c.Transform.Engine, enginePostgres, engineBigQuery))
	}
	bc := c.BigQuerySource()
	if err := bc.Validate(reg); err != nil {
		errs = append(errs, err)
	}
	names := make([]string, 0, len(c.Tables))
	for n := range c.Tables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if tc := c.Tables[n]; tc.LookbackDays < 0 {
			errs = append(errs, fmt.Errorf("tables.%s.lookback_days %d: must be ≥ 0", n, tc.LookbackDays))
		}
	}
	if c.ETL.RejectTolerance < 0 || c.ETL.RejectTolerance > 1 {
		errs = append(errs, fmt.Errorf("etl.reject_tolerance %v: want 0..1", c.ETL.RejectTolerance))
	}
	if c.ETL.MaxShrinkRatio < 0 || c.ETL.MaxShrinkRatio > 1 {
		errs = append(errs, fmt.Errorf("etl.max_shrink_ratio %v: want 0..1", c.ETL.MaxShrinkRatio))
	}
	if c.BigQuery.QueryTimeout <= 0 {
		errs = append(errs, fmt.Errorf("bigquery.query_timeout %s: want > 0", c.BigQuery.QueryTimeout))
	}
	if c.ETL.BatchRows < 1 {
		errs = append(errs, fmt.Errorf("etl.batch_rows %d: want ≥ 1", c.ETL.BatchRows))
	}
	if c.Files.MaxFieldBytes < 1024 {
		errs = append(errs, fmt.Errorf("files.max_field_bytes %d: want ≥ 1024", c.Files.MaxFieldBytes))
	}
	if c.Transform.PDPRecoveryDays < 0 {
		errs = append(errs, fmt.Errorf("transform.pdp_recovery_days %d: want ≥ 0", c.Transform.PDPRecoveryDays))
	}
	if _, err := parseLoginRate(c.Login.Rate); err != nil {
		errs = append(errs, fmt.Errorf("login.rate %q: %v", c.Login.Rate, err))
	}
	if c.JWT.AccessTTL < 5*time.Minute || c.JWT.AccessTTL > 120*time.Minute {
		errs = append(errs, fmt.Errorf("jwt.access_ttl %s: want 5m..120m", c.JWT.AccessTTL))
	}
	if c.JWT.RefreshTTL < time.Hour {
		errs = append(errs, fmt.Errorf("jwt.refresh_ttl %s: want ≥ 1h", c.JWT.RefreshTTL))
	}
	if c.Bcrypt.Cost < 4 || c.Bcrypt.Cost > 31 {
		errs = append(errs, fmt.Errorf("bcrypt.cost %d: want 4..31", c.Bcrypt.Cost))
	}
	if c.Login.MaxFailures < 1 {
		errs = append(errs, fmt.Errorf("login.max_failures %d: want ≥ 1", c.Login.MaxFailures))
	}
	if c.Lockout.Duration <= 0 {
		errs = append(errs, fmt.Errorf("lockout.duration %s: want > 0", c.Lockout.Duration))
	}
	if c.Cache.LocalMaxEntries < 1 {
		errs = append(errs, fmt.Errorf("cache.local_max_entries %d: want ≥ 1", c.Cache.LocalMaxEntries))
	}
	for name, ttl := range c.Cache.TTL.byEndpoint() {
		if ttl <= 0 {
			errs = append(errs, fmt.Errorf("cache.ttl.%s %s: want > 0 seconds", name, ttl))
		}
	}
	for _, p := range c.TrustedProxies {
		if !validProxy(p) {
			errs = append(errs, fmt.Errorf("trusted_proxies %q: want an IP address or a CIDR", p))
		}
	}
	if c.Transform.MaxPagosDocDia < 1 {
		errs = append(errs, fmt.Errorf("transform.max_pagos_doc_dia %d: want ≥ 1", c.Transform.MaxPagosDocDia))
	}
	return errors.Join(errs...)
}

// redacted returns the effective configuration as flat key → value with secrets
// hidden: exactly the declared keys, typed values in the text they are written as.
func (c *Config) redacted(reg *etl.Registry) map[string]any {
	out := map[string]any{}
	if err := mapstructure.Decode(c, &out); err != nil {
		return out
	}
	decoded := map[string]any{}
	flatten("", out, decoded)
	flat := map[string]any{}
	for k := range defaults(reg) {
		if v, ok := decoded[k]; ok {
			flat[k] = v
		}
	}
	for k, v := range c.Tables {
		flat["tables."+k+".bq_table"] = v.BQTable
		flat["tables."+k+".lookback_days"] = v.LookbackDays
		flat["tables."+k+".initial_from"] = ""
		if !v.InitialFrom.IsZero() {
			flat["tables."+k+".initial_from"] = v.InitialFrom.Format(time.RFC3339)
		}
	}
	holidays := make([]string, len(c.Transform.Holidays))
	for i, h := range c.Transform.Holidays {
		holidays[i] = h.String()
	}
	flat["as_of"] = c.AsOf.String()
	flat["transform.holidays"] = holidays
	flat["source.kind"] = string(c.Source.Kind)
	flat["database.url"] = redactURL(c.Database.URL)
	for _, k := range []string{"jwt.secret", "bootstrap.admin_password"} {
		if flat[k] != "" {
			flat[k] = "REDACTED"
		}
	}
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

// redactURL hides the password of a connection string: a URL's user password and
// password query parameter, or a key=value DSN's password value, quoted or not.
func redactURL(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		if q := u.Query(); q.Has("password") {
			q.Set("password", "REDACTED")
			u.RawQuery = q.Encode()
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
		return u.String()
	}
	return redactKeyValue(dsn)
}

// redactKeyValue rewrites password=… in a libpq key=value string, whose values are
// either unquoted up to the next space or single-quoted with backslash escapes.
func redactKeyValue(dsn string) string {
	var b strings.Builder
	for i := 0; i < len(dsn); {
		if dsn[i] == ' ' || dsn[i] == '\t' || dsn[i] == '\n' {
			b.WriteByte(dsn[i])
			i++
			continue
		}
		eq := strings.IndexByte(dsn[i:], '=')
		if eq < 0 {
			b.WriteString(dsn[i:])
			break
		}
		key := strings.TrimSpace(dsn[i : i+eq])
		j := i + eq + 1
		for j < len(dsn) && dsn[j] == ' ' {
			j++
		}
		end := j
		if end < len(dsn) && dsn[end] == '\'' {
			for end++; end < len(dsn) && dsn[end] != '\''; end++ {
				if dsn[end] == '\\' {
					end++
				}
			}
			end = min(end+1, len(dsn))
		} else {
			for end < len(dsn) && dsn[end] != ' ' && dsn[end] != '\t' && dsn[end] != '\n' {
				if dsn[end] == '\\' {
					end++
				}
				end++
			}
			end = min(end, len(dsn))
		}
		if key == "password" {
			b.WriteString(dsn[i:j] + "REDACTED")
		} else {
			b.WriteString(dsn[i:end])
		}
		i = end
	}
	return b.String()
}
