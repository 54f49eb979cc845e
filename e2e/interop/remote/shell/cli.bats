#!/usr/bin/env bats
# traceproof wait and check from a shell script, run by bats. Run by
# interop/remote/remote_test.go against a serve that the reference workflow
# system (e2e/tasker, cluster mode) exports to:
#
#   TRACEPROOF_BIN=bin/traceproof TRACEPROOF_SERVER=http://127.0.0.1:4318 TRACEPROOF_TOKEN=... \
#   TASKER_TEST_ORCHESTRATION_URLS=http://127.0.0.1:8080 bats interop/remote/shell/cli.bats
#
# TRACEPROOF_SERVER and TRACEPROOF_TOKEN are what the CLI reads for --server
# and --token. Each test creates its own task (with curl) and proves its
# events with one command each: exit 0 pass, 1 failed (report on stdout), 2
# for everything that is not a verdict.

setup_file() {
	: "${TRACEPROOF_BIN:?set TRACEPROOF_BIN to the traceproof binary}"
	: "${TRACEPROOF_SERVER:?set TRACEPROOF_SERVER}"
	: "${TASKER_TEST_ORCHESTRATION_URLS:?set TASKER_TEST_ORCHESTRATION_URLS}"
	command -v curl >/dev/null || { echo "curl is needed to create tasks" >&2; return 1; }
}

tp() { "$TRACEPROOF_BIN" "$@"; }

# create_task FLAVOUR_NAMESPACE [fail]: creates a task, prints its correlation ID.
create_task() {
	local ns="$1" fail="${2:-}" corr ctx orch
	corr="sh-${BATS_TEST_NUMBER}-$$-${RANDOM}${RANDOM}"
	ctx='{"order_id": "ORD-1", "amount": 99.95, "items": [{"sku": "SKU-001", "quantity": 2}]'
	[[ -n "$fail" ]] && ctx+=', "simulate_failure": true'
	orch="${TASKER_TEST_ORCHESTRATION_URLS%%,*}"
	curl -fsS -o /dev/null -X POST "$orch/v1/tasks" -H 'Content-Type: application/json' \
		-d "{\"namespace\": \"$ns\", \"name\": \"domain_event_publishing\", \"version\": \"1.0.0\", \"correlation_id\": \"$corr\", \"context\": $ctx}}" ||
		return 1
	echo "$corr"
}

@test "one wait per domain event, then one check for all" {
	corr="$(create_task domain_events_rust)"
	for ev in order.validated:Fast payment.processed:Durable inventory.updated:Fast notification.sent:Fast; do
		name="${ev%%:*}" mode="${ev##*:}"
		run tp wait --timeout 30s \
			"{ name = \"route_event\" && correlation = \"$corr\" && span.event_name = \"$name\" && span.delivery_mode = \"$mode\" }"
		echo "$output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"  tasker-core  route_event  "* ]]
		[ "$(echo "$output" | wc -l)" -eq 1 ]
	done
	run tp check published --timeout 30s --correlation "$corr" \
		order.validated:fast payment.processed:durable inventory.updated:fast notification.sent:fast
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "pass: correlation \"$corr\" published exactly"* ]]

	run tp check exactly --count 4 --timeout 30s "{ name = \"route_event\" && correlation = \"$corr\" }"
	[ "$status" -eq 0 ]
	run tp check once-per --key event_name --values order.validated,payment.processed "{ name = \"route_event\" && correlation = \"$corr\" }"
	[ "$status" -eq 0 ]
	run tp check never --window 300ms "{ status = error && correlation = \"$corr\" }"
	[ "$status" -eq 0 ]
}

@test "the failure path, and a check that fails prints the report and exits 1" {
	corr="$(create_task domain_events_py fail)"
	run tp check published --timeout 30s --correlation "$corr" order.validated:fast payment.failed:durable
	echo "$output"
	[ "$status" -eq 0 ]
	run tp check not-published --window 500ms --correlation "$corr" payment.processed inventory.updated notification.sent
	echo "$output"
	[ "$status" -eq 0 ]

	run tp check not-published --window 500ms --correlation "$corr" order.validated
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == "expected correlation \"$corr\" not to publish \"order.validated\" within 500ms" ]]
	[[ "$output" == *"spans of correlation \"$corr\""* ]]
}

@test "a wait that times out exits 1 with the report" {
	corr="$(create_task domain_events)"
	run tp wait --timeout 1s --format json "{ name = \"publish_event\" && correlation = \"$corr\" && span.event_name = \"payment.refunded\" }"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == "expected at least 1 span named \"publish_event\" with span attribute event_name = \"payment.refunded\""* ]]
}

@test "JSON lines for scripts" {
	corr="$(create_task domain_events)"
	run tp wait --timeout 30s --count 3 --format json "{ name = \"publish\" && correlation = \"$corr\" }"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 3 ]
	for l in "${lines[@]}"; do
		[[ "$l" == '{"trace_id":"'* ]]
		[[ "$l" == *'"correlations":['*"\"$corr\""* ]]
	done
}

@test "what is not a verdict exits 2" {
	run tp wait '{ name = "a" || name = "b" }'
	[ "$status" -eq 2 ]
	[[ "$output" == *"column 14: || is not supported"* ]]
	run tp wait --token wrong '{ name = "a" }'
	[ "$status" -eq 2 ]
	[[ "$output" == *"401 Unauthorized"* ]]
	run tp check published --server http://127.0.0.1:1 --correlation c a
	[ "$status" -eq 2 ]
	[[ "$output" == *"cannot reach traceproof serve"* ]]
	run tp check frobnicate
	[ "$status" -eq 2 ]
}
