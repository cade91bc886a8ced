package synthetic

import (
	"cmp"
	"context"
	"slices"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// Payment kinds.
const (
	pNormal     = iota
	pDup        // a second copy of an ordinary payment in the other file of its load day
	pAfterClose // paid after its (only) campaign closed
	pFuture     // fecha_pago after the Lima date of its creado_el
	pExcess     // 4 distinct-amount payments of one document in one day
	pUnknown    // a document trandeuda never lists
	pZero       // monto_cancelado ≤ 0
	pMotivo     // motivo_rechazo set
)

type payment struct {
	doc     int32 // -1: unknown document
	day     int16 // fecha_pago
	load    int16 // Lima day of creado_el (06:00)
	cents   int64
	kind    uint8
	sistema int8
	archivo int8 // 1 or 2
	motivo  string
}

var sistemas = []string{"BCP", "BBVA", "INTERBANK", "SCOTIABANK", "KASNET"}

// unknownDocument is a pagos nro_documento no trandeuda row carries.
const unknownDocument = "S9999999999"

func (g *generator) pdpDay(ci int32) int {
	if d := g.callPDP[ci]; d >= 0 {
		return int(d)
	}
	return int(g.botPDP[ci])
}

// payWindow is the days an account's ordinary payments may fall on: from its first
// snapshot (never before it) and its campaign's apertura to its close or the horizon − 1
// (a payment is loaded the next day). Payments loaded after as_of are planned but not
// written.
func (g *generator) payWindow(a *account) (first, last int) {
	c := &g.camps[a.camps[0]]
	return max(int(a.snapDay), c.ap), min(c.fin, g.horizon-1)
}

// payments plans every pagos row: 15% of accounts pay; 40% of those payers are accounts
// with a PDP whose first payment falls within 7 days of it; each paying account pays its
// documents in full (65%) or in part, in 1–6 installments.
func (g *generator) payments() []payment {
	r := newStream(g.opts.Seed, "pagos")
	eligible, withPDP := 0, 0
	for i := range g.accounts {
		a := &g.accounts[i]
		if a.snapDay < 0 {
			continue
		}
		first, last := g.payWindow(a)
		if first > last {
			continue
		}
		eligible++
		if pd := g.pdpDay(a.client); pd >= first && pd <= last {
			withPDP++
		}
	}
	// 15% of accounts pay; 40% of the payers are accounts with a PDP, paying within 7
	// days of it, the rest are drawn from the accounts without one. Payments are planned
	// up to the horizon (2025-07-31) and about a tenth of them fall after the default
	// as_of, so the plan aims at 16.5% for ~15% to show by 2025-07-15.
	target := 0.165 * float64(len(g.accounts))
	qPDP := min(0.4*target/max(float64(withPDP), 1), 1)
	qOther := min(0.6*target/max(float64(eligible-withPDP), 1), 1)

	var pays []payment
	for i := range g.accounts {
		a := &g.accounts[i]
		if a.snapDay < 0 {
			continue
		}
		first, last := g.payWindow(a)
		if first > last {
			continue
		}
		t0 := -1
		pd := g.pdpDay(a.client)
		if pd >= first && pd <= last {
			if r.Float64() < qPDP {
				t0 = min(pd+r.IntN(8), last)
			}
		} else if r.Float64() < qOther {
			t0 = first + r.IntN(last-first+1)
		}
		if t0 < 0 {
			continue
		}
		a.pays = true
		if pd >= first && pd <= last && t0 < g.asOf {
			g.edges.sample("pagos_after_pdp", "a payment within 7 days of the client's PDP (40% of the paying accounts)",
				[]KeyRef{key("pagos", "nro_documento", g.docs[a.doc0].nro, "fecha_pago", g.days[t0].str)}, nil)
		}
		for di := a.doc0; di < a.doc0+a.ndoc; di++ {
			d := &g.docs[di]
			total := d.cents
			if r.Float64() >= 0.65 {
				total = max(1, d.cents*int64(30+r.IntN(61))/100)
			}
			n := 1 + pick(r, []float64{0.15, 0.25, 0.25, 0.35})
			if n == 4 {
				n += r.IntN(3)
			}
			n = int(min(int64(n), total))
			days := make([]int, 0, n)
			day := t0
			if di > a.doc0 {
				day = min(t0+r.IntN(3), last)
			}
			for k := 0; k < n && day <= last; k++ {
				days = append(days, day)
				day += 2 + r.IntN(4)
			}
			part := total / int64(len(days))
			for k, dd := range days {
				c := part
				if k == len(days)-1 {
					c = total - part*int64(len(days)-1)
				}
				pays = append(pays, payment{doc: di, day: int16(dd), load: int16(dd + 1), cents: c, sistema: int8(r.IntN(len(sistemas)))})
			}
		}
	}
	// The ordinary payments reduce trandeuda documents (sorted by document, day).
	g.pays = slices.Clone(pays)
	slices.SortFunc(g.pays, func(x, y payment) int { return cmp.Or(cmp.Compare(x.doc, y.doc), cmp.Compare(x.day, y.day)) })

	const tn = "pagos"
	pk := func(p payment) KeyRef {
		nro := unknownDocument
		if p.doc >= 0 {
			nro = g.docs[p.doc].nro
		}
		return key(tn, "nro_documento", nro, "fecha_pago", g.days[p.day].str, "monto_cancelado", cents(p.cents))
	}
	// One ordinary payment delivered in both files of its load day: the first planned
	// in Temprana's second week (the choice must not depend on as_of).
	tem, cf := g.camps[campTemprana], g.camps[campCF]
	dup := pays[0]
	for _, p := range pays {
		if int(p.day) >= tem.ap+7 && int(p.day) < tem.ap+14 {
			dup = p
			break
		}
	}
	dup.kind = pDup
	pays = append(pays, dup)
	kd := pk(dup)
	kd.Rows = 2
	g.edges.add("pagos_duplicate_in_two_files", "one (nro_documento, fecha_pago, monto) in two load files: counted once, times_seen 2",
		[]KeyRef{kd}, nil)

	free := func(ok func(a *account) bool) func(a *account) bool {
		return func(a *account) bool {
			return !a.pays && a.tdMode == tdNormal && a.camps[1] < 0 && g.docs[a.doc0].cents >= 5000 && ok(a)
		}
	}
	anyAcc := func(*account) bool { return true }

	ai := g.pickAccounts(r, 1, free(func(a *account) bool { return a.camps[0] == campCF }))[0]
	p := payment{doc: g.accounts[ai].doc0, day: int16(cf.fin + 3), kind: pAfterClose, cents: g.docs[g.accounts[ai].doc0].cents / 2}
	p.load = p.day + 1
	pays = append(pays, p)
	g.edges.add("pagos_after_campaign_close", "a payment after its campaign (CF_ANN) closed: counts nowhere", []KeyRef{pk(p)}, nil)

	ai = g.pickAccounts(r, 1, free(anyAcc))[0]
	p = payment{doc: g.accounts[ai].doc0, load: int16(tem.ap + 29), kind: pFuture, cents: g.docs[g.accounts[ai].doc0].cents / 10}
	p.day = p.load + 2
	pays = append(pays, p)
	g.edges.add("pagos_future_date", "fecha_pago two days after the Lima date of creado_el: rejected future_date", []KeyRef{pk(p)}, nil)

	ai = g.pickAccounts(r, 1, free(func(a *account) bool { f, l := g.payWindow(a); return f+2 <= l }))[0]
	a := &g.accounts[ai]
	f, _ := g.payWindow(a)
	base := g.docs[a.doc0].cents / 10
	for k := int64(0); k < 4; k++ {
		p = payment{doc: a.doc0, day: int16(f + 2), load: int16(f + 3), kind: pExcess, cents: base + k*37}
		pays = append(pays, p)
		g.edges.add("pagos_excess_per_day", "4 distinct-amount payments of one document in one day: all invalid (exceso_pagos_dia)",
			[]KeyRef{pk(p)}, nil)
	}

	p = payment{doc: -1, day: int16(tem.ap + 10), load: int16(tem.ap + 11), kind: pUnknown, cents: 7500}
	pays = append(pays, p)
	g.edges.add("pagos_unknown_document", "a payment of a document trandeuda never lists: documento_desconocido",
		[]KeyRef{pk(p)}, []KeyRef{key("trandeuda", "nro_documento", unknownDocument)})

	for k, c := range []int64{0, -2500} {
		ai = g.pickAccounts(r, 1, free(anyAcc))[0]
		p = payment{doc: g.accounts[ai].doc0, day: int16(tem.ap + 4 + k), kind: pZero, cents: c}
		p.load = p.day + 1
		pays = append(pays, p)
		g.edges.add("pagos_filtered_monto", "monto_cancelado ≤ 0: filtered_monto", []KeyRef{pk(p)}, nil)
	}
	for k, m := range []string{"PAGO_EXTORNADO", "DUPLICADO_BANCO"} {
		ai = g.pickAccounts(r, 1, free(anyAcc))[0]
		p = payment{doc: g.accounts[ai].doc0, day: int16(tem.ap + 6 + k), kind: pMotivo, cents: 3000 + int64(k)*1000, motivo: m}
		p.load = p.day + 1
		pays = append(pays, p)
		g.edges.add("pagos_filtered_motivo_rechazo", "motivo_rechazo set: filtered_motivo_rechazo", []KeyRef{pk(p)}, nil)
	}
	// Keep what is loaded by as_of (ordinary payments are planned up to the horizon).
	return slices.DeleteFunc(pays, func(p payment) bool { return int(p.load) > g.asOf })
}

// writePagos writes one file per load day (the Lima date of creado_el, 06:00); a load
// day holds 1–2 load files PAGOS_<day before>_<n>.
func (g *generator) writePagos(ctx context.Context, pays []payment) error {
	r := newStream(g.opts.Seed, "pagos_files")
	t := g.table("pagos")
	slices.SortStableFunc(pays, func(x, y payment) int {
		return cmp.Or(cmp.Compare(x.load, y.load), cmp.Compare(x.doc, y.doc), cmp.Compare(x.day, y.day), cmp.Compare(x.cents, y.cents), cmp.Compare(x.kind, y.kind))
	})
	rw := newRow(t)
	ix := struct{ sis, nro, archivo, motivo, monto, fecha, creado int }{rw.idx("cod_sistema"), rw.idx("nro_documento"),
		rw.idx("archivo"), rw.idx("motivo_rechazo"), rw.idx("monto_cancelado"), rw.idx("fecha_pago"), rw.idx("creado_el")}
	if rw.err != nil {
		return rw.err
	}
	for lo := 0; lo < len(pays); {
		hi := lo
		for hi < len(pays) && pays[hi].load == pays[lo].load {
			hi++
		}
		day := pays[lo:hi]
		L := int(day[0].load)
		two := r.Float64() < 0.3
		for _, p := range day {
			two = two || p.kind == pDup
		}
		for k := range day {
			day[k].archivo = 1
			if two && k%2 == 1 {
				day[k].archivo = 2
			}
		}
		for k := range day {
			if day[k].kind == pDup {
				// The copy goes to the file its original is not in (the original sorts just before it).
				day[k].archivo = 3 - day[k-1].archivo
			}
		}
		slices.SortStableFunc(day, func(x, y payment) int { return cmp.Compare(x.archivo, y.archivo) })
		if err := ctx.Err(); err != nil {
			return err
		}
		fw, err := g.out.day(t, g.days[L].str)
		if err != nil {
			return err
		}
		archivos := [3]string{"", "PAGOS_" + g.days[L-1].str + "_1", "PAGOS_" + g.days[L-1].str + "_2"}
		creado := formatUnix(g.ts(L, 6*3600))
		for _, p := range day {
			v := rw.reset().vals
			v[ix.sis] = sistemas[p.sistema]
			v[ix.nro] = unknownDocument
			if p.doc >= 0 {
				v[ix.nro] = g.docs[p.doc].nro
			}
			v[ix.archivo], v[ix.motivo], v[ix.monto] = archivos[p.archivo], p.motivo, cents(p.cents)
			v[ix.fecha], v[ix.creado] = g.days[p.day].str, creado
			if err := fw.write(v); err != nil {
				fw.abort()
				return err
			}
		}
		if err := fw.close(g.out); err != nil {
			return err
		}
		lo = hi
	}
	g.expect(t.Name, map[string]int{etl.ReasonFilteredMonto: 2, etl.ReasonFilteredMotivo: 2},
		map[string]int{etl.ReasonFutureDate: 1})
	return nil
}

// Trandeuda edge documents (filtered rows) use numbers no ordinary document takes.
var trandeudaFilteredDocs = []string{"S8000000001", "S8000000002", "S8000000003", "S8000000004"}

// writeTrandeuda writes one file per snapshot day (1–2 load files TRAN_DEUDA_DDMM_n,
// creado_el 07:04 Lima): every account in a campaign window from its fecha_trandeuda,
// each document at its amount less the payments dated before the snapshot, paid
// documents leaving.
func (g *generator) writeTrandeuda(ctx context.Context) error {
	r := newStream(g.opts.Seed, "trandeuda")
	t := g.table("trandeuda")
	const tn = "trandeuda"
	rw := newRow(t)
	ix := struct{ cuenta, nro, archivo, motivo, venc, monto, creado int }{rw.idx("cod_cuenta"), rw.idx("nro_documento"),
		rw.idx("archivo"), rw.idx("motivo_rechazo"), rw.idx("fecha_vencimiento"), rw.idx("monto_exigible"), rw.idx("creado_el")}
	if rw.err != nil {
		return rw.err
	}

	// Per-document payment cursor over g.pays (sorted by document, day).
	start := make([]int32, len(g.docs)+1)
	for _, p := range g.pays {
		start[p.doc+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	cursor := slices.Clone(start[:len(g.docs)])
	remaining := make([]int64, len(g.docs))
	amount := make([]string, len(g.docs))
	lastDay := make([]int16, len(g.docs)) // last snapshot holding the document; -1 none; -2 its leaving recorded
	for i := range g.docs {
		remaining[i] = g.docs[i].cents
		amount[i] = cents(remaining[i])
		lastDay[i] = -1
	}

	// The document in two files of one day: an account of the first half on the third
	// business-day snapshot, which is forced to two files.
	dupSnap := -1
	for k, s := range g.snapDays {
		if g.days[s].business && s > g.camps[campTemprana].ap+1 {
			dupSnap = k
			break
		}
	}
	half := len(g.accounts) / 2
	dupAcc := -1
	filtSnap := dupSnap + 1
	for k, s := range g.snapDays {
		if err := ctx.Err(); err != nil {
			return err
		}
		two := r.Float64() < 0.35 || k == dupSnap
		if k == dupSnap {
			for ai := r.IntN(half); ai < half; ai++ {
				if a := &g.accounts[ai]; !a.edge && a.tdMode == tdNormal && g.inSnapshot(a, s) {
					dupAcc = ai
					break
				}
			}
		}
		ddmm := g.days[s].str[8:10] + g.days[s].str[5:7]
		archivos := [2]string{"TRAN_DEUDA_" + ddmm + "_1", "TRAN_DEUDA_" + ddmm + "_2"}
		creado := formatUnix(g.ts(s, 7*3600+4*60))
		fw, err := g.out.day(t, g.days[s].str)
		if err != nil {
			return err
		}
		v := rw.reset().vals
		v[ix.creado] = creado
		write := func() error {
			if err := fw.write(v); err != nil {
				fw.abort()
				return err
			}
			return nil
		}
		for ai := range g.accounts {
			a := &g.accounts[ai]
			if !g.inSnapshot(a, s) {
				continue
			}
			v[ix.cuenta], v[ix.archivo] = a.cuenta, archivos[0]
			if two && ai >= half {
				v[ix.archivo] = archivos[1]
			}
			if int(a.snapDay) == s {
				if a.tdMode == tdUnderOne {
					g.edges.sample("trandeuda_owes_under_one", "accounts owing < 1 (3%): not gestionable",
						[]KeyRef{key(tn, "cod_cuenta", a.cuenta, "fecha_proceso", g.days[s].str)}, nil)
				}
				if a.tdMode == tdMissFirst {
					g.edges.add("trandeuda_misses_fecha_trandeuda", "an account absent from its campaign's fecha_trandeuda snapshot, present the next business day",
						[]KeyRef{key(tn, "cod_cuenta", a.cuenta, "fecha_proceso", g.days[s].str)},
						[]KeyRef{key(tn, "cod_cuenta", a.cuenta, "fecha_proceso", g.days[a.missDay].str)})
				}
			}
			for di := a.doc0; di < a.doc0+a.ndoc; di++ {
				old := remaining[di]
				for cursor[di] < start[di+1] && int(g.pays[cursor[di]].day) < s {
					remaining[di] -= g.pays[cursor[di]].cents
					cursor[di]++
				}
				d := &g.docs[di]
				if remaining[di] <= 0 {
					if lastDay[di] >= 0 {
						g.edges.sample("trandeuda_paid_document_leaves", "a document paid in full leaves the later snapshots",
							[]KeyRef{key(tn, "nro_documento", d.nro, "fecha_proceso", g.days[lastDay[di]].str)},
							[]KeyRef{key(tn, "nro_documento", d.nro, "fecha_proceso", g.days[s].str)})
						lastDay[di] = -2
					}
					continue
				}
				if remaining[di] != old {
					if lastDay[di] >= 0 {
						g.edges.sample("trandeuda_partial_payment_reduces", "a partial payment reduces the document in the later snapshots",
							[]KeyRef{key(tn, "nro_documento", d.nro, "fecha_proceso", g.days[lastDay[di]].str, "monto_exigible", amount[di]),
								key(tn, "nro_documento", d.nro, "fecha_proceso", g.days[s].str, "monto_exigible", cents(remaining[di]))}, nil)
					}
					amount[di] = cents(remaining[di])
				}
				lastDay[di] = int16(s)
				v[ix.nro], v[ix.venc], v[ix.monto] = d.nro, d.venc, amount[di]
				if err := write(); err != nil {
					return err
				}
				if ai == dupAcc && k == dupSnap && di == a.doc0 {
					v[ix.archivo] = archivos[1]
					if err := write(); err != nil {
						return err
					}
					v[ix.archivo] = archivos[0]
					g.edges.add("trandeuda_document_in_two_files", "one document in both load files of the same day: counts once",
						[]KeyRef{keyN(2, tn, "cod_cuenta", a.cuenta, "nro_documento", d.nro, "fecha_proceso", g.days[s].str)}, nil)
				}
			}
		}
		if k == filtSnap {
			// Rows a source filter drops, on accounts present that day.
			acc := dupAcc
			for j, m := range []struct{ monto, motivo, reason string }{
				{"0.00", "", "trandeuda_filtered_monto"}, {"-12.50", "", "trandeuda_filtered_monto"},
				{"45.00", "DOCUMENTO_ANULADO", "trandeuda_filtered_motivo_rechazo"}, {"80.00", "CUENTA_EN_LITIGIO", "trandeuda_filtered_motivo_rechazo"},
			} {
				a := &g.accounts[acc]
				v[ix.cuenta], v[ix.nro], v[ix.archivo], v[ix.motivo] = a.cuenta, trandeudaFilteredDocs[j], archivos[0], m.motivo
				v[ix.venc], v[ix.monto] = g.docs[a.doc0].venc, m.monto
				if err := write(); err != nil {
					return err
				}
				desc := "monto_exigible ≤ 0: filtered_monto"
				if m.motivo != "" {
					desc = "motivo_rechazo set: filtered_motivo_rechazo"
				}
				g.edges.add(m.reason, desc, []KeyRef{key(tn, "cod_cuenta", a.cuenta, "nro_documento", trandeudaFilteredDocs[j],
					"fecha_proceso", g.days[s].str)}, nil)
			}
			v[ix.motivo] = ""
		}
		if err := fw.close(g.out); err != nil {
			return err
		}
	}
	for ai := range g.accounts {
		if a := &g.accounts[ai]; a.tdMode == tdNever {
			g.edges.sample("trandeuda_never_appears", "assigned accounts that never appear in trandeuda (5%): no snapshot, deuda 0",
				nil, []KeyRef{key(tn, "cod_cuenta", a.cuenta)})
		}
	}
	// CF_ANN's accounts assigned on apertura first appear in the next day's snapshot,
	// its fecha_trandeuda.
	cf := &g.camps[campCF]
	for _, as := range g.asig {
		if a := &g.accounts[as.account]; as.camp == campCF && a.tdMode == tdNormal && g.dayOf(as.creado) == cf.ap {
			g.edges.add("trandeuda_fecha_trandeuda_after_apertura",
				"a CF_ANN account assigned on apertura: first in the next business day's snapshot, its fecha_trandeuda",
				[]KeyRef{key(tn, "cod_cuenta", a.cuenta, "fecha_proceso", g.days[cf.td].str)},
				[]KeyRef{key(tn, "cod_cuenta", a.cuenta, "fecha_proceso", g.days[cf.ap].str)})
			break
		}
	}
	g.expect(t.Name, map[string]int{etl.ReasonFilteredMonto: 2, etl.ReasonFilteredMotivo: 2}, nil)
	return nil
}
