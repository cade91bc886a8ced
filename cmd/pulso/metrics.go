package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// batchMetrics builds the run's batch metrics (api.md §4) in a registry of their own.
// The last-success timestamp comes from the ledger, so a failed table still reports
// when it last succeeded instead of dropping the series.
func batchMetrics(ctx context.Context, store *postgres.Store, tables []string, rep etl.Report, exit int) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	lastSuccess := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pulso_batch_last_success_timestamp_seconds",
		Help: "Unix time of the table's last successful load.",
	}, []string{"table"})
	rows := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pulso_batch_rows_total",
		Help: "Rows of the table in this run, by outcome (read, filtered, rejected, loaded).",
	}, []string{"table", "outcome"})
	duration := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pulso_batch_duration_seconds",
		Help: "Seconds the table's step took in this run.",
	}, []string{"table"})
	exitCode := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "pulso_batch_exit_code",
		Help: "Exit code of the last run-pipeline (0 ok, 1 failure, 3 locked, 4 rejects, 130 cancelled).",
	})
	reg.MustRegister(lastSuccess, rows, duration, exitCode)
	for _, r := range rep.Loads {
		for outcome, n := range map[string]int64{"read": r.Read, "filtered": r.Filtered, "rejected": r.Rejected, "loaded": r.Loaded} {
			rows.WithLabelValues(r.Table, outcome).Set(float64(n))
		}
		duration.WithLabelValues(r.Table).Set(r.Duration.Seconds())
	}
	if rep.Transform != nil {
		duration.WithLabelValues("transform").Set(rep.Transform.Duration.Seconds())
	}
	exitCode.Set(float64(exit))
	last, err := store.LastSuccess(ctx, tables)
	if err != nil {
		return reg, err
	}
	for table, at := range last {
		lastSuccess.WithLabelValues(table).Set(float64(at.UnixNano()) / 1e9)
	}
	return reg, nil
}

// writeBatchMetrics writes the textfile and pushes to the Pushgateway when asked,
// while the run still holds its store. A metrics failure is logged, never turned into
// a failed run.
func (a *app) writeBatchMetrics(ctx context.Context, store *postgres.Store, opts *pipelineOptions, rep etl.Report, exit int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	reg, err := batchMetrics(ctx, store, a.reg.Names(), rep, exit)
	if err != nil {
		a.log.Error("batch metrics: last successes", "error", err)
	}
	if opts.MetricsFile != "" {
		if err := prometheus.WriteToTextfile(opts.MetricsFile, reg); err != nil {
			a.log.Error("batch metrics: textfile", "path", opts.MetricsFile, "error", err)
		}
	}
	if opts.Pushgateway != "" {
		err := push.New(opts.Pushgateway, "pulso_run_pipeline").Gatherer(reg).PushContext(ctx)
		if err != nil {
			a.log.Error("batch metrics: pushgateway", "url", opts.Pushgateway, "error", fmt.Errorf("push: %w", err))
		}
	}
}
