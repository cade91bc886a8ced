package files

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// got is one record as a test sees it.
type got struct {
	Line   int64
	Fields []string // nil when faulted
	Reason string
	Column string
	Raw    string
}

func (g got) String() string {
	if g.Reason != "" {
		return fmt.Sprintf("%d: fault %s column %q raw %s", g.Line, g.Reason, g.Column, g.Raw)
	}
	return fmt.Sprintf("%d: %q", g.Line, g.Fields)
}

// drain reads every record, checking the reader's invariants on the way.
func drain(t testing.TB, r etl.RecordReader, tb *etl.Table, src string) ([]got, error) {
	t.Helper()
	var out []got
	var rec etl.Record
	for {
		ok, err := r.Next(&rec)
		if err != nil {
			if ok {
				t.Fatalf("Next returned true with error %v", err)
			}
			return out, err
		}
		if !ok {
			// Sticky end.
			if ok2, err2 := r.Next(&rec); ok2 || err2 != nil {
				t.Fatalf("Next after end = %v, %v", ok2, err2)
			}
			return out, nil
		}
		if rec.Source != src {
			t.Fatalf("Source = %q, want %q", rec.Source, src)
		}
		g := got{Line: rec.Line}
		if rec.Fault != nil {
			g.Reason, g.Column, g.Raw = rec.Fault.Reason, rec.Fault.Column, string(rec.Raw)
			if !json.Valid(rec.Raw) {
				t.Fatalf("line %d: Raw is not valid JSON: %q", rec.Line, rec.Raw)
			}
		} else {
			if len(rec.Fields) != len(tb.Columns) {
				t.Fatalf("line %d: %d fields, want %d", rec.Line, len(rec.Fields), len(tb.Columns))
			}
			g.Fields = append([]string(nil), rec.Fields...)
		}
		out = append(out, g)
	}
}

func readCSV(t testing.TB, tb *etl.Table, in string, opts Options) ([]got, []string, error) {
	t.Helper()
	r := NewCSVReader(context.Background(), strings.NewReader(in), "x.csv", tb, opts)
	recs, err := drain(t, r, tb, "x.csv")
	return recs, r.Warnings(), err
}

func readNDJSON(t testing.TB, tb *etl.Table, in string, opts Options) ([]got, []string, error) {
	t.Helper()
	r := NewNDJSONReader(context.Background(), strings.NewReader(in), "x.ndjson", tb, opts)
	recs, err := drain(t, r, tb, "x.ndjson")
	return recs, r.Warnings(), err
}

func fields(line int64, f ...string) got { return got{Line: line, Fields: f} }
func fault(line int64, reason, column string) got {
	return got{Line: line, Reason: reason, Column: column}
}

type readerCase struct {
	name string
	in   string
	opts Options
	want []got
	// warn is the exact warning list (nil = none).
	warn []string
	// err is the exact error text ("" = none); structural errors must match ErrStructural.
	err string
	// errLine and errColumn check the StructuralError fields when err is set.
	errLine   int64
	errColumn string
	// raw, when set, is checked against the Raw of the record at index rawAt.
	raw   string
	rawAt int
}

func runReaderCases(t *testing.T, tb *etl.Table, cases []readerCase, read func(testing.TB, *etl.Table, string, Options) ([]got, []string, error)) {
	t.Helper()
	for _, tc := range cases {
		for _, buf := range []int{0, 16, 19} {
			name := tc.name
			if buf > 0 {
				name += fmt.Sprintf("/buf%d", buf)
			}
			tc.opts.bufSize = buf
			runReaderCase(t, tb, name, tc, read)
		}
	}
}

func runReaderCase(t *testing.T, tb *etl.Table, name string, tc readerCase, read func(testing.TB, *etl.Table, string, Options) ([]got, []string, error)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		recs, warn, err := read(t, tb, tc.in, tc.opts)
		if tc.err != "" {
			if err == nil {
				t.Fatalf("no error, want %q; records %v", tc.err, recs)
			}
			if err.Error() != tc.err {
				t.Fatalf("error\n %q\nwant\n %q", err.Error(), tc.err)
			}
			if !errors.Is(err, etl.ErrStructural) {
				t.Fatalf("error %v is not structural", err)
			}
			var se *etl.StructuralError
			if !errors.As(err, &se) || se.Line != tc.errLine || se.Column != tc.errColumn {
				t.Fatalf("StructuralError %+v, want line %d column %q", se, tc.errLine, tc.errColumn)
			}
		} else if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		if tc.raw != "" {
			if tc.rawAt >= len(recs) || recs[tc.rawAt].Raw != tc.raw {
				t.Fatalf("raw of record %d:\n got %v\nwant %s", tc.rawAt, recs, tc.raw)
			}
		}
		for i := range recs {
			recs[i].Raw = ""
		}
		if len(recs) != len(tc.want) || (len(recs) > 0 && !reflect.DeepEqual(recs, tc.want)) {
			t.Fatalf("records\n%v\nwant\n%v", recs, tc.want)
		}
		if !reflect.DeepEqual(warn, tc.warn) {
			t.Fatalf("warnings %q, want %q", warn, tc.warn)
		}
	})
}

func TestCSVReader(t *testing.T) {
	ej := table(t, "ejecutivos") // correo_name R, nombre R, document R, id_cliente R
	const hdr = "correo_name,nombre,document,id_cliente\n"
	big := strings.Repeat("x", 2048)
	runReaderCases(t, ej, []readerCase{
		{name: "plain", in: hdr + "a@x,Ana,1,145\nb@x,Bob,2,145\n",
			want: []got{fields(2, "a@x", "Ana", "1", "145"), fields(3, "b@x", "Bob", "2", "145")}},
		{name: "no final newline", in: hdr + "a@x,Ana,1,145",
			want: []got{fields(2, "a@x", "Ana", "1", "145")}},
		{name: "header only", in: hdr},
		{name: "header only without newline", in: strings.TrimSuffix(hdr, "\n")},
		{name: "CRLF", in: strings.ReplaceAll(hdr+"a@x,Ana,1,145\nb@x,,2,145\n", "\n", "\r\n"),
			want: []got{fields(2, "a@x", "Ana", "1", "145"), fields(3, "b@x", "", "2", "145")}},
		{name: "CRLF no final newline", in: "correo_name,nombre,document,id_cliente\r\na@x,Ana,1,145\r",
			want: []got{fields(2, "a@x", "Ana", "1", "145")}},
		{name: "lone CR is data", in: hdr + "a@x,A\rna,1,145\n",
			want: []got{fields(2, "a@x", "A\rna", "1", "145")}},
		{name: "BOM", in: "\xef\xbb\xbf" + hdr + "a@x,Ana,1,145\n",
			want: []got{fields(2, "a@x", "Ana", "1", "145")}},
		{name: "BOM with quoted header", in: "\xef\xbb\xbf\"correo_name\",nombre,document,id_cliente\na@x,Ana,1,145\n",
			want: []got{fields(2, "a@x", "Ana", "1", "145")}},
		{name: "header case and order", in: " ID_CLIENTE ,Document,NOMBRE,Correo_Name\n145,1,Ana,a@x\n",
			want: []got{fields(2, "a@x", "Ana", "1", "145")}},
		{name: "quoted newlines commas quotes", in: hdr + "a@x,\"Ana,\n\"\"la\"\"\r\nbis\",1,145\nb@x,Bob,2,145\n",
			want: []got{fields(2, "a@x", "Ana,\n\"la\"\r\nbis", "1", "145"), fields(5, "b@x", "Bob", "2", "145")}},
		{name: "empty quoted field is NULL", in: hdr + "a@x,\"\",,\"145\"\n",
			want: []got{fields(2, "a@x", "", "", "145")}},
		{name: "quoted last field at EOF", in: hdr + "a@x,Ana,1,\"145\"",
			want: []got{fields(2, "a@x", "Ana", "1", "145")}},
		{name: "blank lines skipped", in: hdr + "\na@x,Ana,1,145\n\r\n\nb@x,Bob,2,145\n\n",
			want: []got{fields(3, "a@x", "Ana", "1", "145"), fields(6, "b@x", "Bob", "2", "145")}},
		{name: "unknown columns warned once", in: "correo_name,extra,nombre,document,id_cliente,Otra\na@x,e,Ana,1,145,o\nb@x,e,Bob,2,145,o\n",
			want: []got{fields(2, "a@x", "Ana", "1", "145"), fields(3, "b@x", "Bob", "2", "145")},
			warn: []string{`file x.csv: unknown columns ignored: "extra", "Otra"`}},
		{name: "missing required column", in: "correo_name,nombre,id_cliente\na@x,Ana,145\n",
			err: `file x.csv: table ejecutivos: missing required column "document"`},
		{name: "empty file", in: "",
			err: `file x.csv: table ejecutivos: empty file: a header row is required`},
		{name: "duplicate header", in: "correo_name,nombre,document,id_cliente,Nombre\n",
			err: `file x.csv: table ejecutivos: duplicate column "Nombre"`},
		{name: "header name too long", in: "correo_name,nombre,document,id_cliente," + big + "\n",
			err: `file x.csv:1: column "field 5": header field exceeds 1024 bytes`, errLine: 1, errColumn: "field 5"},
		{name: "long ignored field clipped in Raw", in: "correo_name,nombre,document,id_cliente,zz\na@x,\"\xff\",1,145," + big + big + big + "\n",
			want: []got{fault(2, etl.ReasonInvalidUTF8, "nombre")},
			warn: []string{`file x.csv: unknown columns ignored: "zz"`},
			raw:  `{"correo_name":"a@x","nombre":"` + "\ufffd" + `","document":"1","id_cliente":"145","zz":"` + big[:rawClip] + `… (truncated)"}`},
		{name: "wrong field count", in: hdr + "a@x,Ana,1\nb@x,Bob,2,145,extra\nc@x,C,3,145\n",
			want: []got{fault(2, etl.ReasonWrongFieldCount, ""), fault(3, etl.ReasonWrongFieldCount, ""), fields(4, "c@x", "C", "3", "145")},
			raw:  `{"fields":["a@x","Ana","1"]}`},
		{name: "invalid utf8", in: hdr + "a@x,An\xffa,1,145\nb@x,Bob,2,145\n",
			want: []got{fault(2, etl.ReasonInvalidUTF8, "nombre"), fields(3, "b@x", "Bob", "2", "145")},
			raw:  `{"correo_name":"a@x","nombre":"An` + "\ufffd" + `a","document":"1","id_cliente":"145"}`},
		{name: "invalid utf8 in quoted field", in: hdr + "a@x,Ana,\"1\xc3\",145\n",
			want: []got{fault(2, etl.ReasonInvalidUTF8, "document")}},
		{name: "NUL byte", in: hdr + "a@x,Ana,1\x00,145\n",
			want: []got{fault(2, etl.ReasonInvalidUTF8, "document")},
			raw:  `{"correo_name":"a@x","nombre":"Ana","document":"1` + "\ufffd" + `","id_cliente":"145"}`},
		{name: "invalid utf8 in unknown column ignored", in: "correo_name,zz,nombre,document,id_cliente\na@x,\xff,Ana,1,145\n",
			want: []got{fields(2, "a@x", "Ana", "1", "145")},
			warn: []string{`file x.csv: unknown columns ignored: "zz"`}},
		{name: "field too large (fast path)", in: hdr + "a@x," + big + ",1,145\nb@x,Bob,2,145\n", opts: Options{MaxFieldBytes: 1024},
			want: []got{fault(2, etl.ReasonFieldTooLarge, "nombre"), fields(3, "b@x", "Bob", "2", "145")}},
		{name: "field too large (quoted)", in: hdr + "a@x,\"" + big + "\",1,145\nb@x,Bob,2,145\n", opts: Options{MaxFieldBytes: 1024},
			want: []got{fault(2, etl.ReasonFieldTooLarge, "nombre"), fields(3, "b@x", "Bob", "2", "145")},
			raw:  `{"correo_name":"a@x","nombre":"` + big[:rawClip] + `… (truncated)","document":"1","id_cliente":"145"}`},
		{name: "field at limit", in: hdr + "a@x," + big[:1024] + ",1,145\n", opts: Options{MaxFieldBytes: 1024},
			want: []got{fields(2, "a@x", big[:1024], "1", "145")}},
		{name: "unbalanced quote", in: hdr + "a@x,Ana,1,145\nb@x,\"Bob,2,145\nc@x,C,3,145\n",
			want: []got{fields(2, "a@x", "Ana", "1", "145")},
			err:  `file x.csv:3: column "nombre": unbalanced quote: the quoted field starting on line 3 is still open at end of file`, errLine: 3, errColumn: "nombre"},
		{name: "bare quote", in: hdr + "a@x,Ana,1,145\nb@x,Bo\"b,2,145\n",
			want: []got{fields(2, "a@x", "Ana", "1", "145")},
			err:  `file x.csv:3: column "nombre": bare quote in an unquoted field`, errLine: 3, errColumn: "nombre"},
		{name: "text after closing quote", in: hdr + "a@x,\"Bo\"b,2,145\n",
			err: `file x.csv:2: column "nombre": unexpected 'b' after the closing quote of a quoted field`, errLine: 2, errColumn: "nombre"},
		{name: "bare quote beyond header", in: hdr + "a@x,Ana,1,145,x\"\n",
			err: `file x.csv:2: column "field 5": bare quote in an unquoted field`, errLine: 2, errColumn: "field 5"},
		{name: "line numbers after multi-line field", in: hdr + "a@x,\"1\n2\n3\",1,145\nb@x,Bo\"b,2,145\n",
			want: []got{fields(2, "a@x", "1\n2\n3", "1", "145")},
			err:  `file x.csv:5: column "nombre": bare quote in an unquoted field`, errLine: 5, errColumn: "nombre"},
	}, readCSV)
}

func TestCSVReaderOptionalColumns(t *testing.T) {
	pg := table(t, "pagos") // cod_sistema is optional
	recs, warn, err := readCSV(t, pg, "nro_documento,archivo,motivo_rechazo,monto_cancelado,fecha_pago,creado_el\nD,A,,12.50,2025-06-03,2025-06-04 06:00:00\n", Options{})
	if err != nil || warn != nil {
		t.Fatal(err, warn)
	}
	want := []got{fields(2, "", "D", "A", "", "12.50", "2025-06-03", "2025-06-04 06:00:00")}
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("got %v want %v", recs, want)
	}
}

// TestCSVLongRecords crosses the read buffer with records and quoted fields longer
// than it, at every alignment the default buffer size gives.
func TestCSVLongRecords(t *testing.T) {
	ej := table(t, "ejecutivos")
	var b strings.Builder
	b.WriteString("correo_name,nombre,document,id_cliente\r\n")
	var want []got
	line := int64(2)
	for i := 0; i < 40; i++ {
		name := strings.Repeat(string(rune('a'+i%26)), 1000*i+i)
		if i%3 == 0 {
			quoted := strings.Repeat("q\"\"\r\n,", i*2000)
			fmt.Fprintf(&b, "m%d@x,\"%s\",%d,145\r\n", i, quoted, i)
			want = append(want, fields(line, fmt.Sprintf("m%d@x", i), strings.ReplaceAll(quoted, `""`, `"`), fmt.Sprint(i), "145"))
			line += int64(i*2000) + 1
			continue
		}
		fmt.Fprintf(&b, "m%d@x,%s,%d,145\r\n", i, name, i)
		want = append(want, fields(line, fmt.Sprintf("m%d@x", i), name, fmt.Sprint(i), "145"))
		line++
	}
	recs, _, err := readCSV(t, ej, b.String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("records differ: got %d, want %d", len(recs), len(want))
	}
	// The same through a reader that returns one byte at a time.
	r := NewCSVReader(context.Background(), io.LimitReader(&oneByteReader{s: b.String()}, 1<<40), "x.csv", ej, Options{})
	recs2, err := drain(t, r, ej, "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs2, want) {
		t.Fatal("records differ when read one byte at a time")
	}
}

type oneByteReader struct {
	s string
	i int
}

func (o *oneByteReader) Read(p []byte) (int, error) {
	if o.i >= len(o.s) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.s[o.i]
	o.i++
	return 1, nil
}

func TestNDJSONReader(t *testing.T) {
	mb := table(t, "homologacion_voicebot")
	// bot_management R, bot_sub_management R, bot_compromiso R, n1_homologado,
	// n2_homologado, n3_homologado, contactabilidad_homologada R, es_pdp_homologado R,
	// peso_homologado
	row := func(line int64, f ...string) got {
		for len(f) < 9 {
			f = append(f, "")
		}
		return fields(line, f...)
	}
	runReaderCases(t, mb, []readerCase{
		{name: "strings numbers bools null missing", in: `{"bot_management":"A","bot_sub_management":"B","bot_compromiso":null,"es_pdp_homologado":1,"peso_homologado":12.50}` + "\n" +
			`{"BOT_MANAGEMENT":"x","es_pdp_homologado":true,"peso_homologado":1e3,"n1_homologado":false}` + "\n",
			want: []got{row(1, "A", "B", "", "", "", "", "", "1", "12.50"), row(2, "x", "", "", "false", "", "", "", "true", "1e3")}},
		{name: "escapes", in: `{"bot_management":"a\"b\\c\/d\n\u00e9\ud83d\ude00\ud800x"}` + "\n",
			want: []got{row(1, "a\"b\\c/d\né😀\ufffdx")}},
		{name: "blank lines and whitespace", in: "\n  \r\n" + ` { "bot_management" : "A" , "peso_homologado" : -0.5 } ` + "\r\n\n\t\n" + `{}`,
			want: []got{row(3, "A", "", "", "", "", "", "", "", "-0.5"), row(6)}},
		{name: "no final newline", in: `{"bot_management":"A"}`, want: []got{row(1, "A")}},
		{name: "unknown keys warned once", in: `{"bot_management":"A","zz":1,"yy":{"a":[1,"}"]}}` + "\n" + `{"zz":2,"xx":null}` + "\n",
			want: []got{row(1, "A"), row(2)},
			warn: []string{`file x.ndjson: unknown columns ignored: "zz", "yy", "xx"`}},
		{name: "nested value", in: `{"bot_management":{"a":1},"bot_compromiso":"c"}` + "\n" + `{"bot_management":[1,2]}` + "\n" + `{"bot_management":"ok"}` + "\n",
			want: []got{fault(1, etl.ReasonInvalidValue, "bot_management"), fault(2, etl.ReasonInvalidValue, "bot_management"), row(3, "ok")},
			raw:  `{"bot_management":"{\"a\":1}","bot_compromiso":"c"}`},
		{name: "invalid utf8", in: `{"bot_management":"a` + "\xff" + `","peso_homologado":3}` + "\n" + `{"bot_management":"ok"}`,
			want: []got{fault(1, etl.ReasonInvalidUTF8, "bot_management"), row(2, "ok")},
			raw:  `{"bot_management":"a` + "\ufffd" + `","peso_homologado":3}`},
		{name: "NUL escape", in: `{"bot_management":"a\u0000"}`,
			want: []got{fault(1, etl.ReasonInvalidUTF8, "bot_management")},
			raw:  `{"bot_management":"a` + "\ufffd" + `"}`},
		{name: "field too large", opts: Options{MaxFieldBytes: 16}, in: `{"bot_management":"` + strings.Repeat("y", 40) + `"}` + "\n" + `{"peso_homologado":` + strings.Repeat("9", 40) + `}` + "\n" + `{"bot_management":"ok"}`,
			want: []got{fault(1, etl.ReasonFieldTooLarge, "bot_management"), fault(2, etl.ReasonFieldTooLarge, "peso_homologado"), row(3, "ok")}},
		{name: "duplicate key", in: `{"bot_management":"A","Bot_Management":"B"}` + "\n" + `{"bot_management":"ok","zz":1,"zz":2}`,
			want: []got{fault(1, etl.ReasonInvalidValue, "bot_management"), row(2, "ok")},
			warn: []string{`file x.ndjson: unknown columns ignored: "zz"`},
			raw:  `{"bot_management":"A","Bot_Management":"B"}`},
		{name: "deep nesting", in: `{"zz":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
			want: []got{row(1)}, warn: []string{`file x.ndjson: unknown columns ignored: "zz"`}},
		{name: "nesting beyond encoding/json", in: `{"zz":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
			want: []got{fault(1, etl.ReasonInvalidJSON, "")}},
		{name: "bad nested value", in: `{"zz":{"a":[1,}]}}`,
			want: []got{fault(1, etl.ReasonInvalidJSON, "")}, raw: `{"line":"{\"zz\":{\"a\":[1,}]}}"}`},
		{name: "not an object", in: `{"bot_management":"A"}` + "\n" + `["A"]` + "\n",
			want: []got{row(1, "A"), fault(2, etl.ReasonInvalidJSON, "")}},
		{name: "object over two lines", in: `{"bot_management":"A",` + "\n" + `"bot_compromiso":"B"}` + "\n",
			want: []got{fault(1, etl.ReasonInvalidJSON, ""), fault(2, etl.ReasonInvalidJSON, "")}},
		{name: "truncated object", in: `{"bot_management":"A"`,
			err: `file x.ndjson:1: not NDJSON: the JSON object is not closed at end of file`, errLine: 1},
		{name: "two objects on a line", in: `{"bot_management":"A"} {"bot_management":"B"}`,
			want: []got{fault(1, etl.ReasonInvalidJSON, "")}},
		{name: "bad number", in: `{"peso_homologado":01}`,
			want: []got{fault(1, etl.ReasonInvalidJSON, "")}},
		{name: "bad literal", in: "\n" + `{"peso_homologado":nul}`,
			want: []got{fault(2, etl.ReasonInvalidJSON, "")}},
		{name: "trailing comma", in: `{"peso_homologado":1,}`,
			want: []got{fault(1, etl.ReasonInvalidJSON, "")}},
		{name: "raw control char in string", in: "{\"bot_management\":\"a\tb\"}",
			want: []got{fault(1, etl.ReasonInvalidJSON, "")}},
		// The line limit is 9 columns × 16 + 64 KiB = 65680 bytes; a blank line is never
		// too long, and a longer one is skipped whatever it holds.
		{name: "line too long", opts: Options{MaxFieldBytes: 16},
			in: `{"zz":"` + strings.Repeat("y", 65680-9) + `"}` + "\n" + strings.Repeat(" ", 70000) + "\n" +
				`{"zz":"` + strings.Repeat("y", 65680-8) + `"}` + "\n" + `{"bot_management":[` + strings.Repeat("{", 70000) + "\n" + `{"bot_management":"ok"}`,
			want: []got{row(1), fault(3, etl.ReasonFieldTooLarge, ""), fault(4, etl.ReasonFieldTooLarge, ""), row(5, "ok")},
			warn: []string{`file x.ndjson: unknown columns ignored: "zz"`},
			raw:  `{"line":"{\"zz\":\"` + strings.Repeat("y", rawClip-7) + `… (truncated)"}`, rawAt: 1},
	}, readNDJSON)
}

// A line that is not one JSON object is a row fault saying why, like a CSV line with
// the wrong number of fields, and the lines after it are read.
func TestNDJSONInvalidLineIsARowFault(t *testing.T) {
	hv := table(t, "homologacion_voicebot")
	in := `{"bot_management":"A"}` + "\n" + `["A"]` + "\n" + `{"peso_homologado":01}` + "\n" +
		`{"bot_management":"A"} {"b":1}` + "\n" + `{"bot_management":"B"}` + "\n"
	r := NewNDJSONReader(context.Background(), strings.NewReader(in), "x.ndjson", hv, Options{})
	var details []string
	var rec etl.Record
	for {
		ok, err := r.Next(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if rec.Fault != nil {
			details = append(details, fmt.Sprintf("%d %s: %s", rec.Line, rec.Fault.Reason, rec.Fault.Detail))
		}
	}
	want := []string{
		"2 invalid_json: the line is not a JSON object",
		"3 invalid_json: invalid character '1' after object key:value pair (byte 21 of the line)",
		"4 invalid_json: unexpected '{' after the JSON object",
	}
	if !reflect.DeepEqual(details, want) || rec.Line != 5 {
		t.Fatalf("faults %q (last line %d), want %q and line 5 read", details, rec.Line, want)
	}
}

// TestNDJSONMatchesEncodingJSON checks values against encoding/json on valid input.
func TestNDJSONMatchesEncodingJSON(t *testing.T) {
	hv := table(t, "homologacion_voicebot")
	lines := []string{
		`{"bot_management":"\u00e1\u0041\ud834\udd1e","n1_homologado":"\ud834","n2_homologado":"\udd1e\u0041","peso_homologado":-12.5e-3}`,
		`{"bot_management":"é ñ 😀 \\ \" \/ \b\f\n\r\t","n1_homologado":"","peso_homologado":0}`,
	}
	for i, l := range lines {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			recs, _, err := readNDJSON(t, hv, l, Options{})
			if err != nil || len(recs) != 1 || recs[0].Fields == nil {
				t.Fatalf("%v %v", recs, err)
			}
			checkAgainstJSON(t, hv, l, recs[0].Fields)
		})
	}
}

func checkAgainstJSON(t testing.TB, tb *etl.Table, line string, got []string) {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	want := make([]string, len(tb.Columns))
	for k, v := range m {
		i := -1
		for c, col := range tb.Columns {
			if strings.EqualFold(col.Name, k) {
				i = c
			}
		}
		if i < 0 {
			continue
		}
		switch v := v.(type) {
		case string:
			want[i] = v
		case json.Number:
			want[i] = v.String()
		case bool:
			want[i] = fmt.Sprint(v)
		case nil:
			want[i] = ""
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("line %q:\n got %q\nwant %q", line, got, want)
	}
}

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

func TestOpenFileGzip(t *testing.T) {
	ej := table(t, "ejecutivos")
	dir := t.TempDir()
	var body strings.Builder
	body.WriteString("correo_name,nombre,document,id_cliente\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&body, "m%d@x,Name %d,%d,145\n", i, i, i)
	}
	full := gz(t, body.String())
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("whole", func(t *testing.T) {
		p := write("ok.csv.gz", full)
		r, err := openFile(context.Background(), p, -1, ej, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		recs, err := drain(t, r, ej, p)
		if err != nil || len(recs) != 20000 || recs[19999].Line != 20001 {
			t.Fatalf("%d records, err %v", len(recs), err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		p := write("trunc.csv.gz", full[:len(full)/2])
		r, err := openFile(context.Background(), p, -1, ej, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		recs, err := drain(t, r, ej, p)
		var se *etl.StructuralError
		if !errors.As(err, &se) || se.File != p || se.Line < 2 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v, want a structural error naming %s and a line", err, p)
		}
		if int64(len(recs)) != se.Line-2 {
			t.Fatalf("%d records before the error at line %d", len(recs), se.Line)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("gzip stream truncated or corrupt (last complete line %d)", se.Line-1)) {
			t.Fatalf("message %q", err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		bad := bytes.Clone(full)
		bad[len(bad)/2] ^= 0xff
		bad[len(bad)/2+1] ^= 0xff
		p := write("corrupt.csv.gz", bad)
		r, err := openFile(context.Background(), p, -1, ej, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, err = drain(t, r, ej, p)
		if !errors.Is(err, etl.ErrStructural) || !strings.Contains(err.Error(), "file "+p+":") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("not gzip", func(t *testing.T) {
		p := write("plain.csv.gz", []byte(body.String()))
		_, err := openFile(context.Background(), p, -1, ej, Options{})
		if !errors.Is(err, etl.ErrStructural) || !strings.Contains(err.Error(), "file "+p+": not a gzip file") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		p := filepath.Join(dir, "nope.csv")
		_, err := openFile(context.Background(), p, -1, ej, Options{})
		if !errors.Is(err, etl.ErrStructural) || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unreadable file", func(t *testing.T) {
		if os.Geteuid() == 0 {
			// root reads anything: a directory with a landing name is unreadable as a file.
			p := filepath.Join(dir, "adir.csv")
			os.Mkdir(p, 0o755)
			r, err := openFile(context.Background(), p, -1, ej, Options{})
			if err == nil {
				_, err = drain(t, r, ej, p)
				r.Close()
			}
			if !errors.Is(err, etl.ErrStructural) || !strings.Contains(err.Error(), "file "+p) {
				t.Fatalf("err = %v", err)
			}
			return
		}
		p := write("locked.csv", []byte(body.String()))
		os.Chmod(p, 0)
		_, err := openFile(context.Background(), p, -1, ej, Options{})
		if !errors.Is(err, etl.ErrStructural) || !errors.Is(err, os.ErrPermission) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		p := write("big.csv", []byte(strings.Repeat(body.String(), 3)))
		ctx, cancel := context.WithCancel(context.Background())
		r, err := openFile(ctx, p, -1, ej, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		cancel()
		var rec etl.Record
		for {
			ok, err := r.Next(&rec)
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v", err)
				}
				break
			}
			if !ok {
				t.Fatal("read to the end despite cancellation")
			}
		}
	})
}

// TestHugeField reads a 10 MB field with the default 1 MiB limit: the record is a
// field_too_large fault, the next rows load, and memory stays bounded.
func TestHugeField(t *testing.T) {
	ej := table(t, "ejecutivos")
	dir := t.TempDir()
	const size = 10 << 20
	huge := bytes.Repeat([]byte("z"), size)
	var csvBody bytes.Buffer
	csvBody.WriteString("correo_name,nombre,document,id_cliente\n")
	csvBody.WriteString("a@x,Ana,1,145\n")
	csvBody.WriteString("b@x,")
	csvBody.Write(huge)
	csvBody.WriteString(",2,145\nc@x,\"")
	csvBody.Write(huge)
	csvBody.WriteString("\",3,145\nd@x,Dan,4,145\n")
	var nd bytes.Buffer
	nd.WriteString(`{"correo_name":"a@x"}` + "\n" + `{"correo_name":"b@x","nombre":"`)
	nd.Write(huge)
	nd.WriteString(`"}` + "\n" + `{"correo_name":"d@x"}` + "\n")

	for _, tc := range []struct {
		name string
		body []byte
		want []got
	}{
		{"huge.csv", csvBody.Bytes(), []got{fields(2, "a@x", "Ana", "1", "145"), fault(3, etl.ReasonFieldTooLarge, "nombre"),
			fault(4, etl.ReasonFieldTooLarge, "nombre"), fields(5, "d@x", "Dan", "4", "145")}},
		{"huge.csv.gz", gz(t, csvBody.String()), []got{fields(2, "a@x", "Ana", "1", "145"), fault(3, etl.ReasonFieldTooLarge, "nombre"),
			fault(4, etl.ReasonFieldTooLarge, "nombre"), fields(5, "d@x", "Dan", "4", "145")}},
		// The NDJSON line is over the line limit (4 columns × 1 MiB + 64 KiB): a fault of
		// the line, no column named.
		{"huge.ndjson", nd.Bytes(), []got{fields(1, "a@x", "", "", ""), fault(2, etl.ReasonFieldTooLarge, ""), fields(3, "d@x", "", "", "")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, tc.body, 0o644); err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			r, err := openFile(context.Background(), p, -1, ej, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			recs, err := drain(t, r, ej, p)
			if err != nil {
				t.Fatal(err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			for i := range recs {
				if len(recs[i].Raw) > 1024 {
					t.Fatalf("Raw of %d bytes kept", len(recs[i].Raw))
				}
				recs[i].Raw = ""
			}
			if !reflect.DeepEqual(recs, tc.want) {
				t.Fatalf("got %v want %v", recs, tc.want)
			}
			// Everything allocated while reading: buffers and at most ~MaxFieldBytes of
			// a field at a time (append growth doubles it), far below the 10 MB field.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 6<<20 {
				t.Fatalf("reading allocated %d bytes", alloc)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	pg := table(t, "pagos")
	dir := t.TempDir()
	mk := func(rel string) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{
		"pagos.ndjson", "pagos.csv.gz", "pagos.csv", "pagos.json", "pagos.CSV", "pagos_old.csv",
		"pagos/PAGOS_2025-06-04_1.csv", "pagos/PAGOS_2025-06-03_2.csv.gz", "pagos/PAGOS_2025-06-03_1.ndjson",
		"pagos/readme.txt", "pagos/.hidden.csv", "pagos/nested/x.csv", "pagos/.csv",
		"trandeuda.csv", "x/pagos.csv",
	} {
		mk(f)
	}
	os.Mkdir(filepath.Join(dir, "pagos", "dir.csv"), 0o755)
	got, err := Discover(dir, pg)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, p := range got {
		r, _ := filepath.Rel(dir, p)
		rel = append(rel, r)
	}
	want := []string{"pagos.csv", "pagos.csv.gz", "pagos.ndjson",
		"pagos/PAGOS_2025-06-03_1.ndjson", "pagos/PAGOS_2025-06-03_2.csv.gz", "pagos/PAGOS_2025-06-04_1.csv"}
	if !reflect.DeepEqual(rel, want) {
		t.Fatalf("Discover = %q\nwant %q", rel, want)
	}
	t.Run("none", func(t *testing.T) {
		got, err := Discover(dir, table(t, "calendario"))
		if err != nil || len(got) != 0 {
			t.Fatalf("%v %v", got, err)
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		if _, err := Discover(filepath.Join(dir, "nope"), pg); err == nil {
			t.Fatal("no error for a missing directory")
		}
	})
}

func TestSource(t *testing.T) {
	pg := table(t, "pagos")
	dir := t.TempDir()
	body := "cod_sistema,nro_documento,archivo,motivo_rechazo,monto_cancelado,fecha_pago,creado_el\nS,D,A,,12.50,2025-06-03,2025-06-04T11:00:00Z\n"
	os.WriteFile(filepath.Join(dir, "pagos.csv"), []byte(body), 0o644)
	os.Mkdir(filepath.Join(dir, "pagos"), 0o755)
	os.WriteFile(filepath.Join(dir, "pagos", "b.ndjson"), []byte(`{"nro_documento":"D2","monto_cancelado":7}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "pagos", "a.csv.gz"), gz(t, body), 0o644)

	s := New(dir, Options{}, nil)
	if s.Kind() != "dir" {
		t.Fatal(s.Kind())
	}
	ctx := context.Background()
	parts, err := s.Parts(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	// Listed unhashed; Hash digests a part, and reading it gives the same digest.
	if len(parts) != 3 || parts[0].Name != filepath.Join(dir, "pagos.csv") || parts[0].Size != int64(len(body)) ||
		parts[0].SHA256 != "" {
		t.Fatalf("parts %+v", parts)
	}
	if h, err := s.Hash(ctx, parts[0]); err != nil || h.SHA256 != sha(body) || h.Size != parts[0].Size {
		t.Fatalf("Hash = %+v, %v; want sha %s", h, err, sha(body))
	}
	want := [][]string{
		{"S", "D", "A", "", "12.50", "2025-06-03", "2025-06-04T11:00:00Z"},
		{"S", "D", "A", "", "12.50", "2025-06-03", "2025-06-04T11:00:00Z"},
		{"", "D2", "", "", "7", "", ""},
	}
	for i, p := range parts {
		r, err := s.Open(ctx, pg, p, etl.Window{})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := drain(t, r, pg, p.Name)
		if err != nil || len(recs) != 1 || !reflect.DeepEqual(recs[0].Fields, want[i]) {
			t.Fatalf("part %s: %v %v", p.Name, recs, err)
		}
		hashed, err := s.Hash(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if sum, ok := r.(etl.Digester).SHA256(); !ok || sum != hashed.SHA256 {
			t.Errorf("part %s: read digest %q %v, want %s", p.Name, sum, ok, hashed.SHA256)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("file changed after Parts", func(t *testing.T) {
		f, _ := os.OpenFile(parts[0].Name, os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("S,E,A,,1.00,2025-06-03,2025-06-04T11:00:00Z\n")
		f.Close()
		r, err := s.Open(ctx, pg, parts[0], etl.Window{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, err = drain(t, r, pg, parts[0].Name)
		if !errors.Is(err, etl.ErrStructural) || !errors.Is(err, errFileChanged) {
			t.Fatalf("err = %v", err)
		}
	})
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestRoundTrip(t *testing.T) {
	reg := etl.MustRegistry()
	for _, tb := range reg.Tables() {
		n := len(tb.Columns)
		values := []string{"plain", "with,comma", `with "quotes"`, "multi\nline", "cr\r\nlf", " lead", "trail ",
			"ñandú 😀", "", "12.50", "1e3", "true", `\back\slash`, "tab\there", "\"", ",", "\r", "x\ry"}
		var rows [][]string
		var nulls [][]bool
		for i := 0; i < 3*len(values); i++ {
			r := make([]string, n)
			nl := make([]bool, n)
			for c := range r {
				r[c] = values[(i+c)%len(values)]
				nl[c] = (i*7+c)%11 == 0
				if nl[c] {
					r[c] = "ignored when null"
				}
			}
			rows = append(rows, r)
			nulls = append(nulls, nl)
		}
		for _, f := range []Format{FormatCSV, FormatCSVGz, FormatNDJSON} {
			t.Run(tb.Name+"/"+f.Ext(), func(t *testing.T) {
				dir := t.TempDir()
				fw, err := CreateFile(dir, tb, f)
				if err != nil {
					t.Fatal(err)
				}
				for i := range rows {
					if err := fw.Write(rows[i], nulls[i]); err != nil {
						t.Fatal(err)
					}
				}
				if err := fw.Close(); err != nil {
					t.Fatal(err)
				}
				parts, err := New(dir, Options{}, nil).Parts(context.Background(), tb)
				if err != nil || len(parts) != 1 {
					t.Fatalf("%v %v", parts, err)
				}
				r, err := New(dir, Options{}, nil).Open(context.Background(), tb, parts[0], etl.Window{})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				recs, err := drain(t, r, tb, fw.Path())
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != len(rows) {
					t.Fatalf("%d records, want %d", len(recs), len(rows))
				}
				for i, rec := range recs {
					for c := range rows[i] {
						want := rows[i][c]
						if nulls[i][c] {
							want = ""
						}
						if rec.Fields[c] != want {
							t.Fatalf("row %d col %s: %q, want %q", i, tb.Columns[c].Name, rec.Fields[c], want)
						}
					}
				}
				if w := r.Warnings(); len(w) != 0 {
					t.Fatalf("warnings %v", w)
				}
			})
		}
	}
}

// TestFieldsLifetime checks the documented contract: strings stay valid after later
// calls to Next even when the Record is reused.
func TestFieldsLifetime(t *testing.T) {
	ej := table(t, "ejecutivos")
	var b strings.Builder
	b.WriteString("correo_name,nombre,document,id_cliente\n")
	for i := 0; i < 50000; i++ {
		fmt.Fprintf(&b, "m%d@x,\"N,%d\",%d,145\n", i, i, i)
	}
	r := NewCSVReader(context.Background(), strings.NewReader(b.String()), "x.csv", ej, Options{})
	var rec etl.Record
	var kept []string
	for {
		ok, err := r.Next(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		kept = append(kept, rec.Fields[0], rec.Fields[1])
	}
	for i := 0; i < 50000; i++ {
		if kept[2*i] != fmt.Sprintf("m%d@x", i) || kept[2*i+1] != fmt.Sprintf("N,%d", i) {
			t.Fatalf("record %d changed: %q %q", i, kept[2*i], kept[2*i+1])
		}
	}
}

// TestSplit checks the word-at-a-time comma split against a plain loop.
func TestSplit(t *testing.T) {
	ej := table(t, "ejecutivos")
	alphabet := []byte(",-+.a\x00\xff")
	seed := uint64(1)
	for n := 0; n < 100000; n++ {
		line := make([]byte, n%70)
		for i := range line {
			seed = seed*6364136223846793005 + 1442695040888963407
			line[i] = alphabet[(seed>>33)%uint64(len(alphabet))]
		}
		var want []span
		start := 0
		for i, c := range line {
			if c == ',' {
				want = append(want, span{start, i})
				start = i + 1
			}
		}
		want = append(want, span{start, len(line)})
		r := &CSVReader{t: ej, max: DefaultMaxFieldBytes, header: make([]string, 4)}
		r.split(line)
		if r.nfields != len(want) {
			t.Fatalf("%q: %d fields, want %d", line, r.nfields, len(want))
		}
		if len(want) > 4+extraFields {
			want = want[:4+extraFields]
		}
		if !reflect.DeepEqual(r.spans, want) {
			t.Fatalf("%q: spans %v, want %v", line, r.spans, want)
		}
	}
}

// A landing name that is a symbolic link to nothing is skipped with a warning naming
// it: a delivery that did not arrive is not silently the same as no delivery.
func TestDanglingSymlinkWarned(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "gone.csv"), filepath.Join(dir, "pagos.csv")); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	parts, err := New(dir, Options{}, slog.New(slog.NewTextHandler(&logs, nil))).Parts(t.Context(), table(t, "pagos"))
	if err != nil || len(parts) != 0 {
		t.Fatalf("parts %v, %v; want none", parts, err)
	}
	if !strings.Contains(logs.String(), "symbolic link to a missing file") || !strings.Contains(logs.String(), filepath.Join(dir, "pagos.csv")) {
		t.Fatalf("no warning naming the link: %q", logs.String())
	}
}
