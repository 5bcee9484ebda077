#!/bin/bash
# SPDX-License-Identifier: ISC
# The source tree keeps the shape docs/architecture.md draws: the libraries
# under lib/ never see the broker's private headers, no C file grows past
# 900 lines, and every source file says its licence.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top_srcdir" || exit 1
n=0 failed=0

# check NAME OFFENDERS: passes when OFFENDERS is empty, else lists them.
check() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		failed=$((failed + 1))
		echo "not ok $n - $1"
		printf '%s\n' "$2" | sed 's/^/#   /'
	fi
}

sources() {
	find broker lib common gateway client tools certs demo tests scripts \
	    -type f \( -name '*.[ch]' -o -name '*.py' -o -name '*.sh' \
	    -o -name '*.mk' -o -name '*.js' -o -name '*.css' \
	    -o -name '*.html' \) ! -path 'tests/fuzz/corpus/*' 2>/dev/null
}

private=$(ls broker/*.h | xargs -n1 basename | paste -sd'|')
check "no file under lib/ includes a header of broker/ ($private)" \
    "$(grep -rlE "#include \"($private)\"" lib || true)"
check "no file under lib/ or common/ includes a header of gateway/ or client/" \
    "$(grep -rlE '#include "(gateway|client|windowpriv)\.h"' lib common || true)"
check "each library folder says what it is for in its local.mk" \
    "$(for d in lib/*/; do grep -v SPDX "$d/local.mk" 2>/dev/null |
	head -n 1 | grep -q "^# ${d%/}: " || echo "$d"; done)"
check "no C file is over 900 lines" \
    "$(find broker lib common gateway client tools tests -name '*.c' \
	-exec wc -l {} + | awk '$2 != "total" && $1 > 900')"
check "LICENSE is there" "$([ -s LICENSE ] || echo LICENSE)"
check "every source file has an SPDX-License-Identifier line" \
    "$(sources | while read -r f; do
	head -n 3 "$f" | grep -q 'SPDX-License-Identifier: ISC' || echo "$f"
    done)"

echo "1..$n"
[ "$failed" -eq 0 ]
