package redisstore

import (
	"fmt"
	"regexp"
)

// namespaceName is what a namespace may be called.
var namespaceName = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// Namespace returns a second, separate set of records over the same Redis
// connection: its queue, parked users, mappings, owned records, choices,
// seen records and locks are apart from s's and from every other
// namespace's. Its keys share s's hash tag, so every script still runs on
// one Cluster slot. It shares s's connection: its Close does nothing (close
// s instead), Ping checks s's connection, and Limiter and FixedLimiter hand
// out s's shared rates. name is 1 to 32 lower-case letters, digits or '-'.
func (s *Store) Namespace(name string) (*Store, error) {
	if !namespaceName.MatchString(name) {
		return nil, fmt.Errorf("store namespace %q: want 1 to 32 lower-case letters, digits or '-'", name)
	}
	root := s
	if s.parent != nil {
		root = s.parent
	}
	return &Store{
		rdb:       s.rdb,
		prefix:    s.prefix,
		eventTTL:  s.eventTTL,
		lazy:      s.lazy,
		callerClk: s.callerClk,
		now:       s.now,
		limit:     s.limit,
		ns:        s.ns + "ns:" + name + ":",
		parent:    root,
	}, nil
}
