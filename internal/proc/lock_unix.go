//go:build unix

package proc

import (
	"context"
	"os"
	"syscall"
)

// LockFile takes an exclusive flock on path, waiting for it until ctx is
// done, and returns the function that releases it.
//
// It serialises builds of a program across processes: go test ./... runs
// several test binaries at once, and two cold builds on the
// same cache compile every package twice side by side (Go's build cache does
// not deduplicate work in progress), doubling a multi-minute build.
func LockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	locked := make(chan error, 1)
	go func() { locked <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-locked:
		if err != nil {
			f.Close()
			return nil, err
		}
		return func() { f.Close() }, nil // closing the file releases the lock
	case <-ctx.Done():
		// The goroutine still holds a blocked Flock; release whatever it
		// gets once it returns.
		go func() {
			<-locked
			f.Close()
		}()
		return nil, ctx.Err()
	}
}
