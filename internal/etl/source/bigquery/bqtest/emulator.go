package bqtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvBinary overrides where the emulator binary is (default
// $HOME/.cache/pulso/bigquery-emulator, where .ci/bqemulator.sh builds it).
const EnvBinary = "PULSO_BQ_EMULATOR"

// BinaryPath is where the emulator binary is expected.
func BinaryPath() string {
	if p := os.Getenv(EnvBinary); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "pulso", "bigquery-emulator")
}

// ErrNoEmulator is returned when the binary is missing: the tests that need it fail
// (never skip), with the command that builds it.
var ErrNoEmulator = errors.New("bigquery emulator not built: run `make bqemulator` (or .ci/bqemulator.sh; ~6.5 min cold, cached after)")

// Emulator is a running bigquery-emulator process.
type Emulator struct {
	Project  string
	Endpoint string // REST base URL, for option.WithEndpoint
	GRPCAddr string // Storage API host:port
	cmd      *exec.Cmd
	stderr   *lockedBuffer
	done     chan struct{}
}

// Start runs the emulator with the fixture on loopback ports chosen by the kernel and
// waits until it listens (loading a fixture of ~40k rows takes a few seconds).
func Start(ctx context.Context, dir string, f Fixture) (*Emulator, error) {
	bin := BinaryPath()
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return nil, fmt.Errorf("%w (looked at %s)", ErrNoEmulator, bin)
	}
	data, err := f.YAML(true)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "bqemulator-fixture.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--project="+f.Project, "--host=127.0.0.1", "--port=0", "--grpc-port=0",
		"--log-level=error", "--data-from-yaml="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	e := &Emulator{Project: f.Project, cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = cmd.Wait(); close(e.done) }()
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var rest, grpc string
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "[bigquery-emulator] REST server listening at "); ok {
				rest = a
			}
			if a, ok := strings.CutPrefix(line, "[bigquery-emulator] gRPC server listening at "); ok {
				grpc = a
			}
			if rest != "" && grpc != "" {
				addrs <- [2]string{rest, grpc}
				rest, grpc = "", ""
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	wait, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	select {
	case a := <-addrs:
		e.Endpoint, e.GRPCAddr = "http://"+a[0], a[1]
		if err := e.insert(wait, f); err != nil {
			e.Stop()
			return nil, err
		}
		return e, nil
	case <-e.done:
		return nil, fmt.Errorf("bigquery emulator exited before listening: %s", e.stderr.String())
	case <-wait.Done():
		e.Stop()
		return nil, fmt.Errorf("bigquery emulator did not listen: %w; stderr: %s", wait.Err(), e.stderr.String())
	}
}

// insert loads the fixture rows through tabledata.insertAll, 5,000 rows a call.
func (e *Emulator) insert(ctx context.Context, f Fixture) error {
	for _, d := range f.Datasets {
		for _, t := range d.Tables {
			rows, err := t.typedRows(d.ID)
			if err != nil {
				return err
			}
			for len(rows) > 0 {
				n := min(len(rows), 5000)
				if err := e.insertAll(ctx, d.ID, t.ID, rows[:n]); err != nil {
					return fmt.Errorf("fixture %s.%s: %w", d.ID, t.ID, err)
				}
				rows = rows[n:]
			}
		}
	}
	return nil
}

func (e *Emulator) insertAll(ctx context.Context, dataset, table string, rows []map[string]any) error {
	type row struct {
		JSON map[string]any `json:"json"`
	}
	req := struct {
		Rows []row `json:"rows"`
	}{}
	for _, r := range rows {
		req.Rows = append(req.Rows, row{JSON: r})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	u := fmt.Sprintf("%s/projects/%s/datasets/%s/tables/%s/insertAll", e.Endpoint, e.Project, dataset, table)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var res struct {
		InsertErrors []json.RawMessage `json:"insertErrors"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(out, &res) != nil || len(res.InsertErrors) > 0 {
		return fmt.Errorf("insertAll: HTTP %d: %.500s", resp.StatusCode, out)
	}
	return nil
}

// Stop ends the process (SIGTERM, then SIGKILL after 5 s).
func (e *Emulator) Stop() {
	if e == nil || e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

// StartT starts the emulator for one test and stops it at cleanup; a missing binary
// fails the test.
func StartT(t testing.TB, f Fixture) *Emulator {
	t.Helper()
	e, err := Start(t.Context(), t.TempDir(), f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 64<<10 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
