// Package embedded is statusbridge's single-file store for single-instance
// installs: the durable keyed queue, event-id dedupe, leases, mappings and
// parked users of package bridge, kept in one bbolt file,
// STATUSBRIDGE_DATA_DIR/statusbridge.db, plus an in-process Graph rate limiter.
//
// # Sharing the file
//
// bbolt lets one process at a time open a file. So that admin commands
// (statusbridge mapping set …) work while serve runs, no process keeps the
// file open: every operation opens it, runs one transaction and closes it
// again. Each commit is fsynced before the operation returns.
//
//   - serve.lock: Open takes an exclusive flock on it for the Store's lifetime,
//     so a second serve on the same data dir fails within a second with a
//     clear message. Admin commands open the store with Shared and skip it.
//   - access.lock: a turnstile. A process takes it before waiting for the
//     bbolt file and lets it go once it holds the file, so a process that
//     waits is served before one that just let the file go; a busy serve
//     cannot starve an admin command.
//   - statusbridge.db: bbolt's own lock serialises the operations.
//
// Within one process, operations run one at a time.
//
// # Layout
//
// Bucket users holds one JSON record per Slack user: desired change and its
// revision, what was last applied, attempts, lease token, parked reason.
// Bucket due indexes the users with work waiting, keyed by big-endian due
// time (or lease deadline while leased) followed by the user id, so Claim
// reads only the users that are due. Bucket parked lists parked users;
// bucket mappings holds Slack → Entra mappings. Bucket owned holds, per Entra
// id, what the bridge may have written there; bucket owned_by indexes those
// records by Slack user. Buckets events and
// events_by_time remember Slack event ids for the dedupe window; each Submit
// prunes a bounded number of expired ones. Bucket seen holds, per Entra id,
// the Teams message a poll last saw there; bucket locks holds named locks
// with their holder and deadline.
//
// A namespace (Namespace) has buckets of its own with the same layout, named
// ns:<name>/users and so on, in the same file.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/statusbridge/statusbridge/bridge"
)

// FileName is the name of the data file inside the data dir.
const FileName = "statusbridge.db"

const (
	serveLockName  = "serve.lock"
	accessLockName = "access.lock"
	schemaVersion  = 1
	// lockPoll is how often a waiting process retries a lock file.
	lockPoll = 5 * time.Millisecond
)

// ErrInUse is matched (with errors.Is) by the error Open returns when another
// serve holds the data dir.
var ErrInUse = errors.New("data dir is in use by another statusbridge process")

// ErrBusy is matched (with errors.Is) by the error an operation returns when
// another process held the data file for longer than the lock timeout.
var ErrBusy = errors.New("data file is busy")

// ErrClosed is returned by operations on a closed Store.
var ErrClosed = errors.New("embedded store is closed")

// lockError is an error with a full message that matches one sentinel.
type lockError struct {
	msg  string
	kind error
}

func (e *lockError) Error() string        { return e.msg }
func (e *lockError) Is(target error) bool { return target == e.kind }

// Option configures Open.
type Option func(*options)

type options struct {
	shared       bool
	lockTimeout  time.Duration
	serveTimeout time.Duration
	dedupeTTL    time.Duration
	rate         int
	rateMax      int
	per          time.Duration
}

// Shared opens the store without taking the serve lock, for admin commands
// that run beside serve.
func Shared() Option { return func(o *options) { o.shared = true } }

// WithLockTimeout sets how long one operation waits for the data file while
// another process uses it (default 5 s).
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// WithRate sets the Graph rate limit of the store's Limiter: limit calls per
// period; limit <= 0 means no limit.
func WithRate(limit int, per time.Duration) Option {
	return func(o *options) { o.rate, o.per = limit, per }
}

// WithRateMax sets the ceiling the Limiter's adaptive rate may rise to, in
// calls per the period of WithRate (default: the WithRate limit, a fixed rate).
func WithRateMax(ceiling int) Option { return func(o *options) { o.rateMax = ceiling } }

// WithDedupeTTL sets how long a Slack event id is remembered (default 24 h).
func WithDedupeTTL(d time.Duration) Option { return func(o *options) { o.dedupeTTL = d } }

// Store is the embedded store. It is safe for concurrent use.
type Store struct {
	dir        string
	path       string
	accessPath string
	opts       options

	mu        sync.Mutex // serialises operations and Close
	closed    bool
	serveLock func() error // releases serve.lock; nil when Shared
	limiter   *Limiter

	// parent is the store a namespace shares its file, lock and limiters
	// with (nil for the top-level store); ns prefixes a namespace's
	// bucket names (nil for the top-level store).
	parent *Store
	ns     []byte
	// fixed holds the state of each FixedLimiter name (top-level store only).
	fixedMu sync.Mutex
	fixed   map[string]*fixedState
	// gc coalesces concurrent Submits (top-level store only).
	gcOnce sync.Once
	gc     *groupCommit
}

var (
	_ bridge.Queue          = (*Store)(nil)
	_ bridge.Admin          = (*Store)(nil)
	_ bridge.MappingStore   = (*Store)(nil)
	_ bridge.OwnershipStore = (*Store)(nil)
	_ bridge.ChoiceStore    = (*Store)(nil)
)

// Open opens (creating if needed) the store in dir, in the file dir/statusbridge.db.
func Open(dir string, opts ...Option) (*Store, error) {
	o := options{lockTimeout: 5 * time.Second, serveTimeout: time.Second, dedupeTTL: 24 * time.Hour}
	for _, opt := range opts {
		opt(&o)
	}
	if dir == "" {
		return nil, errors.New("no data dir given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	s := &Store{
		dir:        abs,
		path:       filepath.Join(abs, FileName),
		accessPath: filepath.Join(abs, accessLockName),
		opts:       o,
		limiter:    NewAdaptiveLimiter(o.rate, o.rateMax, o.per),
	}
	if !o.shared {
		p := filepath.Join(abs, serveLockName)
		release, err := waitLock(context.Background(), p, time.Now().Add(o.serveTimeout))
		if errors.Is(err, errWouldBlock) {
			return nil, &lockError{
				msg:  fmt.Sprintf("data dir %s is in use by another statusbridge process (lock on %s)", abs, p),
				kind: ErrInUse,
			}
		}
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		s.serveLock = release
	}
	if err := s.update(context.Background(), initBuckets); err != nil {
		s.Close()
		return nil, err
	}
	// Make the data file's directory entry durable too.
	if err := syncDir(abs); err != nil {
		s.Close()
		return nil, fmt.Errorf("sync data dir: %w", err)
	}
	return s, nil
}

// Kind reports "embedded".
func (s *Store) Kind() string { return "embedded" }

// Dir reports the absolute data dir.
func (s *Store) Dir() string { return s.dir }

// Close releases the serve lock; later operations fail with ErrClosed. A
// namespace's Close does nothing: it shares its parent's file and lock,
// which the parent's Close releases.
func (s *Store) Close() error {
	if s.parent != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.serveLock != nil {
		return s.serveLock()
	}
	return nil
}

// Ping checks that the data file can be opened and read.
func (s *Store) Ping(ctx context.Context) error {
	if s.parent != nil {
		return s.parent.Ping(ctx)
	}
	return s.view(ctx, func(tx txn) error {
		if tx.Bucket(bMeta) == nil {
			return errors.New("data file has no statusbridge data")
		}
		return nil
	})
}

// syncDir fsyncs a directory, so the files created in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && runtime.GOOS != "windows" {
		return err
	}
	return nil
}

// errNoChange makes update roll back a transaction that wrote nothing, which
// saves the fsync of an empty commit.
var errNoChange = errors.New("no change")

// withDB opens the data file for one operation and closes it afterwards.
func (s *Store) withDB(ctx context.Context, fn func(db *bolt.DB) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.parent != nil {
		return s.parent.withDB(ctx, fn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	start := time.Now()
	deadline := start.Add(s.opts.lockTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	busy := func() error {
		return &lockError{
			msg: fmt.Sprintf("data dir %s is busy: another statusbridge process held %s for more than %s",
				s.dir, s.path, time.Since(start).Round(time.Millisecond)),
			kind: ErrBusy,
		}
	}
	releaseTurn, err := waitLock(ctx, s.accessPath, deadline)
	if errors.Is(err, errWouldBlock) {
		return busy()
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", s.accessPath, err)
	}
	db, err := openDB(ctx, s.path, deadline)
	if rerr := releaseTurn(); rerr != nil && err == nil {
		db.Close()
		return fmt.Errorf("unlock %s: %w", s.accessPath, rerr)
	}
	if errors.Is(err, errWouldBlock) {
		return busy()
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	ferr := fn(db)
	if cerr := db.Close(); cerr != nil && ferr == nil {
		ferr = fmt.Errorf("close %s: %w", s.path, cerr)
	}
	return ferr
}

// update runs fn in a write transaction; fn returns errNoChange to roll back.
func (s *Store) update(ctx context.Context, fn func(tx txn) error) error {
	return s.withDB(ctx, func(db *bolt.DB) error {
		tx, err := db.Begin(true)
		if err != nil {
			return err
		}
		if err := fn(txn{Tx: tx, ns: s.ns}); err != nil {
			tx.Rollback()
			if errors.Is(err, errNoChange) {
				return nil
			}
			return err
		}
		return tx.Commit()
	})
}

// view runs fn in a read transaction.
func (s *Store) view(ctx context.Context, fn func(tx txn) error) error {
	return s.withDB(ctx, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error { return fn(txn{Tx: tx, ns: s.ns}) })
	})
}

// waitLock takes the exclusive lock on path, retrying until deadline or ctx ends.
func waitLock(ctx context.Context, path string, deadline time.Time) (func() error, error) {
	for {
		release, err := tryLock(path)
		if !errors.Is(err, errWouldBlock) {
			return release, err
		}
		if err := pause(ctx, deadline); err != nil {
			return nil, err
		}
	}
}

// openDB opens the bbolt file, retrying its lock every lockPoll (bbolt's own
// retry waits 50 ms) until deadline or ctx ends.
func openDB(ctx context.Context, path string, deadline time.Time) (*bolt.DB, error) {
	for {
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Nanosecond})
		if !errors.Is(err, bolterrors.ErrTimeout) {
			return db, err
		}
		if err := pause(ctx, deadline); err != nil {
			return nil, err
		}
	}
}

// pause waits lockPoll before the next try at a lock; it returns
// errWouldBlock when that would pass deadline.
func pause(ctx context.Context, deadline time.Time) error {
	if !time.Now().Add(lockPoll).Before(deadline) {
		return errWouldBlock
	}
	return bridge.Sleep(ctx, lockPoll)
}

// errWouldBlock is returned by tryLock when another holder has the lock.
var errWouldBlock = errors.New("lock held elsewhere")
