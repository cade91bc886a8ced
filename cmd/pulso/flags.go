package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// The flag and argument helpers every command shares: a bad value fails at the
// flag, naming it and what it accepts, and maps to exit 2 with the usage.

// noArgs and exactArgs are cobra's validators returning usage errors (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageErr(err)
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageErr(err)
		}
		return nil
	}
}

// dateFlag parses a Lima day once, at the flag: the value travels typed from here on.
type dateFlag struct{ d *etl.Date }

func (f dateFlag) String() string { return f.d.String() }
func (f dateFlag) Type() string   { return "date" }
func (f dateFlag) Set(s string) error {
	d, err := etl.ParseDate(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// outputFormat is --output/-o of the commands that print for people or scripts.
type outputFormat string

const (
	outputText outputFormat = "text"
	outputJSON outputFormat = "json"
)

func (o *outputFormat) String() string { return string(*o) }
func (o *outputFormat) Type() string   { return "format" }
func (o *outputFormat) Set(s string) error {
	switch f := outputFormat(s); f {
	case outputText, outputJSON:
		*o = f
		return nil
	}
	return fmt.Errorf("%q: want text or json", s)
}

// printJSON writes v as indented JSON, what every --output json prints.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// addOutputFlag declares --output/-o (default text).
func addOutputFlag(f *pflag.FlagSet, o *outputFormat) {
	*o = outputText
	f.VarP(o, "output", "o", "output format: text or json")
}

// givenFlags lists the command's own flags as set on the command line, for the run
// ledger, in a form the same command parses back (backfill --resume does). Global
// flags stay out: --database-url may carry a password.
func givenFlags(cmd *cobra.Command) []string {
	args := []string{}
	cmd.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Changed {
			return
		}
		v := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			v = strings.Join(sv.GetSlice(), ",")
		}
		args = append(args, "--"+f.Name+"="+v)
	})
	return args
}
