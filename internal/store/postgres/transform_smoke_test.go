package postgres

import (
	"os"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

func TestTransformSmoke(t *testing.T) {
	dir := os.Getenv("TF_SMOKE_DIR")
	if dir == "" {
		t.Skip("manual")
	}
	e := newTFEnv(t)
	asOf := etl.NewDate(2025, time.July, 15)
	t0 := time.Now()
	e.load(dir, asOf)
	t.Logf("load %v", time.Since(t0))
	res := e.transform(asOf, tfOpts{full: os.Getenv("TF_FULL") != ""})
	for _, s := range res.Steps {
		t.Logf("%-28s %-8s del %8d ins %8d %v", s.Step, s.Status, s.Deleted, s.Inserted, s.Duration)
	}
	t.Logf("total %v changes %d version %d warnings %v", res.Duration, res.Changes, res.DataVersion, res.Warnings)
	res = e.transform(asOf, tfOpts{})
	t.Logf("second: rebuilt %v total %v", res.Rebuilt, res.Duration)
	for k, v := range e.checksums() {
		t.Logf("%s %s", k, v)
	}
}
