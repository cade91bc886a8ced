package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// session is one writing command's hold on the database: the pool, the pipeline lock
// and its etl.run row. Every writing command goes through beginSession, so the lock,
// the schema check and the ledger behave the same everywhere.
type session struct {
	a     *app
	pool  *pgxpool.Pool
	store *postgres.Store
	lock  *postgres.PipelineLock
	runID int64
	start time.Time
}

func (a *app) beginSession(ctx context.Context, command string, args []string) (*session, error) {
	url, err := a.requireDatabase()
	if err != nil {
		return nil, err
	}
	s := &session{a: a, start: time.Now()}
	if s.pool, err = postgres.Open(ctx, url); err != nil {
		return nil, err
	}
	if err := postgres.CheckSchema(ctx, s.pool); err != nil {
		s.pool.Close()
		return nil, err
	}
	s.store = postgres.NewStore(s.pool, a.log, postgres.StoreOptions{
		BatchRows: a.cfg.ETL.BatchRows, MaxShrinkRatio: a.cfg.ETL.MaxShrinkRatio})
	// The run id is drawn first so a refused command can name it as the holder.
	if s.runID, err = s.store.ReserveRunID(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	s.lock, err = postgres.AcquirePipelineLock(ctx, url, postgres.LockOptions{Wait: a.wait,
		Owner: fmt.Sprintf("pulso run %d %s", s.runID, command)})
	if err != nil {
		s.pool.Close()
		return nil, err
	}
	if n, err := s.store.MarkAbandoned(ctx); err != nil {
		s.close(ctx)
		return nil, err
	} else if n > 0 {
		a.log.Warn("earlier runs ended without finishing; marked abandoned", "runs", n)
	}
	var asOf etl.Date
	if a.cfg.AsOf != "" {
		asOf = a.today(s.start)
	}
	if _, err = s.store.StartReservedRun(ctx, s.runID, command, args, asOf); err != nil {
		s.close(ctx)
		return nil, err
	}
	a.log = a.log.With("run_id", s.runID)
	return s, nil
}

// finish records the run's outcome and lets go of the lock and the pool.
func (s *session) finish(ctx context.Context, runErr error) {
	code := exitCode(ctx, runErr)
	status := postgres.StatusSuccess
	switch code {
	case exitCancelled:
		status = postgres.StatusCancelled
	case exitFailure, exitUsage, exitLocked:
		status = postgres.StatusFailed
	}
	if errors.Is(runErr, etl.ErrRejectsAboveTolerance) && code == exitRejects {
		status = postgres.StatusSuccess
	}
	if err := s.store.FinishRun(ctx, s.runID, status, code, runErr); err != nil {
		s.a.log.Error("cannot record the run's end", "error", err)
	}
	s.close(ctx)
}

func (s *session) close(ctx context.Context) {
	if s.lock != nil {
		s.lock.Release(context.WithoutCancel(ctx))
	}
	s.pool.Close()
}
