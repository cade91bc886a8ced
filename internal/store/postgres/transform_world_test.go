package postgres

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// A world is a small, random collections operation delivered run by run: the
// differential test (transform_diff_test.go) replays its deliveries and, after every
// run, holds the incremental transform to a full rebuild of the same raw state.
type world struct {
	Seed uint64
	Runs []delivery
}

// delivery is one run: the landing files it adds or replaces (path → data lines; the
// header is the table's, worldHeaders) and the as-of it runs with.
type delivery struct {
	AsOf string
	// Full runs the transform with --full-rebuild (an as-of earlier than the last
	// build needs it, as run-pipeline demands).
	Full  bool
	Files map[string][]string
}

// worldHeaders are the landing-file headers: the required columns of each table (the
// others load as NULL).
var worldHeaders = map[string]string{
	"calendario":            "archivo,fecha_apertura,fecha_trandeuda,fecha_cierre,periodo_date",
	"asignaciones":          "cuenta,cod_luna,archivo,negocio,min_vto,creado_el",
	"trandeuda":             "cod_cuenta,nro_documento,archivo,motivo_rechazo,monto_exigible,creado_el",
	"pagos":                 "nro_documento,archivo,motivo_rechazo,monto_cancelado,fecha_pago,creado_el",
	"voicebot_gestiones":    "uid,campaign_name,document,management,sub_management,compromiso,date",
	"mibotair_gestiones":    "uid,campaign_name,document,n1,n2,n3,nombre_agente,correo_agente,date",
	"homologacion_mibotair": "n_1,n_2,n_3,contactabilidad,pdp,peso",
	"homologacion_voicebot": "bot_management,bot_sub_management,bot_compromiso,contactabilidad_homologada,es_pdp_homologado,peso_homologado",
	"ejecutivos":            "correo_name,nombre,document,id_cliente",
}

// tableOf is the table a landing path belongs to: `<table>.csv` or `<table>/<name>.csv`.
func tableOf(path string) string {
	name, _, _ := strings.Cut(path, "/")
	return strings.TrimSuffix(name, ".csv")
}

// GoString prints the world as a Go literal, to be pasted as a regression case.
func (w world) GoString() string {
	var b strings.Builder
	fmt.Fprintf(&b, "world{Seed: %d, Runs: []delivery{\n", w.Seed)
	for _, r := range w.Runs {
		fmt.Fprintf(&b, "\t{AsOf: %q, Full: %v, Files: map[string][]string{\n", r.AsOf, r.Full)
		paths := make([]string, 0, len(r.Files))
		for p := range r.Files {
			paths = append(paths, p)
		}
		slices.Sort(paths)
		for _, p := range paths {
			fmt.Fprintf(&b, "\t\t%q: {\n", p)
			for _, l := range r.Files[p] {
				fmt.Fprintf(&b, "\t\t\t%q,\n", l)
			}
			b.WriteString("\t\t},\n")
		}
		b.WriteString("\t}},\n")
	}
	b.WriteString("}}")
	return b.String()
}

// worldBase is day 0 of every generated world (a Tuesday).
var worldBase = time.Date(2025, time.July, 1, 0, 0, 0, 0, time.UTC)

func wDay(off int) string { return worldBase.AddDate(0, 0, off).Format("2006-01-02") }

// wTS is a Lima wall-clock time of day off as an RFC 3339 UTC instant.
func wTS(off, hour, minute int) string {
	return worldBase.AddDate(0, 0, off).Add(time.Duration(hour+5)*time.Hour + time.Duration(minute)*time.Minute).
		Format(time.RFC3339)
}

// worldGen draws one world from a seed.
type worldGen struct {
	r    *rand.Rand
	asOf []int // as-of of each run, as a day offset
	runs []delivery
}

func (g *worldGen) chance(p float64) bool { return g.r.Float64() < p }

func (g *worldGen) pick(n int) int { return g.r.IntN(n) }

// deliverAt is the run that delivers a row dated off: usually the first run whose
// as-of reaches it, sometimes one or two runs later (a late file), sometimes a run
// earlier (a producer whose clock runs ahead, or an --as-of replay: rows after now).
// -1: never delivered.
func (g *worldGen) deliverAt(off int) int {
	i := slices.IndexFunc(g.asOf, func(a int) bool { return a >= off })
	if i < 0 {
		if g.chance(0.3) {
			return len(g.asOf) - 1
		}
		return -1
	}
	switch {
	case g.chance(0.2):
		// one run late at most: the row is still inside the lookback window
		i = min(i+1, len(g.asOf)-1)
	case i > 0 && g.chance(0.08):
		i--
	}
	return i
}

// add appends data lines to a file of run i.
func (g *worldGen) add(i int, path string, lines ...string) {
	if i < 0 {
		return
	}
	if g.runs[i].Files == nil {
		g.runs[i].Files = map[string][]string{}
	}
	g.runs[i].Files[path] = append(g.runs[i].Files[path], lines...)
}

type wCampaign struct {
	archivo          string
	apertura, ftd    int
	cierre           int // -1: open
	closedFrom       int // run from which calendario says cierre (open before)
	second           bool
	secondFrom, gone int // run the second row appears; run it leaves calendario (-1 never)
}

type wAccount struct {
	cuenta, codLuna string
	docs            []string
}

// genWorld draws a world: 2–4 campaigns with fecha_trandeuda before, on or after
// apertura, closing (or not) mid-way, a second calendario row, sometimes one leaving
// calendario; a few clients with one or two accounts, some in two campaigns;
// snapshots delivered late, repeated and missing; gestiones and payments late and
// early; homologation and ejecutivos changes; the as-of moving forward, skipping
// days, standing still, and moving back (with a full rebuild).
func genWorld(seed uint64) world {
	g := &worldGen{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
	off := g.pick(3)
	nRuns := 4 + g.pick(5)
	full := make([]bool, nRuns)
	for i := range nRuns {
		if i > 0 {
			switch {
			case i < nRuns-1 && g.chance(0.15):
				// never the last run: it reads every row up to the greatest as-of
				off = max(0, off-1-g.pick(4))
				full[i] = true
			case g.chance(0.1):
			default:
				off += 1 + g.pick(3)
			}
		}
		if i == nRuns-1 && len(g.asOf) > 0 {
			// the last run reaches every earlier as-of, so it reads every delivered row
			off = max(off, slices.Max(g.asOf))
		}
		g.asOf = append(g.asOf, off)
	}
	last := slices.Max(g.asOf)
	g.runs = make([]delivery, nRuns)
	for i := range g.runs {
		g.runs[i].AsOf, g.runs[i].Full = wDay(g.asOf[i]), full[i]
	}

	// Campaigns and the calendario each run sees.
	carteras := []string{"TEMPRANA", "CF_ANN", "AN", "COBRANDING"}
	var camps []wCampaign
	for k := range 2 + g.pick(3) {
		c := wCampaign{apertura: g.pick(6), cierre: -1, gone: -1}
		c.archivo = fmt.Sprintf("CAMP_%d_%s_%s", k, carteras[g.pick(len(carteras))],
			strings.ReplaceAll(wDay(c.apertura), "-", ""))
		c.ftd = c.apertura - 1 + g.pick(4)
		if g.chance(0.5) {
			c.cierre = c.apertura + 3 + g.pick(8)
			c.closedFrom = g.pick(nRuns)
		}
		if g.chance(0.25) {
			c.second, c.secondFrom = true, g.pick(nRuns)
		}
		if g.chance(0.08) {
			c.gone = 1 + g.pick(nRuns)
		}
		camps = append(camps, c)
	}
	var prevCal string
	for i := range nRuns {
		var rows []string
		for _, c := range camps {
			if c.gone >= 0 && i >= c.gone {
				continue
			}
			cierre := ""
			if c.cierre >= 0 && i >= c.closedFrom {
				cierre = wDay(c.cierre)
			}
			rows = append(rows, fmt.Sprintf("%s,%s,%s,%s,%s", c.archivo, wDay(c.apertura), wDay(c.ftd), cierre, wDay(0)))
			if c.second && i >= c.secondFrom {
				// a later periodo row: later apertura (MIN keeps the first), newer attributes
				rows = append(rows, fmt.Sprintf("%s,%s,%s,%s,%s", c.archivo, wDay(c.apertura+1), wDay(c.ftd+1), cierre, wDay(14)))
			}
		}
		if cal := strings.Join(rows, "\n"); i == 0 || cal != prevCal {
			g.add(i, "calendario.csv", rows...)
			if len(rows) == 0 {
				g.runs[i].Files["calendario.csv"] = []string{}
			}
			prevCal = cal
		}
	}

	// Dimensions, with a change at some run.
	homolMA := []string{
		"CONTACTO DIRECTO,PROMESA DE PAGO,PAGO TOTAL,Contacto Efectivo,SI,10",
		"CONTACTO DIRECTO,SIN COMPROMISO,NIEGA,CONTACTO_EFECTIVO,NO,6",
		"CONTACTO INDIRECTO,TERCERO,RECADO,Contacto No Efectivo,SI,4",
		"NO CONTACTO,NO CONTESTA,,No Contacto,NO,1",
		"SIN RESPUESTA,BUZON,,Sin Respuesta,NO,x",
	}
	homolVB := []string{
		"TITULAR,PROMESA_PAGO,SI,Contacto Efectivo,1,10",
		"TITULAR,SIN_COMPROMISO,,contacto  efectivo,0,5",
		"TERCERO,DEJA_MENSAJE,NO,No Contacto,1,3",
		"BUZON,,,Buzon,0,",
	}
	ejecutivos := []string{"ana@x.pe,Ana,111,145", "bob@x.pe,Bob,,145", "eva@x.pe,Eva,333,146"}
	g.add(0, "homologacion_mibotair.csv", homolMA...)
	g.add(0, "homologacion_voicebot.csv", homolVB...)
	g.add(0, "ejecutivos.csv", ejecutivos...)
	if g.chance(0.3) {
		i := 1 + g.pick(nRuns)
		changed := slices.Clone(homolMA)
		changed[2] = "CONTACTO INDIRECTO,TERCERO,RECADO,Contacto Efectivo,SI,7"
		g.add(min(i, nRuns-1), "homologacion_mibotair.csv", changed...)
	}
	if g.chance(0.2) {
		changed := slices.Clone(homolVB)
		changed[3] = "BUZON,,,No Contacto,0,2"
		g.add(1+g.pick(nRuns-1), "homologacion_voicebot.csv", changed...)
	}
	if g.chance(0.2) {
		changed := slices.Clone(ejecutivos)
		changed[1] = "bob@x.pe,Roberto,222,145"
		g.add(1+g.pick(nRuns-1), "ejecutivos.csv", changed...)
	}

	// Clients, accounts and assignments.
	negocios := []string{"MOVIL", "Movil", "FIJA", "HFC", ""}
	var accounts []wAccount
	for c := range 4 + g.pick(8) {
		codLuna := fmt.Sprint(500 + c)
		for range 1 + min(g.pick(5), 1) {
			a := wAccount{cuenta: fmt.Sprint(100 + len(accounts)), codLuna: codLuna}
			for d := range 1 + g.pick(2) {
				a.docs = append(a.docs, fmt.Sprintf("D%s%c", a.cuenta, 'a'+d))
			}
			accounts = append(accounts, a)
			first := g.pick(len(camps))
			assigned := []int{first}
			if g.chance(0.25) && len(camps) > 1 {
				assigned = append(assigned, (first+1+g.pick(len(camps)-1))%len(camps))
			}
			for _, k := range assigned {
				fa := camps[k].apertura
				if g.chance(0.2) {
					fa += 1 + g.pick(3)
				}
				suffix := ".txt"
				if g.chance(0.2) {
					suffix = ".TXT"
				}
				line := func(negocio string, hour int) string {
					return fmt.Sprintf("%s,%s,%s%s,%s,2025-05-01,%s", a.cuenta, codLuna, camps[k].archivo, suffix,
						negocio, wTS(fa, hour, g.pick(60)))
				}
				at := g.deliverAt(fa)
				g.add(at, fmt.Sprintf("asignaciones/r%02d.csv", at), line(negocios[g.pick(len(negocios))], 8+g.pick(15)))
				if g.chance(0.1) && at >= 0 && at < nRuns-1 {
					// delivered again later the same Lima day with another negocio: the same
					// key, changed, and a greater creado_el (the version a single load keeps)
					re := at + 1
					g.add(re, fmt.Sprintf("asignaciones/r%02d.csv", re), line(negocios[g.pick(len(negocios))], 23))
				}
			}
		}
	}
	if g.chance(0.3) {
		at := g.deliverAt(1)
		g.add(at, fmt.Sprintf("asignaciones/r%02d.csv", at), "999,599,CAMP_DESCONOCIDA_20250701.txt,MOVIL,2025-05-01,"+wTS(1, 9, 0))
	}

	// Snapshots: on random days and (mostly) on each fecha_trandeuda; some repeated.
	snapDays := map[int]bool{}
	for d := -1; d <= last; d++ {
		if g.chance(0.5) {
			snapDays[d] = true
		}
	}
	for _, c := range camps {
		if g.chance(0.85) {
			snapDays[c.ftd] = true
		}
	}
	money := func() string {
		if g.chance(0.1) {
			return fmt.Sprintf("0.%02d", 1+g.pick(99))
		}
		return fmt.Sprintf("%d.%02d", 1+g.pick(600), g.pick(100))
	}
	for d := -1; d <= last+2; d++ {
		if !snapDays[d] {
			continue
		}
		ddmm := worldBase.AddDate(0, 0, d).Format("0201")
		var lines []string
		for _, a := range accounts {
			if !g.chance(0.85) {
				continue
			}
			for _, doc := range a.docs {
				if g.chance(0.9) {
					lines = append(lines, fmt.Sprintf("%s,%s,TRAN_DEUDA_%s_1,,%s,%s", a.cuenta, doc, ddmm, money(), wTS(d, 7, 4)))
				}
			}
		}
		at := g.deliverAt(d)
		g.add(at, fmt.Sprintf("trandeuda/%s_1.csv", wDay(d)), lines...)
		if at >= 0 && g.chance(0.15) {
			// the same day delivered again, later, some amounts changed
			re := min(at+g.pick(2), nRuns-1)
			var again []string
			for _, l := range lines {
				if g.chance(0.5) {
					f := strings.Split(l, ",")
					f[2], f[4], f[5] = "TRAN_DEUDA_"+ddmm+"_2", money(), wTS(d, 9, 30)
					again = append(again, strings.Join(f, ","))
				}
			}
			g.add(re, fmt.Sprintf("trandeuda/%s_2.csv", wDay(d)), again...)
		}
	}

	// Payments: creado_el the next day; some in two files, some excess, some unknown.
	var docs []string
	for _, a := range accounts {
		docs = append(docs, a.docs...)
	}
	for range 2 + g.pick(8) {
		doc := docs[g.pick(len(docs))]
		if g.chance(0.05) {
			doc = "DX99"
		}
		fp := g.pick(last + 1)
		n := 1
		if g.chance(0.05) {
			n = 4
		}
		for range n {
			line := fmt.Sprintf("%s,PAGOS_%s_1,,%d.%02d,%s,%s", doc, wDay(fp), 5+g.pick(200), g.pick(100), wDay(fp), wTS(fp+1, 6, 0))
			at := g.deliverAt(fp + 1)
			g.add(at, fmt.Sprintf("pagos/%s_1.csv", wDay(fp)), line)
			if at >= 0 && g.chance(0.15) {
				re := min(at+g.pick(2), nRuns-1)
				g.add(re, fmt.Sprintf("pagos/%s_2.csv", wDay(fp)), strings.Replace(line, "_1,", "_2,", 1))
			}
		}
	}

	// Gestiones of both channels; a few re-delivered (same uid) with other codes.
	client := func() string {
		switch {
		case g.chance(0.05):
			return "999"
		case g.chance(0.03):
			return ""
		}
		return accounts[g.pick(len(accounts))].codLuna
	}
	colas := []string{"COLA_A", "COLA_B", ""}
	vbCodes := []string{"TITULAR,PROMESA_PAGO,SI", "titular,sin_compromiso,", "TERCERO,DEJA_MENSAJE,NO", "BUZON,,", "OTRO,CODIGO,X"}
	maCodes := []string{"CONTACTO DIRECTO,PROMESA DE PAGO,PAGO TOTAL", "contacto directo,sin compromiso,niega",
		"CONTACTO INDIRECTO,TERCERO,RECADO", "NO CONTACTO,NO CONTESTA,", "SIN RESPUESTA,BUZON,", "X,Y,Z"}
	agents := []string{"Ana,ana@x.pe", "Ana,ANA@x.pe", "Bob,bob@x.pe", "Zoe,zoe@x.pe", ","}
	// A third of the gestiones reach a client already reached that day (by either
	// channel), often in another delivery: intento renumbers the client's day.
	type clientDay struct {
		client string
		day    int
	}
	var reached []clientDay
	for _, ch := range []struct {
		table string
		codes []string
	}{{"voicebot_gestiones", vbCodes}, {"mibotair_gestiones", maCodes}} {
		for i := range 5 + g.pick(25) {
			cd := clientDay{client(), g.pick(last+2) - 1}
			if len(reached) > 0 && g.chance(0.33) {
				cd = reached[g.pick(len(reached))]
			}
			reached = append(reached, cd)
			hour := 8 + g.pick(13)
			ts := wTS(cd.day, hour, g.pick(60))
			line := func(client string) string {
				if ch.table == "voicebot_gestiones" {
					return fmt.Sprintf("vb%d,%s,%s,%s,%s", i, colas[g.pick(len(colas))], client, ch.codes[g.pick(len(ch.codes))], ts)
				}
				return fmt.Sprintf("ma%d,%s,%s,%s,%s,%s", i, colas[g.pick(len(colas))], client, ch.codes[g.pick(len(ch.codes))],
					agents[g.pick(len(agents))], ts)
			}
			at := g.deliverAt(cd.day)
			g.add(at, fmt.Sprintf("%s/r%02d.csv", ch.table, at), line(cd.client))
			if at >= 0 && at < nRuns-1 && g.chance(0.05) {
				// the same uid again, later, with other codes, a later time (the version a
				// single load keeps) and sometimes another client
				re := at + 1
				ts = wTS(cd.day, hour+1, g.pick(60))
				g.add(re, fmt.Sprintf("%s/r%02d.csv", ch.table, re), line(client()))
			}
		}
	}
	return world{Seed: seed, Runs: g.runs}
}
