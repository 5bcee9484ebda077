#!/bin/sh
# README command 1: installs what Paprika needs, builds it, and runs the demo:
# a real QEMU guest with SPICE TLS behind paprika-gatewayd, shown in
# remote-viewer when there is a display, captured through the gateway when not.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
top_srcdir=$(pwd) top_builddir=$(pwd) exec ./demo/run-demo.sh "$@"
