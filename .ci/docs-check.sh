#!/usr/bin/env bash
# Checks what the documentation promises, as far as a script can:
#
#  1. every environment variable the code and scripts read is in the table of
#     README.md (its environment table): Go string literals naming
#     TRACEPROOF_* and TASKER_* variables (the constants os.Getenv is called
#     with), any other os.Getenv/os.LookupEnv("NAME") outside tests, the
#     ${NAME:-default} knobs of the scripts, and the ${env:NAME} of the YAML
#     configs;
#  2. every relative link in README.md and docs/*.md resolves to a file or
#     directory of the repository;
#  3. no document (*.md, or a Go doc comment) installs our own module with a
#     version, as `go install github.com/traceproof/traceproof/...@latest`:
#     the module is not published, so that cannot work; install from a clone;
#  4. no document presents e2e/internal as something to import: Go forbids
#     importing it from another module, so a mention must say it "cannot
#     import" it, in the same paragraph, and no import path may name it.
#
# Only bash, grep, sed, awk and git: it runs on a fresh machine with Go alone.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
problem() {
	echo "docs-check: $*" >&2
	fail=1
}

docs=(README.md docs/*.md)
mapfile -t all_md < <(git ls-files '*.md')
mapfile -t go_files < <(git ls-files '*.go' | grep -v '/testdata/')
mapfile -t scripts < <(git ls-files '*.sh' Makefile .ci/run)
mapfile -t yamls < <(git ls-files '*.yaml' '*.yml')
table=README.md

# --- 1. environment variables ---------------------------------------------
# Variables of the toolchain and the system, which the scripts and tests use
# but do not define.
system_vars=' GOROOT GORACE GOPATH GOCACHE GOFLAGS GOWORK HOME PATH TMPDIR XDG_CACHE_HOME TZ USER '
names=$(
	{
		grep -hoE '"(TRACEPROOF|TASKER)_[A-Z0-9_]*"' "${go_files[@]}" | tr -d '"'
		grep -hoE 'os\.(Getenv|LookupEnv)\("[A-Za-z_][A-Za-z0-9_]*"\)' $(printf '%s\n' "${go_files[@]}" | grep -v '_test\.go$') |
			sed -E 's/.*\("([^"]+)"\)/\1/'
		grep -hoE '\$\{[A-Z][A-Z0-9_]*:?[-=]' "${scripts[@]}" | sed -E 's/^\$\{([A-Z0-9_]+).*/\1/'
		grep -hoE '\$\{env:[A-Z][A-Z0-9_]*' "${yamls[@]}" | sed 's/^\${env://'
	} | sort -u
)
documented() {
	grep -qw -- "$1" "$table" README.md
}
for n in $names; do
	[[ "$system_vars" == *" $n "* ]] && continue
	[ "$n" = NAME ] && continue # the placeholder of "${env:NAME:-default}" in a comment
	if [[ "$n" == *_ ]]; then
		# A prefix the code completes (TASKER_TEST_WORKER_<FLAVOUR>_URLS):
		# some documented variable must start with it.
		grep -qE -- "\`$n[A-Z0-9_]+\`" "$table" README.md || problem "variables $n* are read by the code but none is in $table"
		continue
	fi
	documented "$n" || problem "$n is read by the code or a script but is not in $table (add a row)"
done

# --- 2. relative links --------------------------------------------------------
for f in "${docs[@]}"; do
	dir=$(dirname "$f")
	# Markdown links outside code spans: ](target) and ](target "title").
	while IFS= read -r target; do
		target=${target%% *}
		case "$target" in
		http://* | https://* | mailto:* | '#'*) continue ;;
		esac
		path=${target%%#*}
		[ -z "$path" ] && continue
		if [ ! -e "$dir/$path" ]; then
			problem "$f links to $target, which does not exist"
		fi
	done < <(sed 's/`[^`]*`//g' "$f" | grep -oE '\]\([^)]+\)' | sed -E 's/^\]\((.*)\)$/\1/')
done

# --- 3. no versioned install of our own module ------------------------------------
if out=$(grep -nE 'github\.com/traceproof/traceproof[^ )`"]*@(latest|v[0-9])' "${all_md[@]}" 2>/dev/null); then
	problem "a document installs or fetches this module by version, which cannot work while it is unpublished (use go install ./cmd/traceproof from a clone):"
	echo "$out" >&2
fi
if out=$(grep -nE '^\s*//.*github\.com/traceproof/traceproof[^ ]*@(latest|v[0-9])' "${go_files[@]}" 2>/dev/null); then
	problem "a Go doc comment installs this module by version:"
	echo "$out" >&2
fi

# --- 4. e2e/internal is not for importing --------------------------------------
if out=$(grep -nE 'traceproof/e2e/internal' "${all_md[@]}" 2>/dev/null); then
	problem "a document names an import path under e2e/internal, which other modules cannot import:"
	echo "$out" >&2
fi
for f in "${all_md[@]}"; do
	# Paragraphs (blank-line separated) that mention e2e/internal must say it
	# cannot be imported.
	awk -v f="$f" 'BEGIN { RS = "" } /e2e\/internal/ && !/cannot import|can.t import|not importable/ {
		sub(/\n.*/, ""); printf "docs-check: %s: a paragraph mentions e2e/internal without saying other modules cannot import it: \"%s...\"\n", f, $0; bad = 1 }
		END { exit bad }' "$f" >&2 || fail=1
done

if [ "$fail" -ne 0 ]; then
	exit 1
fi
echo "docs-check: ok: $(wc -w <<<"$names") environment variables documented, links of ${#docs[@]} documents resolve, no versioned install, no e2e/internal import"
