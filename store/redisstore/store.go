// Package redisstore is statusbridge's Redis store: the durable keyed queue,
// parked users, identity mappings and the shared Graph rate limiter, for any
// number of replicas sharing one Redis (standalone, Sentinel or Cluster).
//
// REDIS_URL takes one of these forms:
//
//	redis://[user:password@]host:6379[/db][?options]      standalone
//	rediss://…                                            standalone over TLS
//	unix://[user:password@]/path/redis.sock[?db=N]        standalone over a socket
//	redis+sentinel://[user:password@]h1:26379,h2:26379/mymaster[/db][?options]
//	redis+cluster://[user:password@]h1:6379,h2:6379[?options]
//
// rediss+sentinel:// and rediss+cluster:// use TLS. For Sentinel the user
// info authenticates to the master; sentinel_username and sentinel_password
// query options authenticate to the sentinels. The other options are
// go-redis's (dial_timeout, read_timeout, write_timeout, max_retries, …); by
// default every timeout is 1 s so that callers fail fast while Redis is down.
//
// Every key starts with the hash tag {prefix} (default {statusbridge}), so
// each atomic step is one Lua script on one Cluster slot:
//
//	{p}:u:<user>      hash: desired change, revision, applied state, attempts, lease, park reason, choice, held message
//	{p}:due           sorted set: due time, or lease deadline while leased (Unix ms)
//	{p}:parked        sorted set: parked users by the time they were parked
//	{p}:mappings      hash: Slack user id → mapping (JSON)
//	{p}:owned         hash: Entra id → what the bridge may have written there (JSON)
//	{p}:ob:<user>     set: the Entra ids of the owned records of one Slack user
//	{p}:evs:<n>       hash: the event ids seen in the n-th period of the event TTL (24 h), unlinked two periods on
//	{p}:seen          hash: Entra id → the Teams message a poll last saw there (JSON)
//	{p}:ahead:<entra id> string: a presence read ahead, shared by the replicas for 30 s, or a mark that one is being made (PX)
//	{p}:lock:<name>   string: the holder of a named lock, expiring at its deadline (PX)
//	{p}:graph:limit   hash: the shared adaptive Graph rate and any Retry-After (see adaptive.go)
//	{p}:limit:<name>  hash: a fixed shared rate (FixedLimiter) and any Retry-After
//
// A namespace (Namespace) keeps its own set of these records under
// {p}:ns:<name>:…, in the same hash tag; the rate limits are the parent's.
//
// Run Redis with maxmemory-policy noeviction and appendonly yes: an evicted
// or lost queue key is a lost status update. CheckConfig warns otherwise.
package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/statusbridge/statusbridge/bridge"
)

var (
	_ bridge.OwnedCompleter = (*Store)(nil)
	_ bridge.OwnedReader    = (*Store)(nil)
	_ bridge.Queue          = (*Store)(nil)
	_ bridge.Admin          = (*Store)(nil)
	_ bridge.MappingStore   = (*Store)(nil)
	_ bridge.OwnershipStore = (*Store)(nil)
	_ bridge.ChoiceStore    = (*Store)(nil)
)

// The Redis store shares presence reads ahead between replicas.
var _ bridge.SharedAhead = (*Store)(nil)

// DefaultPrefix is the key prefix (and hash tag) used unless WithPrefix says otherwise.
const DefaultPrefix = "statusbridge"

// DefaultEventTTL is how long a Slack event id is remembered for deduplication
// at least (see WithEventTTL);
// Slack's last retry comes about 5 minutes after the first delivery.
const DefaultEventTTL = 24 * time.Hour

// Store keeps statusbridge's state in Redis.
type Store struct {
	rdb       redis.UniversalClient
	prefix    string
	eventTTL  time.Duration
	lazy      bool
	callerClk bool
	// now is this process's clock, which Retry's absolute times are read against.
	now       func() time.Time
	limit     LimiterConfig
	closeOnce sync.Once
	closeErr  error
	// ns is the key segment of a namespace ("ns:<name>:"), "" for the
	// top-level store; parent is the store a namespace shares its
	// connection with (nil for the top-level store).
	ns     string
	parent *Store
	// gc coalesces concurrent Submits (top-level store only; namespaces use
	// their parent's).
	gcOnce sync.Once
	gc     *groupCommit
}

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the key prefix, which is also the hash tag of every key;
// two deployments (or tests) with different prefixes share a Redis safely.
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// Lazy skips the check that Redis answers at Open, for a server that should
// start (and answer 503) while Redis is still down; the URL is still checked.
func Lazy() Option { return func(s *Store) { s.lazy = true } }

// CallerClock makes due times and lease deadlines follow the now values that
// callers pass instead of Redis's own clock. It is for tests that drive the
// clock; replicas must not use it, since their clocks may differ.
func CallerClock() Option { return func(s *Store) { s.callerClk = true } }

// WithLimit sets the shared Graph rate limit that Limiter hands out.
func WithLimit(cfg LimiterConfig) Option { return func(s *Store) { s.limit = cfg } }

// WithEventTTL sets how long event ids are remembered at least (default
// 24 h); one is kept until the end of the period after its own, so at most
// twice as long.
func WithEventTTL(d time.Duration) Option { return func(s *Store) { s.eventTTL = d } }

// quiet drops go-redis's own log lines: they bypass the bridge's structured
// log, and the store reports every failure through its errors instead.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quiet{}) }

// Open connects to the Redis named by redisURL and checks that it answers.
func Open(ctx context.Context, redisURL string, opts ...Option) (*Store, error) {
	s := &Store{prefix: DefaultPrefix, eventTTL: DefaultEventTTL, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.prefix == "" || strings.ContainsAny(s.prefix, "{}") {
		return nil, fmt.Errorf("redis key prefix %q: must be non-empty and without braces", s.prefix)
	}
	if s.eventTTL <= 0 {
		return nil, errors.New("redis event TTL must be positive")
	}
	rdb, err := newClient(redisURL)
	if err != nil {
		return nil, err
	}
	s.rdb = rdb
	if s.lazy {
		return s, nil
	}
	if err := s.Ping(ctx); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("connect to Redis at %s: %w", redact(redisURL), err)
	}
	return s, nil
}

// Client returns the underlying go-redis client.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Ping checks that Redis answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	return s.rdb.Ping(ctx).Err()
}

// Close closes the connections to Redis; later calls fail, and a second
// Close does nothing. A namespace's Close does nothing: it shares its
// parent's connections, which the parent's Close closes.
func (s *Store) Close() error {
	if s.parent != nil {
		return nil
	}
	s.closeOnce.Do(func() { s.closeErr = s.rdb.Close() })
	return s.closeErr
}

// Kind reports "redis".
func (s *Store) Kind() string { return "redis" }

// Limiter returns a client of the Graph rate budget set by WithLimit, shared
// through Redis by every limiter of every replica.
func (s *Store) Limiter() bridge.Limiter { return s.NewLimiter(s.limit) }

// key is the key of parts in the store's namespace.
func (s *Store) key(parts ...string) string {
	return "{" + s.prefix + "}:" + s.ns + strings.Join(parts, ":")
}

// sharedKey is the key of parts outside any namespace, for the rate limits
// that a store and its namespaces share.
func (s *Store) sharedKey(parts ...string) string {
	return "{" + s.prefix + "}:" + strings.Join(parts, ":")
}

func (s *Store) userKey(user string) string { return s.key("u", user) }
func (s *Store) userPrefix() string         { return s.key("u") + ":" }
func (s *Store) dueKey() string             { return s.key("due") }
func (s *Store) parkedKey() string          { return s.key("parked") }
func (s *Store) mappingsKey() string        { return s.key("mappings") }
func (s *Store) ownedKey() string           { return s.key("owned") }
func (s *Store) ownedByPrefix() string      { return s.key("ob") + ":" }
func (s *Store) limitKey() string           { return s.sharedKey("graph", "limit") }

// timeKey encodes t as 20 decimal digits that sort as t does.
func timeKey(t time.Time) string {
	var b [20]byte // 2^64 has 20 digits
	n := uint64(t.UnixNano()) ^ (1 << 63)
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[:])
}

// fingerprint identifies what a change asks of Teams: changes with equal
// fingerprints render the same and stop mirroring alike. A deactivation
// counts, and so does a Teams observation; other changes keep the fingerprint of their status alone, as
// stored before deactivations counted. status is json.Marshal(c.Status),
// which it may append to.
func fingerprint(status []byte, c bridge.Change) string {
	b := status
	if c.Deactivated {
		b = append(b, "\x00deactivated"...)
	}
	if c.Observation != "" {
		b = append(b, "\x00observation:"+c.Observation...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// clock is the clock argument of a script: empty for Redis's TIME, or now in
// Unix ms under CallerClock.
func (s *Store) clock(now time.Time) string {
	if !s.callerClk {
		return ""
	}
	return strconv.FormatInt(ms(now), 10)
}

// dueAt turns an absolute time into a script's clock argument and a delay in
// ms: under Redis's clock, at is taken relative to this process's clock
// (floored at now), so a skewed clock shifts nothing.
func (s *Store) dueAt(at time.Time) (clock string, delayMs int64) {
	if s.callerClk {
		return strconv.FormatInt(msCeil(at), 10), 0
	}
	d := at.Sub(s.now())
	if d <= 0 {
		return "", 0
	}
	return "", msCeilDur(d)
}

// msCeilDur is d in milliseconds, rounded up.
func msCeilDur(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// ms is t in Unix milliseconds, rounded down (for "due now").
func ms(t time.Time) int64 { return t.UnixMilli() }

// msCeil is t in Unix milliseconds, rounded up (for "not before t").
func msCeil(t time.Time) int64 {
	m := t.UnixMilli()
	if time.UnixMilli(m).Before(t) {
		m++
	}
	return m
}

// Submit stores a change in one atomic step; see bridge.Queue. Concurrent
// Submits share round trips to Redis (see groupCommit); each returns only
// after Redis answered for its own change.
func (s *Store) Submit(ctx context.Context, c bridge.Change, now time.Time) (bridge.SubmitOutcome, error) {
	call, err := s.submitCall(ctx, c, now)
	if err != nil {
		return 0, err
	}
	return submitOutcome(s.groupCommit().do(call))
}

// submitCall is c's step of the submit script, waiting for its group.
func (s *Store) submitCall(ctx context.Context, c bridge.Change, now time.Time) (*submitCall, error) {
	desired, status, ok := encodeChange(c)
	if !ok {
		var err error
		if status, err = json.Marshal(c.Status); err != nil {
			return nil, err
		}
		if desired, err = json.Marshal(c); err != nil {
			return nil, err
		}
	}
	return &submitCall{
		ctx: ctx,
		due: s.dueKey(),
		args: []any{s.clock(now), s.key(""), c.EventID, s.eventTTL.Milliseconds(), timeKey(c.EventTime),
			fingerprint(status, c), desired, c.UserID},
		done: make(chan struct{}),
	}, nil
}

// Claim leases up to max due users until now+lease, those due longest first.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]bridge.Job, error) {
	if max <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("lease must be positive, got %s", lease)
	}
	base, err := newToken()
	if err != nil {
		return nil, err
	}
	res, err := claimScript.Run(ctx, s.rdb, []string{s.dueKey(), s.mappingsKey()},
		s.clock(now), msCeilDur(lease), max, base, s.userPrefix(),
	).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis claim: %w", err)
	}
	jobs := make([]bridge.Job, 0, len(res))
	for _, r := range res {
		f, ok := r.([]any)
		if !ok || len(f) != 10 {
			return nil, fmt.Errorf("redis claim: unexpected reply %T", r)
		}
		str := func(i int) string { v, _ := f[i].(string); return v }
		j := bridge.Job{UserID: str(0), Token: str(1), LastError: str(6), Choice: bridge.MirrorChoice(str(7)), Held: str(8)}
		if err := json.Unmarshal([]byte(str(2)), &j.Desired); err != nil {
			return nil, fmt.Errorf("redis claim %s: desired state: %w", j.UserID, err)
		}
		if j.Rev, err = strconv.ParseInt(str(3), 10, 64); err != nil {
			return nil, fmt.Errorf("redis claim %s: rev: %w", j.UserID, err)
		}
		if a := str(4); a != "" {
			j.Applied = new(bridge.Applied)
			if err := json.Unmarshal([]byte(a), j.Applied); err != nil {
				return nil, fmt.Errorf("redis claim %s: applied state: %w", j.UserID, err)
			}
		}
		if j.Attempts, err = strconv.Atoi(str(5)); err != nil {
			return nil, fmt.Errorf("redis claim %s: attempts: %w", j.UserID, err)
		}
		j.Mapping = &bridge.MappingRead{From: s}
		if m := str(9); m != "" {
			j.Mapping.Found = true
			if json.Unmarshal([]byte(m), &j.Mapping.Mapping) != nil {
				j.Mapping = nil // resolving reads it again, and fails this user alone
			}
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

func newToken() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// leaseResult turns a lease script's reply into bridge.ErrLeaseLost or nil.
func leaseResult(op string, n int64, err error) error {
	if err != nil {
		return fmt.Errorf("redis %s: %w", op, err)
	}
	if n == 0 {
		return bridge.ErrLeaseLost
	}
	return nil
}

// Complete records what was applied and ends the lease; see bridge.Queue.
func (s *Store) Complete(ctx context.Context, j bridge.Job, applied *bridge.Applied, now time.Time) error {
	args, err := s.completeArgs(j, applied, now)
	if err != nil {
		return err
	}
	n, err := completeScript.Run(ctx, s.rdb, []string{s.userKey(j.UserID), s.dueKey()}, args...).Int64()
	return leaseResult("complete", n, err)
}

func (s *Store) completeArgs(j bridge.Job, applied *bridge.Applied, now time.Time) ([]any, error) {
	has, body := "0", []byte{}
	if applied != nil {
		var err error
		if body, err = json.Marshal(applied); err != nil {
			return nil, err
		}
		has = "1"
	}
	return []any{j.Token, j.Rev, j.UserID, s.clock(now), has, body}, nil
}

// CompleteOwned is PutOwned(o) and then Complete(j, applied, now) in one
// atomic step and one round trip (bridge.OwnedCompleter). The record is
// stored even when the lease was lost, as PutOwned would have.
func (s *Store) CompleteOwned(ctx context.Context, o bridge.Owned, j bridge.Job, applied *bridge.Applied, now time.Time) error {
	owned, err := s.putOwnedArgs(o)
	if err != nil {
		return err
	}
	args, err := s.completeArgs(j, applied, now)
	if err != nil {
		return err
	}
	n, err := completeOwnedScript.Run(ctx, s.rdb, []string{s.userKey(j.UserID), s.dueKey(), s.ownedKey()},
		append(args, owned...)...).Int64()
	return leaseResult("complete", n, err)
}

// Retry ends the lease and makes the user due at at; see bridge.Queue.
func (s *Store) Retry(ctx context.Context, j bridge.Job, at time.Time, attempts int, lastErr string) error {
	clock, delay := s.dueAt(at)
	n, err := retryScript.Run(ctx, s.rdb, []string{s.userKey(j.UserID), s.dueKey()},
		j.Token, j.Rev, j.UserID, clock, delay, attempts, lastErr).Int64()
	return leaseResult("retry", n, err)
}

// Park ends the lease and sets the user aside with reason; see bridge.Queue.
func (s *Store) Park(ctx context.Context, j bridge.Job, reason string, now time.Time) error {
	n, err := parkScript.Run(ctx, s.rdb, []string{s.userKey(j.UserID), s.dueKey(), s.parkedKey()},
		j.Token, j.Rev, j.UserID, s.clock(now), reason, ms(now)).Int64()
	return leaseResult("park", n, err)
}

// Release gives the lease back without recording anything; the user is due at now.
func (s *Store) Release(ctx context.Context, j bridge.Job, now time.Time) error {
	n, err := releaseScript.Run(ctx, s.rdb, []string{s.userKey(j.UserID), s.dueKey()},
		j.Token, j.Rev, j.UserID, s.clock(now)).Int64()
	return leaseResult("release", n, err)
}

// Hold ends the lease, remembers content as the user's held message and
// makes the user due at recheck; see bridge.Queue.
func (s *Store) Hold(ctx context.Context, j bridge.Job, content string, recheck time.Time) error {
	clock, delay := s.dueAt(recheck)
	n, err := holdScript.Run(ctx, s.rdb, []string{s.userKey(j.UserID), s.dueKey()},
		j.Token, j.Rev, j.UserID, clock, delay, content).Int64()
	return leaseResult("hold", n, err)
}

// ListParked lists parked users, longest parked first.
func (s *Store) ListParked(ctx context.Context) ([]bridge.Parked, error) {
	res, err := listParkedScript.Run(ctx, s.rdb, []string{s.parkedKey()}, s.userPrefix()).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis list parked: %w", err)
	}
	out := make([]bridge.Parked, 0, len(res))
	for _, r := range res {
		f, ok := r.([]any)
		if !ok || len(f) != 3 {
			return nil, fmt.Errorf("redis list parked: unexpected reply %T", r)
		}
		user, _ := f[0].(string)
		since, _ := f[1].(string)
		reason, _ := f[2].(string)
		sinceMs, err := strconv.ParseFloat(since, 64)
		if err != nil {
			return nil, fmt.Errorf("redis list parked: since %q: %w", since, err)
		}
		out = append(out, bridge.Parked{UserID: user, Reason: reason, Since: time.UnixMilli(int64(sinceMs)).UTC()})
	}
	return out, nil
}

// Unpark makes a parked user due at now; it reports false when the user was not parked.
func (s *Store) Unpark(ctx context.Context, userID string, now time.Time) (bool, error) {
	n, err := unparkScript.Run(ctx, s.rdb, []string{s.userKey(userID), s.dueKey(), s.parkedKey()},
		userID, s.clock(now)).Int64()
	if err != nil {
		return false, fmt.Errorf("redis unpark: %w", err)
	}
	return n == 1, nil
}

// Stats reports the number of queued users (due, scheduled or leased), the
// earliest due time among them, and the number of parked users.
func (s *Store) Stats(ctx context.Context, now time.Time) (bridge.QueueStats, error) {
	pipe := s.rdb.TxPipeline()
	due := pipe.ZCard(ctx, s.dueKey())
	oldest := pipe.ZRangeWithScores(ctx, s.dueKey(), 0, 0)
	parked := pipe.ZCard(ctx, s.parkedKey())
	if _, err := pipe.Exec(ctx); err != nil {
		return bridge.QueueStats{}, fmt.Errorf("redis stats: %w", err)
	}
	st := bridge.QueueStats{Due: due.Val(), Parked: parked.Val()}
	if z := oldest.Val(); len(z) == 1 {
		st.OldestDue = time.UnixMilli(int64(z[0].Score)).UTC()
	}
	return st, nil
}

// GetMapping returns the mapping of a Slack user, if any.
func (s *Store) GetMapping(ctx context.Context, slackUserID string) (bridge.Mapping, bool, error) {
	v, err := s.rdb.HGet(ctx, s.mappingsKey(), slackUserID).Result()
	if errors.Is(err, redis.Nil) {
		return bridge.Mapping{}, false, nil
	}
	if err != nil {
		return bridge.Mapping{}, false, fmt.Errorf("redis get mapping: %w", err)
	}
	var m bridge.Mapping
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return bridge.Mapping{}, false, fmt.Errorf("redis get mapping %s: %w", slackUserID, err)
	}
	return m, true, nil
}

// SetMapping stores a mapping and un-parks its user.
func (s *Store) SetMapping(ctx context.Context, m bridge.Mapping, now time.Time) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	u := m.SlackUserID
	err = setMappingScript.Run(ctx, s.rdb, []string{s.userKey(u), s.dueKey(), s.parkedKey(), s.mappingsKey()},
		u, s.clock(now), b, m.EntraID, string(m.Source)).Err()
	if err != nil {
		return fmt.Errorf("redis set mapping: %w", err)
	}
	return nil
}

// DeleteMapping removes a mapping and un-parks its user; a user with a stored
// change whose mapping named an Entra id is due, so workers can clear that
// account. It reports whether there was a mapping.
func (s *Store) DeleteMapping(ctx context.Context, slackUserID string, now time.Time) (bool, error) {
	u := slackUserID
	n, err := deleteMappingScript.Run(ctx, s.rdb, []string{s.userKey(u), s.dueKey(), s.parkedKey(), s.mappingsKey()},
		u, s.clock(now)).Int64()
	if err != nil {
		return false, fmt.Errorf("redis delete mapping: %w", err)
	}
	return n == 1, nil
}

// ListMappings lists every mapping, in no particular order.
func (s *Store) ListMappings(ctx context.Context) ([]bridge.Mapping, error) {
	var out []bridge.Mapping
	seen := map[string]bool{} // HSCAN may return an entry twice
	var cursor uint64
	for {
		kv, next, err := s.rdb.HScan(ctx, s.mappingsKey(), cursor, "", 500).Result()
		if err != nil {
			return nil, fmt.Errorf("redis list mappings: %w", err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if seen[kv[i]] {
				continue
			}
			seen[kv[i]] = true
			var m bridge.Mapping
			if err := json.Unmarshal([]byte(kv[i+1]), &m); err != nil {
				return nil, fmt.Errorf("redis list mappings %s: %w", kv[i], err)
			}
			out = append(out, m)
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	return out, nil
}

// User returns everything stored about one Slack user, in one round trip.
func (s *Store) User(ctx context.Context, slackUserID string) (bridge.UserRecord, bool, error) {
	pipe := s.rdb.TxPipeline()
	h := pipe.HGetAll(ctx, s.userKey(slackUserID))
	due := pipe.ZScore(ctx, s.dueKey(), slackUserID)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return bridge.UserRecord{}, false, fmt.Errorf("redis user: %w", err)
	}
	f := h.Val()
	if len(f) == 0 {
		return bridge.UserRecord{}, false, nil
	}
	r := bridge.UserRecord{
		UserID:       slackUserID,
		Choice:       bridge.MirrorChoice(f["c"]),
		Held:         f["h"],
		ParkedReason: f["pr"],
		LastError:    f["e"],
	}
	if d := f["d"]; d != "" {
		r.Desired = new(bridge.Change)
		if err := json.Unmarshal([]byte(d), r.Desired); err != nil {
			return bridge.UserRecord{}, false, fmt.Errorf("redis user %s: desired state: %w", slackUserID, err)
		}
	}
	if a := f["a"]; a != "" {
		r.Applied = new(bridge.Applied)
		if err := json.Unmarshal([]byte(a), r.Applied); err != nil {
			return bridge.UserRecord{}, false, fmt.Errorf("redis user %s: applied state: %w", slackUserID, err)
		}
	}
	if n := f["n"]; n != "" {
		var err error
		if r.Attempts, err = strconv.Atoi(n); err != nil {
			return bridge.UserRecord{}, false, fmt.Errorf("redis user %s: attempts: %w", slackUserID, err)
		}
	}
	if due.Err() == nil {
		r.Due = time.UnixMilli(int64(due.Val())).UTC()
	}
	return r, true, nil
}

// SetChoice records an employee's choice and makes a user with a stored
// change due now (unless leased or parked); see bridge.ChoiceStore.
func (s *Store) SetChoice(ctx context.Context, slackUserID string, c bridge.MirrorChoice, now time.Time) error {
	u := slackUserID
	err := setChoiceScript.Run(ctx, s.rdb, []string{s.userKey(u), s.dueKey(), s.parkedKey()},
		u, s.clock(now), string(c)).Err()
	if err != nil {
		return fmt.Errorf("redis set choice: %w", err)
	}
	return nil
}

// Choice returns an employee's choice; bridge.ChoiceDefault when none was made.
func (s *Store) Choice(ctx context.Context, slackUserID string) (bridge.MirrorChoice, error) {
	v, err := s.rdb.HGet(ctx, s.userKey(slackUserID), "c").Result()
	if errors.Is(err, redis.Nil) {
		return bridge.ChoiceDefault, nil
	}
	if err != nil {
		return "", fmt.Errorf("redis choice: %w", err)
	}
	return bridge.MirrorChoice(v), nil
}

// PutOwned stores o under o.EntraID and indexes it under o.SlackUserID.
func (s *Store) PutOwned(ctx context.Context, o bridge.Owned) error {
	args, err := s.putOwnedArgs(o)
	if err != nil {
		return err
	}
	if err := putOwnedScript.Run(ctx, s.rdb, []string{s.ownedKey()}, args...).Err(); err != nil {
		return fmt.Errorf("redis put owned: %w", err)
	}
	return nil
}

func (s *Store) putOwnedArgs(o bridge.Owned) ([]any, error) {
	if o.EntraID == "" {
		return nil, errors.New("owned record has no Entra id")
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	return []any{o.EntraID, b, o.SlackUserID, s.ownedByPrefix(), s.aheadKey(o.EntraID)}, nil
}

// GetOwned returns the owned record of an Entra account.
func (s *Store) GetOwned(ctx context.Context, entraID string) (bridge.Owned, bool, error) {
	v, err := s.rdb.HGet(ctx, s.ownedKey(), entraID).Result()
	if errors.Is(err, redis.Nil) {
		return bridge.Owned{}, false, nil
	}
	if err != nil {
		return bridge.Owned{}, false, fmt.Errorf("redis get owned: %w", err)
	}
	var o bridge.Owned
	if err := json.Unmarshal([]byte(v), &o); err != nil {
		return bridge.Owned{}, false, fmt.Errorf("redis get owned %s: %w", entraID, err)
	}
	return o, true, nil
}

// OwnedBy lists the owned records of one Slack user, in one round trip:
// OwnedFor with no account (no record has an empty Entra id).
func (s *Store) OwnedBy(ctx context.Context, slackUserID string) ([]bridge.Owned, error) {
	records, _, err := s.OwnedFor(ctx, slackUserID, "")
	return records, err
}

// OwnedFor is OwnedBy(slackUserID) and GetOwned(entraID) in one round
// trip (bridge.OwnedReader); own is the zero record when there is none.
func (s *Store) OwnedFor(ctx context.Context, slackUserID, entraID string) (records []bridge.Owned, own bridge.Owned, err error) {
	records, own, _, err = s.ownedFor(ctx, slackUserID, entraID, false)
	return records, own, err
}

// OwnedForAhead is OwnedFor with the account's shared presence read ahead
// (bridge.SharedAhead); nil when there is none or it is still being made.
func (s *Store) OwnedForAhead(ctx context.Context, slackUserID, entraID string) ([]bridge.Owned, bridge.Owned, *bridge.AheadRead, error) {
	return s.ownedFor(ctx, slackUserID, entraID, true)
}

func (s *Store) ownedFor(ctx context.Context, slackUserID, entraID string, withAhead bool) (records []bridge.Owned, own bridge.Owned, ahead *bridge.AheadRead, err error) {
	aheadKey := ""
	if withAhead && entraID != "" {
		aheadKey = s.aheadKey(entraID)
	}
	res, err := ownedForScript.Run(ctx, s.rdb, []string{s.ownedKey(), s.ownedByPrefix() + slackUserID}, entraID, aheadKey).Slice()
	if err != nil {
		return nil, bridge.Owned{}, nil, fmt.Errorf("redis owned for: %w", err)
	}
	if len(res) < 2 {
		return nil, bridge.Owned{}, nil, fmt.Errorf("redis owned for %s: short answer", slackUserID)
	}
	decode := func(v any) (bridge.Owned, error) {
		var o bridge.Owned
		str, ok := v.(string)
		if !ok {
			return o, fmt.Errorf("redis owned for %s: unexpected %T", slackUserID, v)
		}
		if err := json.Unmarshal([]byte(str), &o); err != nil {
			return o, fmt.Errorf("redis owned for %s: %w", slackUserID, err)
		}
		return o, nil
	}
	if res[0] != nil {
		if own, err = decode(res[0]); err != nil {
			return nil, bridge.Owned{}, nil, err
		}
	}
	if v, ok := res[1].(string); ok {
		// A value that does not decode (or a mark of a read still being
		// made) is no read: the worker reads Teams itself.
		ahead, _ = decodeAhead(v)
	}
	records = make([]bridge.Owned, 0, len(res)-2)
	for _, v := range res[2:] {
		o, err := decode(v)
		if err != nil {
			return nil, bridge.Owned{}, nil, err
		}
		records = append(records, o)
	}
	return records, own, ahead, nil
}

// aheadKey is the key of an account's shared presence read ahead.
func (s *Store) aheadKey(entraID string) string { return s.key("ahead", entraID) }

// encodeAhead is a shared presence read ahead: "R", the time of the read
// in Unix milliseconds, "|", 1 or 0 for whether Graph returned the
// account, "|", and what Teams showed. A read being made is marked "P".
func encodeAhead(a bridge.AheadRead) string {
	known := "0"
	if a.Known {
		known = "1"
	}
	return "R" + strconv.FormatInt(a.At.UnixMilli(), 10) + "|" + known + "|" + a.Content
}

func decodeAhead(v string) (*bridge.AheadRead, bool) {
	rest, ok := strings.CutPrefix(v, "R")
	if !ok {
		return nil, false
	}
	at, rest, ok := strings.Cut(rest, "|")
	if !ok {
		return nil, false
	}
	ms, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return nil, false
	}
	known, content, ok := strings.Cut(rest, "|")
	if !ok || (known != "0" && known != "1") {
		return nil, false
	}
	return &bridge.AheadRead{Content: content, Known: known == "1", At: time.UnixMilli(ms)}, true
}

// UpcomingUnread is UpcomingAccounts without the accounts another replica
// read ahead or is reading; those it returns are marked as being read for
// hold (bridge.SharedAhead). One round trip.
func (s *Store) UpcomingUnread(ctx context.Context, now time.Time, n int, hold time.Duration) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	// Past the accounts the other replicas are reading: a few reads' worth.
	scan := 4 * n
	ids, err := upcomingScript.Run(ctx, s.rdb, []string{s.dueKey(), s.mappingsKey()},
		s.clock(now), n, scan, s.aheadKey(""), max(hold.Milliseconds(), 1)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis upcoming unread: %w", err)
	}
	return ids, nil
}

// DropMarks removes the marks of reads of ids that were not made
// (bridge.SharedAhead); a shared read stays. One round trip.
func (s *Store) DropMarks(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, 1+len(ids))
	args = append(args, s.aheadKey(""))
	for _, id := range ids {
		args = append(args, id)
	}
	if err := dropMarksScript.Run(ctx, s.rdb, []string{s.dueKey()}, args...).Err(); err != nil {
		return fmt.Errorf("redis drop marks: %w", err)
	}
	return nil
}

// KeepAhead shares what Teams showed for ids, read at at, for ttl
// (bridge.SharedAhead). One round trip.
func (s *Store) KeepAhead(ctx context.Context, ids []string, shown map[string]string, at time.Time, ttl time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, 2+2*len(ids))
	args = append(args, s.aheadKey(""), max(ttl.Milliseconds(), 1))
	for _, id := range ids {
		content, known := shown[id]
		args = append(args, id, encodeAhead(bridge.AheadRead{Content: content, Known: known, At: at}))
	}
	// The due key only routes the script to the node of every key (Cluster).
	if err := keepAheadScript.Run(ctx, s.rdb, []string{s.dueKey()}, args...).Err(); err != nil {
		return fmt.Errorf("redis keep ahead: %w", err)
	}
	return nil
}

// DeleteOwned forgets the owned record of an Entra account.
func (s *Store) DeleteOwned(ctx context.Context, entraID string) error {
	if err := deleteOwnedScript.Run(ctx, s.rdb, []string{s.ownedKey()}, entraID, s.ownedByPrefix(), s.aheadKey(entraID)).Err(); err != nil {
		return fmt.Errorf("redis delete owned: %w", err)
	}
	return nil
}

// UpcomingAccounts returns the Entra ids mapped to up to max users that are
// due now and not leased, soonest first, in one round trip.
func (s *Store) UpcomingAccounts(ctx context.Context, now time.Time, max int) ([]string, error) {
	if max <= 0 {
		return nil, nil
	}
	ids, err := upcomingScript.Run(ctx, s.rdb, []string{s.dueKey(), s.mappingsKey()}, s.clock(now), max, max, "", 0).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis upcoming: %w", err)
	}
	return ids, nil
}
