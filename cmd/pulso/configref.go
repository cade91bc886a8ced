package main

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// keyDocs says what each configuration key means. The key list comes from the Config
// struct (structKeys) and the table registry; `pulso config --reference` renders both
// with the defaults into the README's configuration reference, which a test keeps in
// sync.
var keyDocs = map[string]string{
	"env":                           "`production` or `development` (development: serve runs without `jwt.secret`, with a random one per process)",
	"as_of":                         "fix \"today\" (YYYY-MM-DD, Lima) for reproducible runs and demos; empty: the Lima date at start",
	"database.url":                  "PostgreSQL connection URL (also the flag `--database-url`)",
	"redis.url":                     "Redis for serve's response cache; empty: an in-process cache",
	"log.level":                     "`debug`, `info`, `warn` or `error` (on a terminal the default shows warnings only: the progress bars say the rest)",
	"log.format":                    "`auto` (text on a terminal, JSON otherwise), `json` or `text`",
	"source.kind":                   "where loads read: `dir` (landing files) or `bigquery`",
	"source.dir":                    "the landing directory for `source.kind: dir` (also `--dir`)",
	"files.max_field_bytes":         "longest field a landing file may hold; longer ones reject the row (`field_too_large`)",
	"bigquery.project":              "project holding the source dataset",
	"bigquery.dataset":              "source dataset",
	"bigquery.uid":                  "substituted for `{uid}` in the `tables.<t>.bq_table` patterns",
	"bigquery.location":             "location the jobs run in",
	"bigquery.credentials_file":     "service-account JSON key; empty: Application Default Credentials",
	"bigquery.maximum_bytes_billed": "cap on the bytes one query may bill (BigQuery refuses a query above it); 0: the project's default",
	"bigquery.billing_project":      "project the jobs run and bill in; empty: `bigquery.project`",
	"bigquery.storage_read":         "read results through the Storage Read API (Arrow, several streams)",
	"bigquery.query_timeout":        "bound on one attempt of a query (also sent as the job timeout)",
	"bigquery.max_retries":          "retries of a rate-limited, 5xx or backendError query or page",
	"bigquery.endpoint":             "REST endpoint override (the emulator; unauthenticated unless `credentials_file`)",
	"etl.reject_tolerance":          "share of a table's rows that may be rejected before the run exits 4",
	"etl.max_shrink_ratio":          "share a full-refresh table may shrink by without `--force`",
	"etl.ejecutivos_id_cliente":     "the `id_cliente` whose agents the ejecutivos table keeps",
	"etl.batch_rows":                "rows between cancellation checks and reject flushes of a load",
	"transform.holidays":            "non-business days (YYYY-MM-DD list) the business-day counts skip",
	"transform.pdp_recovery_days":   "days after a promise to pay in which a payment counts as its recovery",
	"transform.max_pagos_doc_dia":   "payments per document and day the marts keep",
	"transform.engine":              "where the aux and mart layers are built: `postgres` (from the raw layer) or `bigquery` (in `bigquery.transform_dataset`; only the served tables are copied into PostgreSQL)",
	"bigquery.transform_dataset":    "dataset (in `bigquery.project`) the `bigquery` transform engine builds its tables in",
	"http.addr":                     "serve's listener",
	"metrics.addr":                  "Prometheus `/metrics` listener; empty: on `http.addr`",
	"stale_after":                   "a table whose last successful load is older is stale (status, `/freshness`)",
	"schedule_interval":             "the pipeline's schedule interval, for `next_scheduled` in status",
	"jwt.secret":                    "HS256 signing secret, ≥ 32 bytes; required unless `env: development`",
	"jwt.access_ttl":                "access token lifetime",
	"jwt.refresh_ttl":               "refresh token lifetime (rotated on every use)",
	"bcrypt.cost":                   "password hashing cost",
	"login.rate":                    "login attempts per client IP: `10/min`, `1/s`, `100/h` or a bare number per minute",
	"login.max_failures":            "consecutive wrong passwords that lock an account",
	"lockout.duration":              "how long a locked account stays locked",
	"trusted_proxies":               "IPs or CIDRs (comma-separated in the variable) whose `X-Forwarded-For` names the client; none: the peer",
	"bootstrap.admin_email":         "with `bootstrap.admin_password`: the admin serve creates at start when no active admin exists",
	"bootstrap.admin_password":      "8–72 bytes with upper case, lower case and a digit",
	"cache.enabled":                 "cache analytics responses (Redis or in process)",
	"cache.local_max_entries":       "entries of the in-process cache",
	"cache.ttl.dashboard":           "seconds a cached dashboard lives (a new data version supersedes it at once)",
	"cache.ttl.operation":           "seconds, operation endpoints",
	"cache.ttl.evolution":           "seconds, evolution endpoints",
	"cache.ttl.filters":             "seconds, `/filters`",
	"cache.ttl.assignment":          "seconds, assignment endpoints",
	"cache.ttl.productivity":        "seconds, productivity endpoints",
	"cors.origins":                  "browser origins allowed to call the API; none: same origin only",
	"hsts":                          "send `Strict-Transport-Security` (behind TLS only)",
	"docs.enabled":                  "serve Swagger UI at `/docs` and the document at `/api/v1/openapi.json`",
	"tables.<t>.bq_table":           "the table's BigQuery table pattern (`{uid}` substituted); defaults in Source tables",
	"tables.<t>.lookback_days":      "days before the watermark an incremental load reads again; defaults in Source tables",
	"tables.<t>.initial_from":       "first day (or RFC 3339 instant) the table's first load reads; empty: everything",
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// structKeys lists the dotted keys a configuration struct declares through its
// mapstructure tags: nested structs are sections, squashed ones add their keys to
// the section, "-" fields come from elsewhere.
func structKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		squash := strings.Contains(f.Tag.Get("mapstructure"), ",squash")
		if tag == "-" || (!f.IsExported() && !squash) {
			continue
		}
		ft := f.Type
		if squash {
			keys = append(keys, structKeys(ft, prefix)...)
			continue
		}
		key := prefix + tag
		if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(textUnmarshaler) {
			keys = append(keys, structKeys(ft, key+".")...)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// referenceKeys is every configuration key, per-table keys as tables.<t>.*, in
// declaration order.
func referenceKeys() []string {
	keys := structKeys(reflect.TypeFor[Config](), "")
	return append(keys, "tables.<t>.bq_table", "tables.<t>.lookback_days", "tables.<t>.initial_from")
}

func envName(key string) string {
	return "PULSO_" + strings.ToUpper(strings.NewReplacer(".", "_", "<t>", "<TABLE>").Replace(key))
}

// configReference renders the configuration reference as a Markdown table.
func configReference(reg *etl.Registry) (string, error) {
	defs := defaults(reg)
	var b strings.Builder
	b.WriteString("| key | environment variable | default | meaning |\n|---|---|---|---|\n")
	for _, key := range referenceKeys() {
		doc, ok := keyDocs[key]
		if !ok {
			return "", fmt.Errorf("configuration key %s has no description in keyDocs", key)
		}
		def := "per table"
		if v, ok := defs[key]; ok {
			def = defaultText(v)
		} else if !strings.HasPrefix(key, "tables.") {
			return "", fmt.Errorf("configuration key %s has no default", key)
		}
		env := "`" + envName(key) + "`"
		if alias, ok := envAliases[key]; ok {
			env += ", `" + alias + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", key, env, def, strings.ReplaceAll(doc, "|", `\|`))
	}
	return b.String(), nil
}

func defaultText(v any) string {
	switch d := v.(type) {
	case string:
		if d == "" {
			return "–"
		}
		if _, err := time.ParseDuration(d); err == nil {
			return d
		}
		return "`" + d + "`"
	case []string:
		if len(d) == 0 {
			return "–"
		}
		return "`" + strings.Join(d, ",") + "`"
	case int64:
		if d >= 1<<30 && d%(1<<30) == 0 {
			return fmt.Sprintf("%d (%d GiB)", d, d>>30)
		}
	case int:
		if d >= 1<<20 && d%(1<<20) == 0 {
			return fmt.Sprintf("%d (%d MiB)", d, d>>20)
		}
	}
	return fmt.Sprint(v)
}
