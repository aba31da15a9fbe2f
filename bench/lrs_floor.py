"""What the LRS's SQLite writes cost, variant by variant: the SQLite floor of lrs_bench.py, with bytes written.

    .venv/bin/python bench/lrs_floor.py                                  # 30,000 statements, 1,500 a transaction
    .venv/bin/python bench/lrs_floor.py --count 20000 --group 500 base drop:statements_stored cache2mb memory

Each variant writes the same statements (as ``bench/lrs_bench.py`` makes them, indexed by
``engine.xapi.keys.index``) with ``engine.storage.lrs.save_statements`` into a new database opened by ``Store``
(WAL, synchronous=NORMAL, the store's page cache and checkpoint thread), ``--group`` per transaction, in this
process pinned to the first CPU. For each it prints statements per second, the share of a CPU the process used,
and the bytes it wrote per statement: ``wchar`` (every write() call: the log, the checkpoints) and
``write_bytes`` (what reached the block device), from /proc/self/io. Variants:

- ``base``: the schema and settings as the engine has them;
- ``drop:INDEX``: without that index (to see what one index costs);
- ``cache2mb``: SQLite's default page cache instead of the store's;
- ``full`` / ``off``: synchronous=FULL / OFF;
- ``memory``: an in-memory database (no disk at all): the CPU-only ceiling.

A variant far faster in memory than on disk while the CPU share stays high is paying for bytes, not waiting
on the disk; a low CPU share means waiting (the disk, or other work on the machine: the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import lrs_bench as lb  # noqa: E402

from engine.storage.db import Store  # noqa: E402
from engine.storage.lrs import save_statements  # noqa: E402
from engine.storage.statements import IndexedStatement  # noqa: E402
from engine.xapi.keys import index  # noqa: E402


def io() -> tuple[int, int]:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["write_bytes"]), int(fields["wchar"])


def statements(count: int) -> list[IndexedStatement]:
    population = lb.Population(seed=303)
    authority = {"objectType": "Agent", "account": {"homePage": lb.HOME, "name": "bench"}}
    rows = []
    for _ in range(count):
        statement = population.statement(lb.stamp(datetime.now(UTC)))
        statement.update(stored=lb.stamp(datetime.now(UTC)), authority=authority, version="1.0.0")
        rows.append(index(statement))
    return rows


def run(variant: str, rows: list[IndexedStatement], group: int, folder: Path) -> dict[str, object]:
    path = folder / f"floor-{uuid.uuid4().hex}.db"
    store = Store(":memory:" if variant == "memory" else path)
    if variant.startswith("drop:"):
        store.conn.execute(f"DROP INDEX {variant[5:]}")
    pragma = {"cache2mb": "cache_size=-2000", "full": "synchronous=FULL", "off": "synchronous=OFF"}.get(variant)
    if pragma:
        store.conn.execute(f"PRAGMA {pragma}")
    disk, calls = io()
    began, cpu = time.perf_counter(), time.process_time()
    known: dict[str, int] = {}
    for start in range(0, len(rows), group):
        learned: dict[str, int] = {}
        with store.transaction() as conn:
            save_statements(conn, rows[start:start + group], attachments=[], endpoints=[], now=rows[start].stored,
                            known=known, learned=learned)
        known.update(learned)  # as the LRS does: term numbers kept once committed
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    disk, calls = io()[0] - disk, io()[1] - calls
    store.close()
    for leftover in folder.glob(path.name + "*"):
        leftover.unlink()
    return {"variant": variant, "statements/s": round(len(rows) / wall), "cpu share": round(cpu / wall, 2),
            "KB written per statement (wchar)": round(calls / len(rows) / 1024, 1),
            "KB to the device per statement": round(disk / len(rows) / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("variants", nargs="*", default=["base", "cache2mb", "memory"])
    parser.add_argument("--count", type=int, default=30_000)
    parser.add_argument("--group", type=int, default=1_500)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print("load average", " ".join(Path("/proc/loadavg").read_text().split()[:3]), file=sys.stderr)
    rows = statements(args.count)
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lrs-floor-", dir=ROOT / "bench" / "out") as folder:
        for variant in args.variants:
            print(json.dumps(run(variant, rows, args.group, Path(folder))), flush=True)


if __name__ == "__main__":
    main()
