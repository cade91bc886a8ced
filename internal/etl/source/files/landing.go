package files

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// ManifestName is the manifest `pulso extract` writes beside the landing files; the
// directory source ignores it (landing files are found by table name).
const ManifestName = "_manifest.json"

// Landing writes `pulso extract`'s landing files and manifest into a directory.
type Landing struct {
	Dir    string
	Format Format
}

// Create starts <dir>/<table>.<ext>.
func (l Landing) Create(t *etl.Table) (etl.LandingWriter, error) {
	fw, err := CreateFile(l.Dir, t, l.Format)
	if err != nil {
		return nil, err
	}
	return &landingFile{fw: fw, l: l, table: t.Name}, nil
}

// WriteManifest writes _manifest.json atomically.
func (l Landing) WriteManifest(m *etl.ExtractManifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(l.Dir, ManifestName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

type landingFile struct {
	fw    *FileWriter
	l     Landing
	table string
}

func (f *landingFile) Write(fields []string) error { return f.fw.Write(fields, nil) }

func (f *landingFile) Abort() { _ = f.fw.Abort() } // a temporary file left behind is a dot file Discover ignores

// Close publishes the file and removes the table's files of the other formats an
// earlier extract left: they would be loaded too.
func (f *landingFile) Close() (etl.Part, error) {
	if err := f.fw.Close(); err != nil {
		return etl.Part{}, err
	}
	for _, other := range Formats {
		if other == f.l.Format {
			continue
		}
		if err := os.Remove(filepath.Join(f.l.Dir, f.table+"."+other.Ext())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return etl.Part{}, fmt.Errorf("remove the earlier %s file: %w", other, err)
		}
	}
	size, sum := f.fw.Digest()
	return etl.Part{Name: filepath.Base(f.fw.Path()), Size: size, SHA256: sum}, nil
}
