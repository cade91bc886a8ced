package files

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// nulEscape finds a \u0000 escape in valid JSON, which jsonb rejects: one whose
// backslash is not itself escaped (`\\u0000` is a backslash and "u0000").
var nulEscape = regexp.MustCompile(`(?:^|[^\\])(?:\\\\)*\\u0000`)

// checkRecords drains r and checks the invariants every reader keeps whatever its
// input: no panic, each record has either Fields of the table's width or a Fault with
// a jsonb-safe Raw, lines never go backwards, errors are structural (or I/O).
func checkRecords(t *testing.T, r etl.RecordReader, tb *etl.Table, inputLen int) ([]etl.Record, error) {
	var out []etl.Record
	var last int64
	for n := 0; ; n++ {
		if n > inputLen+1 {
			t.Fatalf("more records (%d) than input bytes", n)
		}
		var rec etl.Record
		ok, err := r.Next(&rec)
		if err != nil {
			if ok {
				t.Fatal("Next returned true and an error")
			}
			if !errors.Is(err, etl.ErrStructural) {
				t.Fatalf("error %v is not structural", err)
			}
			var se *etl.StructuralError
			if !errors.As(err, &se) || se.File == "" {
				t.Fatalf("error %v names no file", err)
			}
			return out, err
		}
		if !ok {
			return out, nil
		}
		if rec.Line < 1 || rec.Line < last {
			t.Fatalf("record line %d after %d", rec.Line, last)
		}
		last = rec.Line
		if rec.Fault != nil {
			if rec.Fault.Reason == "" || len(rec.Fields) != 0 {
				t.Fatalf("fault %+v with %d fields", rec.Fault, len(rec.Fields))
			}
			if !json.Valid(rec.Raw) || !utf8.Valid(rec.Raw) || nulEscape.Match(rec.Raw) {
				t.Fatalf("Raw not jsonb-safe: %q", rec.Raw)
			}
		} else if len(rec.Fields) != len(tb.Columns) {
			t.Fatalf("%d fields, want %d", len(rec.Fields), len(tb.Columns))
		}
		out = append(out, rec)
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"correo_name,nombre,document,id_cliente\na@x,Ana,1,145\n",
		"\xef\xbb\xbfCORREO_NAME,nombre,document,id_cliente,x\r\n\"a\"\"@x\",\"A\nna\",,145,\r\n\r\n",
		"correo_name,nombre,document,id_cliente\na,b\nc,\"d\ne\",f,g,h\n\"unterminated",
		"correo_name,nombre,document,id_cliente\na,b\"c,d,e\n",
		"correo_name,nombre,document,id_cliente\na,\"b\"c,d,e\n",
		"correo_name,nombre,document,id_cliente\na,\xff\x00,d,e\n",
		"correo_name,nombre,document,id_cliente\na,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,c,d\r",
		"correo_name,correo_name\n",
		"nombre\n",
		"",
	} {
		f.Add([]byte(s), uint8(0), uint8(0))
		f.Add([]byte(s), uint8(8), uint8(3))
	}
	ej := table(f, "ejecutivos")
	f.Fuzz(func(t *testing.T, data []byte, max, buf uint8) {
		opts := Options{MaxFieldBytes: int(max)}
		r := NewCSVReader(context.Background(), bytes.NewReader(data), "f.csv", ej, opts)
		recs, err := checkRecords(t, r, ej, len(data))
		if max != 0 {
			for _, rec := range recs {
				for _, v := range rec.Fields {
					if len(v) > int(max) {
						t.Fatalf("field of %d bytes passed a %d limit", len(v), max)
					}
				}
			}
		}
		// One byte at a time through a small buffer gives the same result.
		small := opts
		small.bufSize = 16 + int(buf%64)
		r2 := NewCSVReader(context.Background(), &oneByteReader{s: string(data)}, "f.csv", ej, small)
		recs2, err2 := checkRecords(t, r2, ej, len(data))
		if !reflect.DeepEqual(recs, recs2) || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("reading one byte at a time differs:\n%v %v\n%v %v", recs, err, recs2, err2)
		}
		compareEncodingCSV(t, data)
	})
}

// compareEncodingCSV checks the record scanner against encoding/csv on input without
// CR (encoding/csv turns CRLF inside quoted fields into LF; the reader keeps bytes).
func compareEncodingCSV(t *testing.T, data []byte) {
	if bytes.IndexByte(data, '\r') >= 0 {
		return
	}
	want, werr := func() ([][]string, error) {
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		var out [][]string
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			out = append(out, rec)
		}
	}()
	r := NewCSVReader(context.Background(), bytes.NewReader(data), "f.csv", table(t, "ejecutivos"), Options{MaxFieldBytes: 1 << 30, bufSize: 64})
	// Scan every line as a data record whose fields all load: no header limits.
	r.header = make([]string, len(data)+1)
	r.colOf = make([]int, len(data)+1)
	var got [][]string
	var gerr error
	for {
		b, ok, err := r.scan()
		if err != nil {
			gerr = err
			break
		}
		if !ok {
			break
		}
		rec := make([]string, len(r.spans))
		for i, sp := range r.spans {
			rec[i] = string(b[sp.start:sp.end])
		}
		got = append(got, rec)
	}
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("encoding/csv error %v, reader error %v\ninput %q", werr, gerr, data)
	}
	if len(got) != len(want) && werr == nil {
		t.Fatalf("records differ from encoding/csv:\n got %q\nwant %q", got, want)
	}
	if werr == nil && !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("records differ from encoding/csv:\n got %q\nwant %q", got, want)
	}
}

func FuzzReadNDJSON(f *testing.F) {
	for _, s := range []string{
		`{"bot_management":"A","bot_sub_management":"B","bot_compromiso":null,"es_pdp_homologado":1,"peso_homologado":12.50}` + "\n",
		`{"BOT_MANAGEMENT":"x\u00e9\ud83d\ude00","es_pdp_homologado":true,"peso_homologado":-1e3,"n1_homologado":false}` + "\r\n\n",
		`{"bot_management":{"a":[1,"}"]},"zz":[]}` + "\n" + `{}`,
		`{"bot_management":"a\u0000","bot_management":"b"}`,
		`{"peso_homologado":01}`,
		`["x"]`,
		"{\"bot_management\":\"\xff\"}\n{\"a\":\n1}",
		`{"bot_management":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"} {}`,
		"\xef\xbb\xbf{}",
		"{\"bot_management\":\"" + strings.Repeat("x", 100) + "\"}\n" + strings.Repeat(" ", 100) + "\n{\"zz\":[" + strings.Repeat("[", 100) + "\n{}",
	} {
		f.Add([]byte(s), uint8(0), uint8(0))
		f.Add([]byte(s), uint8(8), uint8(3))
		f.Add([]byte(s), uint8(8), uint8(128+40))
	}
	hv := table(f, "homologacion_voicebot")
	f.Fuzz(func(t *testing.T, data []byte, max, buf uint8) {
		opts := Options{MaxFieldBytes: int(max)}
		small := opts
		small.bufSize = 16 + int(buf%64)
		r := NewNDJSONReader(context.Background(), bytes.NewReader(data), "f.ndjson", hv, opts)
		r2 := NewNDJSONReader(context.Background(), &oneByteReader{s: string(data)}, "f.ndjson", hv, small)
		// The real line limit (64 KiB and more) is beyond most fuzz inputs: with buf's
		// high bit set, a limit of 0-127 bytes lets fuzzing reach it.
		if buf >= 128 {
			r.maxLine = int64(buf - 128)
			r2.maxLine = r.maxLine
		}
		recs, err := checkRecords(t, r, hv, len(data))
		recs2, err2 := checkRecords(t, r2, hv, len(data))
		if !reflect.DeepEqual(recs, recs2) || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("reading one byte at a time differs:\n%v %v\n%v %v", recs, err, recs2, err2)
		}
		compareEncodingJSON(t, hv, data, opts.maxField(), r.maxLine, recs, err)
	})
}

// compareEncodingJSON predicts each line's outcome with encoding/json and checks it; a
// non-blank line longer than maxLine must be a field_too_large fault of no column.
func compareEncodingJSON(t *testing.T, tb *etl.Table, data []byte, max int, maxLine int64, recs []etl.Record, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lines := bytes.Split(data, []byte("\n"))
	ri := 0
	for i, line := range lines {
		lineNo := int64(i + 1)
		if len(bytes.Trim(line, " \t\r")) == 0 {
			continue
		}
		var rec *etl.Record
		if ri < len(recs) && recs[ri].Line == lineNo {
			rec = &recs[ri]
			ri++
		}
		var se *etl.StructuralError
		structuralHere := rec == nil && errors.As(err, &se) && se.Line == lineNo
		if rec == nil && !structuralHere {
			t.Fatalf("line %d %q: no record and no structural error (err %v)", lineNo, line, err)
		}
		if int64(len(line)) > maxLine {
			if rec == nil || rec.Fault == nil || rec.Fault.Reason != etl.ReasonFieldTooLarge || rec.Fault.Column != "" {
				t.Fatalf("line %d of %d bytes, over the %d limit, gave %+v (err %v)", lineNo, len(line), maxLine, rec, err)
			}
			continue
		}
		trimmed := bytes.Trim(line, " \t\r")
		if !json.Valid(line) || trimmed[0] != '{' {
			if rec != nil && (rec.Fault == nil || rec.Fault.Reason != etl.ReasonInvalidJSON) {
				t.Fatalf("line %d %q is not a JSON object but gave %+v", lineNo, line, rec)
			}
			if structuralHere {
				return
			}
			continue
		}
		want, wantFault := expectNDJSON(t, tb, line, max)
		switch {
		case structuralHere:
			t.Fatalf("line %d %q is valid JSON but gave %v", lineNo, line, err)
		case !utf8.Valid(line):
			// encoding/json replaces invalid UTF-8; the reader reports it.
		case wantFault != (rec.Fault != nil):
			t.Fatalf("line %d %q: fault %v, want fault %v", lineNo, line, rec.Fault, wantFault)
		case !wantFault && !reflect.DeepEqual(rec.Fields, want):
			t.Fatalf("line %d %q:\n got %q\nwant %q", lineNo, line, rec.Fields, want)
		}
	}
	if ri != len(recs) {
		t.Fatalf("%d records not matched to lines", len(recs)-ri)
	}
}

// expectNDJSON reads a valid JSON object line with encoding/json's tokenizer: keys in
// order; a nested, oversized, repeated or NUL-holding loaded value means a fault.
func expectNDJSON(t *testing.T, tb *etl.Table, line []byte, max int) ([]string, bool) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if _, err := d.Token(); err != nil { // {
		t.Fatal(err)
	}
	want := make([]string, len(tb.Columns))
	fault := false
	last := map[int]string{}
	for d.More() {
		kt, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		col := -1
		for c, cc := range tb.Columns {
			if strings.EqualFold(cc.Name, kt.(string)) && len(kt.(string)) == len(cc.Name) {
				col = c
			}
		}
		vt, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v string
		sized := true // booleans are never field_too_large
		switch x := vt.(type) {
		case json.Delim:
			for depth := 1; depth > 0; {
				tok, err := d.Token()
				if err != nil {
					t.Fatal(err)
				}
				if dl, ok := tok.(json.Delim); ok {
					if dl == '{' || dl == '[' {
						depth++
					} else {
						depth--
					}
				}
			}
			if col >= 0 {
				fault = true
				last[col] = ""
			}
			continue
		case string:
			v = x
		case json.Number:
			v = x.String()
		case bool:
			v, sized = fmt.Sprint(x), false
		case nil:
			v = ""
		}
		if col < 0 {
			continue
		}
		if sized && len(v) > max {
			fault = true
		}
		if _, dup := last[col]; dup {
			fault = true
		}
		last[col] = v
	}
	for c, v := range last {
		want[c] = v
		if strings.IndexByte(v, 0) >= 0 {
			fault = true
		}
	}
	return want, fault
}
