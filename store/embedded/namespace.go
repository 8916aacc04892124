package embedded

import (
	"context"
	"fmt"
	"regexp"

	bolt "go.etcd.io/bbolt"
)

// namespaceName is what a namespace may be called.
var namespaceName = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// txn is a bbolt transaction seen through a store's namespace: Bucket and
// CreateBucket take the bucket names of the top-level layout and reach the
// namespace's own buckets.
type txn struct {
	*bolt.Tx
	// ns prefixes every bucket name; nil for the top-level store.
	ns []byte
}

func (t txn) name(b []byte) []byte {
	if len(t.ns) == 0 {
		return b
	}
	return append(append(make([]byte, 0, len(t.ns)+len(b)), t.ns...), b...)
}

// Bucket returns the namespace's bucket of that name, nil if it does not exist.
func (t txn) Bucket(name []byte) *bolt.Bucket { return t.Tx.Bucket(t.name(name)) }

// CreateBucket creates the namespace's bucket of that name.
func (t txn) CreateBucket(name []byte) (*bolt.Bucket, error) { return t.Tx.CreateBucket(t.name(name)) }

// Namespace returns a second, separate set of records in the same data
// file: its queue, parked users, mappings, owned records, choices, seen
// records and locks live in buckets of its own (named ns:<name>/…, created
// here when missing), apart from s's and from every other namespace's. It
// shares s's file, locks and limiters: its Close does nothing (close s
// instead), Ping checks s, Limiter returns s's Graph limiter and
// FixedLimiter shares s's rates. name is 1 to 32 lower-case letters,
// digits or '-'.
func (s *Store) Namespace(name string) (*Store, error) {
	if !namespaceName.MatchString(name) {
		return nil, fmt.Errorf("store namespace %q: want 1 to 32 lower-case letters, digits or '-'", name)
	}
	root := s
	if s.parent != nil {
		root = s.parent
	}
	ns := &Store{
		dir:        s.dir,
		path:       s.path,
		accessPath: s.accessPath,
		opts:       s.opts,
		limiter:    root.limiter,
		parent:     root,
		ns:         append(append([]byte{}, s.ns...), "ns:"+name+"/"...),
	}
	if err := ns.update(context.Background(), initBuckets); err != nil {
		return nil, fmt.Errorf("store namespace %s: %w", name, err)
	}
	return ns, nil
}
