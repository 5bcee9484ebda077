#!/bin/sh
# SPDX-License-Identifier: ISC
# Installs the Debian packages, then configures and builds Paprika in place.
# Extra arguments go to configure (e.g. --enable-asan).
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	echo "build: autoreconf"
	autoreconf -fi >/dev/null
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ] || [ $# -gt 0 ]; then
	echo "build: configure $*"
	./configure -q "$@"
fi
echo "build: make"
make -j"$(nproc)" >/dev/null
