#!/usr/bin/env bash
# traceproof benchmarks. See docs/BENCHMARKS.md.
#
#   bench/run.sh quick    # a few seconds plus build time: every in-process
#                         # benchmark once on small sizes, and loadgen against
#                         # traceproof serve for ~2s; fails if anything is broken
#   bench/run.sh full     # the numbers in docs/BENCHMARKS.md (~15 min on 2 cores):
#                         # in-process benchmarks through benchstat, then
#                         # traceproof, the Collector's OTLP receiver (nop
#                         # exporter) and Jaeger v2 (in-memory) under the same
#                         # load, in one run: each filled with 1M spans first
#                         # (full and evicting), then measured with 100-span and
#                         # then 1-span requests, over gRPC and over HTTP
#   bench/run.sh profile  # CPU and allocation profiles of ingest, as pprof -top
#   bench/run.sh gc       # traceproof serve under load with GODEBUG=gctrace=1,
#                         # at --max-spans 1000000 and 100000: GC's share of its CPU
#   bench/run.sh soak     # SOAK (default 10m) of sustained load at the full span
#                         # cap (SOAK_MAX_SPANS=1000000, SOAK_WARMUP=1m) on an in-process sink and
#                         # on traceproof serve, with concurrent waits, resets,
#                         # dumps (and long-polls of serve's /api/v1/wait when it
#                         # has one): RSS, goroutines/threads and open files
#                         # sampled and judged flat (bench/soak); not a CI test
#
# Results go to $BENCH_OUT (default bench/out, not committed). Knobs, with
# their defaults: BENCH_COUNT=3 BENCH_TIME=1s (go test -count/-benchtime),
# ROUNDS=3 DURATION=6s WARMUP=2s FILL=1000000 CONNS=4 PROTOS="grpc http"
# BATCHES="100 1" RECEIVERS="traceproof otelcol jaeger". Peers are built on demand: the
# Collector by e2e/otelcol/build.sh, Jaeger v1.76.0 in a scratch module under
# ~/.cache/traceproof/jaeger-v1.76.0 (TRACEPROOF_JAEGER_CACHE; shared with the
# tests' internal/jaegerbin; the first build takes many minutes).
set -euo pipefail

mode="${1:-quick}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${BENCH_OUT:-$here/out}"
jaeger_version="v1.76.0"
# BENCH_CACHE, when set, still holds the Jaeger build (as jaeger-VERSION).
jaeger_cache_default="${XDG_CACHE_HOME:-$HOME/.cache}/traceproof/jaeger-$jaeger_version"
if [[ -n "${BENCH_CACHE:-}" ]]; then jaeger_cache_default="$BENCH_CACHE/jaeger-$jaeger_version"; fi

mkdir -p "$out/logs" "$out/bin"
out="$(cd "$out" && pwd)"
cd "$repo"

log() { printf '\n== %s\n' "$*" >&2; }

machine() {
	{
		echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
		echo "go: $(go version)"
		echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
		echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
		echo "kernel: $(uname -r)"
	} >"$out/machine.txt"
	cat "$out/machine.txt" >&2
}

build_tools() {
	go build -o "$out/bin/loadgen" ./bench/loadgen
	go build -o "$out/bin/traceproof" ./cmd/traceproof
}

build_otelcol() {
	[[ -x "$repo/e2e/otelcol/build.sh" ]] || { echo "e2e/otelcol/build.sh is missing" >&2; return 1; }
	otelcol_bin="$(TRACEPROOF_BIN_DIR="$out/bin" "$repo/e2e/otelcol/build.sh" | tail -1)"
}

# Jaeger's go.mod has replace directives, so `go install pkg@version` refuses
# it; as a tool of a scratch module it builds with plain MVS. The directory and
# flags are internal/jaegerbin's, so the tests and this script share one build;
# TRACEPROOF_JAEGER_BIN names a prebuilt binary instead.
build_jaeger() {
	if [[ -n "${TRACEPROOF_JAEGER_BIN:-}" ]]; then
		jaeger_bin="$TRACEPROOF_JAEGER_BIN"
		return 0
	fi
	local dir="${TRACEPROOF_JAEGER_CACHE:-$jaeger_cache_default}"
	jaeger_bin="$dir/bin/jaeger"
	if [[ -x "$jaeger_bin" ]]; then return 0; fi
	log "building Jaeger $jaeger_version in $dir (several minutes)"
	mkdir -p "$dir"
	(
		cd "$dir"
		[[ -f go.mod ]] || go mod init traceproof-bench/jaeger >/dev/null
		go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$jaeger_version"
		go build -trimpath -ldflags='-s -w' -o bin/jaeger.tmp github.com/jaegertracing/jaeger/cmd/jaeger
		mv bin/jaeger.tmp bin/jaeger
	)
}

# start_receiver NAME GRPC_PORT HTTP_PORT LOG: starts it in the background and
# sets receiver_pid.
start_receiver() {
	local name="$1" gport="$2" hport="$3" logf="$4"
	case "$name" in
	traceproof)
		"$out/bin/traceproof" serve --grpc "127.0.0.1:$gport" --http "127.0.0.1:$hport" --print none >"$logf" 2>&1 &
		;;
	otelcol)
		TRACEPROOF_COLLECTOR_GRPC_ENDPOINT="127.0.0.1:$gport" TRACEPROOF_COLLECTOR_HTTP_ENDPOINT="127.0.0.1:$hport" \
			"$otelcol_bin" --config "$repo/e2e/otelcol/bench-nop.yaml" >"$logf" 2>&1 &
		;;
	jaeger)
		local q
		q=($("$out/bin/loadgen" freeport 2))
		BENCH_OTLP_GRPC_PORT="$gport" BENCH_OTLP_HTTP_PORT="$hport" \
			BENCH_JAEGER_QUERY_HTTP_PORT="${q[0]}" BENCH_JAEGER_QUERY_GRPC_PORT="${q[1]}" \
			"$jaeger_bin" --config "$here/jaeger-memory.yaml" >"$logf" 2>&1 &
		;;
	*)
		echo "unknown receiver $name" >&2
		return 1
		;;
	esac
	receiver_pid=$!
}

# stop_receiver: SIGTERM, then SIGKILL after 15s; returns the exit status.
stop_receiver() {
	local pid="$receiver_pid" i
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "receiver $pid did not stop in 15s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	local rc=0
	wait "$pid" || rc=$?
	receiver_pid=
	return "$rc"
}

cleanup() {
	if [[ -n "${receiver_pid:-}" ]]; then
		kill -KILL "$receiver_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# measure NAME PROTO ROUND WARMUP DURATION RESULTS [BATCHES [FILL]]: one receiver
# process, filled with FILL spans, then one load run per batch size against it
# (each with traces of its own).
measure() {
	local name="$1" proto="$2" round="$3" warmup="$4" duration="$5" results="$6" batches="${7:-100}" fill="${8:-0}"
	local ports gport hport addr logf="$out/logs/$name-$proto-$round.log"
	ports=($("$out/bin/loadgen" freeport 2))
	gport="${ports[0]}" hport="${ports[1]}"
	addr="127.0.0.1:$gport"
	[[ "$proto" == http ]] && addr="127.0.0.1:$hport"
	start_receiver "$name" "$gport" "$hport" "$logf"
	local rc=0 batch i=0
	for batch in $batches; do
		log "round $round: $name over $proto, $batch spans a request"
		"$out/bin/loadgen" run -name "$name" -proto "$proto" -round "$round" -addr "$addr" -pid "$receiver_pid" \
			-conns "${CONNS:-4}" -batch "$batch" -fill "$fill" -first-seq "$((i * 1000000000))" \
			-warmup "$warmup" -duration "$duration" -out "$results" || { rc=$?; break; }
		fill=0 i=$((i + 1))
	done
	local src=0
	stop_receiver || src=$?
	if ((rc != 0)); then
		echo "loadgen against $name ($proto) failed; receiver log $logf:" >&2
		tail -20 "$logf" >&2
		return "$rc"
	fi
	if [[ "$name" == traceproof ]]; then
		# The CLI prints its Stats on SIGTERM; a clean run exits 0 having
		# refused and rejected nothing.
		if ((src != 0)); then
			echo "traceproof serve exited $src; log $logf:" >&2
			tail -20 "$logf" >&2
			return 1
		fi
		if ! grep -q '0 rejected, [0-9]* evicted, 0 decode errors, 0 refused' "$logf"; then
			echo "traceproof serve reported errors; log $logf:" >&2
			tail -5 "$logf" >&2
			return 1
		fi
	fi
}

go_bench() {
	local count="$1" benchtime="$2" short="$3"
	log "in-process benchmarks (go test -bench, count=$count, benchtime=$benchtime${short:+, -short})"
	go test -run='^$' -bench=. -count="$count" -benchtime="$benchtime" $short -timeout=60m ./otlpsink/ | tee "$out/go-bench.txt"
	go tool benchstat "otlpsink=$out/go-bench.txt" >"$out/benchstat.txt"
	# pdata's decode alone, pdata + Ingest and IngestProto, side by side.
	go tool benchstat -filter '.name:Receive' -col /op "otlpsink=$out/go-bench.txt" >"$out/benchstat-receive.txt"
	# The two decoders into full, evicting stores.
	go tool benchstat -filter '.name:IngestGrowth' -col /decoder "otlpsink=$out/go-bench.txt" >"$out/benchstat-growth.txt"
	cat "$out/benchstat.txt" "$out/benchstat-receive.txt" "$out/benchstat-growth.txt"
}

case "$mode" in
quick)
	machine
	go_bench 1 50ms -short
	grep -q '^ok' "$out/go-bench.txt" || { echo "go test -bench did not pass" >&2; exit 1; }
	log "loadgen against traceproof serve (~2s)"
	build_tools
	results="$out/quick.jsonl"
	rm -f "$results"
	measure traceproof grpc 1 300ms 1s "$results"
	measure traceproof http 1 300ms 1s "$results"
	"$out/bin/loadgen" report "$results" | tee "$out/quick.md"
	;;
full)
	machine
	go_bench "${BENCH_COUNT:-3}" "${BENCH_TIME:-1s}" ""
	log "building the receivers"
	build_tools
	receivers="${RECEIVERS:-traceproof otelcol jaeger}"
	if [[ " $receivers " == *" otelcol "* ]]; then build_otelcol; fi
	if [[ " $receivers " == *" jaeger "* ]]; then build_jaeger; fi
	results="$out/comparison.jsonl"
	rm -f "$results"
	for round in $(seq "${ROUNDS:-3}"); do
		for proto in ${PROTOS:-grpc http}; do
			for name in $receivers; do
				measure "$name" "$proto" "$round" "${WARMUP:-2s}" "${DURATION:-6s}" "$results" "${BATCHES:-100 1}" "${FILL:-1000000}"
			done
		done
	done
	"$out/bin/loadgen" report "$results" | tee "$out/comparison.md"
	;;
profile)
	log "CPU and allocation profiles of IngestProto (100-span batches)"
	go test -run='^$' -bench='Receive/batch=100/op=direct' -benchtime=5s \
		-cpuprofile "$out/ingest.cpu" -memprofile "$out/ingest.mem" -o "$out/bin/otlpsink.test" ./otlpsink/
	go tool pprof -top -nodecount=40 "$out/bin/otlpsink.test" "$out/ingest.cpu" 2>/dev/null | tee "$out/ingest-cpu-top.txt"
	go tool pprof -top -cum -nodecount=40 "$out/bin/otlpsink.test" "$out/ingest.cpu" 2>/dev/null >"$out/ingest-cpu-cum.txt"
	go tool pprof -top -cum -focus='Store..IngestProto' -nodecount=30 "$out/bin/otlpsink.test" "$out/ingest.cpu" 2>/dev/null >"$out/ingest-cpu-store.txt"
	go tool pprof -top -sample_index=alloc_space -nodecount=25 "$out/bin/otlpsink.test" "$out/ingest.mem" 2>/dev/null >"$out/ingest-alloc-top.txt"
	echo "profiles and pprof -top output in $out" >&2
	;;
gc)
	build_tools
	results="$out/gc.jsonl"
	rm -f "$results"
	for cap in 1000000 100000; do
		log "traceproof serve --max-spans $cap with GODEBUG=gctrace=1"
		ports=($("$out/bin/loadgen" freeport 2))
		logf="$out/logs/gctrace-$cap.log"
		GODEBUG=gctrace=1 "$out/bin/traceproof" serve --grpc "127.0.0.1:${ports[0]}" --http "127.0.0.1:${ports[1]}" \
			--print none --max-spans "$cap" >"$logf" 2>&1 &
		receiver_pid=$!
		"$out/bin/loadgen" run -name "traceproof-cap$cap" -addr "127.0.0.1:${ports[0]}" -pid "$receiver_pid" \
			-conns "${CONNS:-4}" -warmup "${WARMUP:-2s}" -duration "${DURATION:-10s}" -out "$results"
		stop_receiver
		# gctrace: "gc N @T s P%: ... ms clock, A+B/C/D+E ms cpu, ..." where B, C
		# and D are assist, background and idle mark time.
		awk '/^gc [0-9]+ @/ { split($0, p, "ms clock, "); split(p[2], q, " ms cpu"); n = split(q[1], f, "[+/]");
			for (i = 1; i <= n; i++) cpu += f[i]; cycles++ }
			END { printf "  %d GC cycles, %.2f CPU-s of GC work (STW + assist + background + idle marking)\n", cycles, cpu / 1000 }' "$logf" | tee -a "$out/gc.txt"
	done
	;;
soak)
	machine
	build_tools
	go build -o "$out/bin/soak" ./bench/soak
	log "soak: ${SOAK:-10m} at a cap of ${SOAK_MAX_SPANS:-1000000} spans, in process and against traceproof serve"
	"$out/bin/soak" -duration "${SOAK:-10m}" -warmup "${SOAK_WARMUP:-1m}" -max-spans "${SOAK_MAX_SPANS:-1000000}" -serve "$out/bin/traceproof" \
		-out "$out/soak.json" | tee "$out/soak.md"
	;;
*)
	echo "usage: bench/run.sh quick|full|profile|gc|soak" >&2
	exit 2
	;;
esac
