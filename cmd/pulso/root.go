package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

// version and commit are stamped at build time, as the Dockerfile does:
// -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "unknown"
)

// formatVersion is what `pulso version` and --version print after "pulso ": the
// commit only when the build stamped one.
func formatVersion(version, commit string) string {
	if commit == "" || commit == "unknown" {
		return version
	}
	return version + " (commit " + commit + ")"
}

// app is what every command shares: the registry, the resolved configuration and the
// output streams. It is built per invocation; nothing lives in package state.
type app struct {
	reg    *etl.Registry
	cfg    *Config
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer

	configPath string
	wait       bool
}

// run executes one invocation and maps its outcome to an exit code in one place.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{reg: etl.MustRegistry(), stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && cmd == root && strings.HasPrefix(err.Error(), "unknown command ") {
		// cobra's own lookup error: a mistyped command is a usage error like a bad flag
		err = usageErr(err)
	}
	code := exitCode(ctx, err)
	switch {
	case code == exitCancelled:
		// Every interrupted step says "context canceled"; one line is enough.
		fmt.Fprintln(stderr, "pulso: cancelled; nothing half-written was committed")
	case err != nil:
		fmt.Fprintln(stderr, "pulso:", err)
		if code == exitUsage && !isConfigError(err) && cmd != nil {
			// The error, then where the usage is: 25 lines of help would bury it.
			fmt.Fprintf(stderr, "see '%s --help'\n", cmd.CommandPath())
		}
	}
	return code
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "pulso",
		Short:         "Collections ETL and dashboard API: BigQuery → PostgreSQL → JSON",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup(cmd)
		},
	}
	// --version prints what `pulso version` prints
	root.Version = formatVersion(version, commit)
	root.SetVersionTemplate("pulso {{.Version}}\n")
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "config file (default configs/pulso.yaml if present)")
	pf.String("database-url", "", "PostgreSQL URL (env DATABASE_URL or PULSO_DATABASE_URL)")
	pf.String("log-level", "info", "log level: debug, info, warn, error")
	pf.String("log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), json, text")
	pf.String("as-of", "", "fix today's Lima date (YYYY-MM-DD) for reproducible runs")
	pf.String("source", "dir", "source of raw rows: dir or bigquery")
	pf.String("dir", "", "landing directory for --source dir")
	pf.BoolVar(&a.wait, "wait", false, "wait for the pipeline lock instead of exiting 3")

	root.AddCommand(
		newVersionCmd(a),
		newConfigCmd(a),
		newLoadCmd(a, nil),
		newTransformCmd(a, nil),
		newMigrateCmd(a),
		newDemoCmd(a, nil),
		newStatusCmd(a, nil),
		newRejectsCmd(a, nil),
		newWatermarkCmd(a, nil),
		newPruneCmd(a, nil),
		newPipelineCmd(a, nil),
		newBackfillCmd(a, nil),
		newExtractCmd(a, nil),
		newServeCmd(a, nil),
		newHealthcheckCmd(a),
	)
	return root
}

// setup resolves configuration and logging before any command runs.
func (a *app) setup(cmd *cobra.Command) error {
	path, explicit := a.configPath, a.configPath != ""
	if !explicit {
		path = "configs/pulso.yaml"
	}
	cfg, err := loadConfig(a.reg, cmd.Root().PersistentFlags(), path, explicit)
	if err != nil {
		return err
	}
	a.cfg = cfg
	a.log = newLogger(a.stderr, cfg.Log)
	return nil
}

func (a *app) stderrIsTTY() bool {
	f, ok := a.stderr.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// jsonLogs reports whether logs (and progress) go out as slog JSON.
func (a *app) jsonLogs() bool {
	switch strings.ToLower(a.cfg.Log.Format) {
	case "json":
		return true
	case "text":
		return false
	}
	return !a.stderrIsTTY()
}

// newLogger logs JSON off a terminal (or with json), text on one; on a terminal the
// default level is warn, since bars and summaries show what info lines would.
func newLogger(w io.Writer, lc LogConfig) *slog.Logger {
	f, isFile := w.(*os.File)
	tty := isFile && isatty.IsTerminal(f.Fd())
	opts := &slog.HandlerOptions{Level: logLevel(lc, tty)}
	if strings.EqualFold(lc.Format, "json") || (strings.EqualFold(lc.Format, "auto") && !tty) {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logLevel is the configured level; on a terminal, unless a level was given, at
// least warn.
func logLevel(lc LogConfig, tty bool) slog.Level {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lc.Level)); err != nil {
		level = slog.LevelInfo // unreachable: Config.Validate checked the name
	}
	if tty && !lc.LevelGiven && !strings.EqualFold(lc.Format, "json") {
		level = max(level, slog.LevelWarn)
	}
	return level
}

func (a *app) requireDatabase() (string, error) {
	if a.cfg.Database.URL == "" {
		return "", fmt.Errorf("%w: no database: set --database-url, DATABASE_URL or database.url", errConfig)
	}
	return a.cfg.Database.URL, nil
}

// openStore connects to the configured database and refuses a schema that is not
// current. close releases the pool.
func (a *app) openStore(ctx context.Context) (store *postgres.Store, close func(), err error) {
	url, err := a.requireDatabase()
	if err != nil {
		return nil, nil, err
	}
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	if err := postgres.CheckSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	return postgres.NewStore(pool, a.log, a.cfg.ETL.StoreOptions), pool.Close, nil
}

// runner gives a writing command the run lifecycle, "today" fixed by clock.
func (a *app) runner(store *postgres.Store, clock etl.Clock) *etl.Runner {
	return &etl.Runner{Store: store, Log: a.log, Clock: clock, Wait: a.wait, ExitCode: exitCode}
}

func (a *app) clock() etl.Clock { return etl.Clock{AsOf: a.cfg.AsOf} }

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(a.stdout, "pulso", formatVersion(version, commit))
			return err
		},
	}
}
