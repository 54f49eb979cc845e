# traceproof: common tasks. Every target is plain `go` underneath; see README.md.
GO ?= go

.PHONY: all test lint vet staticcheck tidy fmt serve e2e e2e-single e2e-cluster e2e-collector e2e-jaeger e2e-faults compare interop collector validate-collector bench bench-quick ci

all: test

## test: vet + staticcheck + every test with the race detector (what CI runs)
test: lint
	$(GO) test -race ./...

## lint: gofmt check, go vet, staticcheck (pinned by the tool directive in go.mod)
lint: vet staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The repository is three modules in one go.work: the library (.), the e2e
# suite (e2e) and the pinned tools (tools). ./... stops at a module boundary.
vet:
	$(GO) vet ./...
	cd e2e && $(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...
	cd e2e && $(GO) tool staticcheck ./...

tidy:
	for m in . e2e tools; do (cd $$m && GOWORK=off $(GO) mod tidy); done

fmt:
	gofmt -w $$(git ls-files '*.go')

## serve: a standalone sink on the default OTLP ports, printing spans live
serve:
	$(GO) run ./cmd/traceproof serve $(ARGS)

## e2e: the domain-event suite in both modes, directly and through a real Collector
e2e: e2e-single e2e-cluster e2e-collector e2e-jaeger

e2e-single:
	TRACEPROOF_E2E_MODE=single $(GO) test -count=1 -v ./e2e/...

e2e-cluster:
	TRACEPROOF_E2E_MODE=cluster $(GO) test -count=1 -v ./e2e/...

e2e-collector:
	TRACEPROOF_E2E_VIA=collector $(GO) test -count=1 -v ./e2e/...

e2e-jaeger:
	TRACEPROOF_E2E_VIA=jaeger $(GO) test -count=1 -v ./e2e/...

## e2e-faults: the suite while the sink refuses each sender's first requests (docs/faults.md)
e2e-faults:
	TRACEPROOF_E2E_FAULTS='traces first=1 -> unavailable' $(GO) test -count=1 ./e2e/
	TRACEPROOF_E2E_VIA=collector TRACEPROOF_E2E_FAULTS='traces first=2 -> unavailable' $(GO) test -count=1 ./e2e/

## compare: measure how often the old /metrics/events check is wrong, next to the trace check
compare:
	$(GO) run ./e2e/compare -out docs/metrics-check-vs-traces.md

## interop: the sink against the OpenTelemetry JavaScript SDK (needs Node.js >= 18.19)
interop:
	cd interop/node && npm ci --ignore-scripts --no-audit --no-fund
	$(GO) test -tags interop -count=1 ./interop/... ./e2e/interop/...

## collector: build the OpenTelemetry Collector distribution in e2e/otelcol
collector:
	bash e2e/otelcol/build.sh

validate-collector:
	bash e2e/otelcol/validate.sh

## bench: in-process benchmarks and the side-by-side receiver comparison
bench:
	bash bench/run.sh full

bench-quick:
	bash bench/run.sh quick

ci:
	bash .ci/run
