package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for line := range strings.Lines(string(data)) {
				if w, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if len(wants) == 0 {
				t.Fatal("fixture has no `# want: <message>` line")
			}
			_, err = loadConfig(reg, nil, f, true)
			if err == nil {
				t.Fatal("bad config accepted")
			}
			if !isConfigError(err) {
				t.Fatalf("error %v is not a configuration error (exit 2)", err)
			}
			for _, w := range wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
		})
	}
}

// Unquoted YAML dates and timestamps arrive as times; they keep their meaning.
func TestConfigUnquotedDates(t *testing.T) {
	clearPulsoEnv(t)
	cfg, err := loadConfig(etl.MustRegistry(), nil, "../../testdata/config/unquoted-dates.good.yaml", true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AsOf != etl.NewDate(2025, 7, 15) {
		t.Errorf("as_of = %v", cfg.AsOf)
	}
	if got := cfg.Tables["pagos"].InitialFrom; !got.Equal(etl.NewDate(2025, 1, 1).Start()) {
		t.Errorf("pagos initial_from = %v, want 2025-01-01 00:00 Lima", got)
	}
	if got := cfg.Tables["trandeuda"].InitialFrom; !got.Equal(time.Date(2025, 2, 1, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("trandeuda initial_from = %v", got)
	}
	if h := cfg.Transform.Holidays; len(h) != 2 || h[0] != etl.NewDate(2025, 7, 28) || h[1] != etl.NewDate(2025, 7, 29) {
		t.Errorf("holidays = %v", h)
	}
	if cfg.StaleAfter != 90*time.Minute {
		t.Errorf("stale_after = %v", cfg.StaleAfter)
	}
}

func TestConfigUnknownKeyNamesKeyAndLine(t *testing.T) {
	clearPulsoEnv(t)
	_, err := loadConfig(etl.MustRegistry(), nil, "../../testdata/config/unknown-key.bad.yaml", true)
	if err == nil || !strings.Contains(err.Error(), `"database.pool_size" (line 4)`) {
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
	t.Setenv("PULSO_BOOTSTRAP_ADMIN_PASSWORD", "Bootstrap-Secret-1")
	out.Reset()
	if code := run(t.Context(), []string{"config", "--config", "../../testdata/config/full.good.yaml"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, secret := range []string{"hunter2", "an-example-secret-of-at-least-32-bytes!", "Bootstrap-Secret-1"} {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("secret %q printed:\n%s", secret, out.String())
		}
	}
	for _, line := range []string{"jwt.secret = REDACTED", "bootstrap.admin_password = REDACTED"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("%q missing:\n%s", line, out.String())
		}
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
		{"lookback-text.bad.yaml", `tables.pagos.lookback_days: "abc" is not an integer (config file ../../testdata/config/lookback-text.bad.yaml:4)`},
		{"lookback-fraction.bad.yaml", `tables.pagos.lookback_days: "10.5" is not an integer (config file ../../testdata/config/lookback-fraction.bad.yaml:6)`},
		{"lookback-fraction.bad.yaml", `etl.reject_tolerance: "lots" is not a number (config file ../../testdata/config/lookback-fraction.bad.yaml:8)`},
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

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://pulso:s3cret@db:5432/pulso?sslmode=disable", "postgres://pulso:REDACTED@db:5432/pulso?sslmode=disable"},
		{"postgres://pulso@db/pulso?password=s3cret&sslmode=require", "postgres://pulso@db/pulso?password=REDACTED&sslmode=require"},
		{"redis://:hunter2@127.0.0.1:6379/0", "redis://:REDACTED@127.0.0.1:6379/0"},
		{"postgres://pulso@db/pulso", "postgres://pulso@db/pulso"},
		{"host=db user=pulso password=s3cret dbname=pulso", "host=db user=pulso password=REDACTED dbname=pulso"},
		{"host=db password='se cret' dbname=pulso", "host=db password=REDACTED dbname=pulso"},
		{`host=db password='it\'s x' user=u`, "host=db password=REDACTED user=u"},
		{`password=a\ b host=db`, "password=REDACTED host=db"},
		{"password = 'x y' host=db", "password = REDACTED host=db"},
		{"host=db dbname=pulso", "host=db dbname=pulso"},
		{"", ""},
	} {
		got := redactURL(c.in)
		if got != c.want {
			t.Errorf("redactURL(%q) = %q, want %q", c.in, got, c.want)
		}
		for _, secret := range []string{"s3cret", "hunter2", "cret", "it\\'s", "x y", `a\ b`} {
			if strings.Contains(got, secret) {
				t.Errorf("redactURL(%q) = %q leaks %q", c.in, got, secret)
			}
		}
	}
}

func TestConfigBadFlagValueNamesFlag(t *testing.T) {
	clearPulsoEnv(t)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"--as-of", "2025-02-30", "config"}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), `as_of: "2025-02-30" is not a date (YYYY-MM-DD) (flag --as-of)`) {
		t.Fatalf("exit %d, stderr %q; want 2 naming the flag", code, stderr.String())
	}
}

// Extra arguments and unknown output formats are usage errors (exit 2) naming what
// is accepted, never silently ignored.
func TestUsageErrors(t *testing.T) {
	clearPulsoEnv(t)
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"transform", "extra"}, `unknown command "extra" for "pulso transform"`},
		{[]string{"config", "-o", "yaml"}, `invalid argument "yaml" for "-o, --output" flag: "yaml": want text or json`},
		{[]string{"migrate", "status", "--output", "xml"}, `"xml": want text or json`},
		{[]string{"status", "-o", "csv"}, `"csv": want text or json`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), c.argv, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 saying %q", c.argv, code, stderr.String(), c.want)
		}
		// The error and where the help is, not the help itself.
		if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 2 ||
			!strings.HasPrefix(lines[1], "see 'pulso ") || !strings.HasSuffix(lines[1], " --help'") {
			t.Errorf("%v: stderr %q; want the error and a --help pointer", c.argv, stderr.String())
		}
	}
}

// On a terminal info lines would repeat the bars and summary: unless a level is
// given the terminal gets warnings and errors only; JSON and pipes keep the level.
func TestLogLevelQuietOnTerminal(t *testing.T) {
	for _, c := range []struct {
		lc   LogConfig
		tty  bool
		want slog.Level
	}{
		{LogConfig{Level: "info", Format: "auto"}, true, slog.LevelWarn},
		{LogConfig{Level: "info", Format: "auto"}, false, slog.LevelInfo},
		{LogConfig{Level: "info", Format: "json"}, true, slog.LevelInfo},
		{LogConfig{Level: "info", Format: "auto", LevelGiven: true}, true, slog.LevelInfo},
		{LogConfig{Level: "debug", Format: "text", LevelGiven: true}, true, slog.LevelDebug},
		{LogConfig{Level: "error", Format: "auto"}, true, slog.LevelError},
	} {
		if got := logLevel(c.lc, c.tty); got != c.want {
			t.Errorf("logLevel(%+v, tty %v) = %v, want %v", c.lc, c.tty, got, c.want)
		}
	}
}
