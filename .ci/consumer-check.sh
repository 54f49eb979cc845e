#!/usr/bin/env bash
# A module that imports only traceproof's library (otlpsink, assert,
# assert/domainevent) must not get the reference system's or the tools'
# dependencies in its module graph. This builds such a module in a scratch
# directory against this clone and checks `go list -m all`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cd "$dir"
cat > go.mod <<MOD
module example.com/consumer

go 1.26.0

require github.com/traceproof/traceproof v0.0.0-00010101000000-000000000000

replace github.com/traceproof/traceproof => $repo
MOD
cat > consumer_test.go <<'GO'
package consumer

import (
	"testing"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/otlpsink"
)

func TestConsumer(t *testing.T) {
	sink := otlpsink.Start(t)
	tp := assert.On(t, sink)
	_ = domainevent.On(tp)
}
GO
export GOWORK=off GOFLAGS=-mod=mod
go mod tidy >/dev/null
go vet ./...
graph="$(go list -m all)"
bad=0
for m in modernc.org/sqlite modernc.org/libc honnef.co/go/tools golang.org/x/perf github.com/traceproof/traceproof/e2e github.com/traceproof/traceproof/tools; do
  if grep -q "^$m " <<<"$graph"; then
    echo "consumer-check: $m is in a library consumer's module graph" >&2
    bad=1
  fi
done
if grep -q '^go 1\.26\.[1-9]' go.mod; then
  echo "consumer-check: the consumer's go directive was raised to a patch release: $(grep '^go ' go.mod)" >&2
  bad=1
fi
[ "$bad" = 0 ] || exit 1
echo "consumer-check: ok: $(wc -l <<<"$graph") modules in a library consumer's graph, none from the reference system or the tools"
