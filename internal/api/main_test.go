package api

import (
	"testing"

	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
