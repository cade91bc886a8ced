// Package cache is the API's response cache: Redis when it is configured and
// answering, an in-process LRU otherwise, so that a slow or dead Redis never
// makes a request slower than about one Timeout nor makes it fail. The LRU also
// keeps what this process used recently in front of Redis (a near cache): keys
// carry the data version, so an entry never changes once written and a local
// copy cannot be stale; it saves a network round trip on the hottest answers.
//
// Keys are chosen by the caller (for example "pulso:<instance>:v12:s1:dashboard:<hash>")
// and values are opaque bytes. The package never issues KEYS or FLUSH* on
// Redis: the Redis instance may be shared, and versioned keys plus TTLs are
// what invalidate entries there.
package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// nearTTL bounds how long an entry read from Redis stays in the in-process LRU:
// long enough to spare Redis the hot keys, short next to the endpoints' TTLs.
const nearTTL = time.Minute

// Defaults applied by New when the matching Options field is zero.
const (
	DefaultLocalMaxEntries = 1000
	DefaultTimeout         = 100 * time.Millisecond
	DefaultBackoff         = 10 * time.Second
)

// Status values reported by Cache.Status (used by /health/ready).
const (
	StatusOK       = "ok"
	StatusDown     = "down"
	StatusDisabled = "disabled"
)

// Options configures New. The zero value is a fully disabled cache.
type Options struct {
	// RedisURL is a redis:// or rediss:// URL; "" means in-process cache only.
	RedisURL string
	// Enabled=false turns off Redis and the in-process cache alike, so that
	// every request reaches the database (useful when debugging staleness).
	Enabled bool
	// LocalMaxEntries bounds the in-process LRU; 0 means DefaultLocalMaxEntries.
	LocalMaxEntries int
	// Timeout bounds every Redis call (dial, read, write, pool wait) so a sick
	// Redis costs a request at most about this much; 0 means DefaultTimeout.
	Timeout time.Duration
	// Backoff is how long Redis is skipped after a failure before it is tried
	// again, so an outage does not add Timeout to every request; 0 means
	// DefaultBackoff.
	Backoff time.Duration
	// Log receives Redis outage/recovery messages; nil discards them.
	Log *slog.Logger
}

// Backend names the store that answered, for the cache_hits_total{backend}
// metric. Get and Set return "" when the cache is disabled (Enabled=false) or
// the call did nothing.
type Backend string

// Backends.
const (
	BackendRedis Backend = "redis"
	BackendLocal Backend = "local"
)

// localEntry carries its own expiry because expirable.LRU only supports one
// TTL per cache, whereas each Set here has its own TTL.
type localEntry struct {
	val       []byte
	expiresAt time.Time
}

// Cache is safe for concurrent use. It starts no goroutines of its own.
type Cache struct {
	enabled bool
	timeout time.Duration
	backoff time.Duration
	log     *slog.Logger

	rdb   *redis.Client // nil when no RedisURL or disabled
	local *expirable.LRU[string, localEntry]

	// downUntil is the UnixNano until which Redis is skipped (0 = not
	// skipped). It is swapped with CAS so that concurrent failures start only
	// one back-off period and log only once.
	downUntil atomic.Int64
	// down remembers that an outage was logged, so recovery is logged once.
	down atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

// New builds a Cache. A malformed RedisURL is an error, but Redis does not
// need to be reachable: connections are made lazily and an unreachable Redis
// only means the in-process LRU is used until it answers.
func New(opts Options) (*Cache, error) {
	if opts.LocalMaxEntries < 0 {
		return nil, fmt.Errorf("cache: LocalMaxEntries must be >= 0, got %d", opts.LocalMaxEntries)
	}
	if opts.Timeout < 0 || opts.Backoff < 0 {
		return nil, errors.New("cache: Timeout and Backoff must be >= 0")
	}
	if opts.LocalMaxEntries == 0 {
		opts.LocalMaxEntries = DefaultLocalMaxEntries
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Backoff == 0 {
		opts.Backoff = DefaultBackoff
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	c := &Cache{
		enabled: opts.Enabled,
		timeout: opts.Timeout,
		backoff: opts.Backoff,
		log:     log,
	}
	if !opts.Enabled {
		// Nothing is stored at all; validate the URL anyway so a typo is
		// caught before someone flips Enabled on.
		if opts.RedisURL != "" {
			if _, err := redis.ParseURL(opts.RedisURL); err != nil {
				return nil, fmt.Errorf("cache: parse REDIS_URL: %w", err)
			}
		}
		return c, nil
	}

	// TTL 0 = no cache-wide expiry, which also means expirable starts no
	// cleanup goroutine (that goroutine could never be stopped in v2.0.7).
	c.local = expirable.NewLRU[string, localEntry](opts.LocalMaxEntries, nil, 0)

	if opts.RedisURL != "" {
		ro, err := redis.ParseURL(opts.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("cache: parse REDIS_URL: %w", err)
		}
		// Every layer is bounded by Timeout; the per-call context does the
		// rest. Retries would multiply the latency of a dead Redis, and the
		// local fallback already covers a single failed call.
		ro.DialTimeout = opts.Timeout
		ro.ReadTimeout = opts.Timeout
		ro.WriteTimeout = opts.Timeout
		ro.PoolTimeout = opts.Timeout
		ro.ContextTimeoutEnabled = true
		ro.MaxRetries = -1
		ro.DialerRetries = 1
		// Fewer handshake round trips on each new connection; neither
		// feature is useful for a plain cache.
		ro.DisableIdentity = true
		ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
		c.rdb = redis.NewClient(ro)
	}
	return c, nil
}

// Get returns the cached value for key: from the in-process LRU when it holds it
// (BackendLocal), else from Redis when usable (kept locally for nearTTL; a Redis
// miss is (nil, BackendRedis, false)); when Redis errors or is being skipped the
// LRU's answer is final. The returned slice may be shared with the cache: read
// it, never modify it.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, Backend, bool) {
	if !c.enabled {
		return nil, "", false
	}
	if val, ok := c.getLocal(key); ok {
		return val, BackendLocal, true
	}
	if c.redisUsable() {
		rctx, cancel := context.WithTimeout(ctx, c.timeout)
		val, err := c.rdb.Get(rctx, key).Bytes()
		cancel()
		switch {
		case err == nil:
			c.markUp()
			c.setLocal(key, val, nearTTL)
			return val, BackendRedis, true
		case errors.Is(err, redis.Nil):
			c.markUp()
			return nil, BackendRedis, false
		default:
			c.markDown(ctx, err)
		}
	}
	return nil, BackendLocal, false
}

// Set stores val under key for ttl in the in-process LRU and in Redis when it is
// usable; it reports BackendRedis when Redis took it. A ttl <= 0 stores nothing,
// since an entry without expiry would never be invalidated.
func (c *Cache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) Backend {
	if !c.enabled || ttl <= 0 {
		return ""
	}
	c.setLocal(key, val, ttl)
	if c.redisUsable() {
		rctx, cancel := context.WithTimeout(ctx, c.timeout)
		err := c.rdb.Set(rctx, key, val, ttl).Err()
		cancel()
		if err == nil {
			c.markUp()
			return BackendRedis
		}
		c.markDown(ctx, err)
	}
	return BackendLocal
}

// setLocal keeps a copy of val in the in-process LRU for ttl.
func (c *Cache) setLocal(key string, val []byte, ttl time.Duration) {
	c.local.Add(key, localEntry{
		// Copy: the caller may reuse its buffer after Set returns.
		val:       append([]byte(nil), val...),
		expiresAt: time.Now().Add(ttl),
	})
}

// Status reports "disabled" without Redis or with Enabled=false, "down" while
// Redis is being skipped after a failure, and otherwise PINGs Redis (bounded
// by Timeout) and reports "ok" or "down".
func (c *Cache) Status(ctx context.Context) string {
	if c.rdb == nil {
		return StatusDisabled
	}
	if !c.redisUsable() {
		return StatusDown
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	err := c.rdb.Ping(rctx).Err()
	cancel()
	if err != nil {
		c.markDown(ctx, err)
		return StatusDown
	}
	c.markUp()
	return StatusOK
}

// ClearLocal empties the in-process LRU only (the admin "force refresh"
// action); Redis entries are left to their TTLs because FLUSH on a shared
// Redis is never acceptable.
func (c *Cache) ClearLocal() {
	if c.local != nil {
		c.local.Purge()
	}
}

// Close closes the Redis client and its connections. It is idempotent.
func (c *Cache) Close() error {
	c.closeOnce.Do(func() {
		if c.rdb != nil {
			c.closeErr = c.rdb.Close()
		}
	})
	return c.closeErr
}

func (c *Cache) getLocal(key string) ([]byte, bool) {
	e, ok := c.local.Get(key)
	if !ok {
		return nil, false
	}
	if !time.Now().Before(e.expiresAt) {
		c.local.Remove(key)
		return nil, false
	}
	// Shared, not copied: this is the hot path of every hit, and Get's callers
	// only read (see Get).
	return e.val, true
}

// redisUsable reports whether Redis is configured and not in back-off.
func (c *Cache) redisUsable() bool {
	return c.rdb != nil && time.Now().UnixNano() >= c.downUntil.Load()
}

// markDown starts a back-off period unless one is running already, and logs
// once per period. A failure caused by the caller's own context (client went
// away) says nothing about Redis and is ignored.
func (c *Cache) markDown(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	for {
		now := time.Now()
		cur := c.downUntil.Load()
		if now.UnixNano() < cur {
			return // another caller already started this back-off period
		}
		if c.downUntil.CompareAndSwap(cur, now.Add(c.backoff).UnixNano()) {
			c.down.Store(true)
			c.log.Warn("redis cache unavailable, using in-process cache",
				"err", err, "retry_in", c.backoff)
			return
		}
	}
}

// markUp notes a successful Redis call, logging recovery after an outage.
func (c *Cache) markUp() {
	if c.down.Load() && c.down.CompareAndSwap(true, false) {
		c.log.Info("redis cache available again")
	}
}
