// Package remoteinterop proves the remote API of `traceproof serve` from
// other languages, each suite with its own runner: Node (node:test and the
// built-in fetch, node/), Python (unittest and urllib, python/) and the
// shell (traceproof wait and check under bats, shell/). remote_test.go
// (build tag "interop") starts traceproof serve as a process and the
// reference workflow system in cluster mode exporting to it, runs each
// suite, and runs each again against a serve that receives nothing, where
// it must fail:
//
//	go test -tags interop ./e2e/interop/remote/
//
// See docs/remote.md.
package remoteinterop
