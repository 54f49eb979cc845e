//go:build !unix

package proc

import "context"

// LockFile is a no-op without flock: concurrent builds are still correct,
// only slower.
func LockFile(context.Context, string) (func(), error) { return func() {}, nil }
