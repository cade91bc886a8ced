package main

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// newProgress shows running steps: bars on a terminal (one per table, several at
// once under --parallel), periodic slog lines otherwise.
func (a *app) newProgress() etl.Display {
	if a.jsonLogs() || !a.stderrIsTTY() {
		return &logProgress{log: a.log, every: 10 * time.Second}
	}
	return &barProgress{p: mpb.New(mpb.WithOutput(a.stderr), mpb.WithWidth(32), mpb.WithAutoRefresh())}
}

// logProgress writes one line per step start and end, and one every `every` while a
// long step runs, so a CronJob's log shows it is alive and how far it got.
type logProgress struct {
	log   *slog.Logger
	every time.Duration
}

func (p *logProgress) Wait() {}

func (p *logProgress) StartStep(table string, totalBytes int64) etl.StepProgress {
	p.log.Info("table started", "table", table, "bytes", totalBytes)
	return &logStep{p: p, table: table, total: totalBytes, start: time.Now(), last: time.Now()}
}

type logStep struct {
	p           *logProgress
	table       string
	total       int64
	start, last time.Time
}

func (s *logStep) Advance(rows, bytes int64) {
	if time.Since(s.last) < s.p.every {
		return
	}
	s.last = time.Now()
	elapsed := time.Since(s.start)
	attrs := []any{"table", s.table, "rows", rows, "rows_per_s", int64(float64(rows) / elapsed.Seconds())}
	if s.total > 0 && bytes > 0 {
		frac := float64(bytes) / float64(s.total)
		attrs = append(attrs, "pct", int(frac*100), "eta_s", int((elapsed.Seconds()/frac)-elapsed.Seconds()))
	}
	s.p.log.Info("table progress", attrs...)
}

func (s *logStep) Done(etl.StepResult, error) {}

type barProgress struct {
	p  *mpb.Progress
	mu sync.Mutex
}

func (b *barProgress) Wait() { b.p.Wait() }

func (b *barProgress) StartStep(table string, totalBytes int64) etl.StepProgress {
	s := &barStep{start: time.Now()}
	b.mu.Lock()
	defer b.mu.Unlock()
	s.bar = b.p.AddBar(max(totalBytes, 1),
		mpb.PrependDecorators(
			decor.Name(table, decor.WC{C: decor.DindentRight | decor.DextraSpace, W: 22}),
			decor.Any(func(decor.Statistics) string {
				rows := s.rows.Load()
				return fmt.Sprintf("%10d rows %8.0f rows/s", rows, float64(rows)/time.Since(s.start).Seconds())
			}),
		),
		mpb.AppendDecorators(
			decor.Percentage(decor.WC{W: 5}),
			decor.OnComplete(decor.EwmaETA(decor.ET_STYLE_GO, 30, decor.WC{W: 6}), " done"),
		),
		mpb.BarRemoveOnComplete(),
	)
	return s
}

type barStep struct {
	bar   *mpb.Bar
	rows  atomic.Int64
	start time.Time
	last  time.Time
	at    int64
}

func (s *barStep) Advance(rows, bytes int64) {
	s.rows.Store(rows)
	now := time.Now()
	if !s.last.IsZero() && bytes > s.at {
		s.bar.EwmaSetCurrent(bytes, now.Sub(s.last))
	} else {
		s.bar.SetCurrent(bytes)
	}
	s.last, s.at = now, bytes
}

func (s *barStep) Done(_ etl.StepResult, err error) {
	if err != nil {
		s.bar.Abort(true)
		return
	}
	s.bar.SetTotal(-1, true)
}
