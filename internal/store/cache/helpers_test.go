package cache

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// sharedRedisURL is the machine's shared Redis. Tests may only touch keys
// under their own prefix and must never FLUSH or stop it.
const sharedRedisURL = "redis://127.0.0.1:6379/0"

// sharedClient returns a plain client for the shared Redis, failing (not
// skipping) the test when it is unreachable.
func sharedClient(t *testing.T) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(sharedRedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("shared Redis at %s unreachable: %v", sharedRedisURL, err)
	}
	return rdb
}

// keyspace hands out keys under a prefix unique to this test run and deletes
// every key it handed out in t.Cleanup (never KEYS/SCAN/FLUSH).
type keyspace struct {
	t      *testing.T
	rdb    *redis.Client
	prefix string
	mu     sync.Mutex
	keys   []string
}

func newKeyspace(t *testing.T, rdb *redis.Client) *keyspace {
	ks := &keyspace{
		t:      t,
		rdb:    rdb,
		prefix: fmt.Sprintf("pulso-test:%s:%x:", t.Name(), rand.Uint64()),
	}
	t.Cleanup(func() {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		if len(ks.keys) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := rdb.Del(ctx, ks.keys...).Err(); err != nil {
			t.Errorf("cleanup: DEL test keys: %v", err)
		}
	})
	return ks
}

func (ks *keyspace) key(name string) string {
	k := ks.prefix + name
	ks.mu.Lock()
	ks.keys = append(ks.keys, k)
	ks.mu.Unlock()
	return k
}

// freePort asks the kernel for an unused TCP port on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// logBuffer collects slog output safely from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) count(substr string) int {
	return strings.Count(b.String(), substr)
}

func newTestLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
