#!/bin/sh
# README command 2: installs what the tests need, builds, and runs every test:
# unit, integration, end-to-end with a real QEMU guest, a short fuzz run, and
# the unit and integration tests again under ASan and UBSan.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
status=0
make -j"$(nproc)" check || status=$?
# A short libFuzzer run over the request parser and the ticket decoder.
FUZZ_SECONDS=${FUZZ_SECONDS:-10} make fuzz || status=$?
./scripts/sanitized-check.sh || status=$?

results=$(cat tests/*/*.trs build/asan/tests/*/*.trs 2>/dev/null || true)
for trs in tests/*/*.trs; do
	if grep -q -E '^:test-result: (FAIL|ERROR)' "$trs"; then
		echo "==== ${trs%.trs}.log ===="
		tail -n 60 "${trs%.trs}.log"
	fi
done
pass=$(printf '%s\n' "$results" | grep -c '^:test-result: PASS' || true)
fail=$(printf '%s\n' "$results" | grep -c -E '^:test-result: (FAIL|ERROR|XPASS)' || true)
skip=$(printf '%s\n' "$results" | grep -c '^:test-result: SKIP' || true)
echo "$pass passed, $fail failed, $skip skipped"
exit "$status"
