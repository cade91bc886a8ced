package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Private is a PostgreSQL cluster of the test's own, on a free loopback port, that the
// test may stop and start again (what pulso does when the server restarts mid-run,
// bars R3). Unlike the shared server of DB, URL, Fresh and Empty, it is built by
// initdb for the test and removed when the test ends.
//
// It trusts every connection, listens on 127.0.0.1 only and has no Unix socket. It
// runs without fsync: a stop, even an immediate one, loses nothing committed, but the
// cluster would not survive a crash of the machine, which no test needs.
type Private struct {
	// URL reaches the postgres database as the superuser postgres:
	// postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable. It stays the same
	// across Stop and Start.
	URL     string
	Port    int
	DataDir string // the cluster's data directory
	LogFile string // the server's log, appended to by every start

	dir   string   // removed at cleanup; holds DataDir and LogFile
	bin   string   // directory of initdb and postgres
	owner *account // the OS user the server runs as when the test runs as root

	mu       sync.Mutex
	srv      *postmaster // nil while stopped
	logShown bool        // a failure message included the end of the log
}

// postmaster is one run of the server process.
type postmaster struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
}

type account struct {
	name     string
	uid, gid int
}

const (
	privateReadyTimeout = time.Minute
	privateStopTimeout  = time.Minute
)

// stopSignals maps pg_ctl's shutdown modes to the signals pg_ctl sends the postmaster.
var stopSignals = map[string]syscall.Signal{
	"smart":     syscall.SIGTERM, // waits for every client to disconnect
	"fast":      syscall.SIGINT,  // disconnects clients, checkpoints, exits
	"immediate": syscall.SIGQUIT, // exits at once; the next start replays the WAL
}

// StartPrivate creates a cluster with initdb (a few seconds at most), starts it and
// waits until it accepts connections. The test's cleanup stops it (immediate mode)
// and removes its directory; when the test failed, cleanup also logs the end of the
// server log.
//
// Without PostgreSQL's server binaries (pg_config --bindir, else the newest
// /usr/lib/postgresql/*/bin, else initdb on PATH), or as root without a postgres OS
// user to run the server as, it fails the test.
// Any other problem fails the test.
func StartPrivate(t testing.TB) *Private {
	t.Helper()
	bin, err := serverBinDir()
	if err != nil {
		t.Fatal(err.Error())
	}
	var owner *account
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		if owner, err = lookupAccount("postgres"); err != nil {
			t.Fatalf("pgtest: running as root, and initdb and postgres refuse to: "+
				"they run as the OS user postgres, which is missing: %v", err)
		}
	}
	dir, err := makeClusterDir(owner)
	if err != nil {
		t.Fatalf("pgtest: private cluster directory: %v", err)
	}
	p := &Private{
		DataDir: filepath.Join(dir, "data"),
		LogFile: filepath.Join(dir, "postgres.log"),
		dir:     dir,
		bin:     bin,
		owner:   owner,
	}
	t.Cleanup(func() { p.cleanup(t) })

	if err := p.initdb(); err != nil {
		t.Fatalf("pgtest: private cluster: %v", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// The port is free when chosen but may be taken before the server binds it.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("pgtest: private cluster: %v", err)
		}
		p.Port = port
		p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		from := p.logSize()
		err = p.start()
		if err == nil {
			return p
		}
		if attempt < 3 && strings.Contains(p.logSince(from), "could not bind") {
			continue
		}
		t.Fatalf("pgtest: start private cluster: %v\n%s", err, p.failureLog())
	}
}

// Stop shuts the server down in pg_ctl's mode "fast" (clients are disconnected, a
// checkpoint is written) or "immediate" (the server exits at once; the next start
// recovers from the WAL), or "smart" (waits for every client to disconnect first),
// and waits until the process has exited. The server must be running.
func (p *Private) Stop(t testing.TB, mode string) {
	t.Helper()
	sig, ok := stopSignals[mode]
	if !ok {
		t.Fatalf("pgtest: stop mode %q: want fast, immediate or smart", mode)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv == nil {
		t.Fatal("pgtest: Stop: the private cluster is not running")
	}
	if err := p.stop(sig); err != nil {
		t.Fatalf("pgtest: stop private cluster (%s): %v\n%s", mode, err, p.failureLog())
	}
}

// Start starts the server again, on the same port and data directory, and waits
// until it accepts connections. The server must be stopped.
func (p *Private) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		t.Fatal("pgtest: Start: the private cluster is already running")
	}
	if err := p.start(); err != nil {
		t.Fatalf("pgtest: restart private cluster on port %d: %v\n%s", p.Port, err, p.failureLog())
	}
}

func (p *Private) initdb() error {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, "initdb"),
		"--pgdata="+p.DataDir, "--username=postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	cmd.Dir = p.dir
	cmd.SysProcAttr = procAttr(p.owner, false)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", cmd.Path, err, out)
	}
	return nil
}

// start runs the server and waits until it accepts connections. Callers hold p.mu.
func (p *Private) start() error {
	log, err := os.OpenFile(p.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	if p.owner != nil {
		if err := log.Chown(p.owner.uid, p.owner.gid); err != nil {
			return err
		}
	}
	// The postmaster is a child of the test process, not a daemon as under pg_ctl, so
	// that it dies with a test binary killed before its cleanup (-timeout).
	cmd := exec.Command(filepath.Join(p.bin, "postgres"),
		"-D", p.DataDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(p.Port),
		"-c", "unix_socket_directories=",
		"-c", "shared_buffers=16MB",
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		"-c", "logging_collector=off")
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr(p.owner, true)
	srv := &postmaster{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that forked the child exits,
		// not the process: keep this thread until the child is reaped.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait() // an exit status is expected after a stop; the log tells the rest
		close(srv.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("run %s: %w", cmd.Path, err)
	}
	p.srv = srv
	if err := p.waitReady(); err != nil {
		if p.srv != nil {
			_ = p.stop(syscall.SIGQUIT)
		}
		return err
	}
	return nil
}

// waitReady polls until the server accepts a connection. Callers hold p.mu.
func (p *Private) waitReady() error {
	cfg, err := pgx.ParseConfig(p.URL)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(privateReadyTimeout)
	err = errors.New("the server never reported ready")
	for {
		// Connecting before the server is ready would only fill its log with "the
		// database system is starting up".
		if p.reportsReady() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			var conn *pgx.Conn
			conn, err = pgx.ConnectConfig(ctx, cfg)
			cancel()
			if err == nil {
				closeConn(conn)
				return nil
			}
		}
		select {
		case <-p.srv.done:
			p.srv = nil
			return errors.New("the server exited before accepting connections")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server accepted no connection within %v: %w", privateReadyTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reportsReady reads the status the postmaster keeps on line 8 of postmaster.pid
// (PostgreSQL 10 and later); an unreadable file does not hold the caller back.
func (p *Private) reportsReady() bool {
	b, err := os.ReadFile(filepath.Join(p.DataDir, "postmaster.pid"))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	lines := strings.Split(string(b), "\n")
	return len(lines) < 8 || strings.TrimSpace(lines[7]) == "ready"
}

// stop signals the server and waits for it to exit, killing it after
// privateStopTimeout. Callers hold p.mu.
func (p *Private) stop(sig syscall.Signal) error {
	srv := p.srv
	p.srv = nil
	if err := srv.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	select {
	case <-srv.done:
		return nil
	case <-time.After(privateStopTimeout):
		_ = srv.cmd.Process.Kill()
		<-srv.done
		return fmt.Errorf("the server did not exit within %v of %v; killed", privateStopTimeout, sig)
	}
}

func (p *Private) cleanup(t testing.TB) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		if err := p.stop(syscall.SIGQUIT); err != nil {
			t.Errorf("pgtest: stop private cluster: %v", err)
		}
	}
	if t.Failed() && !p.logShown {
		t.Logf("pgtest: private cluster on port %d, end of its log:\n%s", p.Port, p.logTail())
	}
	if err := os.RemoveAll(p.dir); err != nil {
		t.Errorf("pgtest: remove private cluster: %v", err)
	}
}

func (p *Private) logSize() int64 {
	st, err := os.Stat(p.LogFile)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logSince is the log from offset from on.
func (p *Private) logSince(from int64) string {
	b, err := os.ReadFile(p.LogFile)
	if err != nil || int64(len(b)) < from {
		return ""
	}
	return string(b[from:])
}

// failureLog is logTail for a failure message, which cleanup then need not repeat.
// Callers hold p.mu.
func (p *Private) failureLog() string {
	p.logShown = true
	return p.logTail()
}

// logTail is the end of the server log, for failure messages.
func (p *Private) logTail() string {
	const lines = 40
	b, err := os.ReadFile(p.LogFile)
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	b = bytes.TrimRight(b, "\n")
	all := strings.Split(string(b), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "--- " + p.LogFile + " (last lines) ---\n" + strings.Join(all, "\n")
}

var serverBin struct {
	once sync.Once
	dir  string
	err  error
}

// serverBinDir finds the directory holding initdb and postgres: pg_config's bindir,
// else the newest /usr/lib/postgresql/*/bin (Debian, Ubuntu), else initdb's on PATH.
func serverBinDir() (string, error) {
	serverBin.once.Do(func() {
		var tried []string
		var candidates []string
		if pc, err := exec.LookPath("pg_config"); err == nil {
			if out, err := exec.Command(pc, "--bindir").Output(); err == nil {
				candidates = append(candidates, strings.TrimSpace(string(out)))
			}
		}
		debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		slices.SortFunc(debian, func(a, b string) int { // newest first
			return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
		})
		candidates = append(candidates, debian...)
		if p, err := exec.LookPath("initdb"); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
		for _, d := range candidates {
			if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
				serverBin.dir = d
				return
			}
			tried = append(tried, d)
		}
		serverBin.err = fmt.Errorf("pgtest: no PostgreSQL server binaries (initdb and postgres) for a private cluster "+
			"(looked in pg_config --bindir, /usr/lib/postgresql/*/bin and PATH: %q); "+
			"install the server (Debian: apt-get install postgresql)", tried)
	})
	return serverBin.dir, serverBin.err
}

// compareVersions orders PostgreSQL directory versions such as "9.6" and "15".
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

func lookupAccount(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	return &account{name: name, uid: uid, gid: gid}, nil
}

// makeClusterDir creates the directory that holds a cluster, mode 0700. Under root it
// belongs to owner and sits in a temporary directory that owner can traverse (the
// test's t.TempDir() is inside root's 0700 directories).
func makeClusterDir(owner *account) (string, error) {
	base := os.TempDir()
	if owner != nil && !othersCanTraverse(base) {
		base = "/tmp"
		if !othersCanTraverse(base) {
			return "", fmt.Errorf("neither %s nor /tmp can be traversed by the OS user %s", os.TempDir(), owner.name)
		}
	}
	dir, err := os.MkdirTemp(base, "pulso-pgtest-")
	if err != nil {
		return "", err
	}
	if owner != nil {
		if err := os.Chown(dir, owner.uid, owner.gid); err != nil {
			_ = os.RemoveAll(dir)
			return "", fmt.Errorf("give %s to %s: %w", dir, owner.name, err)
		}
	}
	return dir, nil
}

// othersCanTraverse reports whether every directory down to path is searchable by
// any user.
func othersCanTraverse(path string) bool {
	path, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(path)
		if parent == path {
			return true
		}
		path = parent
	}
}

// freePort is a loopback TCP port free at the time of the call.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// procAttr runs a child as owner (when not nil) and, with deathSignal, has the kernel
// send it SIGQUIT (PostgreSQL's immediate shutdown) if the test process dies first.
// The fields are set by name because syscall.SysProcAttr has Pdeathsig only on Linux
// and FreeBSD, and Credential only on Unix: this package builds everywhere its
// callers do, and a server outliving its test is only a leak on the others.
func procAttr(owner *account, deathSignal bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	v := reflect.ValueOf(attr).Elem()
	if deathSignal {
		if f := v.FieldByName("Pdeathsig"); f.IsValid() && f.Type() == reflect.TypeFor[syscall.Signal]() {
			f.Set(reflect.ValueOf(syscall.SIGQUIT))
		}
	}
	if owner != nil {
		// Only Unix has a root to step down from, and every Unix has Credential.
		f := v.FieldByName("Credential")
		cred := reflect.New(f.Type().Elem())
		cred.Elem().FieldByName("Uid").SetUint(uint64(owner.uid))
		cred.Elem().FieldByName("Gid").SetUint(uint64(owner.gid))
		f.Set(cred)
	}
	return attr
}
