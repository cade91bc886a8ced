package synthetic

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pulso-cobranzas/pulso/internal/etl"
	"github.com/pulso-cobranzas/pulso/internal/etl/source/files"
)

// newStream is the PCG stream of one table (or of the shared world), derived from the
// seed and the stream's name, so adding draws to one table never shifts another.
func newStream(seed int64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// output writes landing files under OutDir and records them in the manifest.
type output struct {
	mu      sync.Mutex // the two gestiones channels write concurrently
	dir     string
	format  files.Format
	man     *Manifest
	written map[string]bool // absolute paths written by this run (lookups only)
}

// fileW is one landing file being written (atomically, by files.FileWriter).
type fileW struct {
	fw   *files.FileWriter
	rel  string
	rows int
	tm   *TableManifest
}

func (o *output) table(t *etl.Table) *TableManifest {
	o.mu.Lock()
	defer o.mu.Unlock()
	tm, ok := o.man.Tables[t.Name]
	if !ok {
		tm = &TableManifest{Files: []FileManifest{}}
		o.man.Tables[t.Name] = tm
	}
	return tm
}

// single starts <dir>/<table>.<ext> through files.CreateFile.
func (o *output) single(t *etl.Table) (*fileW, error) {
	fw, err := files.CreateFile(o.dir, t, o.format)
	if err != nil {
		return nil, fmt.Errorf("synthetic: %w", err)
	}
	return &fileW{fw: fw, rel: t.Name + "." + o.format.Ext(), tm: o.table(t)}, nil
}

// day starts <dir>/<table>/<name>.<ext> through files.CreatePath.
func (o *output) day(t *etl.Table, name string) (*fileW, error) {
	sub := filepath.Join(o.dir, t.Name)
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return nil, fmt.Errorf("synthetic: %w", err)
	}
	base := name + "." + o.format.Ext()
	fw, err := files.CreatePath(filepath.Join(sub, base), t, o.format)
	if err != nil {
		return nil, fmt.Errorf("synthetic: %w", err)
	}
	return &fileW{fw: fw, rel: t.Name + "/" + base, tm: o.table(t)}, nil
}

func (fw *fileW) write(values []string) error {
	fw.rows++
	return fw.fw.Write(values, nil)
}

func (fw *fileW) close(o *output) error {
	if err := fw.fw.Close(); err != nil {
		return fmt.Errorf("synthetic: %w", err)
	}
	o.mu.Lock()
	o.written[fw.fw.Path()] = true
	o.mu.Unlock()
	fw.tm.Rows += fw.rows
	fw.tm.Files = append(fw.tm.Files, FileManifest{Path: fw.rel, Rows: fw.rows})
	return nil
}

// abort discards a file after an error.
func (fw *fileW) abort() { fw.fw.Abort() }

// removeStale deletes landing files of the nine tables this run did not write.
func (g *generator) removeStale() error {
	for _, name := range tableNames {
		var cands []string
		for _, f := range files.Formats {
			cands = append(cands, filepath.Join(g.out.dir, name+"."+f.Ext()))
		}
		entries, err := os.ReadDir(filepath.Join(g.out.dir, name))
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("synthetic: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() && files.IsLandingName(e.Name()) {
				cands = append(cands, filepath.Join(g.out.dir, name, e.Name()))
			}
		}
		for _, p := range cands {
			if g.out.written[p] {
				continue
			}
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("synthetic: remove stale %s: %w", p, err)
			}
		}
	}
	// Keep the manifest's file lists in path order.
	for _, tm := range g.man.Tables {
		slices.SortFunc(tm.Files, func(a, b FileManifest) int { return strings.Compare(a.Path, b.Path) })
	}
	return nil
}

// cents renders an amount in cents as canonical money text (2 decimals).
func cents(c int64) string {
	var buf [24]byte
	return string(appendCents(buf[:0], c))
}

func appendCents(b []byte, c int64) []byte {
	if c < 0 {
		b = append(b, '-')
		c = -c
	}
	b = strconv.AppendInt(b, c/100, 10)
	return append(b, '.', byte('0'+c%100/10), byte('0'+c%10))
}

// pick returns an index drawn with the given weights (which need not sum to 1).
func pick(r *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func itoa(n int) string { return strconv.Itoa(n) }
