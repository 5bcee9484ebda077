#!/bin/sh
# SPDX-License-Identifier: ISC
# README command 2: installs what the tests need, builds, and runs every test:
# unit, integration, end-to-end with a real QEMU guest, a short fuzz run, and
# the unit and integration tests again under ASan and UBSan.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
status=0
# Which accelerator each guest type runs under is probed once per run, not
# once per test (tests/lib/accel.py): a fresh cache for this run.
if [ -z "${PAPRIKA_ACCEL_CACHE:-}" ]; then
	PAPRIKA_ACCEL_CACHE=$PWD/build/accel-cache/test-run
	rm -rf "$PAPRIKA_ACCEL_CACHE"
	export PAPRIKA_ACCEL_CACHE
fi
make -j"$(nproc)" check || status=$?
# A short libFuzzer run of each harness with seeds in tests/fuzz/corpus:
# the request parser, the ticket decoder, the broker's HTTP parser and
# its domain XML edits (domxml).
FUZZ_SECONDS=${FUZZ_SECONDS:-10} make fuzz || status=$?
./scripts/sanitized-check.sh || status=$?

# The closing line counts checks, not programs: every test prints TAP and
# automake's TAP driver writes one ":test-result:" line per check into the
# test's .trs file; a test skipped whole is one SKIP. A test that exits
# non-zero adds an ERROR line: it counts as one failure only where no check
# failed (a crash, a sanitizer's report at exit), as no check said so.
for trs in tests/*/*.trs; do
	if grep -q -E '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
		echo "==== ${trs%.trs}.log ===="
		tail -n 60 "${trs%.trs}.log"
	fi
done
summary=$(for trs in tests/*/*.trs build/asan/tests/*/*.trs; do
	[ -f "$trs" ] || continue
	sed -n 's/^:test-result: //p' "$trs" | awk '
		$1 == "PASS" || $1 == "XFAIL" { p++ }
		$1 == "FAIL" || $1 == "XPASS" { f++ }
		$1 == "ERROR" { e++ }
		$1 == "SKIP" { s++ }
		END { print p + 0, f + (f == 0 && e > 0), s + 0 }'
done | awk '{ p += $1; f += $2; s += $3 } END { printf "%d %d %d", p, f, s }')
set -- $summary
echo "$1 passed, $2 failed, $3 skipped"
exit "$status"
