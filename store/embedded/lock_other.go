//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || android || ios)

package embedded

import (
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// tryLock tries once to take an exclusive lock on path and returns the
// function that releases it, or errWouldBlock. Where flock is missing, the
// lock file is a small bbolt file, whose open locks it on every platform
// bbolt supports.
func tryLock(path string) (func() error, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Nanosecond})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, errWouldBlock
	}
	if err != nil {
		return nil, err
	}
	return db.Close, nil
}
