#!/bin/sh
# SPDX-License-Identifier: ISC
# The agent guest's loginctl: there are no sessions to lock, so it records
# its call on the serial console, where the test looks for it.
echo "agent-guest: loginctl $*" >/dev/ttyS0
