#!/bin/sh
# README command 2: installs what the tests need, builds, and runs every test:
# unit, integration, end-to-end with a real QEMU guest, and a short fuzz run.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
status=0
make -j"$(nproc)" check || status=$?
# A short libFuzzer run over the request parser and the ticket decoder.
FUZZ_SECONDS=${FUZZ_SECONDS:-10} make fuzz || status=$?
for log in tests/*/*.log; do
	[ -f "$log" ] || continue
	case "$log" in */test-suite.log) continue ;; esac
	if grep -q '^:test-result: FAIL' "${log%.log}.trs" 2>/dev/null; then
		echo "==== $log ===="
		tail -n 60 "$log"
	fi
done
pass=$(cat tests/*/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || true)
fail=$(cat tests/*/*.trs 2>/dev/null | grep -c -E '^:test-result: (FAIL|ERROR|XPASS)' || true)
skip=$(cat tests/*/*.trs 2>/dev/null | grep -c '^:test-result: SKIP' || true)
echo "$pass passed, $fail failed, $skip skipped"
exit "$status"
