#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs Paprika's libFuzzer harnesses; `make fuzz` calls it.
#
#   run-fuzz.sh run SEEDS BINDIR WORKDIR
#	Runs BINDIR/fuzz-NAME for every SEEDS/NAME directory, FUZZ_SECONDS
#	each (default 30), over a fresh copy of those seeds in WORKDIR/NAME,
#	and prints one line of statistics per harness. Crashes are kept in
#	WORKDIR/NAME-crashes; the exit status is 1 if there were any.
#
#   run-fuzz.sh build SRCDIR BUILDDIR
#	For a build configured without --enable-fuzzing: configures BUILDDIR
#	with CC=clang --enable-fuzzing and runs `make fuzz` there. Automake
#	cannot build out of a source tree that is configured in place, so
#	such a tree is first copied (its files as git lists them, and the
#	generated configure and Makefile.in) to BUILDDIR-src.
set -eu

usage() {
	echo "usage: $0 run SEEDS BINDIR WORKDIR | build SRCDIR BUILDDIR" >&2
	exit 2
}

# The value of a libFuzzer "stat::NAME:" line in a log.
stat_of() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

# The last "cov: N" or "ft: N" that libFuzzer printed.
last_of() {
	grep -o "$1: [0-9]*" "$2" | tail -n 1 | sed 's/.*: //'
}

run() {
	seeds=$1 bindir=$2 work=$3
	seconds=${FUZZ_SECONDS:-30}
	status=0
	: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}"
	: "${ASAN_OPTIONS:=detect_leaks=1}"
	export UBSAN_OPTIONS ASAN_OPTIONS
	mkdir -p "$work"
	summary=$work/summary.txt
	: >"$summary"
	for dir in "$seeds"/*/; do
		name=$(basename "$dir")
		bin=$bindir/fuzz-$name
		if [ ! -x "$bin" ]; then
			echo "run-fuzz: no harness $bin for $dir" >&2
			status=1
			continue
		fi
		corpus=$work/$name
		crashes=$work/$name-crashes
		log=$work/$name.log
		rm -rf "$corpus"
		mkdir -p "$corpus" "$crashes"
		cp "$dir"* "$corpus"/
		set -- -max_total_time="$seconds" -max_len=9000 \
		    -print_final_stats=1 -artifact_prefix="$crashes/"
		if [ -f "$seeds/$name.dict" ]; then
			set -- "$@" -dict="$seeds/$name.dict"
		fi
		echo "run-fuzz: fuzz-$name for ${seconds}s over $(ls "$corpus" | wc -l) seeds"
		rc=0
		"$bin" "$@" "$corpus" >"$log" 2>&1 || rc=$?
		runs=$(stat_of number_of_executed_units "$log")
		speed=$(stat_of average_exec_per_sec "$log")
		line="fuzz-$name: ${runs:-?} runs, ${speed:-?} exec/s,"
		line="$line cov $(last_of cov "$log"), ft $(last_of ft "$log"),"
		line="$line corpus $(ls "$corpus" | wc -l) files"
		if [ "$rc" -ne 0 ]; then
			status=1
			line="$line: FAILED (exit $rc)"
			for f in "$crashes"/*; do
				[ -f "$f" ] && line="$line
  reproduce: $bin $f"
			done
			echo "---- fuzz-$name: the end of $log"
			tail -n 40 "$log"
		else
			line="$line: ok"
		fi
		echo "$line" >>"$summary"
	done
	echo "---- fuzz summary (${seconds}s each; logs in $work)"
	cat "$summary"
	return "$status"
}

# A copy of the source tree without its build outputs, for a VPATH build.
snapshot() {
	src=$1 dst=$2
	if ! git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
		echo "run-fuzz: $src is configured in place and is not a git" \
		    "checkout: run \"make distclean\" there, or configure a" \
		    "build with CC=clang --enable-fuzzing yourself" >&2
		exit 1
	fi
	mkdir -p "$dst"
	list=$dst.files
	(
		cd "$src"
		git ls-files -z --cached --others --exclude-standard
		for f in configure aclocal.m4 Makefile.in build-aux m4; do
			[ -e "$f" ] && printf '%s\0' "$f"
		done
	) | tr '\0' '\n' | while IFS= read -r f; do
		[ -e "$src/$f" ] && printf '%s\n' "$f"
	done >"$list"
	# Times are kept: files that did not change are not rebuilt.
	(cd "$src" && tar -cf - -T "$list") | (cd "$dst" && tar -xf -)
	rm -f "$list"
}

build() {
	src=$1 build=$2
	make=${MAKE:-make}
	if [ -f "$src/config.status" ]; then
		snapshot "$src" "$build-src"
		src=$(cd "$build-src" && pwd)
	fi
	mkdir -p "$build"
	cd "$build"
	if [ ! -f Makefile ] || [ ! -f config.status ] ||
	    [ "$src/configure" -nt config.status ] ||
	    ! grep -q -- '--enable-fuzzing' config.status; then
		echo "run-fuzz: configuring $build (CC=clang --enable-fuzzing)"
		CC=clang "$src/configure" -q --enable-fuzzing
	fi
	$make fuzz
}

[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in
run)
	[ $# -eq 3 ] || usage
	run "$@"
	;;
build)
	[ $# -eq 2 ] || usage
	build "$@"
	;;
*)
	usage
	;;
esac
