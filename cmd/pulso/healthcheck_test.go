package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHealthcheckURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		addr  string
		ready bool
		want  string
	}{
		{":8000", false, "http://127.0.0.1:8000/health"},
		{":8000", true, "http://127.0.0.1:8000/health/ready"},
		{"0.0.0.0:8000", false, "http://127.0.0.1:8000/health"},
		{"[::]:8000", false, "http://127.0.0.1:8000/health"},
		// a listener bound to one address is only reachable there
		{"10.1.2.3:8080", false, "http://10.1.2.3:8080/health"},
		{"[::1]:8080", true, "http://[::1]:8080/health/ready"},
		{"localhost:8080", false, "http://localhost:8080/health"},
	}
	for _, c := range cases {
		got, err := healthURL(c.addr, c.ready)
		if err != nil || got != c.want {
			t.Errorf("healthURL(%q, %v) = %q, %v; want %q", c.addr, c.ready, got, err, c.want)
		}
	}
	for _, addr := range []string{"", "8000", "localhost", "localhost:"} {
		if got, err := healthURL(addr, false); !errors.Is(err, errConfig) {
			t.Errorf("healthURL(%q) = %q, %v; want a configuration error", addr, got, err)
		}
	}
}

// TestHealthcheck runs the command in process; TestDockerfileBuild runs the same
// cases against the binary built as the image builds it.
func TestHealthcheck(t *testing.T) {
	testHealthcheck(t, func(t *testing.T, env map[string]string, args ...string) (int, string) {
		clearPulsoEnv(t)
		for k, v := range env {
			t.Setenv(k, v)
		}
		var out, errb bytes.Buffer
		code := run(t.Context(), append([]string{"healthcheck"}, args...), &out, &errb)
		if out.Len() != 0 {
			t.Errorf("stdout: %q, want nothing", out.String())
		}
		return code, errb.String()
	})
}

// healthcheckRunner runs `pulso healthcheck args…` with env as its only PULSO_*
// variables, returning the exit code and stderr.
type healthcheckRunner func(t *testing.T, env map[string]string, args ...string) (int, string)

// binaryHealthcheck runs the built binary as the container would: env is all its
// environment (no config file, no database), from an empty directory.
func binaryHealthcheck(bin string) healthcheckRunner {
	return func(t *testing.T, env map[string]string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, append([]string{"healthcheck"}, args...)...)
		cmd.Dir = t.TempDir()
		cmd.Env = []string{}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("run %s: %v", bin, err)
		}
		if out.Len() != 0 {
			t.Errorf("stdout: %q, want nothing", out.String())
		}
		return code, errb.String()
	}
}

func testHealthcheck(t *testing.T, runHC healthcheckRunner) {
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/health", "/custom":
			_, _ = io.WriteString(w, `{"status":"healthy"}`)
		case "/health/ready":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "{\"status\": \"not_ready\",\n \"checks\": {\"postgres\": \"down\"}}\n")
		case "/slow":
			select { // until the client gives up
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	live := fmt.Sprintf(":%d", port)
	_, dead, _ := strings.Cut(freeAddr(t), ":") // a loopback port nothing listens on

	cases := []struct {
		name     string
		httpAddr string // PULSO_HTTP_ADDR
		args     []string
		code     int
		path     string   // the request the server saw ("" none)
		stderr   []string // in the one line of a failure
	}{
		{name: "live", httpAddr: live, path: "/health"},
		{name: "wildcard host", httpAddr: fmt.Sprintf("0.0.0.0:%d", port), path: "/health"},
		{name: "not ready", httpAddr: live, args: []string{"--ready"}, code: exitFailure, path: "/health/ready",
			stderr: []string{fmt.Sprintf("http://127.0.0.1:%d/health/ready: 503 Service Unavailable", port),
				`"checks": {"postgres": "down"}}`}},
		{name: "url wins over http.addr", httpAddr: ":" + dead,
			args: []string{"--url", srv.URL + "/custom"}, path: "/custom"},
		{name: "not found", httpAddr: live, args: []string{"--url", srv.URL + "/nope"}, code: exitFailure,
			path: "/nope", stderr: []string{srv.URL + "/nope: 404 Not Found"}},
		{name: "dead port", httpAddr: ":" + dead, code: exitFailure,
			stderr: []string{"http://127.0.0.1:" + dead + "/health: ", "refused"}},
		{name: "timeout", httpAddr: live, args: []string{"--url", srv.URL + "/slow", "--timeout", "300ms"},
			code: exitFailure, path: "/slow", stderr: []string{srv.URL + "/slow: ", "Timeout exceeded"}},
		{name: "bad timeout", httpAddr: live, args: []string{"--timeout", "0s"}, code: exitUsage,
			stderr: []string{"--timeout 0s: want > 0"}},
		{name: "url and ready", httpAddr: live, args: []string{"--ready", "--url", srv.URL}, code: exitUsage,
			stderr: []string{"--url and --ready"}},
		{name: "bad http.addr", httpAddr: "8000", code: exitUsage, stderr: []string{`http.addr "8000"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			start := time.Now()
			code, stderr := runHC(t, map[string]string{"PULSO_HTTP_ADDR": c.httpAddr}, c.args...)
			// within the default timeout, or the 300ms given (start-up included)
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("took %s", elapsed)
			}
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			switch {
			case c.code == exitOK && stderr != "":
				t.Errorf("stderr %q, want nothing", stderr)
			case c.code == exitFailure && strings.Count(stderr, "\n") != 1:
				t.Errorf("stderr %q, want one line", stderr)
			}
			for _, s := range c.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q lacks %q", stderr, s)
				}
			}
			mu.Lock()
			got := slices.Clone(seen)
			mu.Unlock()
			var want []string
			if c.path != "" {
				want = []string{c.path}
			}
			if !slices.Equal(got, want) {
				t.Errorf("server saw %q, want %q", got, want)
			}
		})
	}
}
