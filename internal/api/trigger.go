package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The child-process runner behind POST /etl/trigger: the API process never runs the
// pipeline itself. It starts `pulso run-pipeline` (the same binary, configuration and
// environment) as a child, reaps it, and on shutdown sends it SIGTERM (it records its
// run cancelled and exits 130) and waits for it within the drain. The child runs in a
// process group of its own with a parent-death signal (Linux), so a server killed
// outright does not leave it running either.

// errShuttingDown refuses a trigger once the server is draining.
var errShuttingDown = NewError(http.StatusServiceUnavailable, CodeUnavailable, "The server is shutting down; trigger the run again shortly")

// childRuns are the pipeline processes the server started.
type childRuns struct {
	log *slog.Logger
	out io.Writer
	// sem lets one trigger at a time start a child and wait for its lock: a second
	// trigger then finds the lock held (409) instead of racing the first child.
	sem chan struct{}

	mu     sync.Mutex
	closed bool
	live   map[int]*child
	wg     sync.WaitGroup
}

// child is one started pipeline process.
type child struct {
	cmd  *exec.Cmd
	pid  int
	tail *tailBuffer
	// runID is the ledger run the child opened, once the trigger found it.
	runID atomic.Int64
	// done is closed once the child was reaped; code is then its exit code
	// (-1 when it died of a signal).
	done chan struct{}
	code int
}

func newChildRuns(log *slog.Logger, out io.Writer) *childRuns {
	return &childRuns{log: log, out: out, sem: make(chan struct{}, 1), live: map[int]*child{}}
}

// acquire takes the one-trigger-at-a-time slot; release gives it back.
func (r *childRuns) acquire(ctx context.Context) error {
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *childRuns) release() { <-r.sem }

// start runs exe with args as a child process whose lifetime is the server's, not
// the request's; a goroutine reaps it and logs how it ended.
func (r *childRuns) start(exe string, args []string) (*child, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errShuttingDown
	}
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	c := &child{tail: newTailBuffer(8 << 10), done: make(chan struct{})}
	cmd := exec.Command(exe, args...)
	// cmd.Env nil: the child inherits the server's environment (DATABASE_URL, PULSO_*).
	cmd.Stdout = c.tail
	if r.out != nil {
		cmd.Stderr = io.MultiWriter(r.out, c.tail)
	} else {
		cmd.Stderr = c.tail
	}
	cmd.SysProcAttr = childSysProcAttr()
	// The output pipes close with the child; a grandchild holding them must not keep
	// the reaper waiting.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.cmd, c.pid = cmd, cmd.Process.Pid
	r.live[c.pid] = c
	r.wg.Add(1)
	r.log.Info("pipeline started", "pid", c.pid, "args", args)
	go r.reap(c)
	return c, nil
}

// reap waits for the child (no zombie), records its exit code and logs it; the
// child's own ledger row records the run.
func (r *childRuns) reap(c *child) {
	defer r.wg.Done()
	err := c.cmd.Wait()
	c.code = -1
	if st := c.cmd.ProcessState; st != nil {
		c.code = st.ExitCode()
	}
	r.mu.Lock()
	delete(r.live, c.pid)
	r.mu.Unlock()
	attrs := []any{"pid", c.pid, "exit_code", c.code}
	if id := c.runID.Load(); id != 0 {
		attrs = append(attrs, "run_id", id)
	}
	switch {
	case c.code == 0:
		r.log.Info("pipeline exited", attrs...)
	case c.runID.Load() == 0:
		// No ledger row may say why: keep the end of its output in the log.
		r.log.Warn("pipeline exited", append(attrs, "error", errString(err), "output_tail", c.tail.String())...)
	default:
		r.log.Warn("pipeline exited", append(attrs, "error", errString(err))...)
	}
	close(c.done)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// signal sends sig to the child's process group (the child and anything it started).
func (c *child) signal(sig syscall.Signal) {
	select {
	case <-c.done:
		return
	default:
	}
	signalGroup(c.cmd.Process, sig)
}

// terminate refuses new children and sends SIGTERM to the live ones.
func (r *childRuns) terminate() {
	r.mu.Lock()
	r.closed = true
	live := make([]*child, 0, len(r.live))
	for _, c := range r.live {
		live = append(live, c)
	}
	r.mu.Unlock()
	for _, c := range live {
		r.log.Info("stopping the triggered pipeline", "pid", c.pid, "run_id", c.runID.Load())
		c.signal(syscall.SIGTERM)
	}
}

// wait waits for every child until ctx ends, then kills what is left (the backstop:
// a run killed mid-way is recorded abandoned by the next one) and reaps it.
func (r *childRuns) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	r.mu.Lock()
	for _, c := range r.live {
		r.log.Warn("the triggered pipeline outlived the drain: killing it", "pid", c.pid, "run_id", c.runID.Load())
		c.signal(syscall.SIGKILL)
	}
	r.mu.Unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		r.log.Error("a triggered pipeline could not be reaped")
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
