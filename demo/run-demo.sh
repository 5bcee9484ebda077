#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs the demo with Debian's python3 (python3-libvirt lives there).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/run-demo.py" "$@"
