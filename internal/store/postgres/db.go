// Package postgres is pulso's PostgreSQL layer: the pool, the COPY loader and merge,
// the run ledger, migrations and the pipeline lock.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// Open connects a pool with the session settings pulso relies on: UTC, so timestamptz
// text is the same on every server, and an application name that says who we are.
func Open(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "pulso"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect %s: %w", cfg.ConnConfig.Host, err)
	}
	return pool, nil
}

// Store is the raw-layer and ledger side of the database.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	opts StoreOptions
}

// StoreOptions tune loading.
type StoreOptions struct {
	// BatchRows is how often (in rows) a load checks for cancellation and flushes the
	// rejects it holds; the COPY itself is only interrupted when there are rejects to
	// write, since each pause stalls both the client and the server.
	BatchRows int `mapstructure:"batch_rows"`
	// MaxShrinkRatio is the share a full refresh may shrink its table by without --force.
	MaxShrinkRatio float64 `mapstructure:"max_shrink_ratio"`
}

// NewStore wraps a pool.
func NewStore(pool *pgxpool.Pool, log *slog.Logger, opts StoreOptions) *Store {
	if opts.BatchRows <= 0 {
		opts.BatchRows = 50000
	}
	return &Store{pool: pool, log: log, opts: opts}
}
