package files

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

func table(t testing.TB, name string) *etl.Table {
	t.Helper()
	tb, ok := etl.MustRegistry().Table(name)
	if !ok {
		t.Fatalf("no table %s", name)
	}
	return tb
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
		ext  string
		ok   bool
	}{
		{"csv", FormatCSV, "csv", true},
		{"csv.gz", FormatCSVGz, "csv.gz", true},
		{"ndjson", FormatNDJSON, "ndjson", true},
		{"CSV", 0, "", false},
		{"json", 0, "", false},
		{"", 0, "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			f, err := ParseFormat(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseFormat(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if f != tc.want || f.Ext() != tc.ext || f.String() != tc.ext {
				t.Fatalf("ParseFormat(%q) = %v (ext %q), want %v (ext %q)", tc.in, f, f.Ext(), tc.want, tc.ext)
			}
		})
	}
}

func writeAll(t testing.TB, tb *etl.Table, format Format, rows [][]string, nulls [][]bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, tb, format)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		var n []bool
		if nulls != nil {
			n = nulls[i]
		}
		if err := w.Write(r, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriterGolden(t *testing.T) {
	ej := table(t, "ejecutivos") // correo_name, nombre, document, id_cliente
	rows := [][]string{
		{"ana@x.pe", "Ana, María", "123", "145"},
		{"bob@x.pe", `Bob "B" Pérez`, "", "145"},
		{"c@x.pe", " lead", "trail ", "1"},
		{"d@x.pe", "two\nlines", "cr\r\nlf", "7"},
		{"e@x.pe", "null-marked", "x", "8"},
	}
	nulls := [][]bool{nil, nil, nil, nil, {false, false, true, false}}
	for _, tc := range []struct {
		format Format
		want   string
	}{
		{FormatCSV, "correo_name,nombre,document,id_cliente\n" +
			"ana@x.pe,\"Ana, María\",123,145\n" +
			"bob@x.pe,\"Bob \"\"B\"\" Pérez\",,145\n" +
			"c@x.pe,\" lead\",\"trail \",1\n" +
			"d@x.pe,\"two\nlines\",\"cr\r\nlf\",7\n" +
			"e@x.pe,null-marked,,8\n"},
		{FormatNDJSON, `{"correo_name":"ana@x.pe","nombre":"Ana, María","document":"123","id_cliente":"145"}` + "\n" +
			`{"correo_name":"bob@x.pe","nombre":"Bob \"B\" Pérez","document":null,"id_cliente":"145"}` + "\n" +
			`{"correo_name":"c@x.pe","nombre":" lead","document":"trail ","id_cliente":"1"}` + "\n" +
			`{"correo_name":"d@x.pe","nombre":"two\nlines","document":"cr\r\nlf","id_cliente":"7"}` + "\n" +
			`{"correo_name":"e@x.pe","nombre":"null-marked","document":null,"id_cliente":"8"}` + "\n"},
	} {
		t.Run(tc.format.Ext(), func(t *testing.T) {
			n := nulls
			got := string(writeAll(t, ej, tc.format, rows, n))
			if got != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestWriterJSONEscapes(t *testing.T) {
	ej := table(t, "ejecutivos")
	got := string(writeAll(t, ej, FormatNDJSON, [][]string{{"a\x00b", "\x01\t\\", "bad\xffutf8", "\u2028"}}, nil))
	want := `{"correo_name":"a` + "\ufffd" + `b","nombre":"\u0001\t\\","document":"bad` + "\ufffd" + `utf8","id_cliente":"\u2028"}` + "\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestWriterWidth(t *testing.T) {
	tr := table(t, "trandeuda") // 7 source + 1 derived
	var buf bytes.Buffer
	w, err := NewWriter(&buf, tr, FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		vals  []string
		nulls []bool
		ok    bool
	}{
		{"source width", make([]string, 7), nil, true},
		{"row width (derived dropped)", []string{"a", "b", "c", "", "", "1.00", "t", "2025-01-01"}, nil, true},
		{"too short", make([]string, 6), nil, false},
		{"too long", make([]string, 9), nil, false},
		{"nulls mismatch", make([]string, 7), make([]bool, 3), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := w.Write(tc.vals, tc.nulls)
			if (err == nil) != tc.ok {
				t.Fatalf("Write error = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "cod_cuenta,nro_documento,archivo,motivo_rechazo,fecha_vencimiento,monto_exigible,creado_el\n,,,,,,\na,b,c,,,1.00,t\n"
	if buf.String() != want {
		t.Fatalf("got %q want %q", buf.String(), want)
	}
	if err := w.Write(make([]string, 7), nil); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestWriterGzipDeterministic(t *testing.T) {
	pg := table(t, "pagos")
	rows := [][]string{
		{"S1", "DOC1", "PAGOS_2025-06-03_1", "", "12.50", "2025-06-03", "2025-06-04T11:00:00Z"},
		{"", "DOC2", "PAGOS_2025-06-03_1", "", "7.00", "2025-06-03", "2025-06-04T11:00:00Z"},
	}
	a := writeAll(t, pg, FormatCSVGz, rows, nil)
	b := writeAll(t, pg, FormatCSVGz, rows, nil)
	if !bytes.Equal(a, b) {
		t.Fatal("gzip output differs between runs")
	}
	// Header: magic, CM, FLG=0 (no name/comment/extra), MTIME=0.
	if len(a) < 10 || a[0] != 0x1f || a[1] != 0x8b || a[3] != 0 || !bytes.Equal(a[4:8], []byte{0, 0, 0, 0}) {
		t.Fatalf("gzip header not deterministic: % x", a[:10])
	}
	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if want := writeAll(t, pg, FormatCSV, rows, nil); !bytes.Equal(plain, want) {
		t.Fatalf("gunzipped %q, want %q", plain, want)
	}
}

func TestCreateFile(t *testing.T) {
	pg := table(t, "pagos")
	row := []string{"S1", "DOC1", "A", "", "12.50", "2025-06-03", "2025-06-04T11:00:00Z"}
	for _, f := range []Format{FormatCSV, FormatCSVGz, FormatNDJSON} {
		t.Run(f.Ext(), func(t *testing.T) {
			dir := t.TempDir()
			fw, err := CreateFile(dir, pg, f)
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dir, "pagos."+f.Ext())
			if fw.Path() != want {
				t.Fatalf("Path = %s, want %s", fw.Path(), want)
			}
			if err := fw.Write(row, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(want); !os.IsNotExist(err) {
				t.Fatalf("final file visible before Close: %v", err)
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			if exp := writeAll(t, pg, f, [][]string{row}, nil); !bytes.Equal(got, exp) {
				t.Fatalf("file content %q, want %q", got, exp)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Fatalf("leftover files: %v", ents)
			}
			if err := fw.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
	t.Run("abort", func(t *testing.T) {
		dir := t.TempDir()
		fw, err := CreateFile(dir, pg, FormatCSV)
		if err != nil {
			t.Fatal(err)
		}
		if err := fw.Write(row, nil); err != nil {
			t.Fatal(err)
		}
		if err := fw.Abort(); err != nil {
			t.Fatal(err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("Abort left files: %v", ents)
		}
	})
	t.Run("replaces existing", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "pagos.csv")
		if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		fw, err := CreateFile(dir, pg, FormatCSV)
		if err != nil {
			t.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != "cod_sistema,nro_documento,archivo,motivo_rechazo,monto_cancelado,fecha_pago,creado_el\n" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("CreatePath", func(t *testing.T) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "pagos"), 0o755)
		for _, name := range []string{"PAGOS_2025-06-03_1.csv", "PAGOS_2025-06-03_2.csv"} {
			fw, err := CreatePath(filepath.Join(dir, "pagos", name), pg, FormatCSV)
			if err != nil {
				t.Fatal(err)
			}
			if err := fw.Write(row, nil); err != nil {
				t.Fatal(err)
			}
			// Discover never lists the temporary file.
			if got, _ := Discover(dir, pg); len(got) != 0 && filepath.Base(got[len(got)-1]) == name {
				t.Fatalf("half-written file listed: %v", got)
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
		}
		got, err := Discover(dir, pg)
		if err != nil || len(got) != 2 {
			t.Fatalf("Discover = %v, %v", got, err)
		}
		if _, err := CreatePath(filepath.Join(dir, "pagos", "x.ndjson"), pg, FormatCSV); err == nil {
			t.Fatal("CreatePath accepted an extension that does not match the format")
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		if _, err := CreateFile(filepath.Join(t.TempDir(), "nope"), pg, FormatCSV); err == nil {
			t.Fatal("CreateFile in a missing directory succeeded")
		}
	})
}
