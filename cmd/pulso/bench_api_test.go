//go:build bench

package main

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/pulso-cobranzas/pulso/internal/store/cache/redistest"
)

// attackResult is one load-generator run: vegeta, closed loop (as fast as the
// server answers) over `connections` keep-alive connections, like wrk -c.
type attackResult struct {
	rps     float64
	p99     time.Duration
	errors  uint64
	maxRSS  int64 // KiB, the server's peak resident set seen during the run
	success float64
}

func attack(t *testing.T, pid int, url, token string, connections int, d time.Duration) attackResult {
	t.Helper()
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	hdr.Set("Accept-Encoding", "gzip")
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: url, Header: hdr})
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(connections)), vegeta.MaxWorkers(uint64(connections)),
		vegeta.Connections(connections), vegeta.MaxConnections(connections), vegeta.KeepAlive(true),
		vegeta.Timeout(10*time.Second))
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if kb := rssKiB(pid); kb > peak.Load() {
					peak.Store(kb)
				}
			}
		}
	}()
	var m vegeta.Metrics
	for res := range atk.Attack(tr, vegeta.Rate{Freq: 0}, d, url) {
		m.Add(res)
	}
	m.Close()
	close(done)
	var errs uint64
	for code, n := range m.StatusCodes {
		if code != "200" {
			errs += uint64(n)
		}
	}
	return attackResult{rps: m.Throughput, p99: m.Latencies.P99, errors: errs, maxRSS: peak.Load(), success: m.Success}
}

// rssKiB reads VmRSS of a process.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func medianSpread(xs []float64) (med, lo, hi float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2], s[0], s[len(s)-1]
}

// P6, P7, P8 of bars.md on the large synthetic set: the cached dashboard against
// /health on the same server in the same run, every analytics endpoint uncached, and
// the server's RSS under that load. Prints figures; never fails on time.
func TestBenchAPI(t *testing.T) {
	runs := 3
	dur := 20 * time.Second
	if v := os.Getenv("PULSO_BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		dur = d
	}
	url := migrated(t)
	dir := t.TempDir()
	started := time.Now()
	if out, err := runDemoLarge(t, dir); err != nil {
		t.Fatalf("demo --scale large: %v\n%s", err, out)
	}
	mustRun(t, url, pipelineArgs(dir)...)
	t.Logf("large set generated and loaded in %v", time.Since(started).Round(time.Second))

	redisSrv := redistest.Start(t)
	api := startServe(t, url, "REDIS_URL="+redisSrv.URL())
	token := api.login(t)
	pid := api.cmd.Process.Pid
	dash := api.base + "/api/v1/dashboard"
	api.mustGet(t, "/api/v1/dashboard", token, nil) // warm the cache

	var healthRPS, dashRPS, ratios []float64
	var dashP99 []time.Duration
	var peak int64
	for i := range runs {
		h := attack(t, pid, api.base+"/health", "", 50, dur)
		d := attack(t, pid, dash, token, 50, dur)
		healthRPS, dashRPS = append(healthRPS, h.rps), append(dashRPS, d.rps)
		ratios = append(ratios, d.rps/h.rps)
		dashP99 = append(dashP99, d.p99)
		peak = max(peak, h.maxRSS, d.maxRSS)
		t.Logf("P6 run %d: /health %.0f req/s p99 %v errors %d; cached dashboard %.0f req/s p99 %v errors %d; ratio %.2f; serve RSS peak %.1f MB; load %s",
			i+1, h.rps, h.p99, h.errors, d.rps, d.p99, d.errors, d.rps/h.rps, float64(max(h.maxRSS, d.maxRSS))/1024, loadavg())
	}
	med, lo, hi := medianSpread(ratios)
	slices.Sort(dashP99)
	t.Logf("P6: cached dashboard / health req/s = %.2f median (%.2f–%.2f); dashboard p99 median %v (%v–%v); bar ≥ 0.50 and p99 ≤ 10ms",
		med, lo, hi, dashP99[len(dashP99)/2], dashP99[0], dashP99[len(dashP99)-1])

	// P7: the same server binary with every cache off: each request computes.
	uncached := startServe(t, url, "PULSO_CACHE_ENABLED=false")
	utoken := uncached.login(t)
	upid := uncached.cmd.Process.Pid
	endpoints := []string{
		"/api/v1/dashboard",
		"/api/v1/evolution?fecha_inicio=2025-06-16&fecha_fin=2025-07-15",
		"/api/v1/assignment",
		"/api/v1/operation",
		"/api/v1/productivity",
	}
	for _, ep := range endpoints {
		uncached.mustGet(t, ep, utoken, nil)
		var p99s []float64
		for i := range runs {
			r := attack(t, upid, uncached.base+ep, utoken, 50, dur/2)
			p99s = append(p99s, float64(r.p99)/float64(time.Millisecond))
			peak = max(peak, r.maxRSS)
			t.Logf("P7 %s run %d: %.0f req/s p99 %v errors %d; serve RSS peak %.1f MB; load %s",
				ep, i+1, r.rps, r.p99, r.errors, float64(r.maxRSS)/1024, loadavg())
		}
		m, l, h := medianSpread(p99s)
		t.Logf("P7 %s: p99 %.1f ms median (%.1f–%.1f); bar ≤ 200 ms", ep, m, l, h)
	}
	t.Logf("P8: peak serve RSS under load %.1f MB; bar ≤ 150 MB", float64(peak)/1024)
}

func runDemoLarge(t *testing.T, dir string) (string, error) {
	t.Helper()
	res := runBinWith(t, t.Context(), nil, "demo", "--scale", "large", "--out", dir)
	if res.code != exitOK {
		return res.stderr, fmt.Errorf("exit %d", res.code)
	}
	return "", nil
}
