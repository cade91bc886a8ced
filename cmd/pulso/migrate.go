package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pulso-cobranzas/pulso/internal/store/postgres"
)

func newMigrateCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, revert or inspect the database schema (embedded migrations)",
		Example: `  pulso migrate up
  pulso migrate status
  pulso migrate down 1
  pulso migrate force 3`,
	}
	var output outputFormat
	status := &cobra.Command{
		Use:   "status",
		Short: "List applied and pending migrations; a dirty state prints the recovery command",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withMigrator(cmd.Context(), false, func(ctx context.Context, m *postgres.Migrator) error {
				st, err := m.Status(ctx)
				if err != nil {
					return err
				}
				return printMigrationStatus(a, st, output)
			})
		},
	}
	addOutputFlag(status.Flags(), &output)
	cmd.AddCommand(
		&cobra.Command{
			Use:   "up",
			Short: "Apply every pending migration",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return a.withMigrator(cmd.Context(), true, func(ctx context.Context, m *postgres.Migrator) error {
					if err := m.Up(ctx); err != nil {
						return err
					}
					v, _, err := m.Version(ctx)
					if err == nil {
						a.log.Info("schema up to date", "version", v)
					}
					return err
				})
			},
		},
		&cobra.Command{
			Use:   "down N",
			Short: "Revert the last N migrations",
			Args:  exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				n, err := strconv.Atoi(args[0])
				if err != nil || n < 1 {
					return usageErr(fmt.Errorf("down: N must be a positive integer, got %q", args[0]))
				}
				return a.withMigrator(cmd.Context(), true, func(ctx context.Context, m *postgres.Migrator) error {
					return m.Down(ctx, n)
				})
			},
		},
		&cobra.Command{
			Use:   "force V",
			Short: "Mark the schema as clean at version V after a failed migration was repaired by hand",
			Args:  exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				v, err := strconv.Atoi(args[0])
				if err != nil || v < 0 {
					return usageErr(fmt.Errorf("force: V must be a version number ≥ 0, got %q", args[0]))
				}
				return a.withMigrator(cmd.Context(), true, func(ctx context.Context, m *postgres.Migrator) error {
					return m.Force(ctx, v)
				})
			},
		},
		&cobra.Command{
			Use:   "version",
			Short: "Print the schema version",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return a.withMigrator(cmd.Context(), false, func(ctx context.Context, m *postgres.Migrator) error {
					v, dirty, err := m.Version(ctx)
					if err != nil {
						return err
					}
					suffix := ""
					if dirty {
						suffix = " (dirty)"
					}
					_, err = fmt.Fprintf(a.stdout, "%d%s\n", v, suffix)
					return err
				})
			},
		},
		status,
	)
	return cmd
}

// withMigrator opens a migrator; schema-changing operations hold the pipeline lock, so
// no load or transform runs against a half-migrated schema.
func (a *app) withMigrator(ctx context.Context, writes bool, fn func(context.Context, *postgres.Migrator) error) error {
	url, err := a.requireDatabase()
	if err != nil {
		return err
	}
	if writes {
		lock, err := postgres.AcquirePipelineLock(ctx, url, postgres.LockOptions{Wait: a.wait, Owner: "pulso migrate"})
		if err != nil {
			return err
		}
		defer lock.Release(context.WithoutCancel(ctx))
	}
	m, err := postgres.NewMigrator(ctx, url, a.log)
	if err != nil {
		return err
	}
	defer m.Close()
	return fn(ctx, m)
}

func printMigrationStatus(a *app, st postgres.MigrationStatus, output outputFormat) error {
	if output == outputJSON {
		return printJSON(a.stdout, st)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE")
	for _, m := range st.Migrations {
		state := "pending"
		switch {
		case m.Dirty:
			state = "DIRTY"
		case m.Applied:
			state = "applied"
		}
		fmt.Fprintf(tw, "%06d\t%s\t%s\n", m.Version, m.Name, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "schema version %d of %d, %d pending\n", st.Version, st.Latest, st.Pending)
	if st.Dirty {
		fmt.Fprintf(a.stdout, "DIRTY: a migration did not complete. Repair the database by hand, then run:\n  %s\n", st.Recovery)
	}
	return nil
}
