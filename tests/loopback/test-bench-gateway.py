# SPDX-License-Identifier: ISC
"""The short version of `make bench-gateway` in the suite: its latency
section (BENCH_QUICK: 300 tunnels a target in one round) through the real
gateway, HAProxy and raw loopback, run as `make bench` runs it. No figure is
held against a time (these machines are noisy); what is checked is what the
figures rest on: every target measured, each tunnel's steps adding up to its
time and showing the path it took (a CONNECT answer behind the gateway, none
behind HAProxy, no TLS on raw loopback), every tunnel of the resumed rows
resumed, and the aims carrying the second HAProxy beside the first."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import paprikatest  # noqa: E402
from paprikatest import check, finish, need, need_built, note, top_builddir, top_srcdir  # noqa: E402

COLUMNS = ("paprika", "haproxy", "stunnel", "squid", "raw")
ROWS = ("TLS first byte p50 ms", "TLS first byte p99 ms", "  resumed p50 ms",
        "  resumed p99 ms", "plain first byte p50 ms", "plain first byte p99 ms")
PER_TARGET = 300  # BENCH_QUICK's BENCH_LATENCY_N, in one round


def table(text):
    """The bench's table rows of ROWS: {row: {column: float or None}}."""
    out = {}
    for line in text.splitlines():
        for row in ROWS:
            if line[:25].rstrip() == row:  # the bench prints "%-25s"
                vals = line[25:].split("|")[0].split()
                out[row] = {c: (None if v == "-" else float(v))
                            for c, v in zip(COLUMNS, vals)}
    return out


def samples(path):
    with open(path) as f:
        return [[float(x) for x in line.split()] for line in f]


def main():
    loadgen = need_built(os.path.join("tests", "bench", "loadgen"))
    need_built("paprika-gatewayd", "paprikactl")
    need("haproxy")
    aims = tempfile.mkdtemp(prefix="test-bench-gateway.")
    env = dict(os.environ, BENCH_QUICK="1", BENCH_ONLY="latency",
               BENCH_PEERS="haproxy raw", BENCH_AIMS_DIR=aims, BENCH_KEEP="1",
               LOADGEN=loadgen, top_srcdir=top_srcdir, top_builddir=top_builddir)
    p = subprocess.run(["bash", os.path.join(top_srcdir, "tests", "bench", "bench-gateway.sh")],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=300)
    log = p.stderr + p.stdout
    check(p.returncode == 0, "bench-gateway.sh's latency section runs to its end",
          log[-3000:])
    kept = re.search(r"kept (/tmp/paprika-bench\.\S+)", log)
    work = kept.group(1) if kept else None

    rows = table(p.stdout)
    for row, cols in (("TLS first byte p50 ms", ("paprika", "haproxy")),
                      ("TLS first byte p99 ms", ("paprika", "haproxy")),
                      ("  resumed p50 ms", ("paprika", "haproxy")),
                      ("plain first byte p50 ms", ("paprika", "raw"))):
        got = rows.get(row, {})
        check(all(got.get(c) is not None and got[c] > 0 for c in cols),
              f"the table's {row.strip()!r} has a figure for {' and '.join(cols)}", got)
    for c in ("paprika", "haproxy"):
        p50 = rows.get("TLS first byte p50 ms", {}).get(c)
        p99 = rows.get("TLS first byte p99 ms", {}).get(c)
        check(p50 is not None and p99 is not None and p99 >= p50,
              f"{c}: p99 is no less than p50 (both from the same tunnels)", (p50, p99))
    check(not re.search(r"latency run failed|only \d+ of \d+ tunnels resumed", log),
          "no latency run failed, and every resumed row resumed every tunnel",
          "\n".join(ln for ln in log.splitlines() if "latency" in ln and "warning" in ln))

    # Each tunnel's steps, from loadgen -o: they add up to its time, and
    # each path shows its own steps.
    if work is not None:
        for target, kind, path_ok, what in (
                ("paprika-tls", "full", lambda s: s[2] > 0 and s[3] > 0,
                 "a TLS handshake and a CONNECT answer"),
                ("paprika-tls", "resumed", lambda s: s[2] > 0 and s[3] > 0,
                 "a TLS handshake and a CONNECT answer"),
                ("haproxy", "full", lambda s: s[2] > 0 and s[3] == 0,
                 "a TLS handshake and no CONNECT"),
                ("haproxyb", "full", lambda s: s[2] > 0 and s[3] == 0,
                 "a TLS handshake and no CONNECT"),
                ("paprika", "full", lambda s: s[2] == 0 and s[3] > 0,
                 "no TLS and a CONNECT answer"),
                ("raw", "full", lambda s: s[2] == 0 and s[3] == 0,
                 "neither TLS nor CONNECT")):
            files = sorted(glob.glob(os.path.join(work, "latency", f"{target}.{kind}.[0-9]*")))
            rows_ = [s for f in files for s in samples(f)]
            check(len(rows_) == PER_TARGET, f"{target} {kind}: {PER_TARGET} tunnels' steps "
                  "written", len(rows_))
            bad = [s for s in rows_ if len(s) != 5 or abs(s[0] - sum(s[1:])) > 0.001]
            check(rows_ and not bad, f"{target} {kind}: each tunnel's steps add up to its time",
                  bad[:3])
            check(rows_ and all(path_ok(s) for s in rows_),
                  f"{target} {kind}: each tunnel shows {what}",
                  [s for s in rows_ if not path_ok(s)][:3])
    else:
        check(False, "the bench kept its work directory (BENCH_KEEP=1)", log[-1000:])

    # The aims: the first-byte ratios, each with the second HAProxy's.
    tsv = os.path.join(aims, "gateway.tsv")
    aim_rows = []
    if os.path.exists(tsv):
        with open(tsv) as f:
            aim_rows = [ln.split("\t") for ln in f.read().splitlines() if not ln.startswith("#")]
    for i, r in enumerate(aim_rows):
        if r[0].startswith("gateway TLS first byte p"):
            noise = aim_rows[i + 1] if i + 1 < len(aim_rows) else []
            check(re.fullmatch(r"\d+\.\d\dx", r[3]) and r[5] in ("met", "not met"),
                  f"aims: {r[0]!r} has a ratio and a verdict", r)
            check(noise and "second HAProxy" in noise[0] and re.fullmatch(r"\d+\.\d\dx", noise[3]),
                  f"aims: {r[0]!r} is followed by the second HAProxy's ratio", noise)
    check(sum(1 for r in aim_rows if r[0].startswith("gateway TLS first byte p")) == 2,
          "aims: the bench recorded the p50 and p99 first-byte aims", aim_rows)

    failed = finish()
    if failed:
        note(f"kept: {work}, {aims}")
    else:
        shutil.rmtree(aims, ignore_errors=True)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    return failed


if __name__ == "__main__":
    sys.exit(paprikatest.run(main))
