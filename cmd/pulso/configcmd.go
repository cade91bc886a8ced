package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
)

func newConfigCmd(a *app) *cobra.Command {
	var output outputFormat
	var reference bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (secrets redacted)",
		Example: `  pulso config
  pulso config -o json
  pulso config --reference   # every key, its variable, default and meaning (Markdown)`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			if reference {
				ref, err := configReference(a.reg)
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(a.stdout, ref)
				return err
			}
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
	cmd.Flags().BoolVar(&reference, "reference", false, "print the reference of every key (Markdown table) instead")
	return cmd
}
