package bigquery

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

func TestLoadTransform(t *testing.T) {
	cfg := Config{Project: "proj", Dataset: "src", UID: "U1", Tables: map[string]string{"pagos": "pagos_{uid}_x"}}
	stmts, err := LoadTransform(etl.MustRegistry(), cfg, "pulso_transform")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, st := range stmts {
		names = append(names, st.Table)
		if i > 0 && stmts[i-1].Name >= st.Name {
			t.Errorf("statements out of order: %s before %s", stmts[i-1].Name, st.Name)
		}
		if !strings.Contains(st.SQL, "CREATE OR REPLACE TABLE `proj.pulso_transform."+st.Table+"`") {
			t.Errorf("%s: does not create proj.pulso_transform.%s", st.Name, st.Table)
		}
		if strings.Contains(st.SQL, "{{") {
			t.Errorf("%s: untemplated placeholder", st.Name)
		}
	}
	for _, want := range []string{"aux_campana", "aux_deuda_snapshot", "aux_asignacion_cuenta", "aux_gestiones_unificadas",
		"aux_gestion_cuenta", "aux_pago_dedup", "aux_pago_campana", "mart_dashboard_data", "mart_assignment_data",
		"mart_assignment_clientes", "mart_operation_data", "mart_operation_attempt_data", "mart_operation_queue_data",
		"mart_productivity_data"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("no statement builds %s", want)
		}
	}
	byTable := map[string]*TransformStatement{}
	for _, st := range stmts {
		byTable[st.Table] = st
	}
	if s := byTable["src_pagos"].SQL; !strings.Contains(s, "`proj.src.pagos_U1_x`") {
		t.Errorf("src_pagos does not read the configured table:\n%s", s)
	}
	if s := byTable["src_calendario"].SQL; !strings.Contains(s, "`proj.src.bi_U1_dash_calendario_v5`") {
		t.Errorf("src_calendario does not read the default table:\n%s", s)
	}
	if p := byTable["src_ejecutivos"].Params; len(p) != 1 || p[0] != ParamEjecutivosIDCliente {
		t.Errorf("src_ejecutivos params %v", p)
	}
	if p := byTable["mart_productivity_data"].Params; len(p) != 1 || p[0] != ParamPDPRecoveryDays {
		t.Errorf("mart_productivity_data params %v", p)
	}
}

func TestLoadTransformRefuses(t *testing.T) {
	reg := etl.MustRegistry()
	cfg := Config{Project: "proj", Dataset: "src", UID: "U1"}
	for _, bad := range []string{"", "a.b", "x`; DROP", "a b"} {
		if _, err := LoadTransform(reg, cfg, bad); err == nil {
			t.Errorf("dataset %q accepted", bad)
		}
	}
	file := func(name, sql string) fstest.MapFS {
		return fstest.MapFS{"bigquery/transform/" + name: {Data: []byte(sql)}}
	}
	for name, fsys := range map[string]fstest.MapFS{
		"unknown param": file("010_aux_x.sql", "CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_x` AS SELECT @today"),
		"wrong target":  file("010_aux_x.sql", "CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_y` AS SELECT 1"),
		"bad name":      file("aux_x.sql", "CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_x` AS SELECT 1"),
		"unknown field": file("010_aux_x.sql", "CREATE OR REPLACE TABLE `{{.Project}}.{{.TransformDataset}}.aux_x` AS SELECT * FROM {{.Tables.nope}}"),
		"empty":         fstest.MapFS{},
	} {
		if _, err := loadTransform(fsys, reg, cfg, "t"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
