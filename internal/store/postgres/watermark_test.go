package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

func TestResetWatermark(t *testing.T) {
	t.Parallel()
	e := newOpsEnv(t)
	ctx := t.Context()
	table := func(name string) *etl.Table {
		tb, ok := e.reg.Table(name)
		if !ok {
			t.Fatalf("no table %s", name)
		}
		return tb
	}
	hwm := func(name string) (time.Time, bool) {
		t.Helper()
		v, ok, err := e.store.Watermark(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return v, ok
	}
	orig := time.Date(2025, 7, 10, 15, 30, 0, 0, time.UTC)
	e.exec(`INSERT INTO etl.watermark (table_name, high_water_mark, last_run_id) VALUES ('pagos', $1, 7)`, orig)

	if _, err := e.store.ResetWatermark(ctx, table("calendario"), nil, 1); !errors.Is(err, ErrNoWatermark) {
		t.Fatalf("full table: err = %v, want ErrNoWatermark", err)
	}

	to := time.Date(2025, 6, 1, 5, 0, 0, 0, time.UTC)
	res, err := e.store.ResetWatermark(ctx, table("pagos"), &to, 42)
	if err != nil {
		t.Fatal(err)
	}
	if res.Table != "pagos" || res.Previous == nil || !res.Previous.Equal(orig) || !res.HighWaterMark.Equal(to) {
		t.Fatalf("reset = %+v; want previous %v, new %v", res, orig, to)
	}
	if v, ok := hwm("pagos"); !ok || !v.Equal(to) {
		t.Fatalf("stored watermark %v %v, want %v", v, ok, to)
	}
	if n := e.count(`SELECT count(*) FROM etl.watermark WHERE table_name = 'pagos' AND last_run_id = 42`); n != 1 {
		t.Errorf("last_run_id not recorded")
	}

	// Forward works too (an explicit operator choice).
	fwd := orig.Add(time.Hour)
	if res, err = e.store.ResetWatermark(ctx, table("pagos"), &fwd, 43); err != nil || !res.Previous.Equal(to) {
		t.Fatalf("forward: %+v, %v", res, err)
	}

	// Absent --to removes it: the next run reads from initial_from.
	res, err = e.store.ResetWatermark(ctx, table("pagos"), nil, 44)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Previous.Equal(fwd) || res.HighWaterMark != nil {
		t.Fatalf("remove = %+v", res)
	}
	if _, ok := hwm("pagos"); ok {
		t.Fatal("watermark still present after removal")
	}
	// Removing an absent watermark is fine and says there was none.
	if res, err = e.store.ResetWatermark(ctx, table("pagos"), nil, 45); err != nil || res.Previous != nil {
		t.Fatalf("remove absent: %+v, %v", res, err)
	}
	// Setting one where none existed inserts it.
	if res, err = e.store.ResetWatermark(ctx, table("voicebot_gestiones"), &to, 46); err != nil || res.Previous != nil {
		t.Fatalf("set absent: %+v, %v", res, err)
	}
	if v, ok := hwm("voicebot_gestiones"); !ok || !v.Equal(to) {
		t.Fatalf("voicebot watermark %v %v", v, ok)
	}
}
