package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// validEvery checks a scheduler interval: slots start at Lima midnight, so the
// interval must divide the day for every day's slots to fall at the same hours.
func validEvery(every time.Duration) error {
	if every < time.Minute || every > 24*time.Hour || (24*time.Hour)%every != 0 {
		return fmt.Errorf("--every %s: want a divisor of 24h between 1m and 24h (3h: 00:00, 03:00, … Lima)", every)
	}
	return nil
}

// nextSlot is the first slot strictly after t: a multiple of every from Lima midnight.
func nextSlot(t time.Time, every time.Duration) time.Time {
	lima := t.In(etl.Lima)
	midnight := time.Date(lima.Year(), lima.Month(), lima.Day(), 0, 0, 0, 0, etl.Lima)
	return midnight.Add((t.Sub(midnight)/every + 1) * every)
}

// runPipelineEvery is the small scheduler of a container without cron (compose's
// pulso-etl): one run at start, then one at every slot, never two at once (the
// pipeline lock also keeps out an API-triggered run, which this one then waits
// for or skips as any run would). A failed run is logged with its exit code and the
// next slot still runs; only a configuration error, which no retry fixes, ends it.
// SIGTERM cancels a run in progress (exit 130, nothing half-written) or ends the
// wait between runs (exit 0).
func (a *app) runPipelineEvery(ctx context.Context, opts *pipelineOptions, now func() time.Time) error {
	for {
		started := now()
		err := a.runPipeline(ctx, opts)
		code := exitCode(ctx, err)
		if code == exitCancelled || code == exitUsage {
			return err
		}
		next := nextSlot(now(), opts.Every)
		level := a.log.Info
		if err != nil {
			level = a.log.Error
		}
		level("scheduled run finished", "exit_code", code, "error", err,
			"duration", now().Sub(started).Round(time.Millisecond).String(), "next_run", next.In(etl.Lima).Format(time.RFC3339))
		timer := time.NewTimer(next.Sub(now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			a.log.Info("scheduler stopped between runs")
			return nil
		case <-timer.C:
		}
	}
}
