#!/bin/bash
# SPDX-License-Identifier: ISC
# paprika-users: each command, the file it writes (mode, comments, no
# temporary files left) and logins through the broker's auth_check.

set -u
. "$(dirname "$0")/auth-lib.sh"

F=$T/users

# run ARGS...: paprika-users on $F, stdin from $IN; prints the exit status.
run() {
	printf '%s' "${IN-}" | "$USERS" -f "$F" "$@" >"$T/out" 2>"$T/err"
	echo $?
}

printf '# Paprika users\n\n' >"$F"
chmod 600 "$F"
IN=$'pw-alice\n' 
is "add --stdin exits 0" 0 "$(run add alice --groups staff,vdi --stdin)"
is "add keeps the comment and the blank line" \
    $'# Paprika users\n' "$(head -2 "$F")"$'\n'
is "the file has mode 600" 600 "$(stat -c %a "$F")"
is "the file holds an argon2id hash" 1 "$(grep -c '^alice:\$argon2id\$.*:staff,vdi$' "$F")"
is "list shows the user and groups" $'alice\tstaff,vdi' \
    "$("$USERS" -f "$F" list)"
is "the password logs in, with the groups" "OK local staff,vdi" \
    "$(auth alice pw-alice -f "$F")"
is "another password does not" "DENIED" "$(auth alice pw-bob -f "$F")"

IN=$'pw-bob\n'
is "add a second user (no groups)" 0 "$(run add bob --stdin)"
is "list shows both, in file order" $'alice\tstaff,vdi\nbob\t' \
    "$("$USERS" -f "$F" list)"
is "add of an existing user exits 1" 1 "$(run add alice --stdin)"
is "and says so" "paprika-users: $F: user alice exists (use passwd or groups)" \
    "$(cat "$T/err")"
is "add of a case variant exits 1: the broker would take it for alice" 1 \
    "$(run add ALICE --stdin)"
is "and names the user it clashes with" \
    "paprika-users: $F: user alice exists (use passwd or groups)" \
    "$(cat "$T/err")"

IN=$'new-pw\n'
is "passwd --stdin exits 0" 0 "$(run passwd alice --stdin)"
is "the new password logs in, groups kept" "OK local staff,vdi" \
    "$(auth alice new-pw -f "$F")"
is "the old one does not" "DENIED" "$(auth alice pw-alice -f "$F")"
is "bob's password is unchanged" "OK local" "$(auth bob pw-bob -f "$F")"
is "passwd of an unknown user exits 1" 1 "$(run passwd carol --stdin)"
IN=$'case-pw\n'
is "passwd of a case variant changes alice's password" 0 \
    "$(run passwd Alice --stdin)"
is "and keeps the name as the file spells it" 1 "$(grep -c '^alice:' "$F")"
is "the new password logs in as alice, given in any case" "OK local staff,vdi" \
    "$(auth ALICE case-pw -f "$F")"
IN=$'new-pw\n'
is "passwd back" 0 "$(run passwd alice --stdin)"

IN=
is "groups exits 0" 0 "$(run groups alice admins,vdi)"
is "login shows the new groups" "OK local admins,vdi" \
    "$(auth alice new-pw -f "$F")"
is "groups \"\" clears them" 0 "$(run groups alice "")"
is "login shows no groups" "OK local" "$(auth alice new-pw -f "$F")"
is "a bad group list exits 2" 2 "$(run groups alice "a,,b")"
is "a bad group list changes nothing" $'alice\t\nbob\t' \
    "$("$USERS" -f "$F" list)"

chmod 640 "$F"
is "del exits 0" 0 "$(run del alice)"
is "del keeps a group-readable file group-readable" 640 "$(stat -c %a "$F")"
is "list shows the rest" $'bob\t' "$("$USERS" -f "$F" list)"
is "the deleted user is DENIED" "DENIED" "$(auth alice new-pw -f "$F")"
is "del of a missing user exits 1" 1 "$(run del alice)"
is "the comment is still there" "# Paprika users" "$(head -1 "$F")"
is "no temporary file is left" "users" "$(ls "$T" | grep users)"

is "an invalid name exits 2" 2 "$(run add 'bad name' --stdin)"
is "and says why" 1 "$(grep -c 'invalid user name "bad name"' "$T/err")"
is "no command exits 2" 2 "$(run)"
is "an unknown command exits 2" 2 "$(run rename bob carol)"
is "an unknown option exits 2" 2 "$(run list --all)"
IN=$'\n'
is "an empty password exits 1" 1 "$(run add carol --stdin)"
IN=
is "no password at all exits 1" 1 "$(run add carol --stdin)"
is "without a terminal, add without --stdin exits 1" 1 \
    "$(setsid "$USERS" -f "$F" add carol </dev/null >/dev/null 2>&1; echo $?)"
is "carol was not added" $'bob\t' "$("$USERS" -f "$F" list)"

chmod 644 "$F"
is "a world-readable file is refused" 1 "$(run list)"
is "with a message naming the file" \
    "paprika-users: $F: users file is accessible by others (mode 0644): chmod 600 or 640" \
    "$(cat "$T/err")"
chmod 600 "$F"
echo 'broken line' >>"$F"
is "a file with a bad line is refused" 1 "$(run del bob)"
is "with file:line" "paprika-users: $F:4: expected name:hash:groups" \
    "$(cat "$T/err")"

F=$T/new
IN=$'pw\n'
is "add creates a missing file" 0 "$(run add dave --stdin)"
is "with mode 600" 600 "$(stat -c %a "$F")"
F=$T/none
is "list of a missing file exits 1" 1 "$(run list)"

# What each program links: paprika-users and paprikactl belong on hosts
# without libvirt, SQLite or PAM; the broker-side commands they hand to
# paprika-brokertool tell the user where to run them when it is missing.
bin=$(dirname "$USERS")
links() { ldd "$1" | grep -oE 'lib(virt|sqlite3|pam|xml2)[^ ]*' | sort -u | tr '\n' ' '; }
is "paprika-users links no libvirt, SQLite, PAM or libxml2" "" "$(links "$USERS")"
is "paprikactl links none of them either" "" "$(links "$bin/paprikactl")"
is "paprika-brokertool, which reads the broker's state, links SQLite" \
    1 "$(links "$bin/paprika-brokertool" | grep -c sqlite3)"
mkdir "$T/lonely"
cp "$USERS" "$bin/paprikactl" "$T/lonely/"
"$T/lonely/paprika-users" totp status alice >"$T/out" 2>"$T/err"
is "totp without paprika-brokertool exits 127" 127 "$?"
is "and says where to run it" 1 \
    "$(grep -c "^paprika-users: cannot run .*paprika-brokertool.*run this command on the broker's host" "$T/err")"
"$T/lonely/paprikactl" gpus >"$T/out" 2>"$T/err"
is "paprikactl gpus without it exits 127, naming itself" 1 \
    "$(grep -c "^paprikactl: cannot run .*paprika-brokertool" "$T/err")"

finish
