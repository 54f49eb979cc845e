#!/usr/bin/env bash
# Runs every Go fuzz target in the repository (all modules of go.work) for a
# bounded time each: FUZZTIME (default 10s) of fuzzing, and at most
# FUZZMINIMIZETIME (default 5s) minimizing each new input, so a short run is
# spent fuzzing. Targets are found, not listed here: every package whose test
# files declare a `func Fuzz...` is asked for its targets with
# `go test -list '^Fuzz'`, so a new target is picked up as soon as it exists.
#
# A crash fails the run. `go test -fuzz` has then written the input to the
# package's testdata/fuzz/<Target>/ directory, which makes it a regression
# test: plain `go test` runs every file there. Fix the bug and commit the
# file with the fix.
#
#   bash .ci/fuzz.sh                 # every target, 10s each
#   FUZZTIME=5s bash .ci/fuzz.sh     # shorter
#   FUZZ_ONLY=FuzzHTTPExport bash .ci/fuzz.sh   # targets matching a regexp
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
fuzztime="${FUZZTIME:-10s}"
minimize="${FUZZMINIMIZETIME:-5s}"
only="${FUZZ_ONLY:-.}"
modules=(. e2e tools)

failed=()
ran=0
start=$SECONDS
for m in "${modules[@]}"; do
	# Package directories whose test files declare a fuzz target. The grep
	# keeps `go test -list` from building (and running the TestMain of)
	# every test binary of the module.
	mapfile -t dirs < <(cd "$m" && grep -rlE --include='*_test.go' '^func Fuzz[A-Z_0-9]' . 2>/dev/null | xargs -r -n1 dirname | sort -u)
	[ "${#dirs[@]}" -gt 0 ] || continue
	# `go test -list` prints a package's matching names, then its "ok" line.
	names=()
	while IFS= read -r line; do
		case "$line" in
		Fuzz*) names+=("$line") ;;
		ok*)
			pkg="$(awk '{print $2}' <<<"$line")"
			for n in "${names[@]}"; do
				if grep -qE -- "$only" <<<"$n"; then
					echo "$m $pkg $n"
				fi
			done
			names=()
			;;
		esac
	done < <(cd "$m" && go test -list '^Fuzz' -run '^$' "${dirs[@]}") >"${TMPDIR:-/tmp}/traceproof-fuzz-targets.$$"
	while read -r mod pkg target; do
		ran=$((ran + 1))
		printf '\n=== %s %s (%s)\n' "$pkg" "$target" "$fuzztime"
		if ! (cd "$mod" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "$pkg"); then
			dir="$(cd "$mod" && go list -f '{{.Dir}}' "$pkg")"
			failed+=("$pkg $target: the crashing input is in ${dir#"$repo"/}/testdata/fuzz/$target/ (now a regression test: fix the bug, commit the file)")
		fi
	done <"${TMPDIR:-/tmp}/traceproof-fuzz-targets.$$"
	rm -f "${TMPDIR:-/tmp}/traceproof-fuzz-targets.$$"
done

echo
if [ "$ran" -eq 0 ]; then
	echo "fuzz: no fuzz targets found (FUZZ_ONLY=$only)" >&2
	exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of $ran targets crashed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: $ran targets, $fuzztime each, no crash ($((SECONDS - start))s)"
