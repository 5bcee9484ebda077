#!/bin/bash
# SPDX-License-Identifier: ISC
# The broker's auth_check through a real PAM stack: pam_wrapper loads a
# service file naming pam_matrix (users and passwords in a text file, and
# an account check that the user may use the service); nss_wrapper gives
# the PAM users their passwd entries and groups. pam_exec writes down the
# items each conversation shows its modules, pam_set_items maps a name to
# another account (PAM_USER), pam_faildelay asks for a delay after a
# failure. The shipped service file (broker/pam.d/paprika) runs with
# common-auth and common-account of pam_matrix, and is installed by make.

set -u
. "$(dirname "$0")/auth-lib.sh"

# pam_wrapper picks its scratch directory /tmp/pam.X by lstat and then
# mkdir, so two processes starting at once can share one and delete it
# under each other: the tests that preload it take this lock in turn.
exec 9>/tmp/paprika-pam_wrapper.lock
flock 9

# Their .pc files give each library's path as its "Libs" (and a space).
pam_wrapper=$(pkg-config --libs pam_wrapper 2>/dev/null | tr -d ' ')
nss_wrapper=$(pkg-config --libs nss_wrapper 2>/dev/null | tr -d ' ')
pam_modules=$(pkg-config --variable=modules pam_wrapper 2>/dev/null)
if [ ! -f "$pam_wrapper" ] || [ ! -f "$nss_wrapper" ] ||
    [ ! -f "$pam_modules/pam_matrix.so" ]; then
	fail=$((fail + 1))
	echo "not ok - pam_wrapper and nss_wrapper are installed" \
	    "(libpam-wrapper libnss-wrapper, scripts/deps.sh)"
	finish
	exit 1
fi

# The system's PAM modules (pam_exec, pam_faildelay).
sys_modules=/lib/$(gcc -print-multiarch 2>/dev/null)/security
[ -f "$sys_modules/pam_exec.so" ] || sys_modules=/lib/security

# make install puts the shipped service where PAM looks: $(sysconfdir)/pam.d.
make -s -C "$top_builddir" install-dist_pamDATA DESTDIR="$T/root" \
    >"$T/stderr" 2>&1
installed=$(find "$T/root" -path '*/etc/pam.d/paprika' -type f)
is "make install DESTDIR=... puts the PAM service in \$(sysconfdir)/pam.d" \
    "same" "$(cmp -s "$installed" "$top_srcdir/broker/pam.d/paprika" &&
    echo same)"

# pam_matrix: user:password:service. "expired" may not use "paprika", so
# its right password fails in pam_acct_mgmt; "ghost" has no passwd entry.
# "BOTH" is a case variant of the local user "both" that PAM would let in.
# root (uid 0) and sysacct (uid 500) have the right password for PAM; the
# broker must refuse them.
cat >"$T/passdb" <<'PASSDB'
pamuser:pam-pw:paprika
expired:exp-pw:another-service
ghost:ghost-pw:paprika
both:pam-side-pw:paprika
BOTH:upper-pw:paprika
root:root-pw:paprika
sysacct:sys-pw:paprika
PASSDB
# The "mapped" service's own users (pam_matrix reads a user's first line):
# "alias" becomes another account after its password.
cat >"$T/passdb-mapped" <<'PASSDB'
alias:alias-pw:mapped
pamuser:pam-pw:mapped
root:root-pw:mapped
PASSDB
# A module run by pam_exec: one line per conversation with the items PAM
# shows modules (pam_exec passes them as PAM_* variables).
cat >"$T/items.sh" <<ITEMS
#!/bin/sh
echo "\$PAM_TYPE \$PAM_USER rhost=\$PAM_RHOST tty=\$PAM_TTY" >>"$T/items"
ITEMS
chmod +x "$T/items.sh"
mkdir "$T/services" "$T/shipped"
{
	echo "auth optional $sys_modules/pam_exec.so quiet $T/items.sh"
	for kind in auth account; do
		echo "$kind required $pam_modules/pam_matrix.so passdb=$T/passdb"
	done
} >"$T/services/paprika"
for kind in auth account; do
	echo "$kind required $pam_modules/pam_matrix.so passdb=$T/missing"
done >"$T/services/broken"
# A site's failure delay (as Debian's login has): 3 seconds.
{
	echo "auth optional $sys_modules/pam_faildelay.so delay=3000000"
	echo "auth required $pam_modules/pam_matrix.so passdb=$T/passdb"
	echo "account required $pam_modules/pam_matrix.so passdb=$T/passdb"
} >"$T/services/slow"
# After the password, PAM_USER becomes $PAM_USER (pam_set_items).
{
	echo "auth required $pam_modules/pam_matrix.so passdb=$T/passdb-mapped"
	echo "auth required $pam_modules/pam_set_items.so"
	echo "account required $pam_modules/pam_matrix.so" \
	    "passdb=$T/passdb-mapped"
} >"$T/services/mapped"
# The shipped file, its @include pointed at common-* files of pam_matrix
# (libpam reads a relative @include from /etc/pam.d, pam_wrapper or not).
sed "s|^@include |@include $T/shipped/|" \
    "$top_srcdir/broker/pam.d/paprika" >"$T/shipped/paprika"
echo "auth required $pam_modules/pam_matrix.so passdb=$T/passdb" \
    >"$T/shipped/common-auth"
echo "account required $pam_modules/pam_matrix.so passdb=$T/passdb" \
    >"$T/shipped/common-account"

cat >"$T/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
sysacct:x:500:500:System account:/nonexistent:/bin/false
pamuser:x:2001:2001:PAM user:/nonexistent:/bin/false
expired:x:2002:2001:Expired:/nonexistent:/bin/false
both:x:2003:2001:Local and PAM:/nonexistent:/bin/false
BOTH:x:2004:2001:Case variant:/nonexistent:/bin/false
PASSWD
cat >"$T/group" <<'GROUP'
root:x:0:
pamusers:x:2001:
vdi-users:x:3001:pamuser,both
staff:x:3002:other,pamuser
not a name:x:3003:pamuser
others:x:3004:both
GROUP

# "both" is in the users file too: its local password is the one that
# counts, and PAM is never asked about it.
printf '%s\n' 'local-pw' |
    "$USERS" -f "$T/users" add both --groups localgrp --stdin >/dev/null
is "paprika-users made the users file" 0 $?

export LD_PRELOAD="$pam_wrapper:$nss_wrapper"
export PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/services"
export NSS_WRAPPER_PASSWD="$T/passwd" NSS_WRAPPER_GROUP="$T/group"
# An --enable-asan build must not insist on coming first.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

P=(-s paprika -f "$T/users")
is "right password: OK with the user's groups (primary and member)" \
    "OK pam pamusers,staff,vdi-users" "$(auth pamuser pam-pw "${P[@]}")"
is "the same without a users file" \
    "OK pam pamusers,staff,vdi-users" "$(auth pamuser pam-pw -s paprika)"
is "wrong password: DENIED" "DENIED" "$(auth pamuser pam-pwx "${P[@]}")"
is "empty password: DENIED" "DENIED" "$(auth pamuser '' "${P[@]}")"
is "unknown user: DENIED" "DENIED" "$(auth nosuchuser pam-pw "${P[@]}")"
is "account refused by pam_acct_mgmt: DENIED" \
    "DENIED" "$(auth expired exp-pw "${P[@]}")"
is "a user NSS does not know gets no groups" \
    "OK pam" "$(auth ghost ghost-pw "${P[@]}")"
is "local user: the users file wins" \
    "OK local localgrp" "$(auth both local-pw "${P[@]}")"
is "local user with the PAM password: DENIED, no fallback" \
    "DENIED" "$(auth both pam-side-pw "${P[@]}")"
is "without the users file the same user goes to PAM" \
    "OK pam others,pamusers,vdi-users" "$(auth both pam-side-pw -s paprika)"
is "without PAM a PAM user is DENIED" \
    "DENIED" "$(auth pamuser pam-pw -f "$T/users")"
out=$(auth pamuser pam-pw -s broken)
is "a broken PAM service is an ERROR naming the service" \
    "ERROR PAM service broken" "${out%%:*}"

# Names: the account's own name, whatever the case typed.
is "a case variant of a local name is the local user, spelt as in the file" \
    "OK both" "$(auth BOTH local-pw -N "${P[@]}")"
is "a case variant of a local name is never passed on to PAM" \
    "DENIED" "$(auth BOTH upper-pw "${P[@]}")"
is "without the users file PAM decides about it" \
    "OK BOTH" "$(auth BOTH upper-pw -N -s paprika)"
is "PAM maps alias to pamuser: the login is pamuser's, with its groups" \
    "OK pam pamusers,staff,vdi-users" \
    "$(PAM_USER=pamuser auth alias alias-pw -s mapped)"
is "and its name is pamuser" \
    "OK pamuser" "$(PAM_USER=pamuser auth alias alias-pw -N -s mapped)"

# Accounts: root and system accounts are refused, even with the right
# password, and PAM does not see their passwords.
: >"$T/items"
is "root is refused with the right password" \
    "DENIED: root has uid 0 (pam_allow_root is off)" \
    "$(auth root root-pw -N -s paprika -u 1000)"
is "and PAM was not asked" "" "$(cat "$T/items")"
is "root is refused when pam_min_uid is 0" \
    "DENIED" "$(auth root root-pw -s paprika -u 0)"
is "pam_allow_root lets root in" "OK root" \
    "$(auth root root-pw -N -r -s paprika -u 1000)"
is "an account below pam_min_uid is refused with the right password" \
    "DENIED: sysacct is a system account (uid 500, pam_min_uid 1000)" \
    "$(auth sysacct sys-pw -N -s paprika -u 1000)"
is "a lower pam_min_uid lets it in" \
    "OK sysacct" "$(auth sysacct sys-pw -N -s paprika -u 500)"
is "a user above pam_min_uid logs in" \
    "OK pamuser" "$(auth pamuser pam-pw -N -s paprika -u 1000)"
is "a name PAM maps to root is refused after the password" \
    "DENIED: root has uid 0 (pam_allow_root is off)" \
    "$(PAM_USER=root auth alias alias-pw -N -s mapped -u 1000)"

# Items: modules see the client's address and the broker's tty.
: >"$T/items"
auth pamuser pam-pw -s paprika -h 192.0.2.7 >/dev/null
is "PAM modules see PAM_RHOST (the client) and PAM_TTY (paprika)" \
    "auth pamuser rhost=192.0.2.7 tty=paprika" "$(cat "$T/items")"

# PAM's failure delay does not put the checking thread to sleep.
t0=$(date +%s%N)
out=$(auth pamuser wrong-pw -s slow)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "a failure under pam_faildelay (3 s) is DENIED" "DENIED" "$out"
is "at once: $ms ms, not the 3 s PAM asked for" "yes" \
    "$([ "$ms" -lt 1500 ] && echo yes)"

# The shipped service: common-auth and common-account decide.
is "the shipped service file: the right password logs in" \
    "OK pam pamusers,staff,vdi-users" \
    "$(PAM_WRAPPER_SERVICE_DIR=$T/shipped auth pamuser pam-pw -s paprika)"
is "the shipped service file: a wrong one does not" "DENIED" \
    "$(PAM_WRAPPER_SERVICE_DIR=$T/shipped auth pamuser pam-pwx -s paprika)"
is "the shipped service file: the account check runs" "DENIED" \
    "$(PAM_WRAPPER_SERVICE_DIR=$T/shipped auth expired exp-pw -s paprika)"

finish
