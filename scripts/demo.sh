#!/bin/sh
# SPDX-License-Identifier: ISC
# README command 1: installs what Paprika needs, builds it, and runs the demo:
# two demo guests in a shared pool, paprika-brokerd and paprika-gatewayd; the
# desktop is shown in remote-viewer with the broker's .vv, or captured headless.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
top_srcdir=$(pwd) top_builddir=$(pwd) exec ./demo/run-demo.sh "$@"
