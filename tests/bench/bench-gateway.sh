#!/bin/bash
# SPDX-License-Identifier: ISC
# bench-gateway.sh: `make bench` for paprika-gatewayd. In one run, on this
# machine, measures the gateway side by side with the proxies a user would
# pick instead (HAProxy and stunnel terminating TLS, squid's plain CONNECT)
# and raw loopback TCP, then prints one table with the ratios.
# tests/bench/README.md explains every figure. Loopback only; every wait is
# bounded; every process started here is stopped here.
#
# Knobs (environment): BENCH_QUICK=1 for a short run, BENCH_BYTES (2G),
# BENCH_REPEAT (3), BENCH_LATENCY_N (5000), BENCH_LATENCY_ROUNDS (10),
# BENCH_HOLD_N (8000), BENCH_HOLD_PARALLEL (64), BENCH_SPEED_SECONDS (3),
# BENCH_PEERS ("haproxy stunnel squid raw"), BENCH_CIPHERSUITES
# (TLS_AES_128_GCM_SHA256),
# BENCH_SETTLE (2 seconds), BENCH_STREAMS (16), BENCH_RATE_N (4000),
# BENCH_KEEP=1 keeps the temporary directory, BENCH_ONLY ("memory latency
# throughput concurrency": the sections to run; memory figures stay steady
# on a busy machine, so "memory" alone is a quick check).
set -u
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
LOADGEN=${LOADGEN:-$top_builddir/tests/bench/loadgen}
GATEWAYD=${BENCH_GATEWAYD:-$top_builddir/paprika-gatewayd}
PAPRIKACTL=${BENCH_PAPRIKACTL:-$top_builddir/paprikactl}
OPENSSL=${OPENSSL:-openssl}
[ "$OPENSSL" = no ] && OPENSSL=openssl

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	d_bytes=256M d_repeat=1 d_lat=300 d_latr=1 d_hold=1000 d_speed=1 d_rate=1000
else
	d_bytes=2G d_repeat=3 d_lat=5000 d_latr=10 d_hold=8000 d_speed=3 d_rate=4000
fi
# Concurrency: STREAMS downloads at once (BYTES in all), and RATE_N tunnels
# opened and closed by STREAMS processes at once.
STREAMS=${BENCH_STREAMS:-16}
RATE_N=${BENCH_RATE_N:-$d_rate}
BYTES=${BENCH_BYTES:-$d_bytes}
REPEAT=${BENCH_REPEAT:-$d_repeat}
LAT_N=${BENCH_LATENCY_N:-$d_lat}
LAT_ROUNDS=${BENCH_LATENCY_ROUNDS:-$d_latr}
HOLD_N=${BENCH_HOLD_N:-$d_hold}
HOLD_PAR=${BENCH_HOLD_PARALLEL:-64}
SPEED_SECONDS=${BENCH_SPEED_SECONDS:-$d_speed}
PEERS=${BENCH_PEERS:-haproxy stunnel squid raw}
SUITES=${BENCH_CIPHERSUITES:-TLS_AES_128_GCM_SHA256}
SETTLE=${BENCH_SETTLE:-2}
ONLY=${BENCH_ONLY:-memory latency throughput concurrency}
# Per run of the load generator: its own watchdog and per-I/O timeout.
RUN_LIMIT=300
IO_TIMEOUT=30
HOLD_LIMIT=300
PROC_LIMIT=1800

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "error: $*" >&2; exit 1; }

for n in "$REPEAT" "$LAT_N" "$LAT_ROUNDS" "$HOLD_N" "$HOLD_PAR" "$SPEED_SECONDS" "$SETTLE"; do
	case $n in ''|*[!0-9]*) die "not a number: '$n'" ;; esac
done
[ "$LAT_ROUNDS" -ge 1 ] || die "BENCH_LATENCY_ROUNDS must be at least 1"
[ -x "$LOADGEN" ] || die "$LOADGEN is missing: run make first"

want() { case " $PEERS " in *" $1 "*) return 0 ;; esac; return 1; }
# section targets...: the targets, if the section runs at all.
section() { case " $ONLY " in *" $1 "*) shift; echo "$@" ;; esac; }

# ---- temporary directory, process bookkeeping, cleanup ----------------

umask 077
TMP=$(mktemp -d /tmp/paprika-bench.XXXXXX) || die "mktemp failed"
declare -A PID=()	# name -> pid of every long-running process we started
HOLD_PID=

stop_pid() {	# pid: TERM, then KILL after 5 s
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

cleanup() {
	local name
	trap - EXIT INT TERM
	[ -n "$HOLD_PID" ] && stop_pid "$HOLD_PID"
	for name in "${!PID[@]}"; do
		stop_pid "${PID[$name]}"
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# The proxies hold two descriptors per tunnel: take all the limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
if [ "$NOFILE" != unlimited ] && [ $((2 * HOLD_N + 512)) -gt "$NOFILE" ]; then
	die "BENCH_HOLD_N=$HOLD_N needs $((2 * HOLD_N + 512)) descriptors; ulimit -n is $NOFILE"
fi

# ---- what is there ------------------------------------------------------

HAPROXY=$(command -v haproxy || true)
STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
SQUID=$(command -v squid || true)
for p in haproxy stunnel squid; do
	bin=$(case $p in haproxy) echo "$HAPROXY" ;; stunnel) echo "$STUNNEL" ;; squid) echo "$SQUID" ;; esac)
	if want $p && [ -z "$bin" ]; then
		log "warning: $p is not installed (scripts/deps.sh installs it); its column stays empty"
		PEERS=${PEERS//$p/}
	fi
done
have_gateway=1
if [ ! -x "$GATEWAYD" ] || [ ! -x "$PAPRIKACTL" ]; then
	log "warning: $GATEWAYD or $PAPRIKACTL is missing: measuring the peers only"
	have_gateway=0
fi

others=$(for p in haproxy squid stunnel4 stunnel; do pgrep -x "$p"; done | tr '\n' ' ')
[ -n "$others" ] && log "warning: haproxy/squid/stunnel processes not started by this run are up (pids $others): they share the CPU"
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
log "sizes: $BYTES per direction x $REPEAT, $LAT_N sequential tunnels in $LAT_ROUNDS rounds, $HOLD_N idle tunnels; TLS 1.3 suites $SUITES"

# ---- certificates: one CA, one server certificate for every TLS proxy ---

PKI=$TMP/pki
certs_tool=
for c in "$top_builddir/certs/paprika-certs" "$top_srcdir/certs/paprika-certs"; do
	[ -x "$c" ] && { certs_tool=$c; break; }
done
make_certs_openssl() {	# an ECDSA P-256 CA and server certificate, like paprika-certs
	mkdir -p "$PKI/ca" "$PKI/gateway" "$PKI/ticket-keys" || return 1
	"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$PKI/ca/ca-key.pem" 2>/dev/null &&
	"$OPENSSL" req -x509 -new -key "$PKI/ca/ca-key.pem" -days 2 \
	    -subj "/CN=Paprika bench CA" -out "$PKI/ca/ca-cert.pem" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null &&
	"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$PKI/gateway/gateway-key.pem" 2>/dev/null &&
	"$OPENSSL" req -new -key "$PKI/gateway/gateway-key.pem" \
	    -subj "/CN=localhost" -out "$TMP/gateway.csr" 2>/dev/null &&
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
	    "extendedKeyUsage=serverAuth" \
	    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" > "$TMP/gateway.ext" &&
	"$OPENSSL" x509 -req -in "$TMP/gateway.csr" -CA "$PKI/ca/ca-cert.pem" \
	    -CAkey "$PKI/ca/ca-key.pem" -CAcreateserial -days 2 \
	    -extfile "$TMP/gateway.ext" -out "$PKI/gateway/gateway-cert.pem" 2>/dev/null &&
	"$OPENSSL" rand -hex 32 > "$PKI/ticket-keys/1.key" &&
	chmod 600 "$PKI/ticket-keys/1.key"
}
if [ -n "$certs_tool" ] && "$certs_tool" "$PKI" > "$TMP/certs.log" 2>&1; then
	log "certificates: made by $certs_tool"
else
	[ -n "$certs_tool" ] && log "warning: $certs_tool failed ($(tail -1 "$TMP/certs.log")); using openssl"
	rm -rf "$PKI"
	make_certs_openssl || die "cannot make certificates with $OPENSSL"
	log "certificates: made with openssl (paprika-certs not built)"
fi
CA=$PKI/ca/ca-cert.pem
CERT=$PKI/gateway/gateway-cert.pem
KEY=$PKI/gateway/gateway-key.pem
KEYS=$PKI/ticket-keys
for f in "$CA" "$CERT" "$KEY" "$KEYS/1.key"; do [ -f "$f" ] || die "$f is missing"; done
log "server key: $("$OPENSSL" x509 -in "$CERT" -noout -text | sed -n 's/^ *Public Key Algorithm: //p; s/^ *\(ASN1 OID\|Public-Key\): //p' | tr '\n' ' ')"
cat "$CERT" "$KEY" > "$TMP/haproxy.pem"

# ---- ports, sink, proxies -------------------------------------------------

read -r P_SINK P_GW P_GW_TLS P_HAPROXY P_STUNNEL P_SQUID P_HAPROXY2 P_GW_TLS2 P_HAPROXYB < <("$LOADGEN" ports 9) ||
	die "no free ports"
LO=127.0.0.1

# Long-running processes live under timeout(1), so that not even a killed
# driver can leave them behind for more than PROC_LIMIT seconds; the sums
# over a process's descendants (RSS, CPU) include that small constant.
start() {	# name logfile command...: start in the background, remember its pid
	local name=$1 logf=$2
	shift 2
	timeout -k 10 "$PROC_LIMIT" "$@" > "$logf" 2>&1 &
	PID[$name]=$!
}

alive() { [ -n "${PID[$1]:-}" ] && kill -0 "${PID[$1]}" 2>/dev/null; }

wait_port() {	# name port
	if ! "$LOADGEN" wait -w 20 "$LO:$2" || ! alive "$1"; then
		log "warning: $1 did not come up on port $2; its log:"
		tail -5 "$TMP/$1.log" | sed 's/^/    /'
		return 1
	fi
}

start sink "$TMP/sink.log" "$LOADGEN" sink -l "$LO:$P_SINK" -w 3600
wait_port sink "$P_SINK" || die "the sink did not start"

# Each peer: one thread or process (the gateway is single-threaded), the
# same certificate, logging off, limits raised to hold the idle tunnels.
MAXCONN=$((HOLD_N + 512))

# Two gateways, one per listener, so that each memory figure starts from a
# fresh heap rather than from the memory the other listener's tunnels freed.
start_gateway() {	# name plain-listen tls-listen [workers]
	mkdir -p "$TMP/$1-state"
	cat > "$TMP/$1.conf" <<-EOF
	[gateway]
	workers = ${4:-1}
	listen = $2
	listen_tls = $3
	tls_cert = $CERT
	tls_key = $KEY
	ticket_keys = $KEYS
	upstream_networks = 127.0.0.0/8
	upstream_ports = 1024-65535
	control_socket = $TMP/$1-state/gw.sock
	state_dir = $TMP/$1-state
	[limits]
	max_tunnels = 20000
	max_tunnels_per_session = 20000
	max_tunnels_per_source = 20000
	max_pending_per_source = 20000
	max_pending = 20000
	EOF
	start "$1" "$TMP/$1.log" "$GATEWAYD" -f "$TMP/$1.conf" -d
}
if [ $have_gateway = 1 ]; then
	start_gateway paprika "$LO:$P_GW" none
	start_gateway paprika-tls none "$LO:$P_GW_TLS"
	# The TLS gateway with two workers, for the concurrency rows only.
	start_gateway paprika-tls2 none "$LO:$P_GW_TLS2" 2
	if wait_port paprika "$P_GW" && wait_port paprika-tls "$P_GW_TLS"; then
		TICKET=$("$PAPRIKACTL" ticket --keys "$KEYS" --user bench \
		    --upstream "$LO" --ports "$P_SINK" --ttl 3600 2>"$TMP/ticket.err") ||
			{ log "warning: paprikactl ticket failed: $(cat "$TMP/ticket.err")"; have_gateway=0; }
	else
		have_gateway=0
	fi
fi

haproxy_conf() {	# file threads port
	cat > "$1" <<-EOF
	global
	    nbthread $2
	    maxconn $MAXCONN
	defaults
	    mode tcp
	    maxconn $MAXCONN
	    timeout connect 10s
	    timeout client 1h
	    timeout server 1h
	frontend bench
	    bind $LO:$3 ssl crt $TMP/haproxy.pem
	    default_backend sink
	backend sink
	    server sink $LO:$P_SINK
	EOF
}
HAPROXY2=0 HAPROXYB=0
if want haproxy; then
	haproxy_conf "$TMP/haproxy.cfg" 1 "$P_HAPROXY"
	start haproxy "$TMP/haproxy.log" "$HAPROXY" -db -f "$TMP/haproxy.cfg"
	wait_port haproxy "$P_HAPROXY" || PEERS=${PEERS//haproxy/}
	# The same with two threads, for the concurrency rows only.
	haproxy_conf "$TMP/haproxy2.cfg" 2 "$P_HAPROXY2"
	start haproxy2 "$TMP/haproxy2.log" "$HAPROXY" -db -f "$TMP/haproxy2.cfg"
	wait_port haproxy2 "$P_HAPROXY2" && HAPROXY2=1
	# A second one just like the first, for the latency rounds only: the
	# ratio of two identical proxies is what this machine cannot resolve.
	if [ -n "$(section latency x)" ]; then
		haproxy_conf "$TMP/haproxyb.cfg" 1 "$P_HAPROXYB"
		start haproxyb "$TMP/haproxyb.log" "$HAPROXY" -db -f "$TMP/haproxyb.cfg"
		wait_port haproxyb "$P_HAPROXYB" && HAPROXYB=1
	fi
fi

if want stunnel; then
	cat > "$TMP/stunnel.conf" <<-EOF
	foreground = yes
	pid = $TMP/stunnel.pid
	syslog = no
	debug = 3
	[bench]
	accept = $LO:$P_STUNNEL
	connect = $LO:$P_SINK
	cert = $CERT
	key = $KEY
	socket = l:TCP_NODELAY=1
	socket = r:TCP_NODELAY=1
	EOF
	start stunnel "$TMP/stunnel.log" "$STUNNEL" "$TMP/stunnel.conf"
	wait_port stunnel "$P_STUNNEL" || PEERS=${PEERS//stunnel/}
fi

if want squid; then
	# squid drops to its own user: its directory must be its own.
	mkdir -p "$TMP/squid"
	chmod 755 "$TMP"
	chown proxy "$TMP/squid" 2>/dev/null
	cat > "$TMP/squid.conf" <<-EOF
	http_port $LO:$P_SQUID
	workers 1
	acl bench_port port $P_SINK
	http_access deny CONNECT !bench_port
	http_access allow all
	cache deny all
	cache_mem 0 MB
	access_log none
	cache_store_log none
	cache_log $TMP/squid/cache.log
	pid_filename $TMP/squid/squid.pid
	coredump_dir $TMP/squid
	max_filedescriptors $NOFILE
	pinger_enable off
	client_db off
	visible_hostname paprika-bench
	shutdown_lifetime 1 seconds
	EOF
	start squid "$TMP/squid.log" "$SQUID" -N -f "$TMP/squid.conf"
	wait_port squid "$P_SQUID" || PEERS=${PEERS//squid/}
fi

# ---- targets -------------------------------------------------------------

# A target is what the client connects through; a column is the table's.
TLS_TARGETS=()
PLAIN_TARGETS=()
[ $have_gateway = 1 ] && TLS_TARGETS+=(paprika-tls) && PLAIN_TARGETS+=(paprika)
want haproxy && TLS_TARGETS+=(haproxy)
want stunnel && TLS_TARGETS+=(stunnel)
want squid && PLAIN_TARGETS+=(squid)
want raw && PLAIN_TARGETS+=(raw)

target_args() {	# target: the client's arguments, in ARGS
	case $1 in
	paprika-tls) ARGS=(-c "$LO:$P_GW_TLS" -t -A "$CA" -S "$SUITES" -x "$TICKET:$P_SINK") ;;
	paprika-tls2) ARGS=(-c "$LO:$P_GW_TLS2" -t -A "$CA" -S "$SUITES" -x "$TICKET:$P_SINK") ;;
	paprika) ARGS=(-c "$LO:$P_GW" -x "$TICKET:$P_SINK") ;;
	haproxy) ARGS=(-c "$LO:$P_HAPROXY" -t -A "$CA" -S "$SUITES") ;;
	haproxy2) ARGS=(-c "$LO:$P_HAPROXY2" -t -A "$CA" -S "$SUITES") ;;
	haproxyb) ARGS=(-c "$LO:$P_HAPROXYB" -t -A "$CA" -S "$SUITES") ;;
	stunnel) ARGS=(-c "$LO:$P_STUNNEL" -t -A "$CA" -S "$SUITES") ;;
	squid) ARGS=(-c "$LO:$P_SQUID" -x "$LO:$P_SINK") ;;
	raw) ARGS=(-c "$LO:$P_SINK") ;;
	esac
	ARGS+=(-T "$IO_TIMEOUT" -w "$RUN_LIMIT")
}

target_process() { echo "$1"; }	# target: the name of the process serving it

target_column() {	# target: its column in the table
	case $1 in
	paprika-tls) echo paprika ;;
	paprika-tls2) echo paprika2 ;;
	*) echo "$1" ;;
	esac
}

RESULTS=$TMP/results
: > "$RESULTS"
record() { echo "$1 $2 $3" >> "$RESULTS"; }	# figure column value

field() {	# name line: the value of name=... in a loadgen line
	sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<< " $2"
}

# Drops a target whose process died, so later sections skip it.
check_alive() {
	local proc
	proc=$(target_process "$1")
	[ "$proc" = raw ] && return 0
	alive "$proc" && return 0
	log "warning: $proc is no longer running; last lines of its log:"
	tail -5 "$TMP/$proc.log" | sed 's/^/    /'
	return 1
}

# ---- sanity: one tunnel through each target --------------------------------

ok_tls=()
ok_plain=()
for t in "${TLS_TARGETS[@]}" "${PLAIN_TARGETS[@]}"; do
	target_args "$t"
	if out=$("$LOADGEN" client "${ARGS[@]}" -m latency -n 3 2>&1); then
		log "ready: $t$(field tls "$out" | sed 's/^./ &/')"
		case " ${TLS_TARGETS[*]} " in
		*" $t "*) ok_tls+=("$t") ;;
		*) ok_plain+=("$t") ;;
		esac
	else
		log "warning: $t does not work, skipping it: $out"
	fi
done
TLS_TARGETS=("${ok_tls[@]}")
PLAIN_TARGETS=("${ok_plain[@]}")
ALL_TARGETS=("${TLS_TARGETS[@]}" "${PLAIN_TARGETS[@]}")
[ ${#ALL_TARGETS[@]} -gt 0 ] || die "no target works"

is_tls() { case " ${TLS_TARGETS[*]} haproxyb " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- memory per idle tunnel (first, before other tests grow the heaps) ----

rss_tree() {	# pid: VmRSS in kB summed over the process and its descendants
	local pids=$1 all=$1 next p depth sum=0 r
	for depth in 1 2 3; do
		next=$(for p in $pids; do ps -o pid= --ppid "$p"; done | tr -s ' \n' ' ')
		[ -z "${next// /}" ] && break
		all="$all $next"
		pids=$next
	done
	for p in $all; do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${r:-0}))
	done
	echo "$sum"
}

log "memory: $HOLD_N idle tunnels per target, $HOLD_PAR opening at a time"
for t in $(section memory "${ALL_TARGETS[@]}"); do
	[ "$t" = raw ] && continue
	check_alive "$t" || continue
	proc=$(target_process "$t")
	target_args "$t"
	before=$(rss_tree "${PID[$proc]}")
	"$LOADGEN" client "${ARGS[@]}" -m hold -n "$HOLD_N" -P "$HOLD_PAR" \
	    -w $((HOLD_LIMIT + 120)) > "$TMP/hold.out" 2> "$TMP/hold.err" &
	HOLD_PID=$!
	ready=
	for i in $(seq $((HOLD_LIMIT * 5))); do
		ready=$(grep -m1 '^ready ' "$TMP/hold.out")
		[ -n "$ready" ] && break
		kill -0 "$HOLD_PID" 2>/dev/null || break
		sleep 0.2
	done
	if [ -z "$ready" ]; then
		log "warning: $t: the tunnels did not open: $(tail -1 "$TMP/hold.err")"
		stop_pid "$HOLD_PID"
		HOLD_PID=
		continue
	fi
	sleep "$SETTLE"
	with=$(rss_tree "${PID[$proc]}")
	kill -USR1 "$HOLD_PID"
	wait "$HOLD_PID"
	HOLD_PID=
	n=$(field n "$ready")
	failed=$(field failed "$ready")
	if [ "${n:-0}" -gt 0 ]; then
		kb=$(awk -v b="$before" -v w="$with" -v n="$n" 'BEGIN { printf "%.1f", (w - b) / n }')
		group=$(is_tls "$t" && echo tls || echo plain)
		record "${group}_mem" "$(target_column "$t")" "$kb"
		log "memory: $t: RSS $before kB -> $with kB with $n tunnels (opened in $(field seconds "$ready") s): $kb KB per tunnel"
	fi
	[ "${failed:-0}" -gt 0 ] && log "warning: $t: $failed tunnels failed to open: $(sed -n 's/.*first_error=//p' <<< "$ready")"
	# Let the proxy close its side before the next one is measured.
	sleep "$SETTLE"
done

# ---- connect-to-first-byte latency ----------------------------------------

# Rounds interleave the targets, as the throughput rounds do: on a shared
# machine the load drifts over a minute, and one target's tunnels all
# opened in a busy spell would be compared with another's in a quiet one.
# The table shows p50 and p99 of every round's tunnels pooled: the p99 of a
# single round of a few hundred rests on its four slowest tunnels.
LAT_PER=$(( (LAT_N + LAT_ROUNDS - 1) / LAT_ROUNDS ))
LAT=$TMP/latency
mkdir -p "$LAT"
log "latency: $LAT_N sequential tunnels per target in $LAT_ROUNDS interleaved rounds (TCP connect [+ TLS handshake] [+ CONNECT] until the sink's first byte)"
lat_run() {	# round target kind(full, resumed) [loadgen flag]
	local out samples="$LAT/$2.$3.$1"
	check_alive "$2" || return 0
	target_args "$2"
	if ! out=$("$LOADGEN" client "${ARGS[@]}" ${4:+"$4"} -m latency -n "$LAT_PER" -o "$samples" 2>&1); then
		log "warning: $2: $3 latency run failed: $out"
		rm -f "$samples"
		return 0
	fi
	if [ "$3" = resumed ] && [ "$(field resumed "$out")" -lt "$LAT_PER" ]; then
		log "latency resumed: $2: only $(field resumed "$out") of $LAT_PER tunnels resumed"
		rm -f "$samples"
		return 0
	fi
	log "latency${4:+ resumed}: round $1/$LAT_ROUNDS: $2: p50 $(field p50_ms "$out") ms, p99 $(field p99_ms "$out") ms, max $(field max_ms "$out") ms"
}
LAT_CONTROL=()
[ $HAPROXYB = 1 ] && LAT_CONTROL=(haproxyb)
for round in $(seq "$LAT_ROUNDS"); do
	for t in $(section latency "${ALL_TARGETS[@]}" "${LAT_CONTROL[@]}"); do
		lat_run "$round" "$t" full
	done
	# The same, each tunnel resuming the TLS session of the one before:
	# what the tunnels of a SPICE session after its first one pay.
	for t in $(section latency "${TLS_TARGETS[@]}"); do
		lat_run "$round" "$t" resumed -R
	done
done
median_of() {	# column, of the lines on stdin
	awk -v c="$1" '{ print $c }' | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
lat_pooled() {	# target kind: "p50 p99 steps" of every round's tunnels pooled
	local all="$LAT/$1.$2.all" n r i steps=""
	cat "$LAT/$1.$2".[0-9]* 2>/dev/null | sort -n -k1,1 > "$all"
	n=$(wc -l < "$all")
	[ "$n" -gt 0 ] || return 0
	r=$(( (n * 99 + 99) / 100 ))	# p99 by nearest rank: ceil(0.99 n)
	# Each step (TCP, TLS, proxy reply, first byte) at the median tunnel
	# and across the slowest 1%: where a slow tail comes from.
	for i in 2 3 4 5; do
		steps+=" $(median_of $i < "$all")/$(tail -n +"$r" "$all" | median_of $i)"
	done
	echo "$(median_of 1 < "$all") $(sed -n "${r}p" "$all" | awk '{ printf "%.3f", $1 }')$steps"
}
for t in "${ALL_TARGETS[@]}" "${LAT_CONTROL[@]}"; do
	group=$(is_tls "$t" && echo tls || echo plain)
	col=$(target_column "$t")
	for kind in full resumed; do
		read -r p50 p99 tcp tls reply first <<< "$(lat_pooled "$t" $kind)"
		[ -n "$p50" ] || continue
		sfx=$([ $kind = resumed ] && echo r)
		record "${group}_p50$sfx" "$col" "$p50"
		record "${group}_p99$sfx" "$col" "$p99"
		log "latency${sfx:+ resumed}: $t: all rounds: p50 $p50 ms, p99 $p99 ms; steps in ms, median tunnel/slowest 1%: TCP $tcp, TLS $tls, proxy reply $reply, first byte $first"
	done
done

# ---- throughput ----------------------------------------------------------------

speed=$("$OPENSSL" speed -evp aes-128-gcm -bytes 16384 -seconds "$SPEED_SECONDS" -mr 2>/dev/null |
    awk -F: '/^\+F:/ { printf "%.0f", $4 / 1e6 }')
if [ -n "$speed" ]; then
	record tls_up raw "$speed"
	record tls_down raw "$speed"
	log "reference: openssl speed -evp aes-128-gcm, 16 KiB blocks, one core: $speed MB/s"
fi

cpu_ticks() {	# pid: user + system clock ticks of the process and its descendants
	local pids=$1 all=$1 next p depth sum=0 t
	for depth in 1 2 3; do
		next=$(for p in $pids; do ps -o pid= --ppid "$p"; done | tr -s ' \n' ' ')
		[ -z "${next// /}" ] && break
		all="$all $next"
		pids=$next
	done
	for p in $all; do
		t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}
HZ=$(getconf CLK_TCK)

log "throughput: one tunnel per run, $BYTES per direction, $REPEAT rounds, targets interleaved"
THR=$TMP/throughput
: > "$THR"
for round in $(seq "$REPEAT"); do
	for dir in upload download; do
		for t in $(section throughput "${ALL_TARGETS[@]}"); do
			check_alive "$t" || continue
			target_args "$t"
			pid=${PID[$(target_process "$t")]:-}
			c0=$([ -n "$pid" ] && cpu_ticks "$pid")
			s0=$(cpu_ticks "${PID[sink]}")
			if ! out=$("$LOADGEN" client "${ARGS[@]}" -m "$dir" -b "$BYTES" 2>&1); then
				log "warning: $t $dir failed: $out"
				continue
			fi
			s1=$(cpu_ticks "${PID[sink]}")
			gb=$(awk -v b="$(field bytes "$out")" 'BEGIN { print b / 1e9 }')
			# The proxy's CPU time per GB moved: what the relay costs,
			# whatever share of the cores it got. The chain's (client,
			# proxy and sink) bounds MB/s once the cores are all busy.
			cpu=0
			if [ -n "$pid" ]; then
				c1=$(cpu_ticks "$pid")
				cpu=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v gb="$gb" \
				    'BEGIN { printf "%.0f", c * 1000 / hz / gb }')
			fi
			chain=$(awk -v p="$cpu" -v s=$((s1 - s0)) -v hz="$HZ" \
			    -v c="$(field cpu_ms "$out")" -v gb="$gb" \
			    'BEGIN { printf "%.0f", p + (s * 1000 / hz + c) / gb }')
			[ -n "$pid" ] || cpu=-
			echo "$t $dir $(field MBps "$out") $cpu $chain" >> "$THR"
			log "throughput: round $round/$REPEAT: $t $dir $(field MBps "$out") MB/s in $(field seconds "$out") s, CPU ms/GB: proxy $cpu, whole chain $chain"
		done
	done
done
median() {	# reads numbers, prints their median
	sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.0f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for t in "${ALL_TARGETS[@]}"; do
	group=$(is_tls "$t" && echo tls || echo plain)
	for dir in upload download; do
		d=$([ "$dir" = upload ] && echo up || echo down)
		med=$(awk -v t="$t" -v d="$dir" '$1 == t && $2 == d { print $3 }' "$THR" | median)
		[ -n "$med" ] && record "${group}_$d" "$(target_column "$t")" "$med"
		med=$(awk -v t="$t" -v d="$dir" '$1 == t && $2 == d && $4 != "-" { print $4 }' "$THR" | median)
		[ -n "$med" ] && record "${group}_${d}_cpu" "$(target_column "$t")" "$med"
		med=$(awk -v t="$t" -v d="$dir" '$1 == t && $2 == d && $5 != "" { print $5 }' "$THR" | median)
		[ -n "$med" ] && record "${group}_${d}_chain" "$(target_column "$t")" "$med"
	done
done

# ---- concurrency: many streams, connection rate ---------------------------------

CONC_TARGETS=()
for t in "${TLS_TARGETS[@]}"; do
	case $t in paprika-tls|haproxy) CONC_TARGETS+=("$t") ;; esac
done
[ $have_gateway = 1 ] && wait_port paprika-tls2 "$P_GW_TLS2" && CONC_TARGETS+=(paprika-tls2)
[ $HAPROXY2 = 1 ] && CONC_TARGETS+=(haproxy2)
stream_bytes=$(awk -v b="$(numfmt --from=iec "$BYTES")" -v n="$STREAMS" 'BEGIN { printf "%d", b / n }')
log "concurrency: $STREAMS TLS downloads at once ($BYTES in all), then $RATE_N TLS tunnels opened and closed $STREAMS at a time"
for t in $(section concurrency "${CONC_TARGETS[@]}"); do
	check_alive "$t" || continue
	target_args "$t"
	pid=${PID[$(target_process "$t")]:-}
	col=$(target_column "$t")
	c0=$(cpu_ticks "$pid")
	if out=$("$LOADGEN" client "${ARGS[@]}" -m streams -P "$STREAMS" -b "$stream_bytes" 2>&1); then
		c1=$(cpu_ticks "$pid")
		cpu=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v b="$(field bytes "$out")" \
		    'BEGIN { printf "%.0f", c * 1000 / hz / (b / 1e9) }')
		record tls_streams "$col" "$(field MBps "$out")"
		record tls_streams_cpu "$col" "$cpu"
		log "concurrency: $t: $STREAMS streams $(field MBps "$out") MB/s in $(field seconds "$out") s, proxy CPU $cpu ms/GB"
	else
		log "warning: $t streams failed: $out"
	fi
	c0=$(cpu_ticks "$pid")
	if out=$("$LOADGEN" client "${ARGS[@]}" -m rate -P "$STREAMS" -n "$RATE_N" 2>&1); then
		c1=$(cpu_ticks "$pid")
		cpu=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v n="$RATE_N" \
		    'BEGIN { printf "%.2f", c * 1000 / hz / n }')
		record tls_rate "$col" "$(field per_second "$out")"
		record tls_rate_cpu "$col" "$cpu"
		log "concurrency: $t: $(field per_second "$out") tunnels/s, proxy CPU $cpu ms per tunnel"
	else
		log "warning: $t rate failed: $out"
	fi
done

# ---- the table -------------------------------------------------------------------

log "done; load now $(cut -d' ' -f1-3 /proc/loadavg)"
echo
awk -v results="$RESULTS" '
BEGIN {
	while ((getline line < results) > 0) {
		split(line, f, " ")
		v[f[1] "," f[2]] = f[3]
	}
	ncol = split("paprika haproxy stunnel squid raw haproxy2 paprika2", col, " ")
	nrow = split("tls_up tls_down plain_up plain_down tls_up_cpu tls_down_cpu plain_up_cpu plain_down_cpu tls_up_chain tls_down_chain plain_up_chain plain_down_chain tls_p50 tls_p99 tls_p50r tls_p99r plain_p50 plain_p99 tls_mem plain_mem tls_streams tls_streams_cpu tls_rate tls_rate_cpu", row, " ")
	label["tls_up"] = "TLS upload MB/s";		better["tls_up"] = "higher"
	label["tls_down"] = "TLS download MB/s";	better["tls_down"] = "higher"
	label["plain_up"] = "plain upload MB/s";	better["plain_up"] = "higher"
	label["plain_down"] = "plain download MB/s";	better["plain_down"] = "higher"
	label["tls_up_cpu"] = "TLS upload CPU ms/GB";	better["tls_up_cpu"] = "lower"
	label["tls_down_cpu"] = "TLS download CPU ms/GB";	better["tls_down_cpu"] = "lower"
	label["plain_up_cpu"] = "plain upload CPU ms/GB";	better["plain_up_cpu"] = "lower"
	label["plain_down_cpu"] = "plain download CPU ms/GB";	better["plain_down_cpu"] = "lower"
	label["tls_up_chain"] = "  chain, TLS upload";	better["tls_up_chain"] = "lower"
	label["tls_down_chain"] = "  chain, TLS download";	better["tls_down_chain"] = "lower"
	label["plain_up_chain"] = "  chain, plain upload";	better["plain_up_chain"] = "lower"
	label["plain_down_chain"] = "  chain, plain download"; better["plain_down_chain"] = "lower"
	label["tls_p50"] = "TLS first byte p50 ms";	better["tls_p50"] = "lower"
	label["tls_p99"] = "TLS first byte p99 ms";	better["tls_p99"] = "lower"
	label["tls_p50r"] = "  resumed p50 ms";	better["tls_p50r"] = "lower"
	label["tls_p99r"] = "  resumed p99 ms";	better["tls_p99r"] = "lower"
	label["tls_streams"] = "TLS 16 streams MB/s";	better["tls_streams"] = "higher"
	label["tls_streams_cpu"] = "  CPU ms/GB";	better["tls_streams_cpu"] = "lower"
	label["tls_rate"] = "TLS tunnels/s";	better["tls_rate"] = "higher"
	label["tls_rate_cpu"] = "  CPU ms per tunnel";	better["tls_rate_cpu"] = "lower"
	label["plain_p50"] = "plain first byte p50 ms";	better["plain_p50"] = "lower"
	label["plain_p99"] = "plain first byte p99 ms";	better["plain_p99"] = "lower"
	label["tls_mem"] = "TLS KB per idle tunnel";	better["tls_mem"] = "lower"
	label["plain_mem"] = "plain KB per idle tunnel"; better["plain_mem"] = "lower"

	printf "%-25s %9s %9s %9s %9s %9s %9s %9s | %8s %8s %8s %8s %8s %8s | %s\n", "figure", "paprika", "haproxy", "stunnel", "squid", "raw", "hapr-2t", "pap-2w", "p/hapr", "p/stun", "p/squid", "p/raw", "p/hapr2", "p2/hapr2", "better"
	for (i = 0; i < 25 + 7 * 10 + 3 + 6 * 9 + 9; i++) printf "-"
	printf "\n"
	for (r = 1; r <= nrow; r++) {
		k = row[r]
		printf "%-25s", label[k]
		for (c = 1; c <= ncol; c++) {
			x = (k "," col[c]) in v ? v[k "," col[c]] : "-"
			printf " %9s", x
		}
		printf " |"
		p = (k ",paprika") in v ? v[k ",paprika"] : ""
		for (c = 2; c < ncol; c++) {
			q = (k "," col[c]) in v ? v[k "," col[c]] : ""
			if (p != "" && q != "" && q + 0 > 0)
				printf " %7.2fx", p / q
			else
				printf " %8s", "-"
		}
		# Two workers against HAProxy with two threads.
		p = (k ",paprika2") in v ? v[k ",paprika2"] : ""
		q = (k ",haproxy2") in v ? v[k ",haproxy2"] : ""
		if (p != "" && q != "" && q + 0 > 0)
			printf " %7.2fx", p / q
		else
			printf " %8s", "-"
		printf " | %s\n", better[k]
	}
}'
# The figures the speed issue has aims for (tests/bench/aims.py).
if [ -n "${BENCH_AIMS_DIR:-}" ]; then
	mkdir -p "$BENCH_AIMS_DIR"
	awk -v results="$RESULTS" -v stamp="$(date '+%Y-%m-%d %H:%M')" '
	# label: the figure k of column a over that of column b, aimed op want
	# (op "": no aim, shown for what it says beside the others).
	function aim(label, k, a, b, op, want,	pa, pb, goal, r, met) {
		pa = (k "," a) in v ? v[k "," a] : "-"
		pb = (k "," b) in v ? v[k "," b] : "-"
		goal = op == "" ? "-" : op " " sprintf("%.1f", want) "x"
		if (pa == "-" || pb == "-" || pb + 0 <= 0) {
			printf "%s\t%s\t%s\t-\t%s\t-\n", label, pa, pb, goal
			return
		}
		r = pa / pb
		met = op == ">=" ? r >= want : op == "<=" ? r <= want : -1
		printf "%s\t%s\t%s\t%.2fx\t%s\t%s\n", label, pa, pb, r, goal,
		    met == -1 ? "-" : met ? "met" : "not met"
	}
	BEGIN {
		while ((getline line < results) > 0) {
			split(line, f, " ")
			v[f[1] "," f[2]] = f[3]
		}
		print "# gateway " stamp
		aim("gateway TLS download MB/s / HAProxy", "tls_down", "paprika", "haproxy", ">=", 1.2)
		aim("  its CPU ms per GB / HAProxy", "tls_down_cpu", "paprika", "haproxy", "", 0)
		aim("  CPU ms per GB of the whole chain / HAProxy", "tls_down_chain", "paprika", "haproxy", "", 0)
		aim("gateway TLS first byte p50 ms / HAProxy", "tls_p50", "paprika", "haproxy", "<=", 1.0)
		aim("  a second HAProxy / HAProxy, alike: the noise", "tls_p50", "haproxyb", "haproxy", "", 0)
		aim("gateway TLS first byte p99 ms / HAProxy", "tls_p99", "paprika", "haproxy", "<=", 1.0)
		aim("  a second HAProxy / HAProxy, alike: the noise", "tls_p99", "haproxyb", "haproxy", "", 0)
		aim("gateway KB per idle TLS tunnel / HAProxy", "tls_mem", "paprika", "haproxy", "<=", 0.8)
		aim("gateway plain upload MB/s / raw loopback", "plain_up", "paprika", "raw", ">=", 0.9)
		aim("gateway plain download MB/s / raw loopback", "plain_down", "paprika", "raw", ">=", 0.9)
		aim("  CPU ms per GB of the whole chain / raw loopback", "plain_down_chain", "paprika", "raw", "", 0)
		aim("16 TLS streams MB/s, workers 2 / nbthread 2", "tls_streams", "paprika2", "haproxy2", "", 0)
		aim("TLS tunnels/s, workers 2 / nbthread 2", "tls_rate", "paprika2", "haproxy2", "", 0)
	}' > "$BENCH_AIMS_DIR/gateway.tsv"
fi

echo
echo "raw: plain rows = loopback TCP to the sink with no proxy; TLS throughput rows ="
echo "     openssl speed -evp aes-128-gcm (16 KiB, one core), the ceiling for one TLS relay."
echo "p/X = paprika / X: above 1.00x is better for MB/s, worse for ms and KB."
echo "hapr-2t: HAProxy with nbthread 2; pap-2w: paprika-gatewayd with workers = 2; both in the concurrency"
echo "rows only. paprika and haproxy: workers = 1 and nbthread 1. The client and the sink share the cores."
echo "Concurrency: $STREAMS downloads at once ($BYTES in all); $RATE_N tunnels opened (full TLS handshake,"
echo "CONNECT, first byte) and closed by $STREAMS processes at once. 'resumed': each tunnel resumes the TLS"
echo "session of the one before (session tickets), as a SPICE session's tunnels after its first do."
echo "Throughput is the median of $REPEAT round(s) of $BYTES; latency pooled from $LAT_ROUNDS interleaved"
echo "round(s), $LAT_N tunnels per target; a second HAProxy, alike, is measured beside the first"
echo "(its ratio to the first is the noise in a latency ratio; make bench shows it); memory is the"
echo "proxy's RSS growth with $HOLD_N idle tunnels open, divided by the tunnels. CPU ms/GB: the proxy's"
echo "user+system CPU time per GB relayed (median), independent of how the cores were shared; 'chain':"
echo "the client's, the proxy's and the sink's together, which bounds MB/s once every core is busy."
