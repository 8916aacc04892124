//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || android || ios

package embedded

import (
	"errors"
	"os"
	"syscall"
)

// tryLock tries once to take an exclusive flock on path (created if needed)
// and returns the function that releases it, or errWouldBlock.
func tryLock(path string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errWouldBlock
		}
		return nil, err
	}
	// Closing the file releases the lock.
	return f.Close, nil
}
