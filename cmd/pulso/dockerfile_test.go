package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pulso-cobranzas/pulso/internal/etl"
)

// There is no Docker engine in CI: these tests check the Dockerfile's properties and
// build the binary exactly as its build stage does.

const repoRoot = "../.."

// dockerInstruction is one logical line of a Dockerfile, continuations joined.
type dockerInstruction struct {
	cmd  string // upper case: FROM, RUN, …
	args string
	line int
}

type dockerStage struct {
	from, name string
	ins        []dockerInstruction
}

func (s dockerStage) all(cmd string) []dockerInstruction {
	var out []dockerInstruction
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// one is the stage's only instruction cmd.
func (s dockerStage) one(t *testing.T, cmd string) dockerInstruction {
	t.Helper()
	ins := s.all(cmd)
	if len(ins) != 1 {
		t.Fatalf("stage %s: %d %s instructions, want 1", s.from, len(ins), cmd)
	}
	return ins[0]
}

// parseDockerfile splits the Dockerfile into the global ARGs and the stages.
func parseDockerfile(t *testing.T) (global []dockerInstruction, stages []dockerStage) {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ins []dockerInstruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") { // comments may sit inside continuations
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		body, more := strings.CutSuffix(line, `\`)
		cur.WriteString(body + " ")
		if more {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		ins = append(ins, dockerInstruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() != 0 {
		t.Fatal("Dockerfile ends in a continuation")
	}
	for _, in := range ins {
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			st := dockerStage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		case len(stages) == 0:
			if in.cmd != "ARG" {
				t.Fatalf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			global = append(global, in)
		default:
			stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a final one", len(stages))
	}
	return global, stages
}

// execForm decodes an exec-form (JSON array) CMD, ENTRYPOINT or HEALTHCHECK CMD: the
// shell form would need a shell, which the image does not have.
func execForm(t *testing.T, in dockerInstruction, s string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(s), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("line %d: %s %s is not in exec form (a JSON array): %v", in.line, in.cmd, s, err)
	}
	return argv
}

// shellWords splits a shell command line into words, honouring quotes (enough for
// the build line; anything fancier fails the test).
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case strings.ContainsRune("\\;&|`<>()", r):
			t.Fatalf("build line %q: unsupported shell syntax %q: keep it one plain command", s, r)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("build line %q: unterminated quote", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// goBuild is the build stage's `go build` line: its environment and its arguments
// after "go", variables not yet expanded.
type goBuild struct {
	env  []string
	args []string
}

func (b goBuild) flag(name string) (string, bool) {
	for i, a := range b.args {
		if a == name && i+1 < len(b.args) {
			return b.args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func findGoBuild(t *testing.T, stages []dockerStage) goBuild {
	t.Helper()
	var found []goBuild
	for _, st := range stages[:len(stages)-1] {
		for _, in := range st.all("RUN") {
			words := shellWords(t, in.args)
			for len(words) > 0 && strings.HasPrefix(words[0], "--") { // --mount=…
				words = words[1:]
			}
			var b goBuild
			for len(words) > 0 && strings.Contains(words[0], "=") {
				b.env, words = append(b.env, words[0]), words[1:]
			}
			if len(words) >= 2 && words[0] == "go" && words[1] == "build" {
				b.args = words[1:]
				found = append(found, b)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d RUN … go build lines in the build stages, want 1", len(found))
	}
	return found[0]
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	global, stages := parseDockerfile(t)
	final := stages[len(stages)-1]

	// The final image: no libc, no shell, a non-root user.
	if !(strings.HasPrefix(final.from, "gcr.io/distroless/static") && strings.HasSuffix(final.from, ":nonroot")) &&
		final.from != "scratch" {
		t.Errorf("final stage FROM %s: want gcr.io/distroless/static…:nonroot or scratch", final.from)
	}
	user, group, hasGroup := strings.Cut(final.one(t, "USER").args, ":")
	if user == "" || user == "root" || user == "0" || hasGroup && (group == "root" || group == "0") {
		t.Errorf("USER %s: want a non-root user (and group)", final.one(t, "USER").args)
	}
	if n, err := strconv.Atoi(user); final.from == "scratch" && (err != nil || n == 0) {
		t.Errorf("USER %s: scratch has no /etc/passwd, want a numeric non-zero uid", user)
	}
	var ports []string
	for _, in := range final.all("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			ports = append(ports, strings.TrimSuffix(p, "/tcp"))
		}
	}
	for _, want := range []string{"8000", "9090"} {
		if !slices.Contains(ports, want) {
			t.Errorf("EXPOSE %v lacks %s", ports, want)
		}
	}

	// ENTRYPOINT is the binary the final stage copies in; CMD and HEALTHCHECK run
	// commands that exist in the real command tree.
	ep := final.one(t, "ENTRYPOINT")
	entry := execForm(t, ep, ep.args)
	copied := false
	for _, in := range final.all("COPY") {
		f := strings.Fields(in.args)
		copied = copied || (strings.HasPrefix(in.args, "--from=") && f[len(f)-1] == entry[0])
	}
	if len(entry) != 1 || !copied {
		t.Errorf("ENTRYPOINT %v: want only the binary COPY --from the build stage puts there", entry)
	}
	cmdIn := final.one(t, "CMD")
	checkSubcommand(t, append(entry, execForm(t, cmdIn, cmdIn.args)...), "serve")

	hc := final.one(t, "HEALTHCHECK")
	opts, hcCmd, ok := strings.Cut(hc.args, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %s: no CMD", hc.args)
	}
	hcArgv := execForm(t, hc, strings.TrimSpace(hcCmd))
	if hcArgv[0] != entry[0] {
		t.Errorf("HEALTHCHECK runs %s, not the image's binary %s", hcArgv[0], entry[0])
	}
	checkSubcommand(t, hcArgv, "healthcheck")
	for _, o := range []string{"--interval=", "--timeout=", "--start-period=", "--retries="} {
		if !strings.Contains(opts, o) {
			t.Errorf("HEALTHCHECK lacks %s…", o)
		}
	}

	// The build: static, reproducible paths, version and commit stamped.
	b := findGoBuild(t, stages)
	if !slices.Contains(b.env, "CGO_ENABLED=0") {
		t.Errorf("go build environment %v: want CGO_ENABLED=0 (a static binary)", b.env)
	}
	if !slices.Contains(b.args, "-trimpath") {
		t.Errorf("go %v: want -trimpath", b.args)
	}
	ld, _ := b.flag("-ldflags")
	for _, want := range []string{"-X main.version=${VERSION}", "-X main.commit=${COMMIT}"} {
		if !strings.Contains(ld, want) {
			t.Errorf("-ldflags %q lacks %q", ld, want)
		}
	}
	defaults := map[string]bool{}
	for _, in := range global {
		name, _, hasDefault := strings.Cut(in.args, "=")
		defaults[name] = hasDefault
	}
	for _, st := range stages {
		for _, in := range st.all("ARG") {
			if _, ok := defaults[in.args]; !ok && !strings.Contains(in.args, "=") {
				t.Errorf("line %d: ARG %s has no default", in.line, in.args)
			}
		}
	}
	for _, name := range []string{"VERSION", "COMMIT"} {
		if !defaults[name] {
			t.Errorf("no global ARG %s=<default>", name)
		}
	}
	labels := strings.Join(func() []string {
		var l []string
		for _, in := range final.all("LABEL") {
			l = append(l, in.args)
		}
		return l
	}(), " ")
	for _, want := range []string{"org.opencontainers.image.source=", `org.opencontainers.image.version="${VERSION}"`,
		`org.opencontainers.image.revision="${COMMIT}"`} {
		if !strings.Contains(labels, want) {
			t.Errorf("LABEL %s lacks %s", labels, want)
		}
	}
}

// checkSubcommand checks that argv (binary first) names the command want of the real
// command tree with flags it accepts.
func checkSubcommand(t *testing.T, argv []string, want string) {
	t.Helper()
	root := newRootCmd(&app{reg: etl.MustRegistry(), stdout: io.Discard, stderr: io.Discard})
	cmd, rest, err := root.Find(argv[1:])
	if err != nil || cmd == root || cmd.Name() != want {
		t.Errorf("%v: runs %v (err %v), want `pulso %s`", argv, cmd.Name(), err, want)
		return
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Errorf("%v: %v", argv, err)
	} else if len(cmd.Flags().Args()) != 0 {
		t.Errorf("%v: stray arguments %v", argv, cmd.Flags().Args())
	}
}

// TestDockerfileBuild builds the binary with the Dockerfile's own build line, once,
// and checks what the image relies on.
func TestDockerfileBuild(t *testing.T) {
	const testVersion, testCommit = "v0.0.0-test.1", "0123abc"
	_, stages := parseDockerfile(t)
	b := findGoBuild(t, stages)
	bin := filepath.Join(t.TempDir(), "pulso")
	vars := map[string]string{"VERSION": testVersion, "COMMIT": testCommit}
	var args []string
	for i, a := range b.args {
		if i > 0 && b.args[i-1] == "-o" {
			a = bin
		}
		args = append(args, os.Expand(a, func(name string) string {
			v, ok := vars[name]
			if !ok {
				t.Fatalf("build line uses $%s, which this test does not set", name)
			}
			return v
		}))
	}
	if !slices.Contains(args, bin) {
		t.Fatalf("go %v: no -o", b.args)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	build := exec.CommandContext(t.Context(), gobin, args...)
	build.Dir = repoRoot // the image's WORKDIR holds the module root
	// The build context has no .git, so no VCS stamp: the same here.
	build.Env = append(os.Environ(), append(b.env, "GOFLAGS=-buildvcs=false")...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	// The image is linux, like the machines this suite runs on: an ELF binary.
	t.Run("static", func(t *testing.T) {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("program header %s: dynamically linked, distroless/static has no loader", p.Type)
			}
		}
		if f.Section(".interp") != nil || f.Section(".dynamic") != nil {
			t.Error("has an .interp or .dynamic section")
		}
		libs, err := f.ImportedLibraries()
		if err != nil || len(libs) != 0 {
			t.Errorf("DT_NEEDED %v (%v), want none", libs, err)
		}
	})

	t.Run("version", func(t *testing.T) {
		want := fmt.Sprintf("pulso %s (commit %s)\n", testVersion, testCommit)
		for _, arg := range []string{"version", "--version"} {
			cmd := exec.CommandContext(t.Context(), bin, arg)
			cmd.Dir, cmd.Env = t.TempDir(), []string{}
			var errb bytes.Buffer
			cmd.Stderr = &errb
			out, err := cmd.Output()
			if err != nil || string(out) != want {
				t.Errorf("pulso %s: %q, %v %s; want %q", arg, out, err, errb.String(), want)
			}
		}
	})

	t.Run("healthcheck", func(t *testing.T) {
		testHealthcheck(t, binaryHealthcheck(bin))
	})

	// The HEALTHCHECK line exactly as Docker runs it, with the container's
	// environment: PULSO_HTTP_ADDR only.
	t.Run("image healthcheck", func(t *testing.T) {
		final := stages[len(stages)-1]
		hc := final.one(t, "HEALTHCHECK")
		_, hcCmd, _ := strings.Cut(hc.args, "CMD ")
		argv := execForm(t, hc, strings.TrimSpace(hcCmd))
		var (
			mu    sync.Mutex
			paths []string
		)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
			_, _ = io.WriteString(w, `{"status":"ready"}`)
		}))
		defer srv.Close()
		cmd := exec.CommandContext(t.Context(), bin, argv[1:]...)
		cmd.Dir = t.TempDir()
		cmd.Env = []string{fmt.Sprintf("PULSO_HTTP_ADDR=0.0.0.0:%d", srv.Listener.Addr().(*net.TCPAddr).Port)}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(paths, []string{"/health/ready"}) {
			t.Errorf("%v probed %q, want /health/ready", argv, paths)
		}
	})
}

// TestDockerfileContext checks .dockerignore against what the build reads: every
// file `go build ./cmd/pulso` compiles or embeds gets into the context, and local
// secrets, tests and build output do not.
func TestDockerfileContext(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	rules := parseDockerignore(t, string(data))

	list := exec.CommandContext(t.Context(), "go", "list", "-deps",
		"-json=Dir,Module,GoFiles,SFiles,SysoFiles,EmbedFiles", "./cmd/pulso")
	list.Dir = repoRoot
	list.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	list.Stderr = &stderr
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Dir                                    string
			Module                                 *struct{ Main bool }
			GoFiles, SFiles, SysoFiles, EmbedFiles []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range slices.Concat(p.GoFiles, p.SFiles, p.SysoFiles, p.EmbedFiles) {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if !slices.ContainsFunc(needed, func(f string) bool { return strings.HasPrefix(f, "sql/migrations/") }) {
		t.Fatalf("go list found no embedded migrations: %v", needed)
	}
	for _, f := range needed {
		if dockerignored(rules, f) {
			t.Errorf(".dockerignore leaves out %s, which the build reads", f)
		}
	}
	for _, f := range []string{".git/config", ".env", "configs/pulso.yaml", "bin/pulso", "testdata/config/x.yaml",
		"cmd/pulso/root_test.go", "internal/etl/source/files/testdata/x.csv", "cmd/pulso/pulso.test",
		"cover.out", "internal/api/cover.out", "pipeline.prom", "cmd/pulso/pipeline.prom", ".ci/run", "Makefile"} {
		if !dockerignored(rules, f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
}

type dockerignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

// parseDockerignore reads .dockerignore as BuildKit does: a pattern matches the path
// from the context root (or a parent directory of it), `**` any number of
// directories, and the last matching line wins, `!` re-including.
func parseDockerignore(t *testing.T, data string) []dockerignoreRule {
	t.Helper()
	var rules []dockerignoreRule
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		p := strings.TrimPrefix(path.Clean(strings.TrimSpace(strings.TrimPrefix(line, "!"))), "/")
		if strings.ContainsAny(p, `[\`) {
			t.Fatalf(".dockerignore %q: character classes and escapes are not supported by this test", line)
		}
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case p[i] == '*':
				re.WriteString("[^/]*")
			case p[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		re.WriteString("$")
		rules = append(rules, dockerignoreRule{re: regexp.MustCompile(re.String()), negate: neg})
	}
	return rules
}

func dockerignored(rules []dockerignoreRule, file string) bool {
	parts := strings.Split(file, "/")
	ignored := false
	for _, r := range rules {
		for i := 1; i <= len(parts); i++ {
			if r.re.MatchString(strings.Join(parts[:i], "/")) {
				ignored = !r.negate
				break
			}
		}
	}
	return ignored
}
