package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulso-cobranzas/pulso/internal/store/cache/redistest"
	"github.com/pulso-cobranzas/pulso/internal/store/postgres/pgtest"
)

// The newcomer's command, end to end: `make demo` builds, migrates, loads the
// synthetic set and serves; the login and the curl it prints work when pasted into a
// shell; Ctrl-C (SIGINT to the foreground process group) stops everything and frees
// the port.
func TestMakeDemo(t *testing.T) {
	t.Parallel()
	adminURL := os.Getenv(pgtest.EnvURL)
	if adminURL == "" {
		adminURL = pgtest.DefaultURL
	}
	db := fmt.Sprintf("pulso_t_make_demo_%d", os.Getpid())
	t.Cleanup(func() { dropDatabase(t, adminURL, db) })
	redisSrv := redistest.Start(t)
	addr, metricsAddr := freeAddr(t), freeAddr(t)

	cmd := exec.Command("make", "--no-print-directory", "-C", "../..", "demo",
		"DEMO_DB="+db, "DEMO_DIR="+t.TempDir(), "DEMO_ADDR="+addr, "DEMO_METRICS_ADDR="+metricsAddr,
		"DEMO_REDIS_URL="+redisSrv.URL())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's foreground group
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	exited := make(chan error, 1)
	t.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // only if the test failed before stopping it
		<-exited
	})

	// The banner, read as a user would: the URLs, the login and the commands to paste.
	banner := make(chan []string, 1)
	out := &syncBuffer{}
	go func() {
		sc := bufio.NewScanner(stdout)
		var lines []string
		sent := false
		for sc.Scan() {
			fmt.Fprintln(out, sc.Text())
			if !sent {
				lines = append(lines, sc.Text())
				if strings.Contains(sc.Text(), "/api/v1/dashboard") {
					banner <- lines
					sent = true
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	var lines []string
	select {
	case lines = <-banner:
	case err := <-exited:
		exited <- err
		t.Fatalf("make demo ended before serving: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr.String())
	case <-time.After(8 * time.Minute):
		t.Fatalf("no banner from make demo\nstdout:\n%s\nstderr:\n%s", out.String(), stderr.String())
	}
	text := strings.Join(lines, "\n")
	base := "http://" + addr
	for _, want := range []string{base + "/docs", "admin@demo.pulso.pe / Demo-Pulso-2025", "http://" + metricsAddr + "/metrics", "data as of 2025-07-15"} {
		if !strings.Contains(text, want) {
			t.Errorf("banner lacks %q:\n%s", want, text)
		}
	}
	waitHTTP(t, base+"/health/ready", exited)

	// Paste the two commands the banner prints (from "TOKEN=" on) into bash.
	i := strings.Index(text, "TOKEN=")
	if i < 0 {
		t.Fatalf("no TOKEN= line in the banner:\n%s", text)
	}
	script := "set -euo pipefail\n" + regexp.MustCompile(`(?m)^ +`).ReplaceAllString(text[i:], "")
	got, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("pasted commands: %v\n%s\n%s", err, script, got)
	}
	if !strings.Contains(string(got), `"segmentoData":[{`) || !strings.Contains(string(got), `"cuentas":`) {
		t.Fatalf("the pasted curl did not answer a dashboard:\n%s", got)
	}

	// Ctrl-C: the server drains and exits, make with it; nothing is left listening.
	if err := syscall.Kill(-pgid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		var ee *exec.ExitError
		if err != nil && !(errors.As(err, &ee) && (ee.ExitCode() == 130 || ee.ExitCode() == -1)) {
			t.Errorf("make demo after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("make demo still running 30 s after Ctrl-C\n%s", stderr.String())
	}
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("processes of make demo outlived Ctrl-C (kill -0: %v)", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Ctrl-C", addr)
	}
	if !strings.Contains(stderr.String(), `"msg":"shutting down"`) {
		t.Errorf("serve did not shut down gracefully:\n%s", stderr.String())
	}
}

// waitHTTP waits up to a minute for url to answer 200, failing early if the process ends.
func waitHTTP(t *testing.T, url string, exited chan error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("make demo ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after a minute (last: %v)", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func dropDatabase(t *testing.T, adminURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Errorf("drop %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("drop %s: %v", name, err)
	}
}
