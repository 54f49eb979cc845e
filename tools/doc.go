// Package tools pins the developer tools of traceproof (staticcheck,
// benchstat) with tool directives, in a module of its own so that a module
// importing traceproof's library never sees them in its module graph. The
// repository's go.work makes them available as `go tool staticcheck` and
// `go tool benchstat` from anywhere in the clone.
package tools
