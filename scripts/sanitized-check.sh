#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs the unit tests and the gateway's and broker's integration tests against a build
# with AddressSanitizer and UndefinedBehaviorSanitizer, in build/asan.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
dir=build/asan
echo "sanitized-check: copying the sources to $dir"
rm -rf "$dir"
mkdir -p "$dir"
# .git is a file in a worktree: git still lists the tracked files there.
if [ -e .git ]; then
	git ls-files -z | xargs -0 cp --parents -t "$dir"
else
	tar -cf - --exclude=./build . | tar -xf - -C "$dir"
fi
cd "$dir"
echo "sanitized-check: configure --enable-asan, make"
autoreconf -fi >/dev/null 2>&1
./configure -q --enable-asan >/dev/null
make -j"$(nproc)" >/dev/null
# SANITIZED_TESTS="tests/loopback/test-gateway-ws.py ..." runs only
# those; by default, all of the below.
tests="${SANITIZED_TESTS:-}"
if [ -z "$tests" ]; then
	for f in tests/unit/test-*.c; do tests="$tests ${f%.c}"; done
	# The C integration tests of the GPU inventory and libvirt glue,
	# then the daemons under test.
	tests="$tests tests/loopback/test-gpu tests/loopback/test-virt"
	for f in tests/loopback/test-gateway-*.py \
	    tests/loopback/test-broker*.py tests/guests/test-broker*.py; do
		# The end-to-end one (real SPICE clients) is not among them.
		case $f in */test-broker-e2e.py) continue ;; esac
		tests="$tests $f"
	done
fi
status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
PAPRIKA_AGENT_GUEST_DIR="$top/build/agent-guest" \
PAPRIKA_SANITIZED=1 make -j"$(nproc)" check TESTS="$tests" || status=$?
if [ "$status" -ne 0 ]; then
	for log in tests/*/*.log; do
		grep -q -E '^:test-result: (FAIL|ERROR|XPASS)' "${log%.log}.trs" 2>/dev/null ||
		    continue
		echo "==== $dir/$log ===="
		tail -n 40 "$log"
	done
fi
# Count these results with the others in the summary line.
cd "$top"
exit "$status"
