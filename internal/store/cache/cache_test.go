package cache

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pulso-cobranzas/pulso/internal/store/cache/redistest"
)

func newCache(t *testing.T, opts Options) *Cache {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mustGet(t *testing.T, c *Cache, key string, wantBackend Backend, want []byte) {
	t.Helper()
	got, be, ok := c.Get(context.Background(), key)
	if !ok || be != wantBackend || !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = (%q, %q, %v), want (%q, %q, true)", key, got, be, ok, want, wantBackend)
	}
}

func mustMiss(t *testing.T, c *Cache, key string, wantBackend Backend) {
	t.Helper()
	got, be, ok := c.Get(context.Background(), key)
	if ok || got != nil || be != wantBackend {
		t.Fatalf("Get(%q) = (%q, %q, %v), want (nil, %q, false)", key, got, be, ok, wantBackend)
	}
}

// 1. Values really land in Redis with the requested TTL and come back from it.
func TestRedisRoundtripWithTTL(t *testing.T) {
	rdb := sharedClient(t)
	ks := newKeyspace(t, rdb)
	c := newCache(t, Options{RedisURL: sharedRedisURL, Enabled: true})
	ctx := context.Background()

	if s := c.Status(ctx); s != StatusOK {
		t.Fatalf("Status = %q, want %q", s, StatusOK)
	}

	key := ks.key("dashboard:abc")
	val := []byte(`{"kpi":42}`)
	if be := c.Set(ctx, key, val, 30*time.Second); be != BackendRedis {
		t.Fatalf("Set backend = %q, want %q", be, BackendRedis)
	}

	// Observed through an independent client: the value and its TTL are in Redis.
	raw, err := rdb.Get(ctx, key).Bytes()
	if err != nil || !bytes.Equal(raw, val) {
		t.Fatalf("redis GET = (%q, %v), want %q", raw, err, val)
	}
	ttl, err := rdb.TTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 20*time.Second || ttl > 30*time.Second {
		t.Fatalf("redis TTL = %v, want in (20s, 30s]", ttl)
	}

	// Emptying the local LRU must not matter: the hit comes from Redis.
	c.ClearLocal()
	mustGet(t, c, key, BackendRedis, val)

	// A miss is answered by Redis, not by a fallback.
	mustMiss(t, c, ks.key("absent"), BackendRedis)

	// The cache sees what another API replica wrote.
	other := ks.key("written-elsewhere")
	if err := rdb.Set(ctx, other, "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	mustGet(t, c, other, BackendRedis, []byte("x"))

	// ttl <= 0 stores nothing (an entry without expiry would never go away).
	noTTL := ks.key("no-ttl")
	if be := c.Set(ctx, noTTL, val, 0); be != "" {
		t.Fatalf("Set with ttl 0 backend = %q, want \"\"", be)
	}
	if n, err := rdb.Exists(ctx, noTTL).Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS %s = (%d, %v), want 0", noTTL, n, err)
	}
}

// 2. Without REDIS_URL the in-process LRU serves everything, bounded in size
// and honouring each entry's TTL.
func TestLocalOnly(t *testing.T) {
	c := newCache(t, Options{Enabled: true, LocalMaxEntries: 3})
	ctx := context.Background()

	if s := c.Status(ctx); s != StatusDisabled {
		t.Fatalf("Status = %q, want %q", s, StatusDisabled)
	}

	mustMiss(t, c, "a", BackendLocal)
	for _, k := range []string{"a", "b", "c"} {
		if be := c.Set(ctx, k, []byte("v"+k), time.Minute); be != BackendLocal {
			t.Fatalf("Set backend = %q, want %q", be, BackendLocal)
		}
	}
	mustGet(t, c, "a", BackendLocal, []byte("va")) // "a" becomes most recently used
	c.Set(ctx, "d", []byte("vd"), time.Minute)     // evicts least recently used: "b"
	mustMiss(t, c, "b", BackendLocal)
	mustGet(t, c, "a", BackendLocal, []byte("va"))
	mustGet(t, c, "c", BackendLocal, []byte("vc"))
	mustGet(t, c, "d", BackendLocal, []byte("vd"))

	// Per-entry TTL: a short-lived entry expires while a long-lived one stays.
	c.Set(ctx, "short", []byte("s"), 50*time.Millisecond)
	c.Set(ctx, "long", []byte("l"), time.Minute)
	mustGet(t, c, "short", BackendLocal, []byte("s"))
	time.Sleep(120 * time.Millisecond)
	mustMiss(t, c, "short", BackendLocal)
	mustGet(t, c, "long", BackendLocal, []byte("l"))

	// A stored value is a copy of the caller's buffer (a returned one is shared:
	// callers only read it).
	buf := []byte("orig")
	c.Set(ctx, "copy", buf, time.Minute)
	copy(buf, "XXXX")
	mustGet(t, c, "copy", BackendLocal, []byte("orig"))

	c.ClearLocal()
	mustMiss(t, c, "long", BackendLocal)
	mustMiss(t, c, "copy", BackendLocal)
}

// 3. Enabled=false stores nothing anywhere, even with a working Redis URL.
func TestDisabled(t *testing.T) {
	rdb := sharedClient(t)
	ks := newKeyspace(t, rdb)
	ctx := context.Background()

	for _, url := range []string{"", sharedRedisURL} {
		c := newCache(t, Options{RedisURL: url, Enabled: false})
		key := ks.key("disabled" + fmt.Sprint(len(url)))
		if be := c.Set(ctx, key, []byte("v"), time.Minute); be != "" {
			t.Fatalf("url %q: Set backend = %q, want \"\"", url, be)
		}
		if v, be, ok := c.Get(ctx, key); ok || v != nil || be != "" {
			t.Fatalf("url %q: Get = (%q, %q, %v), want a miss", url, v, be, ok)
		}
		if s := c.Status(ctx); s != StatusDisabled {
			t.Fatalf("url %q: Status = %q, want %q", url, s, StatusDisabled)
		}
		if n, err := rdb.Exists(ctx, key).Result(); err != nil || n != 0 {
			t.Fatalf("url %q: EXISTS = (%d, %v), want 0: disabled cache wrote to Redis", url, n, err)
		}
		c.ClearLocal() // must not panic without a local cache
	}

	// Even a value that exists in Redis is not read.
	key := ks.key("preexisting")
	if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	c := newCache(t, Options{RedisURL: sharedRedisURL, Enabled: false})
	if v, _, ok := c.Get(ctx, key); ok {
		t.Fatalf("disabled cache returned %q from Redis", v)
	}
}

// 4. A Redis outage degrades to the local LRU within about one Timeout,
// Status reports "down", and after the back-off the cache uses Redis again.
func TestRedisDownThenBack(t *testing.T) {
	srv := redistest.Start(t)
	direct := srv.Client()
	logs := &logBuffer{}
	c := newCache(t, Options{
		RedisURL: srv.URL(),
		Enabled:  true,
		Timeout:  100 * time.Millisecond,
		Backoff:  200 * time.Millisecond,
		Log:      newTestLogger(logs),
	})
	ctx := context.Background()

	if be := c.Set(ctx, "k1", []byte("v1"), time.Minute); be != BackendRedis {
		t.Fatalf("Set backend = %q, want %q", be, BackendRedis)
	}
	mustGet(t, c, "k1", BackendLocal, []byte("v1")) // the near copy
	c.ClearLocal()
	mustGet(t, c, "k1", BackendRedis, []byte("v1"))
	mustGet(t, c, "k1", BackendLocal, []byte("v1")) // kept near after the Redis read
	if s := c.Status(ctx); s != StatusOK {
		t.Fatalf("Status = %q, want %q", s, StatusOK)
	}

	srv.Stop()

	start := time.Now()
	v, be, ok := c.Get(ctx, "k0")
	if elapsed := time.Since(start); elapsed >= time.Second {
		t.Fatalf("Get with Redis down took %v, want < 1s", elapsed)
	}
	if ok || be != BackendLocal {
		t.Fatalf("Get with Redis down = (%q, %q, %v), want local miss", v, be, ok)
	}
	mustGet(t, c, "k1", BackendLocal, []byte("v1")) // the near copy outlives the outage
	if s := c.Status(ctx); s != StatusDown {
		t.Fatalf("Status = %q, want %q", s, StatusDown)
	}
	start = time.Now()
	if be := c.Set(ctx, "k2", []byte("v2"), time.Minute); be != BackendLocal {
		t.Fatalf("Set with Redis down backend = %q, want %q", be, BackendLocal)
	}
	if elapsed := time.Since(start); elapsed >= time.Second {
		t.Fatalf("Set with Redis down took %v, want < 1s", elapsed)
	}
	mustGet(t, c, "k2", BackendLocal, []byte("v2"))
	if n := logs.count("level=WARN"); n < 1 {
		t.Fatalf("no warning logged for the outage; logs:\n%s", logs)
	}

	srv.Restart() // same port, empty dataset

	deadline := time.Now().Add(5 * time.Second)
	for c.Set(ctx, "k3", []byte("v3"), time.Minute) != BackendRedis {
		if time.Now().After(deadline) {
			t.Fatalf("cache did not go back to Redis after restart; logs:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Proof through an independent client that the write reached Redis.
	raw, err := direct.Get(ctx, "k3").Bytes()
	if err != nil || string(raw) != "v3" {
		t.Fatalf("redis GET k3 = (%q, %v), want v3", raw, err)
	}
	if ttl, err := direct.TTL(ctx, "k3").Result(); err != nil || ttl <= 0 {
		t.Fatalf("redis TTL k3 = (%v, %v), want > 0", ttl, err)
	}
	c.ClearLocal()
	mustGet(t, c, "k3", BackendRedis, []byte("v3"))
	// k2 was written while Redis was down: it never reached Redis.
	if n, err := direct.Exists(ctx, "k2").Result(); err != nil || n != 0 {
		t.Fatalf("redis EXISTS k2 = (%d, %v), want 0", n, err)
	}
	if s := c.Status(ctx); s != StatusOK {
		t.Fatalf("Status after recovery = %q, want %q", s, StatusOK)
	}
	if n := logs.count("redis cache available again"); n != 1 {
		t.Fatalf("recovery logged %d times, want 1; logs:\n%s", n, logs)
	}
}

// The Timeout bounds a call to a Redis that accepts connections but never
// answers (the case a fast "connection refused" does not cover).
func TestTimeoutOnUnresponsiveRedis(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn) // hold it open, never reply
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range conns {
			_ = conn.Close()
		}
	})

	ctx := context.Background()
	newSilent := func() *Cache {
		return newCache(t, Options{
			RedisURL: "redis://" + l.Addr().String() + "/0",
			Enabled:  true,
			Timeout:  100 * time.Millisecond,
			Backoff:  time.Hour,
		})
	}

	// Get as the first call (fresh cache, not yet in back-off).
	c := newSilent()
	start := time.Now()
	if v, be, ok := c.Get(ctx, "k"); ok || be != BackendLocal {
		t.Fatalf("Get = (%q, %q, %v), want local miss", v, be, ok)
	}
	if elapsed := time.Since(start); elapsed >= time.Second {
		t.Fatalf("Get against a silent Redis took %v, want < 1s", elapsed)
	}
	if s := c.Status(ctx); s != StatusDown {
		t.Fatalf("Status = %q, want %q", s, StatusDown)
	}

	// Set as the first call on another fresh cache.
	c = newSilent()
	start = time.Now()
	if be := c.Set(ctx, "k", []byte("v"), time.Minute); be != BackendLocal {
		t.Fatalf("Set backend = %q, want %q", be, BackendLocal)
	}
	if elapsed := time.Since(start); elapsed >= time.Second {
		t.Fatalf("Set against a silent Redis took %v, want < 1s", elapsed)
	}
	// In back-off now: Redis is skipped, so this is immediate and local.
	start = time.Now()
	mustGet(t, c, "k", BackendLocal, []byte("v"))
	if elapsed := time.Since(start); elapsed >= 50*time.Millisecond {
		t.Fatalf("Get during back-off took %v; Redis should be skipped", elapsed)
	}
	if s := c.Status(ctx); s != StatusDown {
		t.Fatalf("Status = %q, want %q", s, StatusDown)
	}
}

// Many concurrent failures during one back-off period log a single warning.
func TestOutageLoggedOncePerBackoff(t *testing.T) {
	logs := &logBuffer{}
	c := newCache(t, Options{
		RedisURL: fmt.Sprintf("redis://127.0.0.1:%d/0", freePort(t)), // nothing listens
		Enabled:  true,
		Backoff:  time.Hour,
		Log:      newTestLogger(logs),
	})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			key := fmt.Sprint("k", i)
			c.Set(context.Background(), key, []byte("v"), time.Minute)
			c.Get(context.Background(), key)
		})
	}
	wg.Wait()
	if n := logs.count("level=WARN"); n != 1 {
		t.Fatalf("got %d warnings, want exactly 1; logs:\n%s", n, logs)
	}
	if s := c.Status(context.Background()); s != StatusDown {
		t.Fatalf("Status = %q, want %q", s, StatusDown)
	}
}

// A request cancelled by its client says nothing about Redis: no back-off.
func TestCallerCancellationDoesNotMarkDown(t *testing.T) {
	rdb := sharedClient(t)
	ks := newKeyspace(t, rdb)
	c := newCache(t, Options{RedisURL: sharedRedisURL, Enabled: true, Backoff: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, be, _ := c.Get(ctx, ks.key("k")); be != BackendLocal {
		t.Fatalf("Get with cancelled ctx backend = %q, want %q", be, BackendLocal)
	}
	if s := c.Status(context.Background()); s != StatusOK {
		t.Fatalf("Status after a cancelled request = %q, want %q", s, StatusOK)
	}
}

// 5. Concurrent use is race-free (run with -race) and never returns a value
// that was not stored under that key.
func TestConcurrent(t *testing.T) {
	rdb := sharedClient(t)
	ks := newKeyspace(t, rdb)
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = ks.key(fmt.Sprint("k", i))
	}
	for _, url := range []string{"", sharedRedisURL} {
		c := newCache(t, Options{RedisURL: url, Enabled: true, LocalMaxEntries: 8})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				ctx := context.Background()
				for i := range 200 {
					k := (g*7 + i) % len(keys)
					want := []byte(fmt.Sprint("value-", k))
					switch i % 10 {
					case 0:
						c.ClearLocal()
					case 1:
						c.Status(ctx)
					case 2, 3, 4:
						c.Set(ctx, keys[k], want, time.Minute)
					default:
						if v, _, ok := c.Get(ctx, keys[k]); ok && !bytes.Equal(v, want) {
							t.Errorf("url %q: Get(%s) = %q, want %q", url, keys[k], v, want)
							return
						}
					}
				}
			})
		}
		wg.Wait()
	}
}

// 6. A malformed URL is rejected at start-up, even while the cache is disabled.
func TestBadURL(t *testing.T) {
	for _, url := range []string{"http://127.0.0.1:6379", "redis://127.0.0.1:6379/notadb", "::not a url", "redis://host:port:extra"} {
		for _, enabled := range []bool{true, false} {
			c, err := New(Options{RedisURL: url, Enabled: enabled})
			if err == nil {
				_ = c.Close()
				t.Errorf("New(RedisURL=%q, Enabled=%v) = nil error, want error", url, enabled)
			}
		}
	}
	if _, err := New(Options{Enabled: true, LocalMaxEntries: -1}); err == nil {
		t.Error("New(LocalMaxEntries=-1) = nil error, want error")
	}
	// A well-formed URL to a Redis that is not running is fine at start-up.
	c, err := New(Options{RedisURL: fmt.Sprintf("redis://127.0.0.1:%d/0", freePort(t)), Enabled: true})
	if err != nil {
		t.Fatalf("New with unreachable Redis: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// Close releases every goroutine the Redis client started and is idempotent.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	rdb := sharedClient(t)
	ks := newKeyspace(t, rdb)
	before := runtime.NumGoroutine()

	c, err := New(Options{RedisURL: sharedRedisURL, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			k := ks.key(fmt.Sprint("k", i))
			c.Set(ctx, k, []byte("v"), time.Minute)
			c.Get(ctx, k)
		})
	}
	wg.Wait()
	c.Status(ctx)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after Close:\n%s",
				before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
