"""Which pages of the database a cold LRS query read from the disk, and on which thread (docs/performance.md).

    flock /tmp/bench.lock perf record -k CLOCK_MONOTONIC -e block:block_rq_issue -a -o perf.data -- \\
        .venv/bin/python bench/lrs_cold_reads.py --pin 0 --marks marks.txt
    .venv/bin/python bench/lrs_block_reads.py perf.data marks.txt [--db FILE] [--least 400]

Takes the kernel's block requests (each read's sector, and the thread that issued it) and the cold queries'
threads and times that ``lrs_cold_reads.py --marks`` wrote; maps each sector to a page of the database file
through its extents (``filefrag``) and names the page's kind from its first byte (interior or leaf, of a table
or an index). For each query that returned at least --least statements it prints the reads from the disk by
the query's own thread ("query") and by the others (the read-ahead helpers), by kind. A read is counted from the
moment the query started to the start of the next one, so the helpers' last reads count too. The file must not
be written meanwhile (a page's kind is read from the file as it is afterwards).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[1]))

import lrs_bench

from engine.storage.migrations import MIGRATIONS

KINDS = {2: "index interior", 5: "table interior", 10: "index leaf", 13: "table leaf"}
PAGE = 4096
SECTOR = 512


def extents(db: Path) -> list[tuple[int, int, int]]:
    """(first page of the file, first block on the disk, blocks) for each extent of the file."""
    out = []
    listing = subprocess.run(["filefrag", "-v", f"-b{PAGE}", str(db)], capture_output=True, text=True,
                             check=True).stdout
    for line in listing.splitlines():
        found = re.match(r"\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+(\d+)\.\.\s*(\d+):", line)
        if found:
            first, last, physical, _ = map(int, found.groups())
            out.append((first, physical, last - first + 1))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("perf_data", type=Path)
    parser.add_argument("marks", type=Path)
    parser.add_argument("--db", type=Path, default=lrs_bench.OUT / f"lrs-{lrs_bench.FULL_STATEMENTS}-schema"
                        f"{len(MIGRATIONS)}-seed{lrs_bench.SEED_VERSION}.db")
    parser.add_argument("--least", type=int, default=400, help="only queries that returned this many statements")
    args = parser.parse_args()
    mapped = extents(args.db)
    data = args.db.open("rb")

    def kind(block: int) -> str:
        for first, physical, count in mapped:
            if physical <= block < physical + count:
                page = first + block - physical
                data.seek(page * PAGE + (100 if page == 0 else 0))
                return KINDS.get(data.read(1)[0], "other")
        return "not this file"

    reads: list[tuple[float, int, int, int]] = []
    script = subprocess.run(["perf", "script", "-i", str(args.perf_data)], capture_output=True, text=True,
                            check=True).stdout
    for line in script.splitlines():
        found = re.search(r"\s(\d+)\s+\[\d+\]\s+([\d.]+): block:block_rq_issue: \S+ (R\S*) \d+ \(\) (\d+) \+ (\d+)",
                          line)
        if found:
            tid, at, _, sector, sectors = found.groups()
            reads.append((float(at), int(tid), int(sector), int(sectors)))
    marks = [line.split() for line in args.marks.read_text().splitlines()]
    for n, (label, thread, began, _, returned) in enumerate(marks):
        if int(returned) < args.least:
            continue
        until = float(marks[n + 1][2]) if n + 1 < len(marks) else float("inf")
        counted: Counter[tuple[str, str]] = Counter()
        for at, tid, sector, sectors in reads:
            if float(began) <= at < until:
                for block in range(sector * SECTOR // PAGE, (sector + sectors) * SECTOR // PAGE):
                    counted["query" if tid == int(thread) else "helpers", kind(block)] += 1
        total = sum(counted.values())
        print(f"{label.replace('_', ' ')}, {returned} statements: {total} pages read; "
              + ", ".join(f"{who} {what} {count}" for (who, what), count in sorted(counted.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
