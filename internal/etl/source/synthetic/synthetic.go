// Package synthetic generates the deterministic demo data set of domain.md §7: landing
// files for the nine source tables plus _demo_manifest.json, which lists the keys of
// every injected edge case and the counts a loader test can assert.
//
// The same Options (seed, as_of, scale, format) always produce byte-identical files:
// nothing reads the clock, no map is iterated, and every table draws from its own
// PCG stream seeded from (Seed, table name).
package synthetic

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
)

// ManifestName is the manifest file Generate writes into OutDir.
const ManifestName = "_demo_manifest.json"

// DefaultSeed is the seed used when Options.Seed is zero.
const DefaultSeed int64 = 42

// DefaultAsOf is the as-of day used when Options.AsOf is zero.
func DefaultAsOf() etl.Date { return etl.NewDate(2025, time.July, 15) }

// The campaign calendar of §7 is fixed by the campaign names, so as_of must fall after
// the last closure (so both closures and the post-closure payment exist) and not so far
// out that the open campaign grows without bound.
var (
	minAsOf = etl.NewDate(2025, time.July, 9)
	maxAsOf = etl.NewDate(2025, time.December, 31)
)

// Scale selects the size of the data set.
type Scale uint8

const (
	// Small is the default: ~780 clients, ~800 accounts, 3 campaigns, ~32 business days.
	Small Scale = iota
	// Large is the benchmark set: ~100k accounts, ~1M gestiones, ~3.1M trandeuda rows.
	Large
)

// ParseScale reads a --scale value: "small" or "large".
func ParseScale(s string) (Scale, error) {
	switch s {
	case "small":
		return Small, nil
	case "large":
		return Large, nil
	}
	return 0, fmt.Errorf("unknown scale %q (want small or large)", s)
}

func (s Scale) String() string {
	switch s {
	case Small:
		return "small"
	case Large:
		return "large"
	}
	return fmt.Sprintf("scale(%d)", uint8(s))
}

// Options configure Generate. Zero values take the defaults (Validate fills them in).
type Options struct {
	// OutDir receives the landing files; it is created if missing.
	OutDir string
	// Seed of every random stream; 0 means DefaultSeed (42).
	Seed int64
	// AsOf is the last day of the data set (nothing is dated after it); zero means
	// DefaultAsOf (2025-07-15). It must lie in [2025-07-09, 2025-12-31].
	AsOf etl.Date
	// Scale is Small (default) or Large.
	Scale Scale
	// Format of the landing files (default CSV).
	Format files.Format
	// Registry of the source tables; nil means etl.NewRegistry().
	Registry *etl.Registry
}

// Validate fills in defaults and checks the options.
func (o *Options) Validate() error {
	if o.OutDir == "" {
		return errors.New("synthetic: OutDir is required")
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.AsOf.IsZero() {
		o.AsOf = DefaultAsOf()
	}
	if o.AsOf.Before(minAsOf) || o.AsOf.After(maxAsOf) {
		return fmt.Errorf("synthetic: as_of %s out of range: the demo calendar needs %s..%s", o.AsOf, minAsOf, maxAsOf)
	}
	if o.Scale != Small && o.Scale != Large {
		return fmt.Errorf("synthetic: unknown scale %d", uint8(o.Scale))
	}
	switch o.Format {
	case files.FormatCSV, files.FormatCSVGz, files.FormatNDJSON:
	default:
		return fmt.Errorf("synthetic: unknown format %d", uint8(o.Format))
	}
	if o.Registry == nil {
		r, err := etl.NewRegistry()
		if err != nil {
			return fmt.Errorf("synthetic: %w", err)
		}
		o.Registry = r
	}
	for _, name := range tableNames {
		if _, ok := o.Registry.Table(name); !ok {
			return fmt.Errorf("synthetic: registry has no table %q", name)
		}
	}
	return nil
}

// tableNames are the nine tables in the order Generate writes them.
var tableNames = []string{
	"calendario", "homologacion_mibotair", "homologacion_voicebot", "ejecutivos",
	"asignaciones", "voicebot_gestiones", "mibotair_gestiones", "pagos", "trandeuda",
}

// Generate writes the data set into opts.OutDir and returns its manifest (also written
// as _demo_manifest.json). Landing files of the nine tables already in OutDir that this
// run did not write (an earlier run with another as_of, scale or format) are removed,
// so the directory always holds exactly one data set.
func Generate(ctx context.Context, opts Options) (*Manifest, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("synthetic: %w", err)
	}
	g := newGenerator(opts)
	if err := g.run(ctx); err != nil {
		return nil, err
	}
	if err := g.removeStale(); err != nil {
		return nil, err
	}
	if err := g.man.write(filepath.Join(opts.OutDir, ManifestName)); err != nil {
		return nil, err
	}
	return g.man, nil
}

// run generates every table. The two gestiones channels, and then trandeuda and pagos,
// run concurrently: each draws from its own stream, so the bytes do not depend on the
// interleaving.
func (g *generator) run(ctx context.Context) error {
	g.world()
	g.assignments()
	for _, step := range []func() error{g.calendario, g.homologaciones, g.ejecutivos} {
		if err := step(); err != nil {
			return err
		}
	}
	if err := g.writeAsignaciones(ctx); err != nil {
		return err
	}
	bot := &channel{bot: true, name: "voicebot_gestiones", prefix: "vb-", r: newStream(g.opts.Seed, "voicebot_gestiones")}
	call := &channel{name: "mibotair_gestiones", prefix: "ma-", r: newStream(g.opts.Seed, "mibotair_gestiones")}
	if err := parallel(func() error { return g.gestiones(ctx, bot) }, func() error { return g.gestiones(ctx, call) }); err != nil {
		return err
	}
	g.botPDP, g.callPDP = bot.pdp, call.pdp
	pays := g.payments()
	return parallel(func() error { return g.writeTrandeuda(ctx) }, func() error { return g.writePagos(ctx, pays) })
}

// parallel runs two steps at once and returns the first error (in argument order).
func parallel(a, b func() error) error {
	errB := make(chan error, 1)
	go func() { errB <- b() }()
	errA := a()
	if err := <-errB; errA == nil {
		return err
	}
	return errA
}
