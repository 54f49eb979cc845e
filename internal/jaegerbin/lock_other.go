//go:build !unix

package jaegerbin

import "context"

// lockFile is a no-op without flock: concurrent builds are still correct,
// only slower.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
