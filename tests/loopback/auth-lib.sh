# SPDX-License-Identifier: ISC
# Sourced by test-pam.sh and test-users.sh: a scratch directory, counters,
# "is" to compare, and "auth" to run the broker's auth_check (pam-check).

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PAM_CHECK=$top_builddir/tests/loopback/pam-check
USERS=$top_builddir/paprika-users

pass=0
fail=0
T=$(mktemp -d "${TMPDIR:-/tmp}/paprika-auth.XXXXXX") || exit 1
trap 'rm -rf -- "$T"' EXIT
trap 'exit 1' HUP INT TERM

# is DESCRIPTION WANT GOT: passes when GOT is WANT.
is() {
	if [ "$2" = "$3" ]; then
		pass=$((pass + 1))
		echo "ok - $1"
		return
	fi
	fail=$((fail + 1))
	echo "not ok - $1"
	printf '#   want: %s\n#   got:  %s\n' "$2" "$3"
	if [ -s "$T/stderr" ]; then
		sed 's/^/#   stderr: /' "$T/stderr"
	fi
}

# auth USER PASSWORD [pam-check options]: prints pam-check's verdict with
# the groups sorted, as "OK source g1,g2", "DENIED" or "ERROR ...".
auth() {
	local user=$1 password=$2 out verdict source groups
	shift 2
	# pam_wrapper writes its own notes to stderr: kept aside for is().
	out=$(printf '%s\n' "$password" |
	    "$PAM_CHECK" "$@" "$user" 2>"$T/stderr")
	read -r verdict source groups <<<"$out"
	if [ "$verdict" = OK ]; then
		groups=$(tr , '\n' <<<"$groups" | LC_ALL=C sort | paste -sd, -)
		echo "OK $source $groups" | sed 's/ $//'
	else
		echo "$out"
	fi
}

# finish: the TAP plan (tap-driver.sh counts the checks); the status.
finish() {
	echo "# $pass passed, $fail failed"
	echo "1..$((pass + fail))"
	[ "$fail" -eq 0 ]
}
