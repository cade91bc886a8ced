package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// Lock tests use their own (empty) database: advisory locks are per database, so
// they never contend with other tests.

func acquireT(t *testing.T, url string, opts LockOptions) *PipelineLock {
	t.Helper()
	l, err := AcquirePipelineLock(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("AcquirePipelineLock: %v", err)
	}
	t.Cleanup(func() { _ = l.Release(context.Background()) })
	return l
}

func TestPipelineLockHeldNamesHolder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.Empty(t)
	pool := openPool(t, url)

	if _, held, err := IsHeld(ctx, pool); err != nil || held {
		t.Fatalf("IsHeld before acquiring = %v, %v; want false", held, err)
	}
	first := acquireT(t, url, LockOptions{Owner: "pulso run 42 load"})

	start := time.Now()
	second, err := AcquirePipelineLock(ctx, url, LockOptions{})
	elapsed := time.Since(start)
	if second != nil || !errors.Is(err, ErrLockHeld) {
		t.Fatalf("second acquire = %v, %v; want ErrLockHeld", second, err)
	}
	if elapsed > time.Second {
		t.Errorf("refusal took %v; want under 1 s", elapsed)
	}
	var held *LockHeldError
	if !errors.As(err, &held) || held.Holder != "pulso run 42 load" || held.PID == 0 {
		t.Fatalf("error = %#v; want the holder named at acquisition", err)
	}
	if !strings.Contains(err.Error(), "pulso run 42 load") {
		t.Errorf("message %q does not name the holder", err)
	}

	h, isHeld, err := IsHeld(ctx, pool)
	if err != nil || !isHeld || h.Holder != "pulso run 42 load" || h.PID != held.PID {
		t.Fatalf("IsHeld = %+v, %v, %v", h, isHeld, err)
	}

	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if _, isHeld, err := IsHeld(ctx, pool); err != nil || isHeld {
		t.Fatalf("IsHeld after release = %v, %v; want false", isHeld, err)
	}
	acquireT(t, url, LockOptions{})
}

func TestPipelineLockWaitAcquiresAfterRelease(t *testing.T) {
	t.Parallel()
	url := pgtest.Empty(t)
	first := acquireT(t, url, LockOptions{})

	const holdFor = 300 * time.Millisecond
	time.AfterFunc(holdFor, func() { _ = first.Release(context.Background()) })
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	second, err := AcquirePipelineLock(ctx, url, LockOptions{Wait: true})
	if err != nil {
		t.Fatalf("waiting acquire: %v", err)
	}
	t.Cleanup(func() { _ = second.Release(context.Background()) })
	if d := time.Since(start); d < holdFor {
		t.Errorf("acquired after %v, before the holder released", d)
	}
}

func TestPipelineLockWaitStopsOnCancel(t *testing.T) {
	t.Parallel()
	url := pgtest.Empty(t)
	acquireT(t, url, LockOptions{})

	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), 300*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			l, err := AcquirePipelineLock(ctx, url, LockOptions{Wait: true})
			if l != nil || !errors.Is(err, tc.want) || errors.Is(err, ErrLockHeld) {
				t.Fatalf("acquire = %v, %v; want %v", l, err, tc.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("stopped waiting after %v; want promptly after the context ended", d)
			}
		})
	}
}

// A holder that dies (kill -9, lost connection) frees the lock: it is session-level.
func TestPipelineLockFreedWhenHolderSessionEnds(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.Empty(t)
	pool := openPool(t, url)
	acquireT(t, url, LockOptions{Owner: "doomed"})
	h, held, err := IsHeld(ctx, pool)
	if err != nil || !held {
		t.Fatalf("IsHeld = %v, %v", held, err)
	}
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, h.PID); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l, err := AcquirePipelineLock(ctx2, url, LockOptions{Wait: true})
	if err != nil {
		t.Fatalf("acquire after the holder died: %v", err)
	}
	_ = l.Release(ctx)
}

func TestSanitizeAppName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"pulso run 42 load", "pulso run 42 load"},
		{"", ""},
		{"año\tñ", "a?o??"},
		{strings.Repeat("x", 80), strings.Repeat("x", 63)},
		{strings.Repeat("é", 80), strings.Repeat("?", 63)},
	}
	for _, tc := range tests {
		if got := sanitizeAppName(tc.in); got != tc.want {
			t.Errorf("sanitizeAppName(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestConnectionLost(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true}, // admin shutdown
		{&pgconn.PgError{Code: "57P03"}, true}, // not accepting connections yet
		{&pgconn.PgError{Code: "08006"}, true}, // connection failure
		{fmt.Errorf("copy: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{&pgconn.PgError{Code: "57014"}, false}, // query cancelled: ours
		{&pgconn.PgError{Code: "23505"}, false}, // a data error
		{context.Canceled, false},
		{errors.New("boom"), false},
	} {
		if got := ConnectionLost(c.err); got != c.want {
			t.Errorf("ConnectionLost(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
