package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	pulsosql "github.com/pulso-cobranzas/pulso/sql"
)

// Schema-state sentinels for commands that must not run on a stale schema
// (domain.md §3). CheckSchema and the Migrator return them inside a *SchemaError,
// whose message carries the exact command that fixes the state.
var (
	ErrPendingMigrations = errors.New("pending migrations")
	ErrDirtySchema       = errors.New("dirty schema")
	ErrSchemaNewer       = errors.New("schema newer than this binary")
)

// SchemaError reports a schema the caller must fix before running; Command is the
// exact recovery command ("pulso migrate up", "pulso migrate force 3").
type SchemaError struct {
	Err     error // ErrPendingMigrations, ErrDirtySchema or ErrSchemaNewer
	Version uint  // version recorded in the database (0 = none)
	Latest  uint  // latest version embedded in this binary
	Command string
	// InProgress: a migrator is running now; the schema is pending until it ends.
	InProgress bool
}

func (e *SchemaError) Error() string {
	switch e.Err {
	case ErrDirtySchema:
		return fmt.Sprintf("dirty schema: version %d is marked dirty (a migration failed or was interrupted); "+
			"check the database, then run: %s", e.Version, e.Command)
	case ErrSchemaNewer:
		return fmt.Sprintf("schema version %d is newer than this binary's latest migration %d: upgrade pulso",
			e.Version, e.Latest)
	}
	if e.InProgress {
		return fmt.Sprintf("pending migrations: a migration is running (schema at version %d, this binary needs %d); wait for it, or run: %s",
			e.Version, e.Latest, e.Command)
	}
	return fmt.Sprintf("pending migrations: schema at version %d, this binary needs %d; run: %s",
		e.Version, e.Latest, e.Command)
}

func (e *SchemaError) Unwrap() error { return e.Err }

const (
	// golang-migrate keeps its state in public.schema_migrations, outside the five
	// project schemas, so migrating everything down never drops its own bookkeeping.
	migrationsSchema = "public"
	migrationsTable  = "schema_migrations"
	// directionTable remembers whether the last run went up or down: after a failed
	// down, golang-migrate records the *target* version as dirty while the (rolled
	// back) schema is still at the version above it, so the recovery command depends
	// on the direction.
	directionTable = "public.schema_migrations_direction"

	// migrateLockTimeout bounds the wait for golang-migrate's own advisory lock. The
	// cmd layer already serialises writers with the pipeline lock, so this only
	// matters for migrators that bypass it.
	migrateLockTimeout = time.Minute

	commandUp = "pulso migrate up"

	connectTimeout = 30 * time.Second
)

// MigrationInfo is one embedded migration and whether the database has it.
type MigrationInfo struct {
	Version uint
	Name    string
	Applied bool
	// Dirty marks the migration a failed run left in doubt.
	Dirty bool
}

// MigrationStatus is the schema state against the embedded migrations.
type MigrationStatus struct {
	Migrations []MigrationInfo
	Version    uint // recorded in schema_migrations; 0 = none
	Latest     uint // latest embedded migration
	Pending    int  // embedded migrations not applied
	// Dirty means a migration failed (golang-migrate left the dirty mark and no
	// migrator is running). InProgress means a migrator is running right now.
	Dirty      bool
	InProgress bool
	// ForceVersion is the last clean version when Dirty (0 = none); Recovery is the
	// exact command restoring it: "pulso migrate force <ForceVersion>".
	ForceVersion uint
	Recovery     string
}

// Check turns the status into the error a command refusing a stale schema returns:
// nil when the schema is exactly at the latest version.
func (s MigrationStatus) Check() error {
	switch {
	case s.Dirty:
		return &SchemaError{Err: ErrDirtySchema, Version: s.Version, Latest: s.Latest, Command: s.Recovery}
	case s.Version > s.Latest:
		return &SchemaError{Err: ErrSchemaNewer, Version: s.Version, Latest: s.Latest}
	case s.Pending > 0 || s.InProgress:
		return &SchemaError{Err: ErrPendingMigrations, Version: s.Version, Latest: s.Latest, Command: commandUp,
			InProgress: s.InProgress}
	}
	return nil
}

// Migrator applies the embedded migrations (sql/migrations) with golang-migrate.
//
// Up, Down and Force change the schema: their callers (the cmd layer) hold the
// pipeline lock from AcquirePipelineLock around them, like every writing command
// (domain.md §3). golang-migrate's own advisory lock additionally serialises two
// migrators, so a second concurrent Up waits and then finds nothing to do.
//
// Each migration file runs as one simple-protocol query, i.e. one implicit
// transaction: a failing migration leaves the schema as it was, only marked dirty.
type Migrator struct {
	pool    *pgxpool.Pool
	m       *migrate.Migrate
	logger  *slog.Logger
	files   []migrationFile
	appName string // identifies this migrator's connection in pg_stat_activity

	mu sync.Mutex // one operation at a time: golang-migrate's instance is not reentrant
}

type migrationFile struct {
	version uint
	name    string
}

// NewMigrator connects to databaseURL (URL or key=value form) and prepares the
// embedded migrations. It creates public.schema_migrations if missing, which waits
// while another migrator holds golang-migrate's lock.
func NewMigrator(ctx context.Context, databaseURL string, logger *slog.Logger) (*Migrator, error) {
	return newMigrator(ctx, databaseURL, logger, pulsosql.Migrations, "migrations")
}

// newMigrator takes the migration files as a parameter so tests can run failing or
// slow migrations.
func newMigrator(ctx context.Context, databaseURL string, logger *slog.Logger, fsys fs.FS, dir string) (*Migrator, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	files, err := listMigrations(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	appName, err := migratorAppName()
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = appName
	// One connection is pinned by golang-migrate for its lock and migrations; the
	// others serve status queries and cancelling a lock wait.
	cfg.MaxConns = 3

	// Bound the connection set-up: a server that never answers fails the command.
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := ensureDirectionTable(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	db := stdlib.OpenDBFromPool(pool)
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{
		MigrationsTable: migrationsTable,
		SchemaName:      migrationsSchema,
	})
	if err != nil {
		_ = db.Close()
		pool.Close()
		return nil, fmt.Errorf("open migrations table: %w", err)
	}
	src, err := iofs.New(fsys, dir)
	if err != nil {
		_ = drv.Close()
		pool.Close()
		return nil, fmt.Errorf("open migration files: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		_ = src.Close()
		_ = drv.Close()
		pool.Close()
		return nil, fmt.Errorf("init migrate: %w", err)
	}
	m.Log = migrateLogger{logger}
	m.LockTimeout = migrateLockTimeout
	return &Migrator{pool: pool, m: m, logger: logger, files: files, appName: appName}, nil
}

func migratorAppName() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random migrator id: %w", err)
	}
	return "pulso migrate " + hex.EncodeToString(b[:]), nil
}

func listMigrations(fsys fs.FS, dir string) ([]migrationFile, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	byVersion := map[uint]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		mg, err := source.Parse(e.Name())
		if err != nil {
			continue // not a migration file
		}
		if name, ok := byVersion[mg.Version]; ok && name != mg.Identifier {
			return nil, fmt.Errorf("migration %d has two names: %q and %q", mg.Version, name, mg.Identifier)
		}
		byVersion[mg.Version] = mg.Identifier
	}
	files := make([]migrationFile, 0, len(byVersion))
	for v, name := range byVersion {
		files = append(files, migrationFile{version: v, name: name})
	}
	slices.SortFunc(files, func(a, b migrationFile) int { return cmp.Compare(a.version, b.version) })
	if len(files) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return files, nil
}

// Up applies every pending migration. Cancelling ctx stops before the next
// migration; the one running completes, so the schema is never left half-applied.
func (mg *Migrator) Up(ctx context.Context) error {
	return mg.run(ctx, "migrate up", "up", func() (bool, error) {
		err := mg.m.Steps(1)
		if errors.Is(err, os.ErrNotExist) {
			return true, nil // no migration above the current version
		}
		return false, err
	})
}

// Down reverts the n most recent migrations (n ≥ 1; more than are applied reverts
// all of them). Cancellation behaves as for Up.
func (mg *Migrator) Down(ctx context.Context, n int) error {
	if n < 1 {
		return fmt.Errorf("migrate down: step count must be at least 1, got %d", n)
	}
	left := n
	return mg.run(ctx, "migrate down", "down", func() (bool, error) {
		err := mg.m.Steps(-1)
		if errors.Is(err, os.ErrNotExist) {
			return true, nil // nothing left to revert
		}
		if err != nil {
			return false, err
		}
		left--
		return left == 0, nil
	})
}

// Force records version v as the current, clean version without running anything,
// the recovery from a dirty state. v = 0 means no migration applied.
func (mg *Migrator) Force(ctx context.Context, v int) error {
	target := v
	switch {
	case v == 0:
		target = database.NilVersion
	case v < 0 || !mg.known(uint(v)):
		return fmt.Errorf("migrate force: unknown version %d (known: 0 for none, %s)", v, mg.knownVersions())
	}
	return mg.run(ctx, "migrate force", "", func() (bool, error) { return true, mg.m.Force(target) })
}

func (mg *Migrator) known(v uint) bool {
	return slices.ContainsFunc(mg.files, func(f migrationFile) bool { return f.version == v })
}

func (mg *Migrator) knownVersions() string {
	vs := make([]string, len(mg.files))
	for i, f := range mg.files {
		vs[i] = fmt.Sprint(f.version)
	}
	return strings.Join(vs, ", ")
}

// run drives a golang-migrate operation one migration at a time, so cancellation
// can stop between migrations. (golang-migrate's GracefulStop would do the same but
// races with its own reader goroutine.) direction is "up" or "down", or "" for
// force, the one operation allowed on a dirty schema.
func (mg *Migrator) run(ctx context.Context, label, direction string, step func() (finished bool, err error)) error {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if direction != "" {
		st, err := mg.status(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		switch {
		case st.Dirty || st.Version > st.Latest:
			return fmt.Errorf("%s: %w", label, st.Check())
		case st.Version > 0 && !mg.known(st.Version):
			return fmt.Errorf("%s: schema version %d has no migration file in this binary", label, st.Version)
		}
		if err := recordDirection(ctx, mg.pool, direction); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
	}
	for {
		finished, err := mg.step(ctx, step)
		if err != nil {
			return mg.stepError(ctx, label, err)
		}
		if finished {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: stopped before the next migration: %w", label, err)
		}
	}
}

// step runs one golang-migrate call. If ctx ends meanwhile, a migration already
// running completes (it is one transaction; interrupting it would only leave the
// schema dirty), while a wait for golang-migrate's lock, which takes no context, is
// cancelled. The wait may begin after ctx ended, hence the retries.
func (mg *Migrator) step(ctx context.Context, step func() (bool, error)) (bool, error) {
	type result struct {
		finished bool
		err      error
	}
	done := make(chan result, 1)
	go func() {
		f, err := step()
		done <- result{f, err}
	}()
	select {
	case r := <-done:
		return r.finished, r.err
	case <-ctx.Done():
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		mg.cancelLockWait(ctx)
		select {
		case r := <-done:
			return r.finished, r.err
		case <-tick.C:
		}
	}
}

// stepError names what went wrong and, when a migration failed, the exact recovery
// command for the dirty state it left.
func (mg *Migrator) stepError(ctx context.Context, label string, err error) error {
	sctx := context.WithoutCancel(ctx)
	if errors.Is(err, migrate.ErrLockTimeout) {
		mg.cancelLockWait(sctx) // the driver keeps waiting after golang-migrate gives up
		return fmt.Errorf("%s: another migration held the migration lock for %s: %w", label, migrateLockTimeout, ErrLockHeld)
	}
	if st, serr := mg.status(sctx); serr == nil && st.Dirty {
		failed := "a migration"
		for _, m := range st.Migrations {
			if m.Dirty {
				failed = fmt.Sprintf("migration %d_%s", m.Version, m.Name)
			}
		}
		if errors.As(err, new(migrate.ErrDirty)) { // another migrator failed first
			return fmt.Errorf("%s: %w", label, st.Check())
		}
		return fmt.Errorf("%s: %s failed: %v; %w", label, failed, conciseDBError(err), st.Check())
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", label, ctxErr) // err is the cancelled lock wait
	}
	return fmt.Errorf("%s: %w", label, conciseDBError(err))
}

// conciseDBError drops the full migration text golang-migrate puts in its errors,
// keeping the line and the server's error.
func conciseDBError(err error) error {
	var v database.Error
	if errors.As(err, &v) && v.OrigErr != nil {
		if v.Line > 0 {
			return fmt.Errorf("line %d: %w", v.Line, v.OrigErr)
		}
		return v.OrigErr
	}
	var p *database.Error
	if errors.As(err, &p) && p.OrigErr != nil {
		return fmt.Errorf("%s: %w", p.Err, p.OrigErr)
	}
	return err
}

// migrateLockQuery is the statement golang-migrate's pgx driver waits in for its lock.
const migrateLockQuery = `SELECT pg_advisory_lock($1)`

// cancelLockWait cancels this migrator's connection if it is blocked in
// golang-migrate's pg_advisory_lock (it waits there with no context), so cancellation
// does not hang behind another migrator. A running migration is left alone, even one
// waiting on an advisory lock of its own.
func (mg *Migrator) cancelLockWait(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := mg.pool.Exec(cctx, `
		SELECT pg_cancel_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()
		  AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND query = $2`, mg.appName, migrateLockQuery)
	if err != nil {
		mg.logger.Warn("cancel migration lock wait", "err", err)
	}
}

// Version returns the version recorded in the database (0 = none) and whether a
// failed migration left it dirty.
func (mg *Migrator) Version(ctx context.Context) (version uint, dirty bool, err error) {
	st, err := readSchemaState(ctx, mg.pool)
	if err != nil {
		return 0, false, fmt.Errorf("migrate version: %w", err)
	}
	return st.uversion(), st.dirty, nil
}

// Status lists every embedded migration with its state, and the recovery command
// when the schema is dirty.
func (mg *Migrator) Status(ctx context.Context) (MigrationStatus, error) {
	st, err := mg.status(ctx)
	if err != nil {
		return MigrationStatus{}, fmt.Errorf("migrate status: %w", err)
	}
	return st, nil
}

func (mg *Migrator) status(ctx context.Context) (MigrationStatus, error) {
	state, err := readSchemaState(ctx, mg.pool)
	if err != nil {
		return MigrationStatus{}, err
	}
	return buildStatus(mg.files, state), nil
}

// Close releases the connections. A Migrator is not usable afterwards.
func (mg *Migrator) Close() error {
	srcErr, dbErr := mg.m.Close()
	mg.pool.Close()
	if err := errors.Join(srcErr, dbErr); err != nil {
		return fmt.Errorf("close migrator: %w", err)
	}
	return nil
}

// CheckSchema returns nil when the database is exactly at the latest embedded
// migration, else a *SchemaError wrapping ErrPendingMigrations ("pulso migrate up"),
// ErrDirtySchema ("pulso migrate force V") or ErrSchemaNewer. Commands that read or
// write pipeline tables call it before doing anything.
func CheckSchema(ctx context.Context, pool *pgxpool.Pool) error {
	files, err := listMigrations(pulsosql.Migrations, "migrations")
	if err != nil {
		return fmt.Errorf("check schema: read migrations: %w", err)
	}
	state, err := readSchemaState(ctx, pool)
	if err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	return buildStatus(files, state).Check()
}

// schemaState is what public.schema_migrations and the direction table hold.
type schemaState struct {
	version    int64 // -1 = none (golang-migrate's NilVersion)
	dirty      bool
	direction  string // "up", "down" or "" when unknown
	inProgress bool   // a migrator holds golang-migrate's lock: dirty is not (yet) a failure
}

func (s schemaState) uversion() uint {
	if s.version < 0 {
		return 0
	}
	return uint(s.version)
}

// readSchemaState reads the state directly rather than through golang-migrate, whose
// Version hides a dirty "no version" (a failed down of the first migration).
//
// golang-migrate marks a version dirty *before* running its migration, so a dirty
// mark is only a failure when no migrator is at work. The read therefore tries
// golang-migrate's advisory lock for the duration of its transaction: when it is
// free, no migration can start or finish while the state is read.
func readSchemaState(ctx context.Context, pool *pgxpool.Pool) (schemaState, error) {
	st := schemaState{version: -1} // database.NilVersion
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return st, fmt.Errorf("read schema version: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	var dbName string
	var hasVersions, hasDirection bool
	err = tx.QueryRow(ctx, `SELECT current_database(), to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL`,
		migrationsSchema+"."+migrationsTable, directionTable).Scan(&dbName, &hasVersions, &hasDirection)
	if err != nil {
		return st, fmt.Errorf("read schema version: %w", err)
	}
	if !hasVersions {
		return st, nil
	}
	key, err := migrateLockKey(dbName)
	if err != nil {
		return st, err
	}
	var free bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, key).Scan(&free); err != nil {
		return st, fmt.Errorf("read schema version: %w", err)
	}
	st.inProgress = !free
	err = tx.QueryRow(ctx, `SELECT version, dirty FROM `+migrationsSchema+`.`+migrationsTable+` LIMIT 1`).
		Scan(&st.version, &st.dirty)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("read schema version: %w", err)
	}
	if st.dirty && hasDirection {
		err := tx.QueryRow(ctx, `SELECT direction FROM `+directionTable).Scan(&st.direction)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return st, fmt.Errorf("read migration direction: %w", err)
		}
	}
	return st, nil
}

// migrateLockKey is the advisory lock key golang-migrate's pgx driver derives from
// the database and migrations table names.
func migrateLockKey(dbName string) (int64, error) {
	s, err := database.GenerateAdvisoryLockId(dbName, migrationsSchema, migrationsTable)
	if err != nil {
		return 0, fmt.Errorf("migration lock key: %w", err)
	}
	key, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("migration lock key %q: %w", s, err)
	}
	return key, nil
}

// buildStatus compares the recorded state with the embedded migrations.
//
// golang-migrate marks the target version dirty before running a migration and
// clean after it. Our migrations are atomic, so a dirty mark means the migration did
// not commit and the schema is where it was before: below the dirty version after a
// failed up (force the previous version), above it after a failed down (force the
// next one). A dirty "no version" can only come from a failed down of the first
// migration.
func buildStatus(files []migrationFile, st schemaState) MigrationStatus {
	s := MigrationStatus{
		Version:    st.uversion(),
		Latest:     files[len(files)-1].version,
		Dirty:      st.dirty && !st.inProgress,
		InProgress: st.dirty && st.inProgress,
	}
	clean := st.version // last version whose migrations are fully applied
	inDoubt := int64(-2)
	if st.dirty {
		if st.direction == "down" || st.version < 0 {
			clean = nextVersion(files, st.version)
			inDoubt = clean
		} else {
			clean = prevVersion(files, st.version)
			inDoubt = st.version
		}
	}
	if s.Dirty {
		s.ForceVersion = uint(max(clean, 0))
		s.Recovery = fmt.Sprintf("pulso migrate force %d", s.ForceVersion)
	}
	for _, f := range files {
		applied := clean >= 0 && f.version <= uint(clean)
		s.Migrations = append(s.Migrations, MigrationInfo{
			Version: f.version,
			Name:    f.name,
			Applied: applied,
			Dirty:   s.Dirty && int64(f.version) == inDoubt,
		})
		if !applied {
			s.Pending++
		}
	}
	return s
}

// prevVersion is the greatest embedded version below v, or -1 (none).
func prevVersion(files []migrationFile, v int64) int64 {
	prev := int64(database.NilVersion)
	for _, f := range files {
		if int64(f.version) < v {
			prev = int64(f.version)
		}
	}
	return prev
}

// nextVersion is the smallest embedded version above v, or v itself when none is.
func nextVersion(files []migrationFile, v int64) int64 {
	for _, f := range files {
		if int64(f.version) > v {
			return int64(f.version)
		}
	}
	return v
}

// ensureDirectionTable creates the one-row direction table; the transaction-scoped
// advisory lock keeps two first-time migrators from racing on CREATE TABLE.
func ensureDirectionTable(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("create %s: %w", directionTable, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, directionTableLockKey); err != nil {
		return fmt.Errorf("create %s: %w", directionTable, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+directionTable+` (
		id         BOOLEAN     NOT NULL DEFAULT true PRIMARY KEY CHECK (id),
		direction  TEXT        NOT NULL CHECK (direction IN ('up', 'down')),
		started_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create %s: %w", directionTable, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("create %s: %w", directionTable, err)
	}
	return nil
}

// directionTableLockKey is "pulsomig" as a big-endian int64; distinct from the
// pipeline lock and from golang-migrate's (32-bit) keys.
const directionTableLockKey int64 = 0x70756c736f6d6967

func recordDirection(ctx context.Context, pool *pgxpool.Pool, direction string) error {
	// Never overwrite the direction that explains a dirty state.
	_, err := pool.Exec(ctx, `INSERT INTO `+directionTable+` (id, direction, started_at) VALUES (true, $1, now())
		ON CONFLICT (id) DO UPDATE SET direction = EXCLUDED.direction, started_at = EXCLUDED.started_at
		WHERE NOT EXISTS (SELECT 1 FROM `+migrationsSchema+`.`+migrationsTable+` WHERE dirty)`, direction)
	if err != nil {
		return fmt.Errorf("record migration direction: %w", err)
	}
	return nil
}

// migrateLogger adapts golang-migrate's Printf logging to slog.
type migrateLogger struct{ l *slog.Logger }

func (g migrateLogger) Printf(format string, v ...any) {
	g.l.Info("migrate: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (g migrateLogger) Verbose() bool { return false }
