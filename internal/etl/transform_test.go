package etl

import (
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"
)

func d(m time.Month, day int) Date { return NewDate(2025, m, day) }

func planOpts(today Date) TransformOptions {
	return TransformOptions{RunID: 1, Today: today, TransformConfig: TransformConfig{PDPRecoveryDays: 7, MaxPagosDocDia: 3},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestCampaignKey(t *testing.T) {
	for in, want := range map[string]string{
		"Cartera_X_20250602.txt": "CARTERA_X_20250602", "Cartera_X_20250602.TXT": "CARTERA_X_20250602",
		"cartera_x": "CARTERA_X", "a.txt.txt": "A.TXT", "a.csv": "A.CSV",
	} {
		if got := CampaignKey(in); got != want {
			t.Errorf("CampaignKey(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestPlanTransform(t *testing.T) {
	a := Campaign{Archivo: "A", Apertura: d(6, 2), Fin: d(6, 20), AttrHash: "h1", PeriodoEnd: d(6, 30)}
	b := Campaign{Archivo: "B", Apertura: d(6, 10), Fin: d(6, 12), AttrHash: "h2", PeriodoEnd: d(6, 30)}
	built := map[string]Date{"A": d(6, 20), "B": d(6, 12)}
	builtAsOf := map[string]Date{"A": d(6, 20), "B": d(6, 20)}
	base := PlanInput{Opts: planOpts(d(6, 20)), Old: []Campaign{a, b}, New: []Campaign{a, b}, Built: built,
		BuiltAsOf: builtAsOf}

	t.Run("nothing changed", func(t *testing.T) {
		p := PlanTransform(base)
		if !p.Empty() {
			t.Fatalf("plan %+v; want empty", p)
		}
	})
	t.Run("gestiones day reaches campaigns holding it", func(t *testing.T) {
		in := base
		in.Changes = []Change{{Table: "voicebot_gestiones", Day: d(6, 11)}}
		p := PlanTransform(in)
		if !slices.Equal(p.GestDays, []Date{d(6, 11)}) || p.GestAll {
			t.Errorf("gestiones days %v", p.GestDays)
		}
		want := []CampaignFrom{{"A", d(6, 11)}, {"B", d(6, 11)}}
		if !slices.Equal(p.Dashboard, want) {
			t.Errorf("dashboard %v; want %v", p.Dashboard, want)
		}
		if len(p.ProdDays) != 8 || !p.ProdDays[0].Equal(d(6, 4)) || !p.ProdDays[7].Equal(d(6, 11)) {
			t.Errorf("productivity days %v; want 06-04..06-11", p.ProdDays)
		}
		if len(p.AsigCampaigns) != 0 || len(p.SnapDays) != 0 || len(p.AssignmentCampaigns) != 0 {
			t.Errorf("asig %v snap %v assignment %v; want none", p.AsigCampaigns, p.SnapDays, p.AssignmentCampaigns)
		}
	})
	t.Run("snapshot after the windows, within the periodo", func(t *testing.T) {
		in := base
		in.Changes = []Change{{Table: "trandeuda", Day: d(6, 25)}}
		p := PlanTransform(in)
		if len(p.AsigCampaigns) != 0 || len(p.Dashboard) != 0 {
			t.Errorf("asig %v dashboard %v; want none", p.AsigCampaigns, p.Dashboard)
		}
		if !slices.Equal(p.AssignmentCampaigns, []string{"A", "B"}) {
			t.Errorf("assignment %v; want A B (their E reaches 06-25)", p.AssignmentCampaigns)
		}
		in.Changes = []Change{{Table: "trandeuda", Day: d(7, 1)}}
		if p := PlanTransform(in); len(p.AssignmentCampaigns) != 0 {
			t.Errorf("assignment %v; want none after every periodo", p.AssignmentCampaigns)
		}
	})
	t.Run("today moves E until the periodo ends", func(t *testing.T) {
		in := base
		in.Opts = planOpts(d(7, 2))
		b2 := b
		b2.PeriodoEnd = d(6, 15) // E of B stopped moving on 06-15
		in.New, in.Old = []Campaign{a, b2}, []Campaign{a, b2}
		if p := PlanTransform(in); !slices.Equal(p.AssignmentCampaigns, []string{"A"}) || len(p.Dashboard) != 0 {
			t.Errorf("assignment %v dashboard %v; want A only", p.AssignmentCampaigns, p.Dashboard)
		}
		in.BuiltAsOf = map[string]Date{"A": d(6, 30)}
		if p := PlanTransform(in); !slices.Equal(p.AssignmentCampaigns, []string{"B"}) {
			t.Errorf("assignment %v; want B only (A built after its periodo end, B's today unknown)",
				p.AssignmentCampaigns)
		}
	})
	t.Run("payment day outside every window", func(t *testing.T) {
		in := base
		in.Changes = []Change{{Table: "pagos", Day: d(6, 1)}}
		p := PlanTransform(in)
		if len(p.Dashboard) != 0 || !slices.Equal(p.PagoDedupDays, []Date{d(6, 1)}) {
			t.Errorf("dashboard %v dedup %v", p.Dashboard, p.PagoDedupDays)
		}
	})
	t.Run("asignaciones with .txt rebuild the campaign window", func(t *testing.T) {
		in := base
		in.Changes = []Change{{Table: "asignaciones", Archivo: "b.TXT", Day: d(6, 11)},
			{Table: "asignaciones", Archivo: "Z.txt", Day: d(6, 11)}}
		p := PlanTransform(in)
		if !slices.Equal(p.AsigCampaigns, []string{"B"}) || len(p.GestDays) != 3 {
			t.Errorf("asig %v gestiones days %v", p.AsigCampaigns, p.GestDays)
		}
		if !slices.Equal(p.Dashboard, []CampaignFrom{{"B", d(6, 10)}}) {
			t.Errorf("dashboard %v: other campaigns need no rebuild", p.Dashboard)
		}
		if !slices.Equal(p.Unmatched, []string{"Z.txt"}) {
			t.Errorf("unmatched %v", p.Unmatched)
		}
	})
	t.Run("trandeuda day", func(t *testing.T) {
		in := base
		in.Changes = []Change{{Table: "trandeuda", Day: d(6, 15)}}
		in.TrandeudaPagoDays = []Date{d(6, 11)}
		p := PlanTransform(in)
		if !slices.Equal(p.SnapDays, []Date{d(6, 15)}) || !slices.Equal(p.AsigCampaigns, []string{"A"}) {
			t.Errorf("snap %v asig %v", p.SnapDays, p.AsigCampaigns)
		}
		want := []CampaignFrom{{"A", d(6, 11)}, {"B", d(6, 11)}}
		if !slices.Equal(p.Dashboard, want) || len(p.GestDays) != 0 {
			t.Errorf("dashboard %v gestiones %v", p.Dashboard, p.GestDays)
		}
	})
	t.Run("new day and closure", func(t *testing.T) {
		in := base
		in.Opts = planOpts(d(6, 21))
		a2 := a
		a2.Fin = d(6, 21)
		b2 := b
		b2.AttrHash, b2.Fin = "h3", d(6, 11) // closed one day earlier
		in.New = []Campaign{a2, b2}
		p := PlanTransform(in)
		want := []CampaignFrom{{"A", d(6, 21)}, {"B", d(6, 10)}}
		if !slices.Equal(p.Dashboard, want) {
			t.Errorf("dashboard %v; want %v", p.Dashboard, want)
		}
	})
	t.Run("homologation rebuilds every gestiones day", func(t *testing.T) {
		in := base
		in.Changes = []Change{{Table: "homologacion_mibotair"}}
		p := PlanTransform(in)
		if !p.GestAll || !p.ProdAll || len(p.Dashboard) != 2 || !p.Dashboard[0].From.Equal(d(6, 2)) {
			t.Errorf("plan %+v", p)
		}
	})
	t.Run("gone campaign", func(t *testing.T) {
		in := base
		in.New = []Campaign{a}
		p := PlanTransform(in)
		if !slices.Contains(p.AsigCampaigns, "B") || !slices.Contains(p.AssignmentCampaigns, "B") {
			t.Errorf("plan %+v", p)
		}
	})
	t.Run("full", func(t *testing.T) {
		in := base
		in.Opts.Full = true
		p := PlanTransform(in)
		if !p.Full || !p.GestAll || !p.ProdAll || len(p.Dashboard) != 2 {
			t.Errorf("plan %+v", p)
		}
	})
}

func TestTransformOptionsValidate(t *testing.T) {
	o := planOpts(d(6, 6))
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o.From = d(6, 6)
	if err := o.Validate(); err == nil {
		t.Error("--from without --to accepted")
	}
	o.To = d(6, 1)
	if err := o.Validate(); err == nil {
		t.Error("reversed range accepted")
	}
}
