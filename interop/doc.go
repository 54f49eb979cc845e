// Package interop checks the sink's wire contracts against an OTLP
// implementation written in another language: the OpenTelemetry JavaScript
// SDK, driven by node/send.js. The tests need Node and `npm ci` in
// interop/node, so they carry the "interop" build tag:
//
//	(cd interop/node && npm ci --ignore-scripts)
//	go test -tags interop ./interop/...
//
// See README.md.
package interop
