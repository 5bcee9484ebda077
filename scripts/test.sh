#!/bin/sh
# README command 2: installs what the tests need, builds, and runs every test:
# unit, integration, end-to-end with a real QEMU guest, a short fuzz run, and
# the unit and integration tests again under ASan and UBSan.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
status=0
# Which accelerator each guest type runs under is probed once per run, not
# once per test (demo/accel.py): a fresh cache for this run.
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

# The closing line counts checks, not programs: each test prints its own
# "N passed, M failed" line (cmocka its PASSED/FAILED lines); a program that
# failed without saying how many checks failed counts as one failure.
for trs in tests/*/*.trs; do
	if grep -q -E '^:test-result: (FAIL|ERROR)' "$trs"; then
		echo "==== ${trs%.trs}.log ===="
		tail -n 60 "${trs%.trs}.log"
	fi
done
summary=$(for trs in tests/*/*.trs build/asan/tests/*/*.trs; do
	[ -f "$trs" ] || continue
	log=${trs%.trs}.log
	result=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
	awk -v result="$result" '
		/^[0-9]+ passed, [0-9]+ failed/ { p = $1; f = $3; own = 1 }
		/^\[  PASSED  \] [0-9]+ test/ { p = $4; own = 1 }
		/^\[  FAILED  \] [0-9]+ test/ { f = $4 }
		END {
			if (!own) { p = (result == "PASS"); f = (result != "PASS" && result != "SKIP") }
			else if (result != "PASS" && result != "SKIP" && f == 0) f = 1
			print p + 0, f + 0, (result == "SKIP")
		}' "$log"
done | awk '{ p += $1; f += $2; s += $3 } END { printf "%d %d %d", p, f, s }')
set -- $summary
echo "$1 passed, $2 failed, $3 skipped"
exit "$status"
