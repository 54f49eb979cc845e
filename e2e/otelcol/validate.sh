#!/usr/bin/env bash
# Builds otelcol-traceproof, then checks that it accepts the repo's Collector
# configs: collector-config.yaml (with and without the sink token overlay) and
# bench-nop.yaml. `validate` resolves the config, decodes every component and
# runs their Validate, without opening any port.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="$("$here/build.sh")"

# A dummy sink address: validate needs a non-empty endpoint but never dials.
export TRACEPROOF_SINK_ENDPOINT=127.0.0.1:1

echo "validate $repo/collector-config.yaml"
"$bin" validate --config "$repo/collector-config.yaml"

echo "validate $repo/collector-config.yaml + sink token overlay"
# Single quotes on purpose: the Collector, not the shell, expands ${env:...}.
# shellcheck disable=SC2016
TRACEPROOF_SINK_TOKEN=dummy "$bin" validate --config "$repo/collector-config.yaml" \
  --config 'yaml:exporters::otlp_grpc/sink::headers::authorization: "Bearer ${env:TRACEPROOF_SINK_TOKEN}"'

echo "validate $here/bench-nop.yaml"
"$bin" validate --config "$here/bench-nop.yaml"

echo "ok: otelcol-traceproof accepts all Collector configs"
