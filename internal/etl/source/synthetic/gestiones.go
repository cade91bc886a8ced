package synthetic

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Queues (campaign_name) and their campaign_id; a gestión's queue follows the client's
// principal campaign that day (and servicio for Temprana); 3% carry NULL.
var (
	queueNames = []string{"COLA_TEMPRANA_MOVIL", "COLA_TEMPRANA_FIJA", "COLA_CF_ANN", "COLA_ALTAS_NUEVAS"}
	queueIDs   = []string{"CMP-1001", "CMP-1002", "CMP-1003", "CMP-1004"}
	// botCounts weights 1..6 weekly bot attempts for the 70% of clients the bot calls,
	// callCounts 1..3 weekly calls for the 50% of clients called. Both lean to few
	// attempts (means 2.0 and 1.5), which keeps the large set at ~1M gestiones.
	botCounts  = []float64{0.50, 0.24, 0.12, 0.07, 0.04, 0.03}
	callCounts = []float64{0.60, 0.30, 0.10}
)

// Edge kinds of injected gestiones.
const (
	gNormal = iota
	gBeforeApertura
	gAfterCierre
	gNoAssignment
)

// gest is one gestión before it is written; a day's gestiones are sorted by time.
type gest struct {
	ts      int64
	client  int32
	seq     int32
	agent   int16
	rule    int8 // index into vbRules / mibotRules; -1: unmapped codes (variant)
	variant int8
	queue   int8 // -1: NULL campaign_name
	lower   bool // call codes written in lower case
	kind    uint8
	dur     int16
	fcomp   int16 // fecha_compromiso day, -1 none
	amt     int64 // compromiso amount in cents, 0 none
}

type channel struct {
	bot    bool
	name   string
	prefix string // uid prefix
	r      *rand.Rand
	pdp    []int16
}

// unassignedDocument is a gestiones document that is no client's cod_luna.
const unassignedDocument = "29999998"

// active reports whether client c is assigned in some campaign whose window holds day d.
func (g *generator) active(c *client, d int) bool {
	if d >= len(g.days) || !g.days[d].business {
		return false
	}
	for i := range g.camps {
		if s := int(c.start[i]); s >= 0 && s <= d && d <= g.camps[i].fin {
			return true
		}
	}
	return false
}

// queue is the client's queue on day d: its active campaign with the latest apertura.
func (g *generator) queue(c *client, d int) int8 {
	best := -1
	for i := range g.camps {
		if s := int(c.start[i]); s >= 0 && s <= d && d <= g.camps[i].fin && (best < 0 || g.camps[i].ap > g.camps[best].ap) {
			best = i
		}
	}
	switch best {
	case campTemprana:
		if g.accounts[c.acc0].movil {
			return 0
		}
		return 1
	case campCF:
		return 2
	case campAN:
		return 3
	}
	// Outside every window (edge gestiones): the queue of its own campaign.
	return [nCamps]int8{0, 2, 3}[c.camp]
}

// clientDebt is the client's total debt at assignment, in cents.
func (g *generator) clientDebt(c *client) int64 {
	var s int64
	for ai := c.acc0; ai < c.acc0+c.nacc; ai++ {
		a := &g.accounts[ai]
		for di := a.doc0; di < a.doc0+a.ndoc; di++ {
			s += g.docs[di].cents
		}
	}
	return s
}

// draw makes one ordinary gestión of client ci on day d.
func (g *generator) draw(ch *channel, ci int, d int, seq int) gest {
	r := ch.r
	c := &g.clients[ci]
	x := gest{ts: g.ts(d, 8*3600+r.Int64N(12*3600)), client: int32(ci), seq: int32(seq), fcomp: -1, queue: g.queue(c, d)}
	if r.Float64() < 0.03 {
		x.queue = -1
	}
	pdp := false
	switch cl := r.Float64(); {
	case cl < 0.25: // CD, PDP on 30% of them
		pdp = r.Float64() < 0.30
		switch {
		case pdp && ch.bot:
			x.rule = 0
		case pdp:
			x.rule = int8(callPDPRules[r.IntN(len(callPDPRules))])
		case ch.bot:
			x.rule = int8(vbCDRules[pick(r, vbCDWeights)])
		default:
			x.rule = int8(callCDRules[pick(r, callCDWeights)])
		}
	case cl < 0.60: // CI
		if ch.bot {
			x.rule = int8(vbCIRules[pick(r, vbCIWeights)])
		} else {
			x.rule = int8(callCIRules[pick(r, callCIWeights)])
		}
	default: // neither: 5% of them with codes no rule maps
		switch {
		case r.Float64() < 0.05:
			x.rule, x.variant = -1, int8(r.IntN(2))
		case ch.bot:
			x.rule = int8(vbSCRules[pick(r, vbSCWeights)])
		default:
			x.rule = int8(callSCRules[pick(r, callSCWeights)])
		}
	}
	if ch.bot {
		x.dur = int16(5 + r.IntN(176))
	} else {
		x.agent = int16(r.IntN(len(g.agents)))
		x.dur = int16(30 + r.IntN(571))
		x.lower = x.rule >= 0 && r.Float64() < 0.01
	}
	// A promise carries an amount and a date: PDP rules, the PDP flag on the CI call
	// rule, and the unmapped bot compromiso "SI|<amount>".
	promise := pdp || (!ch.bot && x.rule == 7) || (ch.bot && x.rule == -1 && x.variant == 1)
	if promise {
		debt := max(g.clientDebt(c), 5000)
		x.amt = max(100, debt*int64(30+r.IntN(71))/100)
		x.fcomp = int16(min(d+1+r.IntN(5), g.asOf))
	}
	if pdp && ch.pdp[ci] < 0 {
		ch.pdp[ci] = int16(d)
	}
	return x
}

// pickClient draws a client satisfying ok.
func (g *generator) pickClient(r *rand.Rand, ok func(c *client) bool) int {
	for tries := 0; tries < 100000; tries++ {
		i := r.IntN(len(g.clients))
		if ok(&g.clients[i]) {
			return i
		}
	}
	panic("synthetic: no client for an edge case")
}

func only(camp int) func(c *client) bool {
	return func(c *client) bool {
		for i := range c.start {
			if (i == camp) != (c.start[i] >= 0) {
				return false
			}
		}
		return true
	}
}

// gestiones writes one channel's table, one file per Lima day, streaming week by week:
// each week draws the attempts of every active client (bot: 0–6, none for 30%; calls:
// 1–3 for 50% of clients) on random weekdays, then each day's gestiones are generated,
// sorted by time and written (days after as_of, up to the horizon, are drawn only).
func (g *generator) gestiones(ctx context.Context, ch *channel) error {
	t := g.table(ch.name)
	r := ch.r
	ch.pdp = make([]int16, len(g.clients))
	for i := range ch.pdp {
		ch.pdp[i] = -1
	}
	// Fixed edge gestiones: (day, client, kind).
	type edgeG struct {
		day, client int
		kind        uint8
	}
	an, cf, tem := g.camps[campAN], g.camps[campCF], g.camps[campTemprana]
	edgeList := []edgeG{
		{an.ap - 1, g.pickClient(r, only(campAN)), gBeforeApertura},
		{g.nextBusiness(cf.fin), g.pickClient(r, only(campCF)), gAfterCierre},
		{g.nextBusiness(tem.ap + 5), 0, gNoAssignment},
	}
	dupDay := g.nextBusiness(g.nextBusiness(tem.ap)) // the third business day
	var carry []string                               // the row re-delivered in the next day's file

	plan := make([]uint8, len(g.clients)*5)
	rows := make([]gest, 0, 1024)
	w := newGestWriter(g, ch)
	if w.rw.err != nil {
		return w.rw.err
	}
	ws := tem.ap
	for g.days[ws].date.Start().Weekday() != time.Monday {
		ws--
	}
	for ; ws <= g.horizon; ws += 7 {
		clear(plan)
		for ci := range g.clients {
			c := &g.clients[ci]
			act := false
			for wd := 0; wd < 5 && !act; wd++ {
				act = g.active(c, ws+wd)
			}
			if !act {
				continue
			}
			n := 0
			if ch.bot {
				if r.Float64() >= 0.30 {
					n = 1 + pick(r, botCounts)
				}
			} else if r.Float64() < 0.50 {
				n = 1 + pick(r, callCounts)
			}
			for k := 0; k < n; k++ {
				if wd := r.IntN(5); g.active(c, ws+wd) {
					plan[ci*5+wd]++
				}
			}
		}
		for wd := 0; wd < 5; wd++ {
			d := ws + wd
			if d > g.horizon {
				break
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			rows = rows[:0]
			for ci := range g.clients {
				for k := uint8(0); k < plan[ci*5+wd]; k++ {
					rows = append(rows, g.draw(ch, ci, d, len(rows)))
				}
			}
			for _, e := range edgeList {
				if e.day == d {
					x := gest{ts: g.ts(d, 10*3600+int64(e.kind)*600), client: int32(e.client), seq: int32(len(rows)),
						kind: e.kind, fcomp: -1, agent: 1, dur: 60, queue: g.queue(&g.clients[e.client], d)}
					x.rule = 3
					if ch.bot {
						x.rule = 1
					}
					rows = append(rows, x)
				}
			}
			if d > g.asOf || (len(rows) == 0 && carry == nil) {
				// Drawn (PDP days count for the payments) but not written.
				continue
			}
			slices.SortFunc(rows, func(a, b gest) int {
				return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.client, b.client), cmp.Compare(a.seq, b.seq))
			})
			fw, err := g.out.day(t, g.days[d].str)
			if err != nil {
				return err
			}
			for i := range rows {
				v := w.values(&rows[i], d, i+1)
				if d == dupDay && i == 0 {
					carry = slices.Clone(v)
					carry[w.ix.obs] = "REENVIO"
					g.edges.add(ch.name+"_uid_in_two_files", "one uid delivered in two files (the later copy differs in observacion)",
						[]KeyRef{keyN(2, ch.name, "uid", v[w.ix.uid])}, nil)
				}
				if err := fw.write(v); err != nil {
					fw.abort()
					return err
				}
			}
			if carry != nil && d > dupDay {
				if err := fw.write(carry); err != nil {
					fw.abort()
					return err
				}
				carry = nil
				dupDay = -1
			}
			if err := fw.close(g.out); err != nil {
				return err
			}
		}
	}
	g.expect(ch.name, nil, map[string]int{"duplicate_key": 1})
	return nil
}

// gestWriter renders gestiones as row values.
type gestWriter struct {
	g     *generator
	ch    *channel
	rw    *row
	ix    struct{ uid, campID, campName, doc, mgmt, sub, comp, origin, obs, project, client, url, phone, date, fcomp, monto, weight, dur, n1, n2, n3, nombre, correo int }
	buf   []byte
	names struct{ unmapped, nullQueue, after19 string }
}

func newGestWriter(g *generator, ch *channel) *gestWriter {
	w := &gestWriter{g: g, ch: ch, rw: newRow(g.table(ch.name))}
	w.names.unmapped, w.names.nullQueue, w.names.after19 = ch.name+"_unmapped_codes", ch.name+"_null_campaign_name", ch.name+"_after_19h"
	rw := w.rw
	w.ix.uid, w.ix.campID, w.ix.campName, w.ix.doc = rw.idx("uid"), rw.idx("campaign_id"), rw.idx("campaign_name"), rw.idx("document")
	w.ix.mgmt, w.ix.sub, w.ix.origin, w.ix.obs = rw.idx("management"), rw.idx("sub_management"), rw.idx("origin"), rw.idx("observacion")
	w.ix.project, w.ix.client, w.ix.phone, w.ix.date = rw.idx("project"), rw.idx("client"), rw.idx("phone"), rw.idx("date")
	w.ix.fcomp, w.ix.weight, w.ix.dur = rw.idx("fecha_compromiso"), rw.idx("weight"), rw.idx("duracion")
	if ch.bot {
		w.ix.comp, w.ix.url = rw.idx("compromiso"), rw.idx("url_record_bot")
	} else {
		w.ix.n1, w.ix.n2, w.ix.n3 = rw.idx("n1"), rw.idx("n2"), rw.idx("n3")
		w.ix.nombre, w.ix.correo, w.ix.url = rw.idx("nombre_agente"), rw.idx("correo_agente"), rw.idx("url")
		w.ix.monto = rw.idx("monto_compromiso")
	}
	return w
}

var pesoText = func() []string {
	s := make([]string, 11)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func weightText(peso string) string {
	if n, err := strconv.Atoi(peso); err == nil && n >= 0 && n <= 10 {
		return pesoText[n]
	}
	return "1"
}

// values renders gestión x, the seq-th of day d, and records its edge cases.
func (w *gestWriter) values(x *gest, d, seq int) []string {
	g, ch := w.g, w.ch
	c := &g.clients[x.client]
	v := w.rw.reset().vals
	b := append(w.buf[:0], ch.prefix...)
	b = append(b, g.days[d].str[:4]...)
	b = append(b, g.days[d].str[5:7]...)
	b = append(b, g.days[d].str[8:10]...)
	b = append(b, '-')
	b = appendPad(b, seq, 6)
	w.buf = b
	uid := string(b)
	v[w.ix.uid] = uid
	if x.queue >= 0 {
		v[w.ix.campID], v[w.ix.campName] = queueIDs[x.queue], queueNames[x.queue]
	}
	v[w.ix.doc] = c.codLuna
	if x.kind == gNoAssignment {
		v[w.ix.doc] = unassignedDocument
	}
	v[w.ix.project], v[w.ix.client], v[w.ix.phone] = "COBRANZA_MOVISTAR", "TELEFONICA DEL PERU", c.phone
	date := formatUnix(x.ts)
	v[w.ix.date] = date
	v[w.ix.dur] = itoa(int(x.dur))
	var class byte = 'S'
	tn := ch.name
	uk := func() []KeyRef { return []KeyRef{key(tn, "uid", uid)} }
	if ch.bot {
		v[w.ix.origin] = "VOICEBOT"
		if x.rule >= 0 {
			ru := &vbRules[x.rule]
			v[w.ix.mgmt], v[w.ix.sub], v[w.ix.comp] = ru.mgmt, ru.sub, ru.comp
			v[w.ix.weight] = weightText(ru.peso)
			class = ru.class
		} else {
			k := vbUnmappedKeys[x.variant]
			v[w.ix.mgmt], v[w.ix.sub], v[w.ix.comp] = k[0], k[1], k[2]
			if x.variant == 1 {
				v[w.ix.comp] = "SI|" + cents(x.amt)
			}
			v[w.ix.weight] = "1"
		}
		if x.fcomp >= 0 {
			v[w.ix.fcomp] = formatUnix(g.days[x.fcomp].start)
		}
		if class != 'S' {
			v[w.ix.url] = "https://grabaciones.mibot.pe/vb/" + uid + ".wav"
		}
	} else {
		a := &g.agents[x.agent]
		v[w.ix.origin], v[w.ix.mgmt], v[w.ix.sub] = "MIBOTAIR", "GESTION_TELEFONICA", "SALIENTE"
		v[w.ix.nombre], v[w.ix.correo] = a.nombre, a.correo
		if x.rule >= 0 {
			ru := &mibotRules[x.rule]
			v[w.ix.n1], v[w.ix.n2], v[w.ix.n3] = ru.n1, ru.n2, ru.n3
			if x.lower {
				v[w.ix.n1], v[w.ix.n2], v[w.ix.n3] = strings.ToLower(ru.n1), strings.ToLower(ru.n2), strings.ToLower(ru.n3)
				if ec := g.edges.tally(tn+"_lowercase_codes", "call codes in lower case: homologation keys match case-insensitively (1%)"); ec != nil {
					ec.Present = append(ec.Present, uk()...)
				}
			}
			v[w.ix.weight] = weightText(ru.peso)
			class = ru.class
			if x.rule == 7 {
				if ec := g.edges.tally(tn+"_pdp_on_ci", "calls under the CI rule with a PDP flag: the PDP is not counted"); ec != nil {
					ec.Present = append(ec.Present, uk()...)
				}
			}
		} else {
			k := callUnmapped[x.variant]
			v[w.ix.n1], v[w.ix.n2], v[w.ix.n3] = k[0], k[1], k[2]
			v[w.ix.weight] = "1"
		}
		if x.fcomp >= 0 {
			v[w.ix.fcomp] = g.days[x.fcomp].str
			v[w.ix.monto] = cents(x.amt)
			v[w.ix.obs] = "Cliente se compromete a pagar"
		}
		if class != 'S' {
			v[w.ix.url] = "https://grabaciones.mibot.pe/ma/" + uid + ".mp3"
		}
		switch x.agent {
		case 0:
			if ec := g.edges.tally(tn+"_agent_absent", "calls by an agent absent from ejecutivos"); ec != nil {
				ec.Present = append(ec.Present, uk()...)
			}
		case 2:
			if ec := g.edges.tally(tn+"_correo_case", "calls by the agent whose ejecutivos correo differs only in case"); ec != nil {
				ec.Present = append(ec.Present, key(tn, "uid", uid, "correo_agente", a.correo))
			}
		}
	}
	if x.rule < 0 {
		if ec := g.edges.tally(w.names.unmapped, "codes no homologation rule maps: SIN_CLASIFICAR (5% of non-contacts)"); ec != nil {
			ec.Present = append(ec.Present, uk()...)
		}
	}
	if x.queue < 0 {
		if ec := g.edges.tally(w.names.nullQueue, "NULL campaign_name: cola SIN_COLA (3%)"); ec != nil {
			ec.Present = append(ec.Present, uk()...)
		}
	}
	if x.ts-g.days[d].start >= 19*3600 {
		if ec := g.edges.tally(w.names.after19, "gestiones after 19:00 Lima: the next UTC day, the Lima date and hour"); ec != nil {
			ec.Present = append(ec.Present, key(tn, "uid", uid, "date", date))
		}
	}
	switch x.kind {
	case gBeforeApertura:
		g.edges.add(tn+"_before_apertura", "a gestión of an AN-only client the day before AN's apertura: not attributed", uk(), nil)
	case gAfterCierre:
		g.edges.add(tn+"_after_cierre", "a gestión of a CF_ANN-only client after CF_ANN closed: not attributed", uk(), nil)
	case gNoAssignment:
		g.edges.add(tn+"_document_without_assignment", "a gestión whose document is no assigned client: not attributed", uk(),
			[]KeyRef{key("asignaciones", "cod_luna", unassignedDocument)})
	}
	return v
}

// appendPad appends n zero-padded to width digits.
func appendPad(b []byte, n, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(n), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
