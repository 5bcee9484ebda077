#!/bin/bash
# SPDX-License-Identifier: ISC
# Integration test of certs/paprika-certs: file layout and modes, chains,
# SANs, refusal to overwrite, --force, --only, ticket key rotation, the
# libvirt part, a TLS handshake with the gateway certificate and QEMU
# serving SPICE TLS from the spice/ x509 directory.

set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
CERTS=$top_srcdir/certs/paprika-certs
PYTHON3=${PYTHON3:-python3}

pass=0
fail=0
PIDS=()
T=$(mktemp -d "${TMPDIR:-/tmp}/test-certs.XXXXXX") || exit 1

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf -- "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

ok() {
	pass=$((pass + 1))
	echo "ok - $1"
}

not_ok() {
	fail=$((fail + 1))
	echo "not ok - $1"
	if [ $# -gt 1 ] && [ -n "$2" ]; then
		printf '%s\n' "$2" | sed 's/^/#   /'
	fi
}

# verdict DESCRIPTION STATUS: passes when STATUS is 0.
verdict() {
	if [ "$2" -eq 0 ]; then
		ok "$1"
	else
		not_ok "$1"
	fi
}

# quiet COMMAND...: COMMAND with its output dropped (a redirection after
# "check ..." would drop check's own result line too).
quiet() {
	"$@" >/dev/null 2>&1
}

# check DESCRIPTION COMMAND...: passes when COMMAND exits 0.
check() {
	local what=$1
	shift
	if "$@"; then
		ok "$what"
	else
		not_ok "$what"
	fi
}

free_port() {
	"$PYTHON3" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Waits up to 5 s until something listens on 127.0.0.1:$1.
wait_port() {
	local tries=50
	while [ "$tries" -gt 0 ]; do
		tries=$((tries - 1))
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

mode_of() {
	stat -c '%a' -- "$1" 2>/dev/null
}

# check_modes: for each "PATH MODE" line on stdin, passes when $P/PATH
# exists with that mode.
check_modes() {
	local f mode
	while read -r f mode; do
		if [ ! -e "$P/$f" ]; then
			not_ok "$f exists"
		elif [ "$(mode_of "$P/$f")" != "$mode" ]; then
			not_ok "$f has mode $mode" "mode is $(mode_of "$P/$f")"
		else
			ok "$f exists, mode $mode"
		fi
	done
}

sums() {
	(cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum)
}

san_of() {
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null
}

key_ids() {
	find "$1" -maxdepth 1 -name '*.key' -printf '%f\n' | sed 's/\.key$//' |
	    sort -n | tr '\n' ' ' 
}

if ! command -v openssl >/dev/null; then
	echo "not ok - openssl is not installed (scripts/deps.sh installs it)"
	echo "1..1"
	exit 1
fi

P=$T/pki
OUT=$T/out

# ---- a full run ----

"$CERTS" --dns gw.test --dns broker.test --ip 127.0.0.1 --ip ::1 \
    --spice-name hv1 --spice-ip 127.0.0.1 "$P" >"$OUT" 2>&1
rc=$?
check "paprika-certs exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$OUT"

check_modes <<'EOF'
ca/ca-cert.pem 644
ca/ca-key.pem 600
gateway/gateway-cert.pem 644
gateway/gateway-key.pem 600
broker/broker-cert.pem 644
broker/broker-key.pem 600
spice/ca-cert.pem 644
spice/server-cert.pem 644
spice/server-key.pem 600
ticket-keys/1.key 600
broker/totp.key 600
EOF
for d in ca:700 ticket-keys:700 gateway:755 broker:755 spice:755; do
	check "directory ${d%:*} has mode ${d#*:}" \
	    [ "$(mode_of "$P/${d%:*}")" = "${d#*:}" ]
done
check "no staging directory left behind" \
    [ -z "$(find "$P" -maxdepth 1 -name '.paprika-certs*')" ]

for c in gateway/gateway-cert.pem broker/broker-cert.pem spice/server-cert.pem; do
	v=$(openssl verify -CAfile "$P/ca/ca-cert.pem" "$P/$c" 2>&1)
	check "$c verifies against the CA" [ "$v" = "$P/$c: OK" ]
done
check "spice/ca-cert.pem is the CA" cmp -s "$P/ca/ca-cert.pem" "$P/spice/ca-cert.pem"
for pair in gateway/gateway broker/broker spice/server; do
	cpub=$(openssl x509 -in "$P/$pair-cert.pem" -noout -pubkey 2>/dev/null)
	kpub=$(openssl pkey -in "$P/$pair-key.pem" -pubout 2>/dev/null)
	[ -n "$cpub" ] && [ "$cpub" = "$kpub" ]
	verdict "$pair-key.pem matches its certificate" $?
done
check "the SPICE key is RSA" \
    sh -c "openssl pkey -in '$P/spice/server-key.pem' -noout -text | grep -q 'Private-Key: (3072 bit'"
check "the CA is CA:TRUE" \
    sh -c "openssl x509 -in '$P/ca/ca-cert.pem' -noout -ext basicConstraints | grep -q 'CA:TRUE'"

for c in gateway/gateway-cert.pem broker/broker-cert.pem; do
	san=$(san_of "$P/$c")
	for want in DNS:gw.test DNS:broker.test "IP Address:127.0.0.1" \
	    "IP Address:0:0:0:0:0:0:0:1"; do
		check "$c has SAN $want" grep -qF "$want" <<<"$san"
	done
	check "$c is for serverAuth" sh -c "openssl x509 -in '$P/$c' -noout \
	    -ext extendedKeyUsage | grep -q 'TLS Web Server Authentication'"
done
san=$(san_of "$P/spice/server-cert.pem")
check "spice/server-cert.pem has SAN DNS:hv1" grep -qF DNS:hv1 <<<"$san"
check "spice/server-cert.pem has SAN IP 127.0.0.1" grep -qF "IP Address:127.0.0.1" <<<"$san"

printed=$(sed -n 's/^host-subject=//p' "$OUT")
subject=$(openssl x509 -in "$P/spice/server-cert.pem" -noout -subject \
    -nameopt sep_comma_plus | sed 's/^subject=//')
check "printed host-subject is O=Paprika,CN=hv1" [ "$printed" = "O=Paprika,CN=hv1" ]
check "host-subject equals the SPICE certificate subject" [ "$printed" = "$subject" ]

key=$(cat "$P/ticket-keys/1.key")
check "ticket key is 64 lower-case hex characters" \
    grep -qxE '[0-9a-f]{64}' <<<"$key"
[ "$(wc -l <"$P/ticket-keys/1.key")" -eq 1 ] &&
    [ "$(wc -c <"$P/ticket-keys/1.key")" -eq 65 ]
verdict "ticket key file is one line" $?
check "the broker's TOTP key is 64 lower-case hex characters, its own" \
    grep -qxE '[0-9a-f]{64}' "$P/broker/totp.key"
check "and not the ticket key" [ "$(cat "$P/broker/totp.key")" != "$key" ]

# ---- no overwrite without --force ----

before=$(sums "$P")
"$CERTS" --dns gw.test "$P" >"$T/out2" 2>&1
rc=$?
check "a second run without --force exits 1" [ "$rc" -eq 1 ]
check "it names an existing file" grep -q 'gateway/gateway-cert.pem exists' "$T/out2"
check "it changed nothing" [ "$before" = "$(sums "$P")" ]
check "it left no staging directory" \
    [ -z "$(find "$P" -maxdepth 1 -name '.paprika-certs*')" ]

# ---- --only adds a part with the existing CA ----

ca_sum=$(sha256sum <"$P/ca/ca-cert.pem")
rm -rf -- "${P:?}/broker"
"$CERTS" --only broker --dns broker.test "$P" >"$T/out3" 2>&1
check "--only broker remakes a missing part" [ -f "$P/broker/broker-cert.pem" ]
check "--only reuses the CA and says so" grep -q 'reusing the existing CA' "$T/out3"
check "the CA is unchanged" [ "$ca_sum" = "$(sha256sum <"$P/ca/ca-cert.pem")" ]
check "the new broker certificate verifies" \
    quiet openssl verify -CAfile "$P/ca/ca-cert.pem" "$P/broker/broker-cert.pem"
check "--only broker does not make a TOTP key" [ ! -e "$P/broker/totp.key" ]
broker_sum=$(sha256sum <"$P/broker/broker-key.pem")
"$CERTS" --only totp-key "$P" >"$T/out3b" 2>&1
check "--only totp-key adds the broker's TOTP key, mode 600" \
    [ "$(mode_of "$P/broker/totp.key")" = 600 ]
check "and leaves the broker's key alone" \
    [ "$broker_sum" = "$(sha256sum <"$P/broker/broker-key.pem")" ]
"$CERTS" --only totp-key "$P" >"$T/out3c" 2>&1
check "a second --only totp-key without --force is refused: enrolments depend on it" \
    grep -q 'broker/totp.key exists' "$T/out3c"

# ---- bad input ----

"$CERTS" --ip 300.1.1.1 "$T/bad1" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] && [ ! -e "$T/bad1" ]
verdict "a bad IP address is refused (exit 2, nothing made)" $?
"$CERTS" --ip ::1::2 "$T/bad1" >/dev/null 2>&1
check "a bad IPv6 address is refused" [ $? -eq 2 ]
"$CERTS" --days 0 "$T/bad1" >/dev/null 2>&1
check "--days 0 is refused" [ $? -eq 2 ]
"$CERTS" --days ten "$T/bad1" >/dev/null 2>&1
check "--days ten is refused" [ $? -eq 2 ]
touch "$T/afile"
err=$("$CERTS" "$T/afile/sub" 2>&1 >/dev/null)
"$CERTS" "$T/afile/sub" >/dev/null 2>&1
rc=$?
[ -n "$err" ] && [ "$rc" -eq 1 ]
verdict "an unusable DIR fails with a message (exit 1)" $?

# ---- defaults ----

"$CERTS" --only gateway "$T/def" >/dev/null 2>&1
san=$(san_of "$T/def/gateway/gateway-cert.pem")
grep -qF "DNS:localhost" <<<"$san" &&
    grep -qF "IP Address:127.0.0.1" <<<"$san" &&
    grep -qF "IP Address:0:0:0:0:0:0:0:1" <<<"$san"
verdict "default SANs have localhost, 127.0.0.1 and ::1" $?

# ---- --force ----

before=$(sums "$P")
"$CERTS" --force --dns gw.test --ip 127.0.0.1 --spice-name hv1 \
    --spice-ip 127.0.0.1 "$P" >"$T/out4" 2>&1
check "--force exits 0" [ $? -eq 0 ]
same=$(LC_ALL=C comm -12 <(printf '%s\n' "$before" | LC_ALL=C sort) \
    <(sums "$P" | LC_ALL=C sort))
check "--force replaced every file" [ -z "$same" ]
[ -z "$same" ] || printf '%s\n' "$same" | sed 's/^/#   unchanged: /'
check "--force kept the file list" [ "$(cut -c67- <<<"$before")" = "$(sums "$P" | cut -c67-)" ]
check "--force made a new CA" [ "$ca_sum" != "$(sha256sum <"$P/ca/ca-cert.pem")" ]
check "after --force the gateway certificate verifies" \
    quiet openssl verify -CAfile "$P/ca/ca-cert.pem" "$P/gateway/gateway-cert.pem"

# ---- ticket key rotation ----

K=$P/ticket-keys
"$CERTS" --rotate-ticket-key "$P" >"$T/rot1" 2>&1
check "rotation 1 exits 0" [ $? -eq 0 ]
check "rotation 1 keeps keys 1 and 2" [ "$(key_ids "$K")" = "1 2 " ]
check "rotation says what it added" grep -q 'added .*2\.key' "$T/rot1"
check "rotation 1 stages the new key: key 1 still signs" \
    [ "$(cat "$K/signing")" = 1 ]
check "rotation 1 says it is staged" grep -q 'staged' "$T/rot1"
"$CERTS" --rotate-ticket-key "$P" >"$T/rot2" 2>&1
check "rotation 2 keeps keys 2 and 3, and key 1 that signs" \
    [ "$(key_ids "$K")" = "1 2 3 " ]
"$CERTS" --sign-with-ticket-key 3 "$P" >/dev/null 2>&1
check "--sign-with-ticket-key 3 moves the signing key" [ "$(cat "$K/signing")" = 3 ]
"$CERTS" --sign-with-ticket-key 9 "$P" >/dev/null 2>&1
check "--sign-with-ticket-key refuses a key that does not exist" [ $? -eq 1 ]
check "and leaves the signing key alone" [ "$(cat "$K/signing")" = 3 ]
"$CERTS" --rotate-ticket-key "$P" >"$T/rot3" 2>&1
check "rotation 3 keeps keys 3 and 4" [ "$(key_ids "$K")" = "3 4 " ]
check "rotation says what it removed" grep -q 'removed .*1\.key' "$T/rot3"
check "rotated key 4 has mode 600" [ "$(mode_of "$K/4.key")" = 600 ]
check "rotated key 4 is 64 hex characters" grep -qxE '[0-9a-f]{64}' "$K/4.key"
! cmp -s "$K/3.key" "$K/4.key"
verdict "keys 3 and 4 differ" $?
check "rotation leaves no temporary file" [ -z "$(find "$K" -name '.*')" ]
"$CERTS" --only ticket-key "$P" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 1 ] && [ "$(key_ids "$K")" = "3 4 " ]
verdict "--only ticket-key refuses while keys exist" $?

# ---- --only libvirt: libvirt's TLS PKI for qemu+tls:// ----
# (libvirtd itself serving with these files: test-certs-libvirt.py)

check "the default set makes no libvirt/" [ ! -e "$P/libvirt" ]
"$CERTS" --only libvirt --spice-name hv1 --spice-ip 127.0.0.1 --spice-ip ::1 \
    "$P" >"$T/lv" 2>&1
rc=$?
check "--only libvirt exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/lv"
check "--only libvirt reuses the CA" grep -q 'reusing the existing CA' "$T/lv"
check_modes <<'EOF'
libvirt 755
libvirt/client 755
libvirt/server 755
libvirt/client/cacert.pem 644
libvirt/client/clientcert.pem 644
libvirt/client/clientkey.pem 600
libvirt/server/cacert.pem 644
libvirt/server/servercert.pem 644
libvirt/server/serverkey.pem 600
EOF
L=$P/libvirt
for d in client server; do
	check "libvirt/$d/cacert.pem is the CA" cmp -s "$P/ca/ca-cert.pem" "$L/$d/cacert.pem"
done
for pair in client/client server/server; do
	cpub=$(openssl x509 -in "$L/${pair}cert.pem" -noout -pubkey 2>/dev/null)
	kpub=$(openssl pkey -in "$L/${pair}key.pem" -pubout 2>/dev/null)
	[ -n "$cpub" ] && [ "$cpub" = "$kpub" ]
	verdict "libvirt/${pair}key.pem matches its certificate" $?
done
v=$(openssl verify -purpose sslclient -CAfile "$P/ca/ca-cert.pem" \
    "$L/client/clientcert.pem" 2>&1)
check "the libvirt client certificate verifies for sslclient" \
    [ "$v" = "$L/client/clientcert.pem: OK" ]
v=$(openssl verify -purpose sslserver -CAfile "$P/ca/ca-cert.pem" \
    "$L/server/servercert.pem" 2>&1)
check "the libvirtd certificate verifies for sslserver" \
    [ "$v" = "$L/server/servercert.pem: OK" ]
! openssl verify -purpose sslserver -CAfile "$P/ca/ca-cert.pem" \
    "$L/client/clientcert.pem" >/dev/null 2>&1
verdict "the client certificate is not a server's" $?
! openssl verify -purpose sslclient -CAfile "$P/ca/ca-cert.pem" \
    "$L/server/servercert.pem" >/dev/null 2>&1
verdict "nor the server certificate a client's" $?
! openssl verify -purpose sslclient -CAfile "$T/other/ca/ca-cert.pem" \
    "$L/client/clientcert.pem" >/dev/null 2>&1
verdict "the client certificate does not verify against another CA" $?
for c in client/clientcert server/servercert; do
	# libvirt 9.0 refuses a critical keyUsage without keyEncipherment.
	check "libvirt/$c.pem allows digitalSignature and keyEncipherment" \
	    sh -c "openssl x509 -in '$L/$c.pem' -noout -ext keyUsage |
	    grep -q 'Digital Signature, Key Encipherment'"
done
san=$(san_of "$L/server/servercert.pem")
for want in DNS:hv1 "IP Address:127.0.0.1" "IP Address:0:0:0:0:0:0:0:1"; do
	check "libvirt/server/servercert.pem has SAN $want" grep -qF "$want" <<<"$san"
done
subject=$(openssl x509 -in "$L/client/clientcert.pem" -noout -subject \
    -nameopt sep_comma_plus | sed 's/^subject=//')
check "the client certificate is O=Paprika,OU=Libvirt client,CN=paprika-brokerd" \
    [ "$subject" = "O=Paprika,OU=Libvirt client,CN=paprika-brokerd" ]
check "it prints tls_allowed_dn_list with that subject" \
    grep -qxF "tls_allowed_dn_list = [\"$subject\"]" "$T/lv"
check "it prints the broker's uri with pkipath" \
    grep -qxF "uri = qemu+tls://hv1/system?pkipath=$L/client" "$T/lv"
for k in key_file:server/serverkey cert_file:server/servercert ca_file:server/cacert; do
	check "it prints libvirtd.conf's ${k%%:*}" \
	    grep -qxF "${k%%:*} = \"$L/${k#*:}.pem\"" "$T/lv"
done
before=$(sums "$L")
"$CERTS" --only libvirt --spice-name hv1 "$P" >"$T/lv2" 2>&1
rc=$?
[ "$rc" -eq 1 ] && [ "$before" = "$(sums "$L")" ]
verdict "a second --only libvirt without --force is refused, nothing changed" $?
check "it names an existing libvirt file" grep -q 'libvirt/client/clientcert.pem exists' "$T/lv2"
"$CERTS" --only libvirt --force --spice-name hv2 "$P" >"$T/lv3" 2>&1
san=$(san_of "$L/server/servercert.pem")
check "--only libvirt --force reissues it (SAN DNS:hv2)" grep -qF DNS:hv2 <<<"$san"
"$CERTS" --only libvirt --key-type rsa --spice-name hv1 "$T/lvrsa" >/dev/null 2>&1
check "--key-type rsa makes RSA libvirt keys" \
    sh -c "openssl pkey -in '$T/lvrsa/libvirt/client/clientkey.pem' -noout -text |
    grep -q 'Private-Key: (3072 bit'"
"$CERTS" --force --dns gw.test --ip 127.0.0.1 --spice-name hv1 \
    --spice-ip 127.0.0.1 "$P" >"$T/lv4" 2>&1
check "--force with a new CA warns that libvirt/ is signed by the old one" \
    grep -q 'warning: .*libvirt/.*old CA' "$T/lv4"

# ---- --only control: the broker's client certificate for control_listen ----
# (a gateway refusing and accepting it: test-gateway-remote.py)

check "the default set makes no control certificate" [ ! -e "$P/broker/control-cert.pem" ]
"$CERTS" --only control "$P" >"$T/ctl" 2>&1
rc=$?
check "--only control exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/ctl"
check_modes <<'EOF'
broker/control-cert.pem 644
broker/control-key.pem 600
EOF
C=$P/broker/control-cert.pem
cpub=$(openssl x509 -in "$C" -noout -pubkey 2>/dev/null)
kpub=$(openssl pkey -in "$P/broker/control-key.pem" -pubout 2>/dev/null)
[ -n "$cpub" ] && [ "$cpub" = "$kpub" ]
verdict "broker/control-key.pem matches its certificate" $?
v=$(openssl verify -purpose sslclient -CAfile "$P/ca/ca-cert.pem" "$C" 2>&1)
check "the control certificate verifies for sslclient" [ "$v" = "$C: OK" ]
! openssl verify -purpose sslserver -CAfile "$P/ca/ca-cert.pem" "$C" \
    >/dev/null 2>&1
verdict "the control certificate is not a server's" $?
! openssl verify -purpose sslclient -CAfile "$T/other/ca/ca-cert.pem" "$C" \
    >/dev/null 2>&1
verdict "the control certificate does not verify against another CA" $?
subject=$(openssl x509 -in "$C" -noout -subject -nameopt sep_comma_plus |
    sed 's/^subject=//')
check "the control certificate is O=Paprika,OU=Gateway control,CN=paprika-brokerd" \
    [ "$subject" = "O=Paprika,OU=Gateway control,CN=paprika-brokerd" ]
check "it prints control_clients with that subject" \
    grep -qxF "control_clients = $subject" "$T/ctl"
before=$(sums "$P/broker")
"$CERTS" --only control "$P" >"$T/ctl2" 2>&1
rc=$?
[ "$rc" -eq 1 ] && [ "$before" = "$(sums "$P/broker")" ]
verdict "a second --only control without --force is refused, nothing changed" $?
"$CERTS" --force --dns gw.test --ip 127.0.0.1 --spice-name hv1 \
    --spice-ip 127.0.0.1 "$P" >"$T/ctl3" 2>&1
check "--force with a new CA warns that the control certificate is signed by the old one" \
    grep -q 'warning: .*control-cert.pem.*old CA' "$T/ctl3"

# ---- --owner (needs root and the nobody account) ----

if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 &&
    getent group nogroup >/dev/null 2>&1; then
	"$CERTS" --owner nobody:nogroup --spice-owner nobody:nogroup \
	    "$T/own" >/dev/null 2>&1
	check "--owner exits 0" [ $? -eq 0 ]
	# The gateway's user reads what the gateway reads, as group-readable
	# files it does not own, and never the broker's key.
	for f in gateway/gateway-key.pem ticket-keys/1.key; do
		check "--owner: $f is root:nogroup 640" \
		    [ "$(stat -c '%U:%G %a' "$T/own/$f")" = "root:nogroup 640" ]
	done
	check "--owner: the broker's key stays root's alone" \
	    [ "$(stat -c '%U:%G %a' "$T/own/broker/broker-key.pem")" = "root:root 600" ]
	check "--owner: so does the broker's TOTP key" \
	    [ "$(stat -c '%U:%G %a' "$T/own/broker/totp.key")" = "root:root 600" ]
	check "--spice-owner: spice/server-key.pem is nobody:nogroup 640" \
	    [ "$(stat -c '%U:%G %a' "$T/own/spice/server-key.pem")" = "nobody:nogroup 640" ]
	check "--owner: ticket-keys/ is group nogroup, 750" \
	    [ "$(stat -c '%G %a' "$T/own/ticket-keys")" = "nogroup 750" ]
	check "--owner: the CA key stays private" \
	    [ "$(stat -c '%U %a' "$T/own/ca/ca-key.pem")" = "root 600" ]
	"$CERTS" --rotate-ticket-key "$T/own" >/dev/null 2>&1
	check "rotation keeps the owner and mode of the newest key" \
	    [ "$(stat -c '%U:%G %a' "$T/own/ticket-keys/2.key")" = "root:nogroup 640" ]
	"$CERTS" --rotate-ticket-key --owner nobody "$T/own" >/dev/null 2>&1
	check "rotation with --owner: a group-readable key the caller owns" \
	    [ "$(stat -c '%U:%G %a' "$T/own/ticket-keys/3.key")" = "root:nogroup 640" ]
	"$CERTS" --only libvirt --owner nobody:nogroup --spice-name hv1 \
	    "$T/own" >/dev/null 2>&1
	check "--owner: the broker's libvirt client key stays root's alone" \
	    [ "$(stat -c '%U:%G %a' "$T/own/libvirt/client/clientkey.pem")" = "root:root 600" ]
else
	echo "# skipping --owner checks (not root or no nobody:nogroup)"
fi

# ---- a TLS handshake with the gateway certificate ----

"$CERTS" --only ticket-key "$T/other" >/dev/null 2>&1	# another CA
port=$(free_port)
openssl s_server -quiet -accept "127.0.0.1:$port" \
    -cert "$P/gateway/gateway-cert.pem" -key "$P/gateway/gateway-key.pem" \
    </dev/null >"$T/s_server.log" 2>&1 &
PIDS+=($!)
if wait_port "$port"; then
	timeout 10 openssl s_client -connect "127.0.0.1:$port" \
	    -CAfile "$P/ca/ca-cert.pem" -verify_return_error -verify_ip 127.0.0.1 \
	    </dev/null >"$T/s_client.log" 2>&1
	rc=$?
	check "TLS to the gateway certificate verifies (CA, IP 127.0.0.1)" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || tail -5 "$T/s_client.log" | sed 's/^/#   /'
	timeout 10 openssl s_client -connect "127.0.0.1:$port" \
	    -CAfile "$P/ca/ca-cert.pem" -verify_return_error \
	    -verify_hostname gw.test </dev/null >/dev/null 2>&1
	check "TLS to the gateway certificate verifies (name gw.test)" [ $? -eq 0 ]
	timeout 10 openssl s_client -connect "127.0.0.1:$port" \
	    -CAfile "$T/other/ca/ca-cert.pem" -verify_return_error \
	    -verify_ip 127.0.0.1 </dev/null >/dev/null 2>&1
	check "TLS with a different CA fails" [ $? -ne 0 ]
	timeout 10 openssl s_client -connect "127.0.0.1:$port" \
	    -CAfile "$P/ca/ca-cert.pem" -verify_return_error \
	    -verify_ip 10.255.255.1 </dev/null >/dev/null 2>&1
	check "TLS to an address not in the SANs fails" [ $? -ne 0 ]
else
	not_ok "openssl s_server listens" "$(cat "$T/s_server.log")"
fi

# ---- QEMU serves SPICE TLS from the spice/ x509 dir ----

if command -v qemu-system-x86_64 >/dev/null; then
	port=$(free_port)
	qemu-system-x86_64 -machine none -display none -nodefaults \
	    -spice "tls-port=$port,addr=127.0.0.1,x509-dir=$P/spice,disable-ticketing=on" \
	    </dev/null >"$T/qemu.log" 2>&1 &
	PIDS+=($!)
	if wait_port "$port"; then
		timeout 10 openssl s_client -connect "127.0.0.1:$port" \
		    -CAfile "$P/spice/ca-cert.pem" -verify_return_error \
		    </dev/null >"$T/s_client.log" 2>&1
		rc=$?
		check "QEMU accepts spice/ and its SPICE TLS handshake verifies" [ "$rc" -eq 0 ]
		[ "$rc" -eq 0 ] || tail -5 "$T/s_client.log" | sed 's/^/#   /'
		peer=$(openssl s_client -connect "127.0.0.1:$port" -showcerts \
		    </dev/null 2>/dev/null | openssl x509 -noout -subject \
		    -nameopt sep_comma_plus 2>/dev/null | sed 's/^subject=//')
		check "QEMU presents the certificate host-subject pins" [ "$peer" = "$printed" ]
		timeout 10 openssl s_client -connect "127.0.0.1:$port" \
		    -CAfile "$T/other/ca/ca-cert.pem" -verify_return_error \
		    </dev/null >/dev/null 2>&1
		check "SPICE TLS with a different CA fails" [ $? -ne 0 ]
	else
		not_ok "QEMU listens on the SPICE tls-port" "$(cat "$T/qemu.log")"
	fi
else
	not_ok "qemu-system-x86_64 is installed"
fi

# The TAP plan: tap-driver.sh counts the checks.
echo "# $pass passed, $fail failed"
echo "1..$((pass + fail))"
[ "$fail" -eq 0 ]
