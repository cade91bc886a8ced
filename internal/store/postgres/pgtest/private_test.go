package pgtest_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

func TestPrivateRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	began := time.Now()
	p := pgtest.StartPrivate(t)
	t.Logf("StartPrivate (initdb + start): %v, %s", time.Since(began).Round(time.Millisecond), p.URL)

	conn := connect(t, p.URL)
	selectOne(t, conn)
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (1)"); err != nil {
		t.Fatal(err)
	}

	began = time.Now()
	p.Stop(t, "fast")
	t.Logf("Stop fast: %v", time.Since(began).Round(time.Millisecond))
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a connection opened before Stop still works")
	}
	refused(t, p.URL)

	began = time.Now()
	p.Start(t)
	t.Logf("Start after fast stop: %v", time.Since(began).Round(time.Millisecond))
	conn = connect(t, p.URL)
	selectOne(t, conn)
	if got := sum(t, conn); got != 1 {
		t.Fatalf("after a fast stop: sum(kept.v) = %d, want 1", got)
	}

	// Committed rows survive an immediate stop too: the next start replays the WAL.
	if _, err := conn.Exec(ctx, "INSERT INTO kept VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	p.Stop(t, "immediate")
	t.Logf("Stop immediate: %v", time.Since(began).Round(time.Millisecond))
	refused(t, p.URL)
	began = time.Now()
	p.Start(t)
	t.Logf("Start after immediate stop (crash recovery): %v", time.Since(began).Round(time.Millisecond))
	if got := sum(t, connect(t, p.URL)); got != 3 {
		t.Fatalf("after an immediate stop: sum(kept.v) = %d, want 3", got)
	}
}

// The test's cleanup stops the server and removes its directory.
func TestPrivateCleanup(t *testing.T) {
	t.Parallel()
	var p *pgtest.Private
	t.Run("cluster", func(t *testing.T) {
		p = pgtest.StartPrivate(t)
		selectOne(t, connect(t, p.URL))
	})
	if p == nil {
		return // skipped or failed
	}
	refused(t, p.URL)
	if _, err := os.Stat(p.DataDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("data directory %s after cleanup: %v, want it gone", p.DataDir, err)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func selectOne(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	var one int
	if err := conn.QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1: %d, %v", one, err)
	}
}

func sum(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT sum(v) FROM kept").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// refused checks that no server answers at url.
func refused(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		_ = conn.Close(context.Background())
		t.Fatalf("connected to %s, want the server down", url)
	}
}
