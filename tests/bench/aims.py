# SPDX-License-Identifier: ISC
"""The speed issue's aims, side by side: each benchmark that measures one
keeps its figures in a file of its own under BENCH_AIMS_DIR (NAME.tsv,
written anew by each of its runs), and `make bench` prints them all in one
table at its end (python3 aims.py DIR). An aim not met points to the
measured explanation in tests/bench/README.md, "Against the aims"."""

import os
import sys
import time

COLUMNS = ("figure", "paprika", "alternative", "ratio", "aim", "verdict")


class Aims:
    """The aims one bench measured; a no-op without BENCH_AIMS_DIR, or with
    bench None (a partial run, whose figures would replace the whole's)."""

    def __init__(self, bench):
        d = os.environ.get("BENCH_AIMS_DIR") if bench else None
        self.path = None
        if d:
            os.makedirs(d, exist_ok=True)
            self.path = os.path.join(d, f"{bench}.tsv")
            with open(self.path, "w") as f:
                f.write(f"# {bench} {time.strftime('%Y-%m-%d %H:%M')}\n")

    def add(self, figure, paprika, alternative, ratio, aim, met):
        """ratio and aim as text ("1.05x", "<= 1.2x"); met: True, False,
        or None when the aim is not a ratio this run can judge."""
        if self.path is None:
            return
        verdict = "-" if met is None else "met" if met else "not met"
        with open(self.path, "a") as f:
            f.write("\t".join(str(x).replace("\t", " ") for x in
                              (figure, paprika, alternative, ratio, aim, verdict)) + "\n")


def table(directory):
    rows, stamps = [], []
    names = sorted(n for n in os.listdir(directory) if n.endswith(".tsv")) \
        if os.path.isdir(directory) else []
    for name in names:
        with open(os.path.join(directory, name)) as f:
            for line in f.read().splitlines():
                if line.startswith("#"):
                    stamps.append(line[2:])
                elif line:
                    rows.append(line.split("\t"))
    if not rows:
        return "no benchmark recorded its aims (BENCH_AIMS_DIR unset, or none ran)"
    widths = [max(len(r[i]) for r in rows + [list(COLUMNS)]) for i in range(len(COLUMNS))]
    widths[0] = min(widths[0], 64)
    out = ["Against the aims (" + "; ".join(stamps) + ")", ""]
    for r in [list(COLUMNS)] + [["-" * w for w in widths]] + rows:
        out.append("  ".join(f"{c[:w]:<{w}}" if i == 0 else f"{c:>{w}}"
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    missing = sum(1 for r in rows if r[5] == "not met")
    out.append("")
    if missing:
        out.append(f"{missing} not met: tests/bench/README.md, \"Against the aims\", says "
                   "what bounds each, as measured.")
    else:
        out.append("every aim judged here is met.")
    return "\n".join(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: aims.py DIR")
    print(table(sys.argv[1]))
