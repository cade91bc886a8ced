// Package bigquery reads the nine source tables from BigQuery with the official
// cloud.google.com/go/bigquery client: one parameterised GoogleSQL query per table
// (sql/bigquery/<table>.sql), the window and the filters pushed down as typed query
// parameters, every page read, retryable failures retried with back-off and jitter.
// Values are rendered into the landing-file text forms and typed by etl.Converter, so
// BigQuery and landing files give identical raw rows (one conversion path).
package bigquery

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// Defaults of the optional Config fields.
const (
	DefaultQueryTimeout = 15 * time.Minute
	DefaultMaxRetries   = 5
)

var identifierRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Config configures a Source; the tagged fields are the bigquery.* configuration keys.
// Identifiers are validated by Validate (at config load, and again by New) before
// they are templated into SQL; values never are.
type Config struct {
	// Project and Dataset hold the source tables: `Project.Dataset.<table>`.
	Project string `mapstructure:"project"`
	Dataset string `mapstructure:"dataset"`
	// TransformDataset (in Project) holds the aux and mart tables the BigQuery
	// transform engine builds.
	TransformDataset string `mapstructure:"transform_dataset"`
	// BillingProject runs the query jobs; empty means Project.
	BillingProject string `mapstructure:"billing_project"`
	// UID is substituted for {uid} in the table patterns.
	UID string `mapstructure:"uid"`
	// Location of the dataset (US, EU, southamerica-west1, …); jobs run there.
	Location string `mapstructure:"location"`
	// Tables maps a logical table name to its BigQuery table pattern ({uid} allowed);
	// a table not listed uses etl.Table.BQTable.
	Tables map[string]string `mapstructure:"-"`
	// MaximumBytesBilled caps every query job (0 = the project's default).
	MaximumBytesBilled int64 `mapstructure:"maximum_bytes_billed"`
	// QueryTimeout bounds one attempt of a query, from submission to its last page,
	// and is sent as the job timeout. Zero means DefaultQueryTimeout.
	QueryTimeout time.Duration `mapstructure:"query_timeout"`
	// PageSize asks for REST pages of at most this many rows (0 = BigQuery's choice,
	// about 10 MB per page).
	PageSize int `mapstructure:"-"`
	// MaxRetries is how many times a retryable failure is retried (0 = none).
	MaxRetries int `mapstructure:"max_retries"`
	// StorageRead reads results through the BigQuery Storage Read API (Arrow, several
	// streams) instead of REST pages.
	StorageRead bool `mapstructure:"storage_read"`
	// EjecutivosIDCliente is the @id_cliente of the ejecutivos query.
	EjecutivosIDCliente int64 `mapstructure:"-"`
	// Command and RunID label every job (app=pulso, command, run_id).
	Command string `mapstructure:"-"`
	RunID   string `mapstructure:"-"`
	// CredentialsFile is a service-account (or other) JSON key; empty means Application
	// Default Credentials.
	CredentialsFile string `mapstructure:"credentials_file"`
	// Endpoint overrides the REST endpoint (an emulator, a test server); with no
	// CredentialsFile nothing is authenticated. StorageEndpoint likewise overrides the
	// Storage Read gRPC endpoint (plaintext when unauthenticated).
	Endpoint        string `mapstructure:"endpoint"`
	StorageEndpoint string `mapstructure:"-"`
	// RetryInitial and RetryMax shape the back-off (defaults 1 s and 32 s, the BigQuery
	// SLA's suggestion); tests shorten them.
	RetryInitial time.Duration `mapstructure:"-"`
	RetryMax     time.Duration `mapstructure:"-"`
}

func (c *Config) withDefaults() {
	if c.BillingProject == "" {
		c.BillingProject = c.Project
	}
	if c.QueryTimeout <= 0 {
		c.QueryTimeout = DefaultQueryTimeout
	}
	if c.RetryInitial <= 0 {
		c.RetryInitial = time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 32 * time.Second
	}
	if c.Command == "" {
		c.Command = "pulso"
	}
}

// Validate checks the identifiers templated into SQL and the numeric bounds.
func (c *Config) Validate(reg *etl.Registry) error {
	var errs []error
	check := func(key, val string) {
		if !identifierRE.MatchString(val) {
			errs = append(errs, fmt.Errorf("%s %q: must match %s", key, val, identifierRE))
		}
	}
	check("bigquery.project", c.Project)
	check("bigquery.dataset", c.Dataset)
	if c.TransformDataset != "" { // only the bigquery transform engine needs it
		check("bigquery.transform_dataset", c.TransformDataset)
	}
	check("bigquery.uid", c.UID)
	if c.BillingProject != "" {
		check("bigquery.billing_project", c.BillingProject)
	}
	names := make([]string, 0, len(c.Tables))
	for n := range c.Tables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := reg.Table(n); !ok {
			errs = append(errs, fmt.Errorf("bigquery: unknown table %q", n))
		}
		check("tables."+n+".bq_table", strings.ReplaceAll(c.Tables[n], "{uid}", c.UID))
	}
	if c.MaximumBytesBilled < 0 {
		errs = append(errs, fmt.Errorf("bigquery.maximum_bytes_billed %d: want ≥ 0 (0 = the project's default)", c.MaximumBytesBilled))
	}
	if c.MaxRetries < 0 {
		errs = append(errs, fmt.Errorf("bigquery.max_retries %d: want ≥ 0", c.MaxRetries))
	}
	if c.QueryTimeout < 0 {
		errs = append(errs, fmt.Errorf("bigquery.query_timeout %s: want ≥ 0", c.QueryTimeout))
	}
	for k, v := range c.labels() {
		if !labelRE.MatchString(v) {
			errs = append(errs, fmt.Errorf("bigquery: job label %s=%q must match %s", k, v, labelRE))
		}
	}
	return errors.Join(errs...)
}

// labelRE is what BigQuery accepts as a label value.
var labelRE = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)

func (c *Config) labels() map[string]string {
	l := map[string]string{"app": "pulso", "command": strings.ToLower(c.Command)}
	if c.RunID != "" {
		l["run_id"] = strings.ToLower(c.RunID)
	}
	return l
}

// tableName is the templated BigQuery table id of a logical table.
func (c *Config) tableName(t *etl.Table) string {
	p, ok := c.Tables[t.Name]
	if !ok || p == "" {
		p = t.BQTable
	}
	return strings.ReplaceAll(p, "{uid}", c.UID)
}
