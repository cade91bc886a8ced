package synthetic

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// Campaign indices.
const (
	campTemprana = iota
	campCF
	campAN
	nCamps
)

// campaign is one §7 campaign with its days as indices into generator.days.
type campaign struct {
	archivo   string
	short     string // campania_act and queue names
	cartera   string
	apertura  etl.Date
	trandeuda etl.Date // fecha_trandeuda: on apertura or the business day after
	cierre    etl.Date // zero: open
	share     float64  // share of clients
	// Day indices: fecha_trandeuda, apertura, fin (cierre, or the horizon when open:
	// only days ≤ as_of are written).
	td, ap, fin int
}

// horizonEnd is the planned close of Temprana's latest calendario row: the generation
// horizon for an as_of before it.
var horizonEnd = etl.NewDate(2025, time.July, 31)

// dayInfo is one calendar day from the first apertura to the horizon.
type dayInfo struct {
	date     etl.Date
	str      string // YYYY-MM-DD
	start    int64  // 00:00 Lima, Unix seconds
	business bool   // Monday–Friday
}

// Trandeuda membership of an account.
const (
	tdNormal    = iota
	tdNever     // never appears in trandeuda (5%)
	tdUnderOne  // owes < 1 (3%)
	tdMissFirst // misses the fecha_trandeuda snapshot, appears the next business day
)

type client struct {
	codLuna string
	cliente string
	phone   string
	acc0    int32 // first account index
	nacc    int32
	camp    int8 // campaign of the client's accounts
	// start is the first day (index) the client is assigned in each campaign, -1 if not.
	start [nCamps]int16
}

type account struct {
	client  int32
	cuenta  string
	camps   [2]int8 // second is -1 unless the account is in two campaigns
	negocio string  // "" is NULL
	movil   bool
	minVto  string // "" is NULL
	doc0    int32
	ndoc    int32
	tdMode  uint8
	snapDay int16 // first trandeuda snapshot (index), -1 never
	missDay int16 // the fecha_trandeuda snapshot it misses, -1 none
	edge    bool  // reserved by an edge case (kept out of later edge picks)
	pays    bool  // has ordinary payments
}

type document struct {
	account int32
	nro     string
	venc    string
	cents   int64 // amount at the first snapshot
}

// scaleParams are the sizes that differ between Small and Large; every share and
// distribution is the same.
type scaleParams struct {
	clients int
	agents  int
	maxKeys int // keys listed per share-of-population edge case
}

// At ~1.024 accounts per client: ~800 accounts (Small), ~100k (Large).
func paramsFor(s Scale) scaleParams {
	if s == Large {
		return scaleParams{clients: 97700, agents: 100, maxKeys: 25}
	}
	return scaleParams{clients: 780, agents: 10, maxKeys: 25}
}

type generator struct {
	opts  Options
	p     scaleParams
	reg   *etl.Registry
	out   *output
	man   *Manifest
	edges *edges

	camps [nCamps]campaign
	// days run from the first apertura to the horizon, max(as_of, 2025-07-31):
	// gestiones and payments are drawn up to the horizon and only what falls on or
	// before as_of is written, so a later as_of (up to 2025-07-31) extends the same data
	// set: the per-day files of earlier days stay byte-identical, which is what an
	// incremental run over the landing-file ledger needs.
	days     []dayInfo
	asOf     int   // index of as_of
	horizon  int   // index of the last day
	snapDays []int // trandeuda snapshot days, ≤ as_of

	clients  []client
	accounts []account
	docs     []document
	agents   []agent
	asig     []assignment

	// First PDP day per client (index, -1 none), per channel, filled by the gestiones.
	botPDP  []int16
	callPDP []int16
	// Ordinary payments sorted by (doc, day), used by trandeuda to reduce documents.
	pays []payment
}

func newGenerator(opts Options) *generator {
	g := &generator{opts: opts, p: paramsFor(opts.Scale), reg: opts.Registry}
	g.man = &Manifest{
		Seed: opts.Seed, AsOf: opts.AsOf.String(), Scale: opts.Scale.String(), Format: opts.Format.String(),
		Tables: map[string]*TableManifest{}, EdgeCases: map[string]*EdgeCase{},
	}
	g.edges = &edges{m: g.man.EdgeCases, maxKeys: g.p.maxKeys}
	g.out = &output{dir: opts.OutDir, format: opts.Format, man: g.man, written: map[string]bool{}}
	g.calendar()
	return g
}

func (g *generator) table(name string) *etl.Table {
	t, _ := g.reg.Table(name) // Validate checked every name
	return t
}

// calendar fixes the three campaigns of §7 and the day list. fecha_trandeuda follows
// the operator's calendars: the debt snapshot of apertura (Temprana, AN) or of the
// business day after (CF_ANN, Tuesday 06-03 → Wednesday 06-04), never before apertura.
func (g *generator) calendar() {
	d := etl.NewDate
	g.camps = [nCamps]campaign{
		campTemprana: {archivo: "Cartera_Agencia_Cobranding_Gestion_Temprana_20250602", short: "TEMPRANA", cartera: "TEMPRANA",
			apertura: d(2025, time.June, 2), trandeuda: d(2025, time.June, 2), share: 0.40},
		campCF: {archivo: "Cartera_Agencia_Cobranding_Gestion_CF_ANN_20250603", short: "CF_ANN", cartera: "CUOTA_FRACCIONAMIENTO",
			apertura: d(2025, time.June, 3), trandeuda: d(2025, time.June, 4), cierre: d(2025, time.June, 27), share: 0.30},
		campAN: {archivo: "Cartera_Agencia_Cobranding_Gestion_AN_20250610", short: "AN", cartera: "ALTAS_NUEVAS",
			apertura: d(2025, time.June, 10), trandeuda: d(2025, time.June, 10), cierre: d(2025, time.July, 8), share: 0.30},
	}
	// Every snapshot, assignment, gestión and payment falls on or after the first apertura.
	first := g.camps[campTemprana].apertura
	last := g.opts.AsOf
	if last.Before(horizonEnd) {
		last = horizonEnd
	}
	for i := 0; ; i++ {
		day := first.AddDays(i)
		if day.After(last) {
			break
		}
		wd := day.Start().Weekday()
		g.days = append(g.days, dayInfo{date: day, str: day.String(), start: day.Start().Unix(),
			business: wd != time.Saturday && wd != time.Sunday})
	}
	idx := func(x etl.Date) int { return int(x.Start().Sub(first.Start()).Hours()) / 24 }
	g.asOf = idx(g.opts.AsOf)
	g.horizon = len(g.days) - 1
	for i := range g.camps {
		c := &g.camps[i]
		c.ap = idx(c.apertura)
		c.td = idx(c.trandeuda)
		c.fin = g.horizon
		if !c.cierre.IsZero() {
			c.fin = idx(c.cierre)
		}
	}
	// Every fecha_trandeuda is a business day, so the snapshot days are the business
	// days up to as_of.
	for i, di := range g.days[:g.asOf+1] {
		if di.business {
			g.snapDays = append(g.snapDays, i)
			g.man.BusinessDays++
		}
	}
	for _, i := range g.snapDays {
		g.man.SnapshotDays = append(g.man.SnapshotDays, g.days[i].str)
	}
}

// nextBusiness is the first business day after day i (may be past as_of).
func (g *generator) nextBusiness(i int) int {
	for j := i + 1; j < len(g.days); j++ {
		if g.days[j].business {
			return j
		}
	}
	return len(g.days)
}

// ts is day i at h:m:s Lima, as Unix seconds.
func (g *generator) ts(i int, secs int64) int64 { return g.days[i].start + secs }

func (g *generator) dayOf(unix int64) int {
	return int((unix - g.days[0].start) / 86400)
}

func formatUnix(unix int64) string { return etl.FormatTimestamp(time.Unix(unix, 0)) }

// world draws clients, accounts and documents from the "world" stream.
func (g *generator) world() {
	r := newStream(g.opts.Seed, "world")
	nc := g.p.clients
	g.clients = make([]client, 0, nc)
	g.accounts = make([]account, 0, nc*21/20+16)
	g.docs = make([]document, 0, nc*2)
	shares := []float64{g.camps[0].share, g.camps[1].share, g.camps[2].share}
	codLuna, cuenta, nro := 30000000, int64(5100000000), 1000000000
	for i := 0; i < nc; i++ {
		codLuna += 1 + r.IntN(12)
		c := client{
			codLuna: itoa(codLuna), cliente: itoa(700000000 + i*3 + r.IntN(3)),
			phone: itoa(900000000 + r.IntN(100000000)), camp: int8(pick(r, shares)),
			acc0: int32(len(g.accounts)), start: [nCamps]int16{-1, -1, -1},
		}
		c.nacc = int32(1 + pick(r, accountsPerClient))
		g.clients = append(g.clients, c)
		for k := int32(0); k < c.nacc; k++ {
			cuenta += 1 + int64(r.IntN(16))
			a := account{client: int32(i), cuenta: fmt.Sprint(cuenta), camps: [2]int8{c.camp, -1},
				snapDay: -1, missDay: -1, doc0: int32(len(g.docs))}
			n := len(g.accounts)
			g.accountAttrs(r, &a, n)
			// Documents: 1–2 (mean 1.4), lognormal median 120, σ 0.8, cap 5,000.
			a.ndoc = 1
			if r.Float64() < 0.4 {
				a.ndoc = 2
			}
			if a.tdMode == tdUnderOne {
				a.ndoc = 1
			}
			ap := g.camps[c.camp].apertura
			venc := ap.AddDays(-30)
			if a.minVto != "" {
				venc, _ = etl.ParseDate(a.minVto)
			}
			for j := int32(0); j < a.ndoc; j++ {
				nro += 1 + r.IntN(6)
				amt := int64(math.Round(120 * math.Exp(0.8*r.NormFloat64()) * 100))
				amt = min(max(amt, 100), 500000)
				if a.tdMode == tdUnderOne {
					amt = 1 + r.Int64N(99)
				}
				v := venc
				if j > 0 {
					v = venc.AddDays(1 + r.IntN(30))
					if v.After(ap) {
						v = ap
					}
				}
				g.docs = append(g.docs, document{account: int32(n), nro: "S" + itoa(nro), venc: v.String(), cents: amt})
			}
			g.accounts = append(g.accounts, a)
		}
	}
	g.specialAccounts(r)
}

var (
	// accountsPerClient weights 1, 2 and 3 accounts per client: as in real portfolios,
	// 2% of clients hold two or three (~1.024 accounts per client).
	accountsPerClient = []float64{0.98, 0.016, 0.004}
	negocioMovil      = []string{"MOVIL", "Movil", " movil "}
	negocioOther      = []string{"FIJA", "HFC", ""}
	// minVtoBands are days before apertura: 0-30, 31-60, 61-90, 91-180, 180+ (to 250).
	minVtoBands = [][2]int{{0, 30}, {31, 60}, {61, 90}, {91, 180}, {181, 250}}
)

// accountAttrs draws negocio, min_vto and the trandeuda mode. The first accounts take
// every negocio variant and every min_vto band (and a NULL min_vto) so each is present
// whatever the seed.
func (g *generator) accountAttrs(r *rand.Rand, a *account, n int) {
	switch {
	case n < 3:
		a.negocio, a.movil = negocioMovil[n], true
	case n < 6:
		a.negocio = negocioOther[n-3]
	case r.Float64() < 0.6:
		a.negocio, a.movil = negocioMovil[pick(r, []float64{0.5, 0.3, 0.2})], true
	default:
		a.negocio = negocioOther[pick(r, []float64{0.55, 0.30, 0.15})]
	}
	ap := g.camps[a.camps[0]].apertura
	band := -1
	switch {
	case n < len(minVtoBands):
		band = n
	case n == len(minVtoBands) || r.Float64() < 0.01:
		// NULL min_vto (1%): exercises the nullable fecha_vencimiento grain.
	default:
		band = pick(r, []float64{0.30, 0.20, 0.15, 0.20, 0.15})
	}
	if band >= 0 {
		b := minVtoBands[band]
		a.minVto = ap.AddDays(-(b[0] + r.IntN(b[1]-b[0]+1))).String()
	}
	switch x := r.Float64(); {
	case x < 0.05:
		a.tdMode = tdNever
	case x < 0.08:
		a.tdMode = tdUnderOne
	}
}

// pickAccounts draws n distinct accounts satisfying ok, by random probing.
func (g *generator) pickAccounts(r *rand.Rand, n int, ok func(a *account) bool) []int {
	var out []int
	for tries := 0; len(out) < n && tries < 1000*n+len(g.accounts); tries++ {
		i := r.IntN(len(g.accounts))
		if a := &g.accounts[i]; ok(a) && !a.edge {
			a.edge = true
			out = append(out, i)
		}
	}
	return out
}

// specialAccounts places the accounts in two campaigns and the accounts that miss the
// fecha_trandeuda snapshot, then fixes every account's first snapshot day.
func (g *generator) specialAccounts(r *rand.Rand) {
	plain := func(camp int8) func(a *account) bool {
		return func(a *account) bool { return a.tdMode == tdNormal && a.camps[0] == camp }
	}
	// 5 accounts in two campaigns: 3 Temprana and 2 CF_ANN accounts also assigned in AN.
	two := append(g.pickAccounts(r, 3, plain(campTemprana)), g.pickAccounts(r, 2, plain(campCF))...)
	for _, i := range two {
		g.accounts[i].camps[1] = campAN
	}
	// 10 accounts miss their campaign's fecha_trandeuda snapshot.
	for _, i := range g.pickAccounts(r, 10, func(a *account) bool { return a.tdMode == tdNormal }) {
		g.accounts[i].tdMode = tdMissFirst
	}
	for i := range g.accounts {
		a := &g.accounts[i]
		switch a.tdMode {
		case tdNever:
			continue
		case tdMissFirst:
			td := g.camps[a.camps[0]].td
			a.missDay = int16(td)
			a.snapDay = int16(g.nextBusiness(td))
			continue
		}
		a.snapDay = int16(g.camps[a.camps[0]].td)
		if a.camps[1] >= 0 {
			a.snapDay = int16(min(int(a.snapDay), g.camps[a.camps[1]].td))
		}
	}
}

// inSnapshot reports whether account a is in the trandeuda snapshot of day s.
func (g *generator) inSnapshot(a *account, s int) bool {
	if a.tdMode == tdNever || s == int(a.missDay) || s < int(a.snapDay) {
		return false
	}
	for _, c := range a.camps {
		if c >= 0 && g.camps[c].td <= s && s <= g.camps[c].fin {
			return true
		}
	}
	return false
}
