#!/bin/bash
# The broker's auth_check through a real PAM stack: pam_wrapper loads a
# service file naming pam_matrix (users and passwords in a text file, and
# an account check that the user may use the service); nss_wrapper gives
# the PAM users their passwd entries and groups.

set -u
. "$(dirname "$0")/auth-lib.sh"

# Their .pc files give each library's path as its "Libs" (and a space).
pam_wrapper=$(pkg-config --libs pam_wrapper 2>/dev/null | tr -d ' ')
nss_wrapper=$(pkg-config --libs nss_wrapper 2>/dev/null | tr -d ' ')
pam_modules=$(pkg-config --variable=modules pam_wrapper 2>/dev/null)
if [ ! -f "$pam_wrapper" ] || [ ! -f "$nss_wrapper" ] ||
    [ ! -f "$pam_modules/pam_matrix.so" ]; then
	echo "not ok - pam_wrapper and nss_wrapper are installed" \
	    "(libpam-wrapper libnss-wrapper, scripts/deps.sh)"
	finish
	exit 1
fi

# pam_matrix: user:password:service. "expired" may not use "paprika", so
# its right password fails in pam_acct_mgmt; "ghost" has no passwd entry.
cat >"$T/passdb" <<'PASSDB'
pamuser:pam-pw:paprika
expired:exp-pw:another-service
ghost:ghost-pw:paprika
both:pam-side-pw:paprika
PASSDB
mkdir "$T/services"
for kind in auth account; do
	echo "$kind required $pam_modules/pam_matrix.so passdb=$T/passdb"
done >"$T/services/paprika"
for kind in auth account; do
	echo "$kind required $pam_modules/pam_matrix.so passdb=$T/missing"
done >"$T/services/broken"

cat >"$T/passwd" <<'PASSWD'
pamuser:x:2001:2001:PAM user:/nonexistent:/bin/false
expired:x:2002:2001:Expired:/nonexistent:/bin/false
both:x:2003:2001:Local and PAM:/nonexistent:/bin/false
PASSWD
cat >"$T/group" <<'GROUP'
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

finish
