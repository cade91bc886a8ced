package api

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// dataVersionChannel is NOTIFYed in the transaction that bumps etl.data_version.
const dataVersionChannel = "pulso_data_version"

// observeVersion raises the followed V; it never moves back, so a late poll cannot
// undo a notification.
func (s *Server) observeVersion(v int64) {
	for {
		cur := s.dataVersion.Load()
		if v <= cur || s.dataVersion.CompareAndSwap(cur, v) {
			return
		}
	}
}

// refreshVersion reads etl.data_version.
func (s *Server) refreshVersion(ctx context.Context) error {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT version FROM etl.data_version`).Scan(&v); err != nil {
		return err
	}
	s.observeVersion(v)
	return nil
}

// followVersion keeps V current: LISTEN on a dedicated connection, re-established
// after any failure, and a poll every VersionPoll in case a notification is lost
// (the listener reconnecting) or a bump came without one.
func (s *Server) followVersion(ctx context.Context) {
	go func() {
		t := time.NewTicker(s.cfg.VersionPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.refreshVersion(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("data version poll failed", "error", err)
				}
			}
		}
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("data version listener lost; reconnecting", "error", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Server) listen(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection held LISTEN state: never hand it back to the pool.
	defer func() { conn.Hijack().Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+dataVersionChannel); err != nil {
		return err
	}
	// Re-read after LISTEN: a bump between the last read and LISTEN is not missed.
	if err := s.refreshVersion(ctx); err != nil {
		return err
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		// The payload is the new version: no second round trip before requests see it.
		if v, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			s.observeVersion(v)
		} else if err := s.refreshVersion(ctx); err != nil {
			s.log.Warn("data version read after notification failed", "payload", n.Payload, "error", err)
		}
	}
}

// probeHealth keeps the in-memory PostgreSQL flag that analytics check before any
// cache use (api.md §6: while PostgreSQL is down they answer 503).
func (s *Server) probeHealth(ctx context.Context) {
	t := time.NewTicker(s.cfg.HealthProbe)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		up := pingPool(ctx, s.pool, s.cfg.HealthProbe) == nil
		if was := s.pgUp.Swap(up); was != up && ctx.Err() == nil {
			if up {
				s.log.Info("postgres reachable again")
			} else {
				s.log.Warn("postgres unreachable: analytics answer 503 until it returns")
			}
		}
	}
}

func pingPool(ctx context.Context, pool *pgxpool.Pool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := pool.Ping(ctx); err != nil {
		return err
	}
	return ctx.Err()
}
