package etl

import (
	"slices"
	"testing"
	"time"
)

func TestLandingFileComplete(t *testing.T) {
	end := time.Date(2025, 7, 11, 5, 0, 0, 0, time.UTC)
	cases := []struct {
		name               string
		maxIncr, readUntil time.Time
		want               bool
	}{
		{"no incremental value (full table, recorded before tracking)", time.Time{}, end, true},
		{"unbounded window", end.Add(time.Hour), time.Time{}, true},
		{"every row before the window end", end.Add(-time.Nanosecond), end, true},
		{"a row at the window end", end, end, false},
		{"a row after the window end", end.Add(96 * time.Hour), end, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := LandedFile{MaxIncr: c.maxIncr, ReadUntil: c.readUntil}
			if got := f.Complete(); got != c.want {
				t.Fatalf("Complete() = %v, want %v", got, c.want)
			}
		})
	}
}

func TestLandingPartsToRead(t *testing.T) {
	reg := MustRegistry()
	pagos, _ := reg.Table("pagos")
	homo, _ := reg.Table("homologacion_voicebot")
	end := time.Date(2025, 7, 11, 5, 0, 0, 0, time.UTC)
	a := Part{Name: "d/a.csv", Size: 10, SHA256: "aa"}
	b := Part{Name: "d/b.csv", Size: 20, SHA256: "bb"}
	c := Part{Name: "d/c.csv", Size: 30, SHA256: "cc"}
	complete := func(p Part) LandedFile {
		return LandedFile{Part: p, MaxIncr: end.Add(-time.Hour), ReadUntil: end}
	}
	late := func(p Part) LandedFile {
		return LandedFile{Part: p, MaxIncr: end.Add(48 * time.Hour), ReadUntil: end}
	}
	names := func(ps []Part) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	cases := []struct {
		name       string
		table      *Table
		landed     map[string]LandedFile
		want       []string
		wantReread int
	}{
		{"nothing landed", pagos, nil, []string{a.Name, b.Name, c.Name}, 0},
		{"all complete and unchanged", pagos,
			map[string]LandedFile{a.Name: complete(a), b.Name: complete(b), c.Name: complete(c)}, nil, 0},
		{"an unchanged file with rows beyond its window is read again", pagos,
			map[string]LandedFile{a.Name: complete(a), b.Name: late(b), c.Name: complete(c)}, []string{b.Name}, 1},
		{"changed, new and incomplete", pagos,
			map[string]LandedFile{a.Name: late(a), b.Name: complete(Part{Name: b.Name, Size: 20, SHA256: "old"})},
			[]string{a.Name, b.Name, c.Name}, 1},
		{"a changed incomplete file is not counted as read again", pagos,
			map[string]LandedFile{a.Name: late(Part{Name: a.Name, Size: 9, SHA256: "aa"}), b.Name: complete(b), c.Name: complete(c)},
			[]string{a.Name}, 0},
		{"recorded before tracking: complete", pagos,
			map[string]LandedFile{a.Name: {Part: a}, b.Name: {Part: b}, c.Name: {Part: c}}, nil, 0},
		{"full table unchanged", homo,
			map[string]LandedFile{a.Name: {Part: a}, b.Name: {Part: b}, c.Name: {Part: c}}, nil, 0},
		{"full table reads every part when one changed", homo,
			map[string]LandedFile{a.Name: {Part: a}, b.Name: {Part: b}}, []string{a.Name, b.Name, c.Name}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, reread := PartsToRead(tc.table, []Part{a, b, c}, tc.landed)
			if !slices.Equal(names(got), tc.want) || reread != tc.wantReread {
				t.Fatalf("PartsToRead = %v, %d re-read; want %v, %d", names(got), reread, tc.want, tc.wantReread)
			}
		})
	}
}

// TestLandingConverterTracksMaxSeen: the greatest incremental value counts rows accepted or
// filtered by the window, never rows rejected or filtered by a source filter.
func TestLandingConverterTracksMaxSeen(t *testing.T) {
	pagos, _ := MustRegistry().Table("pagos")
	window := Window{From: time.Date(2025, 6, 1, 5, 0, 0, 0, time.UTC), To: time.Date(2025, 7, 11, 5, 0, 0, 0, time.UTC)}
	conv := NewConverter(pagos, ConvertOptions{Window: window})
	pago := func(monto, fechaPago, creado string) *Record {
		return record(pagos, map[string]string{"cod_sistema": "S", "nro_documento": "D1", "archivo": "P",
			"monto_cancelado": monto, "fecha_pago": fechaPago, "creado_el": creado})
	}
	steps := []struct {
		rec     *Record
		outcome Outcome
	}{
		{pago("10", "2025-07-01", "2025-07-01T15:00:00Z"), Accepted},
		{pago("10", "2025-07-12", "2025-07-12T15:00:00Z"), OutsideWindow},   // beyond the window: counts
		{pago("10", "2025-07-20", "2025-07-14T15:00:00Z"), Rejected},        // future_date: does not
		{pago("0", "2025-07-13", "2025-07-13T15:00:00Z"), FilteredRecorded}, // source filter: does not
		{pago("x", "2025-07-15", "2025-07-15T15:00:00Z"), Rejected},         // invalid: does not
		{pago("10", "2025-05-01", "2025-05-01T15:00:00Z"), OutsideWindow},   // before the window: counts, not greatest
	}
	var row Row
	var rej Reject
	for i, s := range steps {
		if got := conv.Convert(s.rec, &row, &rej); got != s.outcome {
			t.Fatalf("record %d: outcome %v (%+v), want %v", i, got, rej, s.outcome)
		}
	}
	if got, want := conv.TakeMaxSeen(), time.Date(2025, 7, 12, 15, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("TakeMaxSeen = %v, want %v", got, want)
	}
	if got := conv.TakeMaxSeen(); !got.IsZero() {
		t.Fatalf("TakeMaxSeen after a take = %v, want zero (per part)", got)
	}
}
