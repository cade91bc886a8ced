package api

import (
	"os"
	"testing"

	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envHelperMode); mode != "" {
		runTriggerHelper(mode) // the test binary as a triggered pipeline: never returns
	}
	pgtest.Main(m)
}
