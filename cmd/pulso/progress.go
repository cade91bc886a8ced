package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// newProgress shows a bar (bytes for the ETA, rows and rows/s in the text) on a
// terminal; otherwise steps report through slog and the bar stays silent.
func (a *app) newProgress() etl.Progress {
	if a.jsonLogs() || !a.stderrIsTTY() {
		return logProgress{log: a.log}
	}
	return &barProgress{w: a.stderr}
}

type logProgress struct{ log *slog.Logger }

func (p logProgress) StartStep(table string, totalBytes int64) {
	p.log.Info("table started", "table", table, "bytes", totalBytes)
}
func (logProgress) Advance(int64, int64)   {}
func (logProgress) EndStep(etl.StepResult) {}

type barProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	table string
	start time.Time
}

func (p *barProgress) StartStep(table string, totalBytes int64) {
	p.table, p.start = table, time.Now()
	p.bar = progressbar.NewOptions64(totalBytes,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-22s", table)),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *barProgress) Advance(rows, bytes int64) {
	if p.bar == nil {
		return
	}
	rate := float64(rows) / time.Since(p.start).Seconds()
	p.bar.Describe(fmt.Sprintf("%-22s %10d rows %8.0f rows/s", p.table, rows, rate))
	_ = p.bar.Set64(bytes)
}

func (p *barProgress) EndStep(etl.StepResult) {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
