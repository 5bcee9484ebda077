# SPDX-License-Identifier: ISC
"""Processes' CPU time from /proc, for the benchmarks."""

import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def children(pid):
    """pid and its descendants."""
    parent = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    parent[int(p)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, todo = [], [pid]
    while todo:
        q = todo.pop()
        tree.append(q)
        todo += [c for c, pp in parent.items() if pp == q]
    return tree


def cpu_seconds(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK
