package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
)

func newConfigCmd(a *app) *cobra.Command {
	var output outputFormat
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (secrets redacted)",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			flat := a.cfg.redacted(a.reg)
			if output == outputJSON {
				return printJSON(a.stdout, flat)
			}
			keys := make([]string, 0, len(flat))
			for k := range flat {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if _, err := fmt.Fprintf(a.stdout, "%s = %v\n", k, flat[k]); err != nil {
					return err
				}
			}
			return nil
		},
	}
	addOutputFlag(cmd.Flags(), &output)
	return cmd
}
