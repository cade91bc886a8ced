// Package pgtest gives tests real PostgreSQL databases built from the embedded
// migrations (architecture.md §8): one shared database per test package, plus
// throwaway ones for tests that need their own commits (locks, swaps, recovery).
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// then pgtest.DB(t) / pgtest.URL(t) / pgtest.Tx(t) for the shared database and
// pgtest.Fresh(t) / pgtest.Empty(t) for private ones. Without Main, DB, URL and Tx
// fall back to a private database per test, dropped when the test ends.
//
// The server comes from PULSO_TEST_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); it must allow
// CREATE DATABASE. An unreachable server fails the test: tests never pass empty.
//
// pgtest applies migrations with golang-migrate directly instead of importing
// internal/store/postgres, so that package's own internal tests can use it without
// an import cycle.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	pulsosql "github.com/pulso-cobranzas/pulso/sql"
)

// EnvURL names the variable holding the maintenance database URL.
const EnvURL = "PULSO_TEST_DATABASE_URL"

// DefaultURL is used when EnvURL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

const setupTimeout = 2 * time.Minute

// harness is process state on purpose: a test binary is one process, and TestMain
// owns the lifetime of what is shared between its tests.
type harness struct {
	mu       sync.Mutex
	main     bool   // Main is running: shared databases are dropped when it returns
	prefix   string // pulso_t_<package>_<pid>_<random>
	seq      int
	base     string // maintenance URL
	template string // migrated template database, created on first use under Main
	shared   string // URL of the package database
	pool     *pgxpool.Pool
	owned    []string // databases Main drops at the end
	setupErr error    // sticky: once setup failed, every test fails the same way
	// perTest maps a test to its private database when Main is not in use, so URL,
	// DB and Tx in one test agree on the database.
	perTest map[testing.TB]string
}

var h harness

// Main runs the package's tests and then drops the shared and template databases.
// Call it from TestMain; it calls os.Exit.
func Main(m *testing.M) {
	h.mu.Lock()
	h.main = true
	h.mu.Unlock()
	code := m.Run()
	if err := h.teardown(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// URL returns the package's shared, migrated database URL (a private one without
// Main). Tests sharing it must not depend on each other's rows: use Tx or unique keys.
func URL(t testing.TB) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.main {
		if u, ok := h.perTest[t]; ok {
			return u
		}
		u := h.private(t, true)
		if h.perTest == nil {
			h.perTest = map[testing.TB]string{}
		}
		h.perTest[t] = u
		t.Cleanup(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.perTest, t)
		})
		return u
	}
	if h.shared == "" {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		name, err := h.createMigrated(ctx)
		if err != nil {
			h.setupErr = err
			t.Fatal(err)
		}
		h.owned = append(h.owned, name)
		h.shared = h.dbURL(name)
	}
	return h.shared
}

// DB returns a pool on the shared database (Main keeps it open for every test; do
// not close it). Without Main the pool and the test's private database end with the
// test.
func DB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := URL(t)
	h.mu.Lock()
	main := h.main
	if main && h.pool != nil {
		p := h.pool
		h.mu.Unlock()
		return p
	}
	h.mu.Unlock()

	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatalf("pgtest: pool config: %v", err)
	}
	// Parallel tests each hold a connection for their Tx.
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	if !main {
		t.Cleanup(pool.Close)
		return pool
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pool != nil { // another test got there first
		pool.Close()
		return h.pool
	}
	h.pool = pool
	return pool
}

// Tx begins a transaction on the shared database, rolled back when the test ends,
// so a test sees its own writes and leaves nothing behind.
func Tx(t testing.TB) pgx.Tx {
	t.Helper()
	tx, err := DB(t).Begin(context.Background())
	if err != nil {
		t.Fatalf("pgtest: begin: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// Fresh creates a private migrated database, dropped when the test ends, for tests
// that commit (locks, swaps, crash recovery) or change the schema.
func Fresh(t testing.TB) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.private(t, true)
}

// Empty creates a private database with no migrations applied, dropped when the
// test ends (migration tests).
func Empty(t testing.TB) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.private(t, false)
}

// private creates a database owned by t. Callers hold h.mu.
func (h *harness) private(t testing.TB, migrated bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	var name string
	var err error
	if migrated {
		name, err = h.createMigrated(ctx)
	} else {
		name, err = h.create(ctx, "")
	}
	if err != nil {
		h.setupErr = err
		t.Fatal(err)
	}
	base := h.base
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := dropDatabase(ctx, base, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return h.dbURL(name)
}

// createMigrated clones the migrated template under Main (faster than migrating
// each database); without Main it migrates a new database directly, since nothing
// would drop a template. Callers hold h.mu.
func (h *harness) createMigrated(ctx context.Context) (string, error) {
	if !h.main {
		name, err := h.create(ctx, "")
		if err != nil {
			return "", err
		}
		if err := migrateUp(h.dbURL(name)); err != nil {
			_ = dropDatabase(ctx, h.base, name)
			return "", err
		}
		return name, nil
	}
	if h.template == "" {
		name, err := h.create(ctx, "")
		if err != nil {
			return "", err
		}
		h.owned = append(h.owned, name)
		if err := migrateUp(h.dbURL(name)); err != nil {
			h.setupErr = err
			return "", err
		}
		h.template = name
	}
	return h.create(ctx, h.template)
}

// create makes a new uniquely named database, from template when given. Callers
// hold h.mu, which also keeps two clones of one template from overlapping.
func (h *harness) create(ctx context.Context, template string) (string, error) {
	if h.setupErr != nil {
		return "", h.setupErr
	}
	if err := h.init(); err != nil {
		h.setupErr = err
		return "", err
	}
	h.seq++
	name := fmt.Sprintf("%s_%d", h.prefix, h.seq)
	conn, err := connect(ctx, h.base)
	if err != nil {
		return "", err
	}
	defer closeConn(conn)
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return name, nil
}

// init settles the base URL and the database name prefix once.
func (h *harness) init() error {
	if h.prefix != "" {
		return nil
	}
	h.base = os.Getenv(EnvURL)
	if h.base == "" {
		h.base = DefaultURL
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("pgtest: random suffix: %w", err)
	}
	// Database names are at most 63 bytes; leave room for "_<seq>".
	pkg := packageName()
	if len(pkg) > 24 {
		pkg = pkg[:24]
	}
	h.prefix = fmt.Sprintf("pulso_t_%s_%d_%s", pkg, os.Getpid(), hex.EncodeToString(b[:]))
	return nil
}

// packageName is the tested package's directory name: go test runs each test
// binary in its package directory.
func packageName() string {
	wd, err := os.Getwd()
	if err != nil {
		return "pkg"
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(filepath.Base(wd)))
	name = strings.Trim(name, "_")
	if name == "" {
		return "pkg"
	}
	return name
}

// dbURL is the base URL pointed at another database, in URL or key=value form.
func (h *harness) dbURL(name string) string {
	if strings.HasPrefix(h.base, "postgres://") || strings.HasPrefix(h.base, "postgresql://") {
		u, err := url.Parse(h.base)
		if err == nil {
			u.Path = "/" + name
			u.RawPath = ""
			return u.String()
		}
	}
	return h.base + " dbname=" + name // the last setting of a key wins
}

func (h *harness) teardown() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pool != nil {
		h.pool.Close()
		h.pool = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	var errs []error
	for i := len(h.owned) - 1; i >= 0; i-- {
		if err := dropDatabase(ctx, h.base, h.owned[i]); err != nil {
			errs = append(errs, err)
		}
	}
	h.owned = nil
	return errors.Join(errs...)
}

func connect(ctx context.Context, base string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, base)
	if err != nil {
		return nil, fmt.Errorf("pgtest: PostgreSQL is unreachable at %s: %w\n"+
			"Start it (e.g. `service postgresql start`, or `.ci/run` which starts it) "+
			"or point %s at a server where this user may CREATE DATABASE", redact(base), err, EnvURL)
	}
	return conn, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// dropDatabase drops name, disconnecting whatever a test left open.
func dropDatabase(ctx context.Context, base, name string) error {
	conn, err := connect(ctx, base)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

// migrateUp applies every embedded migration, the same files and driver as
// postgres.Migrator (including its public.schema_migrations table).
func migrateUp(databaseURL string) (err error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("pgtest: parse url: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{MigrationsTable: "schema_migrations", SchemaName: "public"})
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("pgtest: migrate: %w", err)
	}
	src, err := iofs.New(pulsosql.Migrations, "migrations")
	if err != nil {
		_ = drv.Close()
		return fmt.Errorf("pgtest: migrate: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		_ = src.Close()
		_ = drv.Close()
		return fmt.Errorf("pgtest: migrate: %w", err)
	}
	defer func() {
		srcErr, dbErr := m.Close()
		if cerr := errors.Join(srcErr, dbErr); cerr != nil && err == nil {
			err = fmt.Errorf("pgtest: migrate: close: %w", cerr)
		}
	}()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("pgtest: migrate up: %w", err)
	}
	return nil
}

// redact hides a password in a URL for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		if strings.Contains(dsn, "password") {
			return "(key=value connection string)"
		}
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
