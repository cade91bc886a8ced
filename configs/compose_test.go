package configs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// The compose stack is checked without Docker: compose-go (the Compose
// specification's reference loader, the one `docker compose` itself uses) loads
// compose.yaml — schema, interpolation, required variables, references between
// services, networks and volumes — and checkStack then verifies the properties the
// deployment relies on across compose.yaml and the files it mounts from here
// (Traefik's dynamic file, prometheus.yml, Grafana's provisioning and dashboard).
// Every property is shown to fail on a mutated copy (TestComposeChecksCatchMutations).

const (
	testDomain = "pulso.example.test"
	testSecret = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
)

// requiredVars are the variables compose.yaml refuses to start without.
var requiredVars = []string{"DOMAIN", "PULSO_JWT_SECRET", "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}

func testEnv() map[string]string {
	return map[string]string{
		"DOMAIN":                 testDomain,
		"PULSO_JWT_SECRET":       testSecret,
		"POSTGRES_PASSWORD":      "pg0123456789abcdef",
		"GRAFANA_ADMIN_PASSWORD": "grafana-test-password",
	}
}

func configsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func readCompose(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(configsDir(t), "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadCompose loads compose content as `docker compose -f configs/compose.yaml`
// would: relative paths against configs/, only the given environment (no OS
// environment, no .env file).
func loadCompose(t *testing.T, content []byte, env map[string]string) (*types.Project, error) {
	t.Helper()
	dir := configsDir(t)
	return loader.LoadWithContext(t.Context(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "compose.yaml"), Content: content}},
		Environment: types.Mapping(maps.Clone(env)),
	})
}

func mustLoad(t *testing.T, content []byte) *types.Project {
	t.Helper()
	p, err := loadCompose(t, content, testEnv())
	if err != nil {
		t.Fatalf("load compose.yaml: %v", err)
	}
	return p
}

// TestComposeLoads loads the file through compose-go's project options (the path
// the compose CLI takes) and checks every property of the stack.
func TestComposeLoads(t *testing.T) {
	var env []string
	for k, v := range testEnv() {
		env = append(env, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(configsDir(t), "compose.yaml")}, cli.WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("compose.yaml does not load: %v", err)
	}
	if p.Name != "pulso" {
		t.Errorf("project name %q, want pulso", p.Name)
	}
	want := []string{"grafana", "postgres", "prometheus", "pulso-api", "pulso-etl", "pulso-migrate", "pushgateway", "redis", "traefik"}
	if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	for _, err := range checkStack(p, testEnv()) {
		t.Error(err)
	}
}

// Every image is pinned: no latest, no bare name.
func TestComposeImagesPinned(t *testing.T) {
	p := mustLoad(t, readCompose(t))
	tag := regexp.MustCompile(`:v?\d+\.\d+(\.\d+)?$`)
	for name, s := range p.Services {
		if !tag.MatchString(s.Image) {
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
	}
}

// A required variable unset, or set empty, stops the load naming it.
func TestComposeRequiresSecrets(t *testing.T) {
	content := readCompose(t)
	for _, name := range requiredVars {
		for _, empty := range []bool{false, true} {
			env := testEnv()
			delete(env, name)
			if empty {
				env[name] = ""
			}
			_, err := loadCompose(t, content, env)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s unset (empty %v): load error %v, want one naming %s", name, empty, err, name)
			}
		}
	}
}

// mutation changes one thing, in the compose text before loading or in the loaded
// project (a mounted file replaced by an edited copy), and names the error
// checkStack must then report.
type mutation struct {
	name    string
	compose func(*testing.T, string) string
	project func(*testing.T, *types.Project)
	want    string
}

// replaceOnce builds a text edit that fails the test unless old occurs exactly once
// (so a mutation cannot silently miss).
func replaceOnce(old, repl string) func(*testing.T, string) string {
	return func(t *testing.T, s string) string {
		t.Helper()
		if n := strings.Count(s, old); n != 1 {
			t.Fatalf("mutation: %q occurs %d times, want 1", old, n)
		}
		return strings.Replace(s, old, repl, 1)
	}
}

func textEdit(old, repl string) func(*testing.T, []byte) []byte {
	return func(t *testing.T, b []byte) []byte {
		t.Helper()
		if n := bytes.Count(b, []byte(old)); n != 1 {
			t.Fatalf("mutation: %q occurs %d times, want 1", old, n)
		}
		return bytes.Replace(b, []byte(old), []byte(repl), 1)
	}
}

// jsonEdit edits the decoded dashboard.
func jsonEdit(f func(d map[string]any)) func(*testing.T, []byte) []byte {
	return func(t *testing.T, b []byte) []byte {
		t.Helper()
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		f(d)
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

func lastPanel(d map[string]any) map[string]any {
	ps := d["panels"].([]any)
	return ps[len(ps)-1].(map[string]any)
}

func TestComposeChecksCatchMutations(t *testing.T) {
	const dyn = "/etc/traefik/dynamic.yaml"
	const prom = "/etc/prometheus/prometheus.yml"
	const dash = "/etc/grafana/dashboards/pulso.json"
	apiDeps := "    depends_on:\n      pulso-migrate:\n        condition: service_completed_successfully\n      postgres:\n        condition: service_healthy\n      redis:\n        condition: service_healthy\n"
	etlDeps := "      pulso-migrate:\n        condition: service_completed_successfully\n      postgres:\n        condition: service_healthy\n      pushgateway:"
	cases := []mutation{
		// Traefik's dynamic configuration.
		{name: "router without the rate limit", want: "no rate-limit middleware",
			project: remountEdit("traefik", dyn, textEdit("      middlewares:\n        - pulso-ratelimit\n", ""))},
		{name: "router names an undefined middleware", want: `middleware "pulso-ratelimit" is not defined`,
			project: remountEdit("traefik", dyn, textEdit("    pulso-ratelimit:\n      rateLimit:", "    pulso-rl:\n      rateLimit:"))},
		{name: "rate limit without burst", want: "no rate-limit middleware",
			project: remountEdit("traefik", dyn, textEdit("        burst: 60\n", ""))},
		{name: "rule on another host", want: "rule \"Host(`api.example.org`)\"",
			project: remountEdit("traefik", dyn, textEdit("Host(`{{ env \"DOMAIN\" }}`)", "Host(`api.example.org`)"))},
		{name: "router on the web entrypoint", want: "entryPoints [web]",
			project: remountEdit("traefik", dyn, textEdit("      entryPoints:\n        - websecure\n", "      entryPoints:\n        - web\n"))},
		{name: "router without TLS", want: "no TLS",
			project: remountEdit("traefik", dyn, textEdit("      tls:\n        certResolver: le\n", ""))},
		{name: "router on an undefined resolver", want: `resolver "zz"`,
			project: remountEdit("traefik", dyn, textEdit("certResolver: le", "certResolver: zz"))},
		{name: "metrics port routed", want: "the API's metrics listener",
			project: remountEdit("traefik", dyn, textEdit("http://pulso-api:8000", "http://pulso-api:9090"))},
		{name: "no router reaches the API", want: "no router",
			project: remountEdit("traefik", dyn, textEdit("http://pulso-api:8000", "http://elsewhere:8000"))},
		{name: "DOMAIN not passed to traefik", want: "rule \"Host(``)\"",
			compose: replaceOnce("      DOMAIN: ${DOMAIN:?set DOMAIN to the API's public host name}\n", "      OTHER: x\n")},
		// Traefik's static configuration.
		{name: "websecure not on 443", want: `entrypoint websecure on ":8443"`,
			compose: replaceOnce("--entrypoints.websecure.address=:443", "--entrypoints.websecure.address=:8443")},
		{name: "no redirect to websecure", want: "web does not redirect to websecure",
			compose: replaceOnce("      - --entrypoints.web.http.redirections.entrypoint.to=websecure\n", "")},
		{name: "docker socket mounted", want: "Docker socket",
			compose: replaceOnce("      - letsencrypt:/letsencrypt\n", "      - letsencrypt:/letsencrypt\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n")},
		{name: "443 not published", want: "does not publish 80 and 443",
			compose: replaceOnce(`      - "443:443"`+"\n", "")},
		// Services.
		{name: "api waits for migrate only to start", want: "pulso-api depends_on pulso-migrate",
			compose: replaceOnce(apiDeps, strings.Replace(apiDeps, "service_completed_successfully", "service_started", 1))},
		{name: "api does not wait for redis", want: "pulso-api depends_on redis",
			compose: replaceOnce(apiDeps, strings.TrimSuffix(apiDeps, "      redis:\n        condition: service_healthy\n"))},
		{name: "etl does not wait for migrate", want: "pulso-etl depends_on pulso-migrate",
			compose: replaceOnce(etlDeps, strings.Replace(etlDeps, "service_completed_successfully", "service_started", 1))},
		{name: "migrate runs status", want: "pulso-migrate command",
			compose: replaceOnce(`command: ["migrate", "up"]`, `command: ["migrate", "status"]`)},
		{name: "migrate restarts", want: "pulso-migrate restart",
			compose: replaceOnce("    command: [\"migrate\", \"up\"]\n    restart: \"no\"\n", "    command: [\"migrate\", \"up\"]\n    restart: on-failure\n")},
		{name: "etl every hour", want: "lacks --every 3h",
			compose: replaceOnce(`"--every", "3h"`, `"--every", "1h"`)},
		{name: "etl pushes nowhere", want: "lacks --pushgateway",
			compose: replaceOnce(`, "--pushgateway", "http://pushgateway:9091"]`, "]")},
		{name: "etl short grace", want: "stop_grace_period",
			compose: replaceOnce("stop_grace_period: 2m", "stop_grace_period: 10s")},
		{name: "landing writable", want: "pulso-etl does not mount its landing dir",
			compose: replaceOnce("    environment:\n      <<: *pulso-env\n    volumes:\n      - ${PULSO_LANDING_DIR:-/srv/pulso/landing}:/landing:ro\n",
				"    environment:\n      <<: *pulso-env\n    volumes:\n      - ${PULSO_LANDING_DIR:-/srv/pulso/landing}:/landing\n")},
		{name: "api liveness only", want: "pulso-api healthcheck",
			compose: replaceOnce(`"healthcheck", "--ready"]`, `"healthcheck"]`)},
		{name: "postgres without pg_isready", want: "postgres healthcheck",
			compose: replaceOnce(`test: ["CMD", "pg_isready", "-U", "pulso", "-d", "pulso"]`, `test: ["CMD", "true"]`)},
		{name: "redis without ping", want: "redis healthcheck",
			compose: replaceOnce(`test: ["CMD", "redis-cli", "ping"]`, `test: ["CMD", "true"]`)},
		{name: "api publishes a port", want: "pulso-api publishes",
			compose: replaceOnce("    command: [\"serve\"]\n", "    command: [\"serve\"]\n    ports:\n      - \"9090:9090\"\n")},
		{name: "trusted proxies are everyone", want: `PULSO_TRUSTED_PROXIES ["0.0.0.0/0"]`,
			compose: replaceOnce("PULSO_TRUSTED_PROXIES: ${PULSO_EDGE_SUBNET:-172.30.0.0/24}", "PULSO_TRUSTED_PROXIES: 0.0.0.0/0")},
		{name: "edge subnet implicit", want: "explicit subnet",
			compose: replaceOnce("    ipam:\n      config:\n        - subnet: ${PULSO_EDGE_SUBNET:-172.30.0.0/24}\n", "    driver: bridge\n")},
		{name: "jwt secret hard-coded", want: "PULSO_JWT_SECRET does not come from the environment",
			compose: replaceOnce("${PULSO_JWT_SECRET:?set PULSO_JWT_SECRET (at least 32 bytes)}", "hard-coded-secret-0123456789abcdefghij")},
		{name: "grafana on every interface", want: "want 127.0.0.1 only",
			compose: replaceOnce(`"127.0.0.1:3000:3000"`, `"3000:3000"`)},
		{name: "no build for the image", want: "0 pulso services carry a build section",
			compose: replaceOnce("    build:\n      context: ..\n      dockerfile: Dockerfile\n", "")},
		{name: "etl on another image", want: "pulso-etl image",
			compose: replaceOnce("    <<: *pulso\n    command: [\"run-pipeline\"", "    <<: *pulso\n    image: ghcr.io/pulso-cobranzas/pulso:v0.0.9\n    command: [\"run-pipeline\"")},
		{name: "mounted file missing", want: "missing.yml, which does not exist",
			compose: replaceOnce("./prometheus/prometheus.yml:", "./prometheus/missing.yml:")},
		// Prometheus.
		{name: "pushgateway labels not honoured", want: "honor_labels",
			project: remountEdit("prometheus", prom, textEdit("honor_labels: true", "honor_labels: false"))},
		{name: "api scraped on the API port", want: "does not scrape pulso-api:9090",
			project: remountEdit("prometheus", prom, textEdit(`"pulso-api:9090"`, `"pulso-api:8000"`))},
		{name: "pushgateway not scraped", want: "does not scrape pushgateway:9091",
			project: remountEdit("prometheus", prom, textEdit(`"pushgateway:9091"`, `"pushgateway:9092"`))},
		{name: "prometheus.yml not YAML", want: "prometheus config",
			project: remountEdit("prometheus", prom, textEdit("scrape_configs:", "scrape_configs: ["))},
		// Grafana.
		{name: "nested panel on another datasource", want: `datasource uid "other"`,
			project: remountEdit("grafana", dash, jsonEdit(func(d map[string]any) {
				inner := lastPanel(d)["panels"].([]any)[0].(map[string]any)
				inner["datasource"].(map[string]any)["uid"] = "other"
			}))},
		{name: "target on another datasource", want: `datasource uid "other"`,
			project: remountEdit("grafana", dash, jsonEdit(func(d map[string]any) {
				p := d["panels"].([]any)[1].(map[string]any)
				p["targets"].([]any)[0].(map[string]any)["datasource"].(map[string]any)["uid"] = "other"
			}))},
		{name: "panel without datasource", want: "no datasource",
			project: remountEdit("grafana", dash, jsonEdit(func(d map[string]any) {
				p := d["panels"].([]any)[1].(map[string]any)
				delete(p, "datasource")
				delete(p["targets"].([]any)[0].(map[string]any), "datasource")
			}))},
		{name: "dashboard queries an unscraped job", want: `job "pulso"`,
			project: remountEdit("grafana", dash, textEdit(`process_resident_memory_bytes{job=\"pulso-api\"}`, `process_resident_memory_bytes{job=\"pulso\"}`))},
		{name: "provisioned datasource renamed", want: `datasource uid "prometheus" is not provisioned`, project: remountDatasources},
	}
	base := readCompose(t)
	for _, m := range cases {
		t.Run(m.name, func(t *testing.T) {
			content := base
			if m.compose != nil {
				content = []byte(m.compose(t, string(base)))
			}
			p, err := loadCompose(t, content, testEnv())
			if err != nil {
				t.Fatalf("the mutated file no longer loads, so the mutation tests the loader, not the checker: %v", err)
			}
			if m.project != nil {
				m.project(t, p)
			}
			errs := checkStack(p, testEnv())
			if !slices.ContainsFunc(errs, func(e error) bool { return strings.Contains(e.Error(), m.want) }) {
				t.Errorf("checkStack did not report %q; it reported %v", m.want, errs)
			}
		})
	}
}

// remountEdit copies the file the service mounts at target to a temporary file with
// the edit applied and points the mount at the copy.
func remountEdit(service, target string, edit func(*testing.T, []byte) []byte) func(*testing.T, *types.Project) {
	return func(t *testing.T, p *types.Project) {
		t.Helper()
		s := p.Services[service]
		for i, v := range s.Volumes {
			if v.Target != target {
				continue
			}
			b, err := os.ReadFile(v.Source)
			if err != nil {
				t.Fatal(err)
			}
			edited := edit(t, b)
			if bytes.Equal(edited, b) {
				t.Fatal("the mutation changed nothing")
			}
			copyPath := filepath.Join(t.TempDir(), filepath.Base(v.Source))
			if err := os.WriteFile(copyPath, edited, 0o644); err != nil {
				t.Fatal(err)
			}
			s.Volumes = slices.Clone(s.Volumes)
			s.Volumes[i].Source = copyPath
			p.Services[service] = s
			return
		}
		t.Fatalf("%s mounts nothing at %s", service, target)
	}
}

// remountDatasources replaces Grafana's datasource directory by one whose
// datasource has another uid than the dashboard's.
func remountDatasources(t *testing.T, p *types.Project) {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(configsDir(t), "grafana/provisioning/datasources/prometheus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(b, []byte("uid: prometheus"), []byte("uid: prom-renamed"), 1)
	if bytes.Equal(edited, b) {
		t.Fatal("the datasource file has no uid: prometheus")
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yaml"), edited, 0o644); err != nil {
		t.Fatal(err)
	}
	s := p.Services["grafana"]
	s.Volumes = slices.Clone(s.Volumes)
	for i, v := range s.Volumes {
		if v.Target == "/etc/grafana/provisioning/datasources" {
			s.Volumes[i].Source = dir
		}
	}
	p.Services["grafana"] = s
}

// The checks. Each returns every problem it finds; checkStack runs them all.

func checkStack(p *types.Project, env map[string]string) []error {
	var errs []error
	for _, check := range []func(*types.Project, map[string]string) []error{
		checkTraefik, checkServices, checkNetworks, checkImage, checkBindMounts, checkPrometheus, checkGrafana,
	} {
		errs = append(errs, check(p, env)...)
	}
	return errs
}

func service(p *types.Project, name string) (types.ServiceConfig, error) {
	s, ok := p.Services[name]
	if !ok {
		return s, fmt.Errorf("no service %s", name)
	}
	return s, nil
}

// flags parses a command line of --key=value flags (Traefik's static
// configuration, Prometheus's); keys are lower-cased, a bare flag is "true".
func flags(cmd []string) map[string]string {
	out := map[string]string{}
	for _, a := range cmd {
		a, ok := strings.CutPrefix(a, "--")
		if !ok {
			continue
		}
		k, v, found := strings.Cut(a, "=")
		if !found {
			v = "true"
		}
		out[strings.ToLower(k)] = v
	}
	return out
}

func envValue(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}

// mountSource is the host path bind-mounted at target in s.
func mountSource(s types.ServiceConfig, target string) (string, error) {
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == target {
			return v.Source, nil
		}
	}
	return "", fmt.Errorf("%s bind-mounts nothing at %s", s.Name, target)
}

// addrPort is the port of a listen address such as ":8000" (empty: def).
func addrPort(addr, def string) string {
	if addr == "" {
		return def
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return port
}

type traefikRouter struct {
	Rule        string   `yaml:"rule"`
	RuleSyntax  string   `yaml:"ruleSyntax"`
	Priority    int      `yaml:"priority"`
	EntryPoints []string `yaml:"entryPoints"`
	Service     string   `yaml:"service"`
	Middlewares []string `yaml:"middlewares"`
	TLS         *struct {
		CertResolver string `yaml:"certResolver"`
		Options      string `yaml:"options"`
	} `yaml:"tls"`
}

type traefikDynamic struct {
	HTTP struct {
		Routers     map[string]traefikRouter  `yaml:"routers"`
		Middlewares map[string]map[string]any `yaml:"middlewares"`
		Services    map[string]struct {
			LoadBalancer struct {
				Servers []struct {
					URL string `yaml:"url"`
				} `yaml:"servers"`
				PassHostHeader *bool          `yaml:"passHostHeader"`
				HealthCheck    map[string]any `yaml:"healthCheck"`
			} `yaml:"loadBalancer"`
		} `yaml:"services"`
	} `yaml:"http"`
}

// traefikConfig reads the dynamic file traefik's file provider loads, rendered as
// Traefik renders it (a Go template whose env function reads the container's
// environment), and decoded strictly: a misspelt key is an error, not ignored.
func traefikConfig(s types.ServiceConfig, static map[string]string) (*traefikDynamic, error) {
	if static["providers.file.directory"] != "" {
		return nil, errors.New("traefik: the checks read providers.file.filename, not a directory")
	}
	target := static["providers.file.filename"]
	if target == "" {
		return nil, errors.New("traefik: no providers.file.filename")
	}
	src, err := mountSource(s, target)
	if err != nil {
		return nil, fmt.Errorf("traefik dynamic file: %w", err)
	}
	raw, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("traefik dynamic file: %w", err)
	}
	tmpl, err := template.New(filepath.Base(src)).Option("missingkey=error").
		Funcs(template.FuncMap{"env": func(k string) string { return envValue(s, k) }}).Parse(string(raw))
	if err != nil {
		return nil, fmt.Errorf("traefik dynamic file: %w", err)
	}
	var rendered bytes.Buffer
	if err := tmpl.Execute(&rendered, nil); err != nil {
		return nil, fmt.Errorf("traefik dynamic file: %w", err)
	}
	var cfg traefikDynamic
	dec := yaml.NewDecoder(&rendered)
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("traefik dynamic file %s: %w", src, err)
	}
	return &cfg, nil
}

// positiveNumber reports whether v (a YAML scalar) is a number > 0.
func positiveNumber(v any) bool {
	switch n := v.(type) {
	case int:
		return n > 0
	case float64:
		return n > 0
	}
	return false
}

func checkTraefik(p *types.Project, env map[string]string) []error {
	tr, err := service(p, "traefik")
	if err != nil {
		return []error{err}
	}
	api, err := service(p, "pulso-api")
	if err != nil {
		return []error{err}
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf("traefik: "+format, args...)) }
	static := flags(tr.Command)
	if static["entrypoints.web.address"] != ":80" {
		fail("entrypoint web on %q, want :80", static["entrypoints.web.address"])
	}
	if static["entrypoints.websecure.address"] != ":443" {
		fail("entrypoint websecure on %q, want :443", static["entrypoints.websecure.address"])
	}
	if static["entrypoints.web.http.redirections.entrypoint.to"] != "websecure" {
		fail("web does not redirect to websecure")
	}
	published := map[string]bool{}
	for _, port := range tr.Ports {
		published[fmt.Sprintf("%s:%d", port.Published, port.Target)] = true
	}
	if !published["80:80"] || !published["443:443"] {
		fail("does not publish 80 and 443: %v", tr.Ports)
	}
	// The file provider, and no Docker socket anywhere.
	for k := range static {
		if strings.HasPrefix(k, "providers.docker") || strings.HasPrefix(k, "providers.swarm") {
			fail("uses the Docker provider (%s)", k)
		}
	}
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if strings.HasSuffix(v.Source, "docker.sock") {
				fail("%s mounts the Docker socket %s", s.Name, v.Source)
			}
		}
	}
	cfg, err := traefikConfig(tr, static)
	if err != nil {
		return append(errs, err)
	}
	apiPort := addrPort(envValue(api, "PULSO_HTTP_ADDR"), "8000")
	metricsPort := addrPort(envValue(api, "PULSO_METRICS_ADDR"), "9090")
	// The services whose servers are the API; and no server is its metrics port.
	apiServices := map[string]bool{}
	for name, svc := range cfg.HTTP.Services {
		for _, srv := range svc.LoadBalancer.Servers {
			u, err := url.Parse(srv.URL)
			if err != nil {
				fail("service %s: server %q: %v", name, srv.URL, err)
				continue
			}
			if u.Port() == metricsPort {
				fail("service %s routes to port %s, the API's metrics listener", name, metricsPort)
			}
			if u.Hostname() == "pulso-api" {
				apiServices[name] = true
				if u.Port() != apiPort {
					fail("service %s routes to pulso-api:%s, the API listens on %s", name, u.Port(), apiPort)
				}
			}
		}
	}
	routed := 0
	for name, r := range cfg.HTTP.Routers {
		if !apiServices[strings.TrimSuffix(r.Service, "@file")] {
			continue
		}
		routed++
		if want := "Host(`" + env["DOMAIN"] + "`)"; r.Rule != want {
			fail("router %s: rule %q, want %q", name, r.Rule, want)
		}
		if !slices.Equal(r.EntryPoints, []string{"websecure"}) {
			fail("router %s: entryPoints %v, want [websecure]", name, r.EntryPoints)
		}
		switch {
		case r.TLS == nil:
			fail("router %s: no TLS", name)
		case r.TLS.CertResolver == "":
			fail("router %s: TLS without a certificate resolver", name)
		case !hasPrefixKey(static, "certificatesresolvers."+strings.ToLower(r.TLS.CertResolver)+".acme."):
			fail("router %s: certificate resolver %q is not configured", name, r.TLS.CertResolver)
		}
		limited := false
		for _, mw := range r.Middlewares {
			def, ok := cfg.HTTP.Middlewares[strings.TrimSuffix(mw, "@file")]
			if !ok {
				fail("router %s: middleware %q is not defined", name, mw)
				continue
			}
			if rl, ok := def["rateLimit"].(map[string]any); ok && positiveNumber(rl["average"]) && positiveNumber(rl["burst"]) {
				limited = true
			}
		}
		if !limited {
			fail("router %s: no rate-limit middleware (rateLimit with average and burst) attached", name)
		}
	}
	if routed == 0 {
		fail("no router reaches pulso-api")
	}
	return errs
}

func hasPrefixKey(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func checkServices(p *types.Project, env map[string]string) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	get := func(name string) types.ServiceConfig {
		s, err := service(p, name)
		if err != nil {
			errs = append(errs, err)
		}
		return s
	}
	api, etl, migrate := get("pulso-api"), get("pulso-etl"), get("pulso-migrate")
	postgres, redis := get("postgres"), get("redis")
	if len(errs) > 0 {
		return errs
	}
	dependsOn := func(s types.ServiceConfig, on, condition string) {
		if got := s.DependsOn[on].Condition; got != condition {
			fail("%s depends_on %s with condition %q, want %s", s.Name, on, got, condition)
		}
	}
	dependsOn(api, "pulso-migrate", types.ServiceConditionCompletedSuccessfully)
	dependsOn(api, "postgres", types.ServiceConditionHealthy)
	dependsOn(api, "redis", types.ServiceConditionHealthy)
	dependsOn(etl, "pulso-migrate", types.ServiceConditionCompletedSuccessfully)
	dependsOn(migrate, "postgres", types.ServiceConditionHealthy)

	if !slices.Equal(migrate.Command, []string{"migrate", "up"}) {
		fail("pulso-migrate command %q, want [migrate up]", migrate.Command)
	}
	if migrate.Restart != "no" {
		fail("pulso-migrate restart %q, want no (a one-shot job)", migrate.Restart)
	}
	if !slices.Equal(api.Command, []string{"serve"}) {
		fail("pulso-api command %q, want [serve]", api.Command)
	}
	cmd := []string(etl.Command)
	if len(cmd) == 0 || cmd[0] != "run-pipeline" {
		fail("pulso-etl command %q does not start with run-pipeline", cmd)
	}
	if !slices.Contains(flagPairs(cmd), "--every 3h") {
		fail("pulso-etl command %q lacks --every 3h", cmd)
	}
	if push := flagValue(cmd, "--pushgateway"); push == "" {
		fail("pulso-etl command %q lacks --pushgateway", cmd)
	} else if u, err := url.Parse(push); err != nil || p.Services[u.Hostname()].Name == "" {
		fail("pulso-etl --pushgateway %q is not a service of the stack", push)
	}
	if etl.Restart != "unless-stopped" {
		fail("pulso-etl restart %q, want unless-stopped", etl.Restart)
	}
	if etl.StopGracePeriod == nil || time.Duration(*etl.StopGracePeriod) < 2*time.Minute {
		fail("pulso-etl stop_grace_period %v, want ≥ 2m (a cancelled run needs time to roll back)", etl.StopGracePeriod)
	}
	for _, s := range []types.ServiceConfig{api, etl} {
		if envValue(s, "PULSO_SOURCE_DIR") == "" {
			fail("%s has no PULSO_SOURCE_DIR", s.Name)
			continue
		}
		ok := false
		for _, v := range s.Volumes {
			if v.Target == envValue(s, "PULSO_SOURCE_DIR") && v.ReadOnly {
				ok = true
			}
		}
		if !ok {
			fail("%s does not mount its landing dir %s read-only", s.Name, envValue(s, "PULSO_SOURCE_DIR"))
		}
	}

	healthcheck := func(s types.ServiceConfig, ok func([]string) bool, want string) {
		if s.HealthCheck == nil || s.HealthCheck.Disable || !ok(s.HealthCheck.Test) {
			var test []string
			if s.HealthCheck != nil {
				test = s.HealthCheck.Test
			}
			fail("%s healthcheck %q, want %s", s.Name, test, want)
		}
	}
	healthcheck(api, func(t []string) bool {
		return slices.Equal(t, []string{"CMD", "/usr/local/bin/pulso", "healthcheck", "--ready"})
	}, "[CMD /usr/local/bin/pulso healthcheck --ready]")
	healthcheck(postgres, func(t []string) bool { return len(t) > 1 && strings.Contains(strings.Join(t[1:], " "), "pg_isready") }, "pg_isready")
	healthcheck(redis, func(t []string) bool {
		return len(t) > 1 && strings.Contains(strings.Join(t[1:], " "), "redis-cli ping")
	}, "redis-cli ping")

	if len(api.Ports) > 0 {
		fail("pulso-api publishes %v: only Traefik may reach it", api.Ports)
	}
	for _, name := range []string{"postgres", "redis", "pushgateway", "prometheus", "pulso-etl"} {
		if s := p.Services[name]; len(s.Ports) > 0 {
			fail("%s publishes %v", name, s.Ports)
		}
	}
	if got := envValue(api, "PULSO_JWT_SECRET"); got != env["PULSO_JWT_SECRET"] {
		fail("pulso-api PULSO_JWT_SECRET does not come from the environment")
	}
	if got := envValue(api, "PULSO_HSTS"); got != "true" {
		fail("pulso-api PULSO_HSTS %q, want true behind TLS", got)
	}
	if !strings.Contains(envValue(api, "DATABASE_URL"), "@postgres:5432/") || !strings.HasPrefix(envValue(api, "REDIS_URL"), "redis://redis:6379") {
		fail("pulso-api DATABASE_URL/REDIS_URL do not name the stack's postgres and redis")
	}

	g, err := service(p, "grafana")
	if err != nil {
		return append(errs, err)
	}
	if envValue(g, "GF_SECURITY_ADMIN_PASSWORD") != env["GRAFANA_ADMIN_PASSWORD"] {
		fail("grafana admin password does not come from GRAFANA_ADMIN_PASSWORD")
	}
	for _, port := range g.Ports {
		if port.HostIP != "127.0.0.1" {
			fail("grafana publishes %s:%d on %q, want 127.0.0.1 only", port.Published, port.Target, port.HostIP)
		}
	}
	return errs
}

// flagPairs joins each --flag with its value ("--every 3h").
func flagPairs(cmd []string) []string {
	var out []string
	for i := 0; i+1 < len(cmd); i++ {
		if strings.HasPrefix(cmd[i], "--") {
			out = append(out, cmd[i]+" "+cmd[i+1])
		}
	}
	for _, a := range cmd {
		if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
			out = append(out, k+" "+v)
		}
	}
	return out
}

func flagValue(cmd []string, name string) string {
	for _, pair := range flagPairs(cmd) {
		if v, ok := strings.CutPrefix(pair, name+" "); ok {
			return v
		}
	}
	return ""
}

// The API believes X-Forwarded-For from exactly the subnet it shares with Traefik.
func checkNetworks(p *types.Project, _ map[string]string) []error {
	api, tr := p.Services["pulso-api"], p.Services["traefik"]
	trusted := strings.Split(envValue(api, "PULSO_TRUSTED_PROXIES"), ",")
	for name := range api.Networks {
		if _, shared := tr.Networks[name]; !shared {
			continue
		}
		var subnets []string
		for _, pool := range p.Networks[name].Ipam.Config {
			if pool != nil && pool.Subnet != "" {
				subnets = append(subnets, pool.Subnet)
			}
		}
		if len(subnets) == 0 {
			return []error{fmt.Errorf("network %s (traefik ↔ pulso-api) has no explicit subnet for PULSO_TRUSTED_PROXIES", name)}
		}
		for _, s := range subnets {
			if _, _, err := net.ParseCIDR(s); err != nil {
				return []error{fmt.Errorf("network %s: subnet %q: %v", name, s, err)}
			}
		}
		if !slices.Equal(slices.Sorted(slices.Values(trusted)), slices.Sorted(slices.Values(subnets))) {
			return []error{fmt.Errorf("pulso-api PULSO_TRUSTED_PROXIES %q, want the subnet %v of network %s it shares with traefik", trusted, subnets, name)}
		}
		return nil
	}
	return []error{errors.New("traefik and pulso-api share no network")}
}

// One image for the pulso services, built from the repository's Dockerfile.
func checkImage(p *types.Project, env map[string]string) []error {
	var errs []error
	want := env["PULSO_IMAGE"]
	if want == "" {
		want = "ghcr.io/pulso-cobranzas/pulso:v0.1.0"
	}
	builds := 0
	for _, name := range []string{"pulso-api", "pulso-etl", "pulso-migrate"} {
		s := p.Services[name]
		if s.Image != want {
			errs = append(errs, fmt.Errorf("%s image %q, want %q (one image for the pulso services)", name, s.Image, want))
		}
		if s.Build == nil {
			continue
		}
		builds++
		if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
			errs = append(errs, fmt.Errorf("%s build: %v", name, err))
		}
		if _, err := os.Stat(filepath.Join(s.Build.Context, "go.mod")); err != nil {
			errs = append(errs, fmt.Errorf("%s build context %s is not the repository root", name, s.Build.Context))
		}
	}
	if builds != 1 {
		errs = append(errs, fmt.Errorf("%d pulso services carry a build section, want 1", builds))
	}
	return errs
}

// Every file or directory bind-mounted from configs/ exists.
func checkBindMounts(p *types.Project, _ map[string]string) []error {
	var errs []error
	mounts := 0
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if rel, err := filepath.Rel(p.WorkingDir, v.Source); err != nil || strings.HasPrefix(rel, "..") {
				continue
			}
			mounts++
			if _, err := os.Stat(v.Source); err != nil {
				errs = append(errs, fmt.Errorf("%s mounts %s, which does not exist", s.Name, v.Source))
			}
			if !v.ReadOnly {
				errs = append(errs, fmt.Errorf("%s mounts %s writable; configuration is mounted read-only", s.Name, v.Source))
			}
		}
	}
	if mounts < 5 {
		errs = append(errs, fmt.Errorf("only %d bind mounts from %s", mounts, p.WorkingDir))
	}
	return errs
}

type scrapeConfig struct {
	JobName       string `yaml:"job_name"`
	MetricsPath   string `yaml:"metrics_path"`
	HonorLabels   bool   `yaml:"honor_labels"`
	StaticConfigs []struct {
		Targets []string          `yaml:"targets"`
		Labels  map[string]string `yaml:"labels"`
	} `yaml:"static_configs"`
}

// prometheusJobs reads the prometheus.yml the prometheus service loads.
func prometheusJobs(p *types.Project) ([]scrapeConfig, error) {
	s, err := service(p, "prometheus")
	if err != nil {
		return nil, err
	}
	target := flags(s.Command)["config.file"]
	if target == "" {
		target = "/etc/prometheus/prometheus.yml" // the image's default
	}
	src, err := mountSource(s, target)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	var cfg struct {
		ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("prometheus config %s: %w", src, err)
	}
	return cfg.ScrapeConfigs, nil
}

func checkPrometheus(p *types.Project, _ map[string]string) []error {
	jobs, err := prometheusJobs(p)
	if err != nil {
		return []error{err}
	}
	api := p.Services["pulso-api"]
	apiTarget := "pulso-api:" + addrPort(envValue(api, "PULSO_METRICS_ADDR"), "9090")
	pushTarget := "pushgateway:9091"
	if u, err := url.Parse(flagValue(p.Services["pulso-etl"].Command, "--pushgateway")); err == nil && u.Host != "" {
		pushTarget = u.Host
	}
	var errs []error
	found := map[string]bool{}
	for _, j := range jobs {
		for _, sc := range j.StaticConfigs {
			for _, target := range sc.Targets {
				switch target {
				case apiTarget:
					if j.MetricsPath != "" && j.MetricsPath != "/metrics" {
						errs = append(errs, fmt.Errorf("prometheus job %s scrapes %s%s, want /metrics", j.JobName, target, j.MetricsPath))
					}
					found[target] = true
				case pushTarget:
					if !j.HonorLabels {
						errs = append(errs, fmt.Errorf("prometheus job %s scrapes the pushgateway without honor_labels: true", j.JobName))
					}
					found[target] = true
				}
			}
		}
	}
	for _, target := range []string{apiTarget, pushTarget} {
		if !found[target] {
			errs = append(errs, fmt.Errorf("prometheus does not scrape %s", target))
		}
	}
	return errs
}

// grafanaFiles reads the provisioning files grafana loads from a mounted directory.
func grafanaFiles(s types.ServiceConfig, dir string) (map[string][]byte, error) {
	src, err := mountSource(s, dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); ext != ".yaml" && ext != ".yml" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("grafana: no provisioning file in %s", src)
	}
	return out, nil
}

func checkGrafana(p *types.Project, _ map[string]string) []error {
	g, err := service(p, "grafana")
	if err != nil {
		return []error{err}
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf("grafana: "+format, args...)) }

	// The provisioned datasources.
	dsFiles, err := grafanaFiles(g, "/etc/grafana/provisioning/datasources")
	if err != nil {
		return []error{err}
	}
	uids := map[string]bool{}
	for name, b := range dsFiles {
		var f struct {
			Datasources []struct {
				Name string `yaml:"name"`
				UID  string `yaml:"uid"`
				Type string `yaml:"type"`
				URL  string `yaml:"url"`
			} `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			fail("%s: %v", name, err)
			continue
		}
		for _, ds := range f.Datasources {
			if ds.UID == "" {
				fail("%s: datasource %s has no uid", name, ds.Name)
			}
			uids[ds.UID] = true
			if u, err := url.Parse(ds.URL); ds.Type == "prometheus" && (err != nil || p.Services[u.Hostname()].Name == "") {
				fail("%s: datasource %s URL %q is not a service of the stack", name, ds.Name, ds.URL)
			}
		}
	}

	// The dashboards the file providers load: the files mounted into their paths.
	dbFiles, err := grafanaFiles(g, "/etc/grafana/provisioning/dashboards")
	if err != nil {
		return append(errs, err)
	}
	var dashboards []string
	for name, b := range dbFiles {
		var f struct {
			Providers []struct {
				Type    string `yaml:"type"`
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			fail("%s: %v", name, err)
			continue
		}
		for _, prov := range f.Providers {
			for _, v := range g.Volumes {
				if v.Type == types.VolumeTypeBind && filepath.Dir(v.Target) == prov.Options.Path && filepath.Ext(v.Target) == ".json" {
					dashboards = append(dashboards, v.Source)
				}
			}
		}
	}
	if len(dashboards) == 0 {
		fail("no dashboard JSON is mounted where a dashboard provider reads")
	}
	jobs, err := prometheusJobs(p)
	if err != nil {
		return append(errs, err)
	}
	knownJobs := map[string]bool{"pulso_run_pipeline": true} // pushed, kept by honor_labels
	for _, j := range jobs {
		knownJobs[j.JobName] = true
	}
	for _, path := range dashboards {
		errs = append(errs, checkDashboard(path, uids, knownJobs)...)
	}
	return errs
}

var jobMatcher = regexp.MustCompile(`\bjob\s*=~?\s*"([^"]*)"`)

// checkDashboard: every panel (rows' nested panels too) and target names its
// datasource by a provisioned uid, and every job a query selects is scraped.
func checkDashboard(path string, uids, jobs map[string]bool) []error {
	b, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return []error{fmt.Errorf("grafana: %s: %v", path, err)}
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("grafana: %s: "+format, append([]any{filepath.Base(path)}, args...)...))
	}
	type dsRef struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
	type panel struct {
		ID         int              `json:"id"`
		Type       string           `json:"type"`
		Title      string           `json:"title"`
		Datasource *dsRef           `json:"datasource"`
		Panels     []panel          `json:"panels"`
		Targets    []map[string]any `json:"targets"`
	}
	var walk func(ps []panel)
	queried := 0
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource != nil && !uids[p.Datasource.UID] {
				fail("panel %q: datasource uid %q is not provisioned", p.Title, p.Datasource.UID)
			}
			if len(p.Targets) == 0 {
				fail("panel %q has no query", p.Title)
			}
			for _, target := range p.Targets {
				ds, _ := target["datasource"].(map[string]any)
				switch {
				case ds != nil && !uids[fmt.Sprint(ds["uid"])]:
					fail("panel %q: target datasource uid %q is not provisioned", p.Title, ds["uid"])
				case ds == nil && p.Datasource == nil:
					fail("panel %q: no datasource", p.Title)
				}
				expr, _ := target["expr"].(string)
				if expr == "" {
					fail("panel %q: a target without expr", p.Title)
				}
				queried++
				for _, m := range jobMatcher.FindAllStringSubmatch(expr, -1) {
					if !jobs[m[1]] {
						fail("panel %q: job %q is not a job Prometheus scrapes", p.Title, m[1])
					}
				}
			}
		}
	}
	var top []panel
	for _, raw := range d.Panels {
		var p panel
		if err := json.Unmarshal(raw, &p); err != nil {
			fail("%v", err)
			continue
		}
		top = append(top, p)
	}
	walk(top)
	if queried == 0 {
		fail("no query")
	}
	return errs
}
