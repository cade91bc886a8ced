package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulso-cobranzas/pulso/internal/etl/source/bigquery"
)

// bigQuerySource builds the BigQuery source from the configuration. command and runID
// label its jobs (app=pulso, command, run_id). A missing or unreadable credential is a
// configuration error (exit 2), reported before any query.
func (a *app) bigQuerySource(ctx context.Context, command, runID string) (*bigquery.Source, error) {
	bc := a.cfg.BigQuery
	tables := make(map[string]string, len(a.cfg.Tables))
	for name, tc := range a.cfg.Tables {
		tables[name] = tc.BQTable
	}
	src, err := bigquery.New(ctx, bigquery.Config{
		Project:             bc.Project,
		BillingProject:      bc.BillingProject,
		Dataset:             bc.Dataset,
		UID:                 bc.UID,
		Location:            bc.Location,
		Tables:              tables,
		MaximumBytesBilled:  bc.MaximumBytesBilled,
		QueryTimeout:        bc.QueryTimeout,
		MaxRetries:          bc.MaxRetries,
		StorageRead:         bc.StorageRead,
		EjecutivosIDCliente: a.cfg.ETL.EjecutivosIDCliente,
		Command:             command,
		RunID:               runID,
		CredentialsFile:     bc.CredentialsFile,
		Endpoint:            bc.Endpoint,
	}, a.reg, a.log)
	if errors.Is(err, bigquery.ErrCredentials) {
		return nil, fmt.Errorf("%w: %v", errConfig, err)
	}
	return src, err
}
