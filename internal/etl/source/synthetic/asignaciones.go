package synthetic

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

type assignment struct {
	account int32
	camp    int8 // -1: the archivo matches no campaign
	cuenta  string
	archivo string
	creado  int64 // Unix seconds
	tramo   string
	zona    string
	dst     string
	decC    int
	decP    int
	renta   int
}

var (
	tramos = []string{"TRAMO_1", "TRAMO_2", "TRAMO_3"}
	zonas  = []string{"LIMA", "NORTE", "SUR"}
	dsts   = []string{"0", "1-15", "16-30", "31-60", "60+"}
)

// unmatchedArchivo names no campaign of calendario.
const unmatchedArchivo = "Cartera_Agencia_Cobranding_Gestion_Especial_20250616.txt"

// assignments draws one asignaciones row per (account, campaign), fixes every client's
// first assigned day per campaign, and adds three rows whose archivo matches no campaign.
func (g *generator) assignments() {
	r := newStream(g.opts.Seed, "asignaciones")
	const tn = "asignaciones"
	g.asig = make([]assignment, 0, len(g.accounts)+8)
	for i := range g.accounts {
		a := &g.accounts[i]
		cl := &g.clients[a.client]
		for _, camp := range a.camps {
			if camp < 0 {
				continue
			}
			c := &g.camps[camp]
			day := c.ap
			late := r.Float64() < 0.03
			if late {
				day += 1 + r.IntN(3)
			}
			var secs int64
			evening := r.Float64() < 0.05
			if evening {
				secs = 22*3600 + r.Int64N(2*3600)
			} else {
				secs = 8*3600 + r.Int64N(12*3600)
			}
			as := assignment{account: int32(i), camp: camp, cuenta: a.cuenta, archivo: c.archivo + ".txt",
				creado: g.ts(day, secs), tramo: tramos[r.IntN(3)], zona: zonas[r.IntN(3)], dst: dsts[r.IntN(len(dsts))],
				decC: 1 + r.IntN(10), decP: 1 + r.IntN(10), renta: 1 + r.IntN(5)}
			g.asig = append(g.asig, as)
			if cl.start[camp] < 0 || int16(day) < cl.start[camp] {
				cl.start[camp] = int16(day)
			}
			k := key(tn, "cuenta", a.cuenta, "archivo", as.archivo, "fecha_asignacion", g.days[day].str)
			if late {
				g.edges.sample("asignaciones_late", "assigned 1–3 days after apertura (3%)", []KeyRef{k}, nil)
			}
			if evening {
				g.edges.sample("asignaciones_evening", "creado_el 22:00–23:59 Lima: the next UTC day, the apertura Lima date",
					[]KeyRef{key(tn, "cuenta", a.cuenta, "archivo", as.archivo, "creado_el", formatUnix(as.creado))}, nil)
			}
			if a.camps[1] >= 0 {
				g.edges.add("asignaciones_two_campaigns", "an account assigned in two campaigns (5 accounts, 2 rows each)",
					[]KeyRef{key(tn, "cuenta", a.cuenta, "archivo", as.archivo)}, nil)
			}
		}
		if i < len(negocioMovil)+len(negocioOther) {
			g.edges.add("asignaciones_negocio_variants", "negocio written MOVIL, Movil, ' movil ' (MOVIL) and FIJA, HFC, NULL (FIJA)",
				[]KeyRef{key(tn, "cuenta", a.cuenta, "negocio", a.negocio)}, nil)
		}
		if i < len(minVtoBands) {
			g.edges.add("asignaciones_min_vto_bands", "min_vto in each band before apertura: 0-30, 31-60, 61-90, 91-180, 180+",
				[]KeyRef{key(tn, "cuenta", a.cuenta, "min_vto", a.minVto)}, nil)
		}
		if a.minVto == "" {
			g.edges.sample("asignaciones_null_min_vto", "min_vto NULL (1%)", []KeyRef{key(tn, "cuenta", a.cuenta, "min_vto", "")}, nil)
		}
	}
	// Three rows whose archivo matches no campaign (skipped in aux, counted as filtered there).
	spec := g.dayIndex("2025-06-16")
	for k := 0; k < 3; k++ {
		cl := r.IntN(len(g.clients))
		acc := g.clients[cl].acc0
		as := assignment{account: acc, camp: -1, cuenta: "59999999" + itoa(10+k), archivo: unmatchedArchivo,
			creado: g.ts(spec, 10*3600+int64(k)*60), tramo: tramos[0], zona: zonas[0], dst: dsts[0], decC: 5, decP: 5, renta: 3}
		g.asig = append(g.asig, as)
		g.edges.add("asignaciones_unmatched_archivo", "an asignaciones row whose archivo matches no campaign",
			[]KeyRef{key(tn, "cuenta", as.cuenta, "archivo", unmatchedArchivo)}, nil)
	}
	for i, c := range g.camps {
		cm := CampaignManifest{Archivo: c.archivo, Cartera: c.cartera, FechaApertura: c.apertura.String(),
			FechaTrandeuda: c.trandeuda.String()}
		if !c.cierre.IsZero() {
			cm.FechaCierre = c.cierre.String()
		}
		for ci := range g.clients {
			if g.clients[ci].start[i] >= 0 {
				cm.Clientes++
			}
		}
		for ai := range g.accounts {
			if g.accounts[ai].camps[0] == int8(i) || g.accounts[ai].camps[1] == int8(i) {
				cm.Cuentas++
			}
		}
		g.man.Campaigns = append(g.man.Campaigns, cm)
	}
	g.man.Clientes = len(g.clients)
	g.man.Cuentas = len(g.accounts)
}

func (g *generator) dayIndex(s string) int {
	for i, d := range g.days {
		if d.str == s {
			return i
		}
	}
	panic("synthetic: day " + s + " outside the calendar")
}

// writeAsignaciones writes one file per Lima day of creado_el.
func (g *generator) writeAsignaciones(ctx context.Context) error {
	t := g.table("asignaciones")
	rows := slices.Clone(g.asig)
	slices.SortFunc(rows, func(x, y assignment) int {
		return cmp.Or(cmp.Compare(x.creado, y.creado), strings.Compare(x.cuenta, y.cuenta), strings.Compare(x.archivo, y.archivo))
	})
	rw := newRow(t)
	ix := struct{ cliente, cuenta, codLuna, tel, archivo, tramo, negocio, dst, zona, act, minVto, decC, decP, renta, creado int }{
		rw.idx("cliente"), rw.idx("cuenta"), rw.idx("cod_luna"), rw.idx("telefono"), rw.idx("archivo"), rw.idx("tramo_gestion"),
		rw.idx("negocio"), rw.idx("dias_sin_trafico"), rw.idx("zona"), rw.idx("campania_act"), rw.idx("min_vto"),
		rw.idx("decil_contacto"), rw.idx("decil_pago"), rw.idx("rango_renta"), rw.idx("creado_el"),
	}
	if rw.err != nil {
		return rw.err
	}
	var fw *fileW
	curDay := -1
	for _, as := range rows {
		if d := g.dayOf(as.creado); d != curDay {
			if fw != nil {
				if err := fw.close(g.out); err != nil {
					return err
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			curDay = d
			var err error
			if fw, err = g.out.day(t, g.days[d].str); err != nil {
				return err
			}
		}
		a := &g.accounts[as.account]
		cl := &g.clients[a.client]
		v := rw.reset().vals
		v[ix.cliente], v[ix.cuenta], v[ix.codLuna], v[ix.tel] = cl.cliente, as.cuenta, cl.codLuna, cl.phone
		v[ix.archivo], v[ix.tramo], v[ix.negocio], v[ix.dst], v[ix.zona] = as.archivo, as.tramo, a.negocio, as.dst, as.zona
		if as.camp >= 0 {
			v[ix.act] = g.camps[as.camp].short
		}
		v[ix.minVto], v[ix.decC], v[ix.decP], v[ix.renta] = a.minVto, itoa(as.decC), itoa(as.decP), itoa(as.renta)
		v[ix.creado] = formatUnix(as.creado)
		if err := fw.write(v); err != nil {
			fw.abort()
			return err
		}
	}
	if fw != nil {
		if err := fw.close(g.out); err != nil {
			return err
		}
	}
	g.expect(t.Name, nil, nil)
	return nil
}
