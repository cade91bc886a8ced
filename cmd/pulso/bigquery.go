package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulso-cobranzas/pulso/internal/etl/source/bigquery"
)

// bigQuerySource builds the BigQuery source from the configuration; command labels
// its jobs until the run has an id (SetRun). A missing or unreadable credential is a
// configuration error (exit 2), reported before any query.
func (a *app) bigQuerySource(ctx context.Context, command string) (*bigquery.Source, error) {
	bc := a.cfg.BigQuerySource()
	bc.Command = command
	src, err := bigquery.New(ctx, bc, a.reg, a.log)
	if errors.Is(err, bigquery.ErrCredentials) {
		return nil, fmt.Errorf("%w: %v", errConfig, err)
	}
	return src, err
}
