#!/usr/bin/env bash
# Builds the traceproof Collector distribution (this directory's module) into
# ${TRACEPROOF_BIN_DIR:-<repo>/bin}/otelcol-traceproof and prints the path.
#
# No up-to-date check of our own: go's build cache makes a rebuild with
# unchanged sources a relink (a few seconds). A cold build compiles the whole
# Collector and takes minutes on a 2-core machine.
#
# The flags must stay identical to collectorBuildArgs in
# e2e/internal/collector/build.go, so the tests and this script share one
# build cache entry instead of compiling the Collector twice.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin_dir="${TRACEPROOF_BIN_DIR:-$repo/bin}"
out="$bin_dir/otelcol-traceproof"

mkdir -p "$bin_dir"
cd "$here"
# -trimpath and -s -w are what the ocb builder uses. go build defaults to
# -mod=readonly: a stale go.mod fails the build instead of being edited.
# The Collector is a module of its own, outside the repository's go.work.
GOWORK=off go build -trimpath -ldflags='-s -w' -o "$out" .
echo "$out"
