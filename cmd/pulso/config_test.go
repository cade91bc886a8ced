package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// clearPulsoEnv keeps the developer's environment out of config tests.
func clearPulsoEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"DATABASE_URL", "REDIS_URL", "PULSO_DATABASE_URL", "PULSO_AS_OF", "PULSO_SOURCE_DIR",
		"PULSO_TABLES_PAGOS_LOOKBACK_DAYS", "PULSO_LOG_LEVEL", "PULSO_ETL_REJECT_TOLERANCE"} {
		t.Setenv(k, "")
	}
}

func TestConfigFixtures(t *testing.T) {
	clearPulsoEnv(t)
	reg := etl.MustRegistry()
	good, _ := filepath.Glob("../../testdata/config/*.good.yaml")
	bad, _ := filepath.Glob("../../testdata/config/*.bad.yaml")
	if len(good) == 0 || len(bad) == 0 {
		t.Fatal("config fixtures missing")
	}
	for _, f := range good {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := loadConfig(reg, nil, f, true); err != nil {
				t.Fatalf("good config rejected: %v", err)
			}
		})
	}
	for _, f := range bad {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := loadConfig(reg, nil, f, true)
			if err == nil {
				t.Fatal("bad config accepted")
			}
			if !isConfigError(err) {
				t.Fatalf("error %v is not a configuration error (exit 2)", err)
			}
		})
	}
}

func TestConfigUnknownKeyNamesKeyAndLine(t *testing.T) {
	clearPulsoEnv(t)
	_, err := loadConfig(etl.MustRegistry(), nil, "../../testdata/config/unknown-key.bad.yaml", true)
	if err == nil || !strings.Contains(err.Error(), `"database.pool_size" (line 3)`) {
		t.Fatalf("err = %v, want the unknown key and its line", err)
	}
}

func TestConfigPrecedence(t *testing.T) {
	clearPulsoEnv(t)
	reg := etl.MustRegistry()
	file := "../../testdata/config/full.good.yaml"

	cfg, err := loadConfig(reg, nil, file, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tables["pagos"].LookbackDays != 45 || cfg.Tables["trandeuda"].LookbackDays != 14 {
		t.Fatalf("file/default lookbacks = %d/%d", cfg.Tables["pagos"].LookbackDays, cfg.Tables["trandeuda"].LookbackDays)
	}
	if cfg.Tables["voicebot_gestiones"].BQTable != "voicebot_{uid}_v2" || len(cfg.Transform.Holidays) != 2 {
		t.Fatalf("file values not applied: %+v", cfg.Transform)
	}

	t.Setenv("PULSO_TABLES_PAGOS_LOOKBACK_DAYS", "60")
	t.Setenv("DATABASE_URL", "postgres://alias@h/db")
	t.Setenv("PULSO_LOG_LEVEL", "warn")
	cfg, err = loadConfig(reg, nil, file, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tables["pagos"].LookbackDays != 60 || cfg.Database.URL != "postgres://alias@h/db" || cfg.Log.Level != "warn" {
		t.Fatalf("env must beat the file: lookback %d url %s level %s", cfg.Tables["pagos"].LookbackDays, cfg.Database.URL, cfg.Log.Level)
	}

	root := newRootCmd(&app{reg: reg, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
	if err := root.PersistentFlags().Parse([]string{"--log-level", "error", "--database-url", "postgres://flag@h/db"}); err != nil {
		t.Fatal(err)
	}
	cfg, err = loadConfig(reg, root.PersistentFlags(), file, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Level != "error" || cfg.Database.URL != "postgres://flag@h/db" {
		t.Fatalf("flags must beat env: level %s url %s", cfg.Log.Level, cfg.Database.URL)
	}
}

func TestConfigDefaultFileOptional(t *testing.T) {
	clearPulsoEnv(t)
	cfg, err := loadConfig(etl.MustRegistry(), nil, filepath.Join(t.TempDir(), "absent.yaml"), false)
	if err != nil {
		t.Fatalf("absent default config: %v", err)
	}
	if cfg.ETL.RejectTolerance != 0.05 || cfg.ETL.MaxShrinkRatio != 0.5 || cfg.ETL.EjecutivosIDCliente != 145 {
		t.Fatalf("defaults = %+v", cfg.ETL)
	}
	if _, err := loadConfig(etl.MustRegistry(), nil, filepath.Join(t.TempDir(), "absent.yaml"), true); err == nil {
		t.Fatal("an explicit --config that does not exist must fail")
	}
}

func TestConfigCommandRedactsSecrets(t *testing.T) {
	clearPulsoEnv(t)
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"config", "--config", "../../testdata/config/full.good.yaml"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Fatalf("secret printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "redis.url = redis://:REDACTED@127.0.0.1:6379/0") {
		t.Fatalf("redis url not shown redacted:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "tables.pagos.lookback_days = 45") {
		t.Fatalf("table keys missing:\n%s", out.String())
	}
}

func TestBadConfigExitsTwo(t *testing.T) {
	clearPulsoEnv(t)
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"version", "--config", "../../testdata/config/bad-level.bad.yaml"}, &out, &errb); code != exitUsage {
		t.Fatalf("exit %d, want 2: %s", code, errb.String())
	}
	if code := run(t.Context(), []string{"load", "--tables", "nope"}, &out, &errb); code != exitUsage {
		t.Fatalf("unknown table: exit %d, want 2", code)
	}
}

// The example file documents every key; a key added to defaults must be added there.
func TestExampleConfigListsEveryKey(t *testing.T) {
	clearPulsoEnv(t)
	reg := etl.MustRegistry()
	data, err := os.ReadFile("../../configs/pulso.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	listed := map[string]any{}
	flattenYAML("", doc, listed)
	for k := range defaults(reg) {
		if _, ok := listed[k]; !ok {
			t.Errorf("configs/pulso.example.yaml lacks %q", k)
		}
	}
	if _, err := loadConfig(reg, nil, "../../configs/pulso.example.yaml", true); err != nil {
		t.Fatalf("example config invalid: %v", err)
	}
}

func flattenYAML(prefix string, in map[string]any, out map[string]any) {
	for k, v := range in {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if m, ok := v.(map[string]any); ok {
			flattenYAML(key, m, out)
			continue
		}
		out[key] = v
	}
}

// A value of the wrong type is a configuration error naming the key, the value and
// where it came from, never a silent 0 or a truncated number.
func TestConfigBadValuesNameKeyAndSource(t *testing.T) {
	clearPulsoEnv(t)
	reg := etl.MustRegistry()
	for _, c := range []struct{ file, want string }{
		{"lookback-text.bad.yaml", `tables.pagos.lookback_days: "abc" is not an integer (config file ../../testdata/config/lookback-text.bad.yaml:3)`},
		{"lookback-fraction.bad.yaml", `tables.pagos.lookback_days: "10.5" is not an integer (config file ../../testdata/config/lookback-fraction.bad.yaml:4)`},
		{"lookback-fraction.bad.yaml", `etl.reject_tolerance: "lots" is not a number (config file ../../testdata/config/lookback-fraction.bad.yaml:6)`},
	} {
		_, err := loadConfig(reg, nil, "../../testdata/config/"+c.file, true)
		if err == nil || !isConfigError(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v; want a configuration error saying %s", c.file, err, c.want)
		}
	}
	for value, want := range map[string]string{
		"abc":  `tables.pagos.lookback_days: "abc" is not an integer (variable PULSO_TABLES_PAGOS_LOOKBACK_DAYS)`,
		"10.5": `tables.pagos.lookback_days: "10.5" is not an integer (variable PULSO_TABLES_PAGOS_LOOKBACK_DAYS)`,
		" 12 ": `tables.pagos.lookback_days: " 12 " is not an integer (variable PULSO_TABLES_PAGOS_LOOKBACK_DAYS)`,
		"12":   "",
	} {
		t.Setenv("PULSO_TABLES_PAGOS_LOOKBACK_DAYS", value)
		cfg, err := loadConfig(reg, nil, "", false)
		switch {
		case want == "" && (err != nil || cfg.Tables["pagos"].LookbackDays != 12):
			t.Errorf("PULSO_TABLES_PAGOS_LOOKBACK_DAYS=%q: err %v", value, err)
		case want != "" && (err == nil || !isConfigError(err) || !strings.Contains(err.Error(), want)):
			t.Errorf("PULSO_TABLES_PAGOS_LOOKBACK_DAYS=%q: err = %v; want %s", value, err, want)
		}
	}
}
