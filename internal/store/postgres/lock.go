package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// ErrLockHeld means another session holds the pipeline lock. The error carrying it
// is a *LockHeldError naming the holder; the cmd layer maps it to exit code 3.
var ErrLockHeld = errors.New("pipeline lock held")

// LockHeldError names the session holding the pipeline lock.
type LockHeldError struct {
	PID    int    // backend pid of the holding session (pg_stat_activity.pid)
	Holder string // its application_name, e.g. "pulso run 42 load"
}

func (e *LockHeldError) Error() string {
	switch {
	case e.PID == 0:
		return "pipeline lock held by another session"
	case e.Holder == "":
		return fmt.Sprintf("pipeline lock held by backend pid %d", e.PID)
	}
	return fmt.Sprintf("pipeline lock held by %q (backend pid %d)", e.Holder, e.PID)
}

func (e *LockHeldError) Is(target error) bool { return target == ErrLockHeld }

// LockHolder is the session holding the pipeline lock, as IsHeld reports it.
type LockHolder struct {
	PID    int
	Holder string
}

// LockOptions configure AcquirePipelineLock.
type LockOptions struct {
	// Wait polls until the lock is free or ctx is done instead of failing at once.
	Wait bool
	// Owner is the lock connection's initial application_name, what a refused
	// command prints as the holder ("pulso run 42 load").
	// Empty means "pulso pid <os pid>".
	Owner string
}

// pipelineLockKey is "pulso" as an int64. It is the one advisory lock every writing
// command takes (domain.md §3): load, transform, run-pipeline, backfill,
// migrate up|down|force, watermark reset, prune and API-triggered runs. Advisory
// locks are scoped to the current database, so test databases never contend.
const pipelineLockKey int64 = 0x70756c736f

// lockPollInterval is how often a waiting acquirer retries; short enough that a
// freed lock is taken promptly, long enough not to load the server.
const lockPollInterval = 200 * time.Millisecond

// maxAppNameLen is PostgreSQL's NAMEDATALEN - 1: longer application names are
// truncated by the server.
const maxAppNameLen = 63

// PipelineLock is the held pipeline lock: a session-level advisory lock on a
// dedicated connection that lives as long as the command. Closing the connection
// (or the process dying) releases it, so a crashed run never leaves it behind.
type PipelineLock struct {
	conn *pgx.Conn
}

// AcquirePipelineLock opens a dedicated connection and takes the pipeline lock. When
// another session holds it, it returns a *LockHeldError (errors.Is ErrLockHeld) at
// once, or with opts.Wait keeps trying until the lock is free or ctx is done.
func AcquirePipelineLock(ctx context.Context, databaseURL string, opts LockOptions) (*PipelineLock, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("pipeline lock: parse database url: %w", err)
	}
	owner := opts.Owner
	if owner == "" {
		owner = fmt.Sprintf("pulso pid %d", os.Getpid())
	}
	cfg.RuntimeParams["application_name"] = sanitizeAppName(owner)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pipeline lock: connect: %w", err)
	}
	lock, err := acquire(ctx, conn, opts.Wait)
	if err != nil {
		closeConn(ctx, conn)
		return nil, err
	}
	return lock, nil
}

// LockPipeline takes the pipeline lock on a connection of its own, to the store's
// database (etl.RunStore).
func (s *Store) LockPipeline(ctx context.Context, owner string, wait bool) (etl.Lock, error) {
	lock, err := AcquirePipelineLock(ctx, s.pool.Config().ConnString(), LockOptions{Wait: wait, Owner: owner})
	if err != nil {
		return nil, err
	}
	return lock, nil
}

func acquire(ctx context.Context, conn *pgx.Conn, wait bool) (*PipelineLock, error) {
	// A holder may release between our failed try and the holder lookup; retry a
	// few times before reporting an anonymous holder.
	const lookupRetries = 3
	for attempt := 0; ; attempt++ {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, pipelineLockKey).Scan(&ok); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, fmt.Errorf("pipeline lock: %w", ctxErr)
			}
			return nil, fmt.Errorf("pipeline lock: %w", err)
		}
		if ok {
			return &PipelineLock{conn: conn}, nil
		}
		if !wait {
			holder, held, err := lockHolder(ctx, conn)
			if err != nil {
				return nil, fmt.Errorf("pipeline lock: find holder: %w", err)
			}
			if held || attempt >= lookupRetries {
				return nil, &LockHeldError{PID: holder.PID, Holder: holder.Holder}
			}
			continue
		}
		t := time.NewTimer(lockPollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("pipeline lock: waiting: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// rowQuerier is what lockHolder needs: a *pgx.Conn, a *pgxpool.Pool or a pgx.Tx.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// lockHolder finds the session holding the pipeline lock in this database. A bigint
// advisory key shows in pg_locks as classid = high 32 bits, objid = low 32 bits,
// objsubid = 1.
func lockHolder(ctx context.Context, q rowQuerier) (LockHolder, bool, error) {
	var h LockHolder
	err := q.QueryRow(ctx, `
		SELECT a.pid, COALESCE(a.application_name, '')
		FROM pg_locks l
		JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1
		LIMIT 1`,
		pipelineLockKey>>32, pipelineLockKey&0xffffffff).Scan(&h.PID, &h.Holder)
	if errors.Is(err, pgx.ErrNoRows) {
		return LockHolder{}, false, nil
	}
	if err != nil {
		return LockHolder{}, false, err
	}
	return h, true, nil
}

// IsHeld reports whether some session holds the pipeline lock, and which, for
// status output. It does not take the lock.
func IsHeld(ctx context.Context, pool *pgxpool.Pool) (LockHolder, bool, error) {
	h, held, err := lockHolder(ctx, pool)
	if err != nil {
		return LockHolder{}, false, fmt.Errorf("pipeline lock status: %w", err)
	}
	return h, held, nil
}

// Release unlocks and closes the connection. It is safe to call more than once and
// still releases when ctx is already cancelled (the usual case after SIGTERM):
// closing the session frees a session-level lock in any case.
func (l *PipelineLock) Release(ctx context.Context) error {
	if l == nil || l.conn == nil {
		return nil
	}
	conn := l.conn
	l.conn = nil
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// Unlock explicitly rather than rely on closing: behind a session-pooling proxy
	// the server session (and its lock) would outlive our connection.
	_, unlockErr := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, pipelineLockKey)
	closeErr := conn.Close(uctx)
	if err := errors.Join(unlockErr, closeErr); err != nil {
		return fmt.Errorf("pipeline lock: release: %w", err)
	}
	return nil
}

func closeConn(ctx context.Context, conn *pgx.Conn) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = conn.Close(cctx)
}

// sanitizeAppName keeps what PostgreSQL stores verbatim in application_name:
// printable ASCII (others become '?'), at most 63 bytes.
func sanitizeAppName(s string) string {
	b := make([]byte, 0, min(len(s), maxAppNameLen))
	for _, r := range s {
		if len(b) == maxAppNameLen {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return string(b)
}
