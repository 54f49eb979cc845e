// Package jaegerbin builds and runs a real Jaeger v2 process for tests: the
// jaeger package's own tests and the e2e suite's TRACEPROOF_E2E_VIA=jaeger
// mode both read spans back through its query API.
//
// It lives under the module's internal/ (not e2e/internal/, beside the
// Collector's builder) because Go's internal rule would keep the jaeger
// package's tests from importing it there. It uses the standard library only
// and talks to Jaeger as a process, so the root module never depends on
// Jaeger's modules.
package jaegerbin
