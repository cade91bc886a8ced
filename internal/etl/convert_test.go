package etl

import (
	"strings"
	"testing"
	"time"
)

func TestCanonicalMoney(t *testing.T) {
	cases := []struct{ in, want string }{
		{"12", "12.00"},
		{"12.5", "12.50"},
		{"0.005", "0.01"},
		{"0.0049", "0.00"},
		{"-0.005", "-0.01"},
		{"-0.004", "0.00"},
		{"1.005", "1.01"},
		{"2.675", "2.68"},
		{"1e2", "100.00"},
		{"1.2345E1", "12.35"},
		{"5e-3", "0.01"},
		{"0000120.10", "120.10"},
		{"9999999999999.99", "9999999999999.99"},
		{"9999999999999.995", ""},
		{"NaN", ""},
		{"Inf", ""},
		{"1.2.3", ""},
		{"12a", ""},
		{"e5", ""},
		{"-", ""},
		{"+.5", "0.50"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := CanonicalMoney(c.in)
			if c.want == "" {
				if err == nil {
					t.Fatalf("CanonicalMoney(%q) = %q, want an error", c.in, got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("CanonicalMoney(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestCanonicalIntegerForms(t *testing.T) {
	cases := []struct {
		in   string
		bits int
		want string
	}{
		{"007", 0, "7"},
		{"12.0", 0, "12"},
		{"51987654321", 0, "51987654321"},
		{"12345678901234567890123", 0, "12345678901234567890123"},
		{"2147483647", 31, "2147483647"},
		{"2147483648", 31, ""},
		{"12.5", 0, ""},
		{"abc", 0, ""},
	}
	for _, c := range cases {
		got, err := canonicalInteger(c.in, c.bits)
		if (c.want == "") != (err != nil) || got != c.want {
			t.Errorf("canonicalInteger(%q,%d) = %q, %v; want %q", c.in, c.bits, got, err, c.want)
		}
	}
	if got, err := canonicalFloatInteger("5.1987654321E10"); err != nil || got != "51987654321" {
		t.Errorf("phone in exponent form = %q, %v", got, err)
	}
}

func TestCanonicalTimestamp(t *testing.T) {
	cases := []struct{ in, want string }{
		{"2025-06-03T12:00:00Z", "2025-06-03T12:00:00Z"},
		{"2025-06-03T07:00:00-05:00", "2025-06-03T12:00:00Z"},
		{"2025-06-03 12:00:00", "2025-06-03T12:00:00Z"},
		{"2025-06-03 12:00:00.250000 UTC", "2025-06-03T12:00:00.25Z"},
		{"2025-06-03 12:00:00.1234567", "2025-06-03T12:00:00.123457Z"},
		{"03/06/2025", ""},
		{"2025-13-01 00:00:00", ""},
	}
	for _, c := range cases {
		got, err := CanonicalTimestamp(c.in)
		if (c.want == "") != (err != nil) || got != c.want {
			t.Errorf("CanonicalTimestamp(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func record(t *Table, kv map[string]string) *Record {
	f := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		f[i] = kv[c.Name]
	}
	return &Record{Source: "f.csv", Line: 2, Fields: f}
}

func TestConvertOutcomes(t *testing.T) {
	reg := MustRegistry()
	pagos, _ := reg.Table("pagos")
	asig, _ := reg.Table("asignaciones")
	cal, _ := reg.Table("calendario")
	ejec, _ := reg.Table("ejecutivos")
	homo, _ := reg.Table("homologacion_mibotair")
	window := Window{From: time.Date(2025, 6, 1, 5, 0, 0, 0, time.UTC), To: time.Date(2025, 7, 16, 5, 0, 0, 0, time.UTC)}
	pago := map[string]string{"nro_documento": "D1", "archivo": "PAGOS_1", "monto_cancelado": "10.005", "fecha_pago": "2025-06-03", "creado_el": "2025-06-04 11:00:00"}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	cases := []struct {
		name    string
		table   *Table
		rec     map[string]string
		want    Outcome
		reason  string
		column  string
		checkFn func(t *testing.T, row *Row)
	}{
		{"pago ok", pagos, pago, Accepted, "", "", func(t *testing.T, row *Row) {
			if v := row.Values[pagos.Index("monto_cancelado")]; v != "10.01" {
				t.Errorf("monto = %s", v)
			}
			if !row.Incr.Equal(time.Date(2025, 6, 4, 11, 0, 0, 0, time.UTC)) {
				t.Errorf("incr = %v", row.Incr)
			}
		}},
		{"zero amount", pagos, with(pago, "monto_cancelado", "0"), FilteredRecorded, ReasonFilteredMonto, "monto_cancelado", nil},
		{"negative amount", pagos, with(pago, "monto_cancelado", "-3"), FilteredRecorded, ReasonFilteredMonto, "monto_cancelado", nil},
		{"motivo", pagos, with(pago, "motivo_rechazo", "X"), FilteredRecorded, ReasonFilteredMotivo, "motivo_rechazo", nil},
		{"blank motivo passes", pagos, with(pago, "motivo_rechazo", "  "), Accepted, "", "", nil},
		{"future payment", pagos, with(pago, "fecha_pago", "2025-06-05"), Rejected, ReasonFutureDate, "fecha_pago", nil},
		{"bad date", pagos, with(pago, "fecha_pago", "2025-02-30"), Rejected, ReasonInvalidValue, "fecha_pago", nil},
		{"empty key", pagos, with(pago, "nro_documento", " "), Rejected, ReasonMissingValue, "nro_documento", nil},
		{"outside window", pagos, with(pago, "creado_el", "2025-07-16T05:00:00Z"), OutsideWindow, "", "", nil},
		{"lima date derived", asig, map[string]string{"cuenta": "0012", "cod_luna": "9", "archivo": "A.txt", "creado_el": "2025-06-03T03:30:00Z"}, Accepted, "", "", func(t *testing.T, row *Row) {
			if v := row.Values[asig.Index("fecha_asignacion")]; v != "2025-06-02" {
				t.Errorf("fecha_asignacion = %s, want the Lima date 2025-06-02", v)
			}
			if v := row.Values[asig.Index("cuenta")]; v != "12" {
				t.Errorf("cuenta = %s", v)
			}
		}},
		{"cierre before apertura", cal, map[string]string{"archivo": "A", "fecha_apertura": "2025-06-10", "fecha_cierre": "2025-06-09", "periodo_date": "2025-06-01"}, Rejected, ReasonInvalidValue, "fecha_cierre", nil},
		{"ejecutivo other client", ejec, map[string]string{"correo_name": "A@X", "id_cliente": "7"}, FilteredRecorded, ReasonFilteredIDCliente, "id_cliente", nil},
		{"ejecutivo defaults", ejec, map[string]string{"correo_name": "A@X.PE", "id_cliente": "145"}, Accepted, "", "", func(t *testing.T, row *Row) {
			if row.Values[0] != "a@x.pe" || row.Values[2] != "SIN DNI" {
				t.Errorf("row = %v", row.Values)
			}
		}},
		{"homologation blank keys and lenient peso", homo, map[string]string{"n_1": "A", "contactabilidad": "Contacto Efectivo", "pdp": "Sí", "peso": "x"}, Accepted, "", "", func(t *testing.T, row *Row) {
			if row.Nulls[homo.Index("n_3")] || row.Values[homo.Index("n_3")] != "" {
				t.Errorf("n_3 should be ''")
			}
			if row.Values[homo.Index("peso")] != "1" || row.Values[homo.Index("es_pdp")] != "true" {
				t.Errorf("row = %v", row.Values)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conv := NewConverter(c.table, ConvertOptions{Window: window, EjecutivosIDCliente: 145})
			if c.table.Mode == ModeFull {
				conv = NewConverter(c.table, ConvertOptions{EjecutivosIDCliente: 145})
			}
			var row Row
			var rej Reject
			got := conv.Convert(record(c.table, c.rec), &row, &rej)
			if got != c.want {
				t.Fatalf("outcome = %v (%+v), want %v", got, rej, c.want)
			}
			if c.reason != "" && (rej.Reason != c.reason || rej.Column != c.column) {
				t.Fatalf("reject = %s/%s, want %s/%s", rej.Reason, rej.Column, c.reason, c.column)
			}
			if c.want == Rejected && (rej.Line != 2 || !strings.HasPrefix(string(rej.Record), "{")) {
				t.Fatalf("reject lacks its origin: %+v", rej)
			}
			if c.checkFn != nil {
				c.checkFn(t, &row)
			}
		})
	}
}

func TestDistinctCollapsesIdenticalRows(t *testing.T) {
	ejec, _ := MustRegistry().Table("ejecutivos")
	conv := NewConverter(ejec, ConvertOptions{EjecutivosIDCliente: 145})
	rec := record(ejec, map[string]string{"correo_name": "a@x", "id_cliente": "145"})
	var row Row
	var rej Reject
	if o := conv.Convert(rec, &row, &rej); o != Accepted {
		t.Fatalf("first = %v", o)
	}
	if o := conv.Convert(rec, &row, &rej); o != Filtered {
		t.Fatalf("identical second = %v, want Filtered", o)
	}
}

func TestParseTimestampFastPathAgreesWithLayouts(t *testing.T) {
	for _, s := range []string{"2025-06-03T12:00:00Z", "2025-06-03T12:00:00.5Z", "2025-06-03T12:00:00.123456Z",
		"2024-02-29T23:59:59Z", "2025-02-29T00:00:00Z", "2025-06-03T24:00:00Z", "2025-06-03T12:00:00.120Z"} {
		fast, okFast := parseCanonicalTimestamp(s)
		slow, errSlow := time.Parse(time.RFC3339Nano, s)
		if okFast != (errSlow == nil) && okFast {
			t.Errorf("%s: fast path accepts what RFC 3339 refuses", s)
		}
		if okFast && !fast.Equal(slow) {
			t.Errorf("%s: fast %v, slow %v", s, fast, slow)
		}
	}
	if isCanonicalTimestamp("2025-06-03T12:00:00.120Z") {
		t.Error("a fraction with a trailing zero is not canonical")
	}
}

func TestNULByteRejectedAsInvalidUTF8(t *testing.T) {
	pagos, _ := MustRegistry().Table("pagos")
	conv := NewConverter(pagos, ConvertOptions{})
	rec := record(pagos, map[string]string{"nro_documento": "D\x001", "archivo": "P", "monto_cancelado": "1",
		"fecha_pago": "2025-06-03", "creado_el": "2025-06-04T00:00:00Z"})
	var row Row
	var rej Reject
	if o := conv.Convert(rec, &row, &rej); o != Rejected || rej.Reason != ReasonInvalidUTF8 || rej.Column != "nro_documento" {
		t.Fatalf("outcome %v %+v", o, rej)
	}
	if strings.Contains(string(rej.Record), `\u0000`) {
		t.Fatalf("record keeps a NUL jsonb refuses: %s", rej.Record)
	}
}

// A check must name source columns of the types it compares: a mistyped registry
// entry fails at start-up, not on the first row.
func TestTableChecksAreValidated(t *testing.T) {
	for _, ck := range []Check{
		{Kind: CheckNotBefore, Column: "a", Other: "missing"},
		{Kind: CheckNotBefore, Column: "a", Other: "ts"},
		{Kind: CheckNotAfterLimaDateOf, Column: "a", Other: "b"},
		{Kind: CheckNotAfterLimaDateOf, Column: "ts", Other: "ts"},
	} {
		tb := &Table{Name: "x", Columns: []Column{col("a", TypeDate), col("b", TypeDate), col("ts", TypeTimestamp)},
			Checks: []Check{ck}}
		if err := tb.index(); err == nil {
			t.Errorf("check %+v accepted", ck)
		}
	}
	ok := &Table{Name: "x", Columns: []Column{col("a", TypeDate), col("b", TypeDate), col("ts", TypeTimestamp)},
		Checks: []Check{{Kind: CheckNotBefore, Column: "a", Other: "b"}, {Kind: CheckNotAfterLimaDateOf, Column: "a", Other: "ts"}}}
	if err := ok.index(); err != nil {
		t.Errorf("valid checks refused: %v", err)
	}
}
