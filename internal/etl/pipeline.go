package etl

import (
	"context"
	"errors"
	"sync"
)

// LoadTables loads tables keeping the registry's dependency order, up to parallel at
// once. A failed table lets the others load: the joined error carries every cause
// (rejects above tolerance included) and results come back in the tables' order,
// one per table (status failed or cancelled when it did not complete).
func (l *Loader) LoadTables(ctx context.Context, tables []*Table, parallel int, opts LoadOptions) ([]StepResult, error) {
	if parallel < 1 {
		parallel = 1
	}
	done := make(map[string]chan struct{}, len(tables))
	for _, t := range tables {
		done[t.Name] = make(chan struct{})
	}
	results := make([]StepResult, len(tables))
	errs := make([]error, len(tables))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, t := range tables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[t.Name])
			// Wait for the selected tables this one depends on, then for a slot.
			for _, dep := range t.DependsOn {
				if ch, ok := done[dep]; ok {
					select {
					case <-ch:
					case <-ctx.Done():
					}
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				results[i], errs[i] = StepResult{Table: t.Name, Status: "cancelled"}, ctx.Err()
				return
			}
			defer func() { <-sem }()
			res, err := l.LoadTable(ctx, t, opts)
			if res.Table == "" {
				res.Table = t.Name
			}
			if err != nil && !errors.Is(err, ErrRejectsAboveTolerance) {
				res.Status = "failed"
				if ctx.Err() != nil {
					res.Status = "cancelled"
				}
			}
			results[i], errs[i] = res, err
		}()
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// Failed reports whether some table failed outright (rejects above tolerance still
// count as loaded).
func Failed(results []StepResult) bool {
	for _, r := range results {
		if r.Status == "failed" || r.Status == "cancelled" {
			return true
		}
	}
	return false
}
