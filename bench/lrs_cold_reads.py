"""What a cold LRS query reads from the disk, in process (issue 5; docs/performance.md, "Cold queries").

    flock /tmp/bench.lock .venv/bin/python bench/lrs_cold_reads.py [--pin 0] [--runs 50] [--types agent,agent500]
    flock /tmp/bench.lock perf record -k CLOCK_MONOTONIC -e block:block_rq_issue -a -o perf.data -- \
        .venv/bin/python bench/lrs_cold_reads.py --pin 0 --marks marks.txt      # then bench/lrs_block_reads.py

Opens the benchmark's seeded database (bench/out/lrs-1000000-schema<N>-seed1.db, made by bench/lrs_bench.py),
runs the LRS's query code on it as the server does (``lrs_query.query_statements`` on a reader connection of
``lrs.open_reader``, with the server's ``ReadAhead``), first warm (the file read into the page cache, then the
benchmark's warm-up and warm plans), then cold: the file evicted from the page cache before each query, like
``lrs_bench.py --cold``. For each cold query type it prints the p50/p95 wall time, the CPU time of the process,
and the reads: bytes the process read from storage (/proc/self/io, every thread), those of the query's own thread,
and the read requests the disk completed (/proc/diskstats). Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # after $PYTHONPATH, so other code than this checkout's can be measured
sys.path.insert(0, str(ROOT / "bench"))

import lrs_bench  # noqa: E402
from percentiles import percentile  # noqa: E402

from engine.storage import lrs, lrs_query, prefetch  # noqa: E402
from engine.storage.migrations import MIGRATIONS  # noqa: E402
from engine.storage.prefetch import ReadAhead  # noqa: E402
from engine.xapi.keys import agent_key  # noqa: E402

TYPES = {"agent": "agent", "agent500": "agent, no limit (500)", "verb": "verb", "activity": "activity",
         "registration": "registration", "agent+verb": "agent+verb"}


def query_of(target: str) -> tuple[lrs_query.StatementQuery, int]:
    params = {k: v[0] for k, v in parse_qs(target).items()}
    agent = agent_key(json.loads(params["agent"])) if "agent" in params else None
    q = lrs_query.StatementQuery(agent=agent, verb=params.get("verb"), activity=params.get("activity"),
                                 registration=params.get("registration"),
                                 related_activities=params.get("related_activities") == "true")
    return q, int(params.get("limit", "0")) or 500


def read_bytes(path: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith("read_bytes:"):
            return int(line.split()[1])
    return 0


def disk_reads(device: str) -> int:
    for line in Path("/proc/diskstats").read_text().splitlines():
        fields = line.split()
        if fields[2] == device:
            return int(fields[3])
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def mean(values: list[float], picked: list[int]) -> float:
    return sum(values[n] for n in picked) / len(picked)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=lrs_bench.OUT / f"lrs-{lrs_bench.FULL_STATEMENTS}-schema"
                        f"{len(MIGRATIONS)}-seed{lrs_bench.SEED_VERSION}.db")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--types", default="agent,agent500")
    parser.add_argument("--pin", default="", help="CPUs to pin this process to, e.g. 0 (default: not pinned)")
    parser.add_argument("--threads", type=int, default=None, help="read-ahead threads (default: the server's)")
    parser.add_argument("--reader-cache", type=int, default=None, help="KiB (default: lrs.READER_CACHE_KIB)")
    parser.add_argument("--helper-cache", type=int, default=None, help="KiB (default: prefetch.HELPER_CACHE_KIB)")
    parser.add_argument("--device", default="vda")
    parser.add_argument("--marks", default="", help="write each cold query's thread id and times to this file")
    args = parser.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {int(c) for c in args.pin.split(",")})
    if args.reader_cache is not None:
        lrs.READER_CACHE_KIB = args.reader_cache
    if args.helper_cache is not None:
        prefetch.HELPER_CACHE_KIB = args.helper_cache
    meta = json.loads(args.db.with_suffix(".json").read_text())
    types = [TYPES[t] for t in args.types.split(",")]
    ahead = ReadAhead(str(args.db)) if args.threads is None else ReadAhead(str(args.db), threads=args.threads)
    reader = lrs.open_reader(str(args.db))
    me = threading.get_native_id()
    # Each cold query's thread and times, to match the kernel's block trace to queries (perf -k CLOCK_MONOTONIC).
    marks = open(args.marks, "w") if args.marks else None

    def run(target: str) -> int:
        q, limit = query_of(target)
        with lrs.snapshot(reader):
            rows, _ = lrs_query.query_statements(reader, q, after=None, limit=limit, read_ahead=ahead)
        return len(rows)

    lrs_bench.prefetch(args.db)
    for seed in (5, 6):
        plans = lrs_bench.query_plans(meta, args.runs, seed=seed)
        for label, targets in plans.items():
            if not label.startswith("more"):
                for target in targets:
                    run(target)
    cold = lrs_bench.query_plans(meta, args.runs, seed=7)
    print(f"{args.db.name}: pinned to {args.pin or 'no CPU'}; read-ahead threads {ahead.threads}; "
          f"load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    for label in cold:
        if label not in types:
            continue
        walls, cpus, process, own, disk, sizes = [], [], [], [], [], []
        for target in cold[label]:
            lrs_bench.evict(args.db)
            before = (time.clock_gettime(time.CLOCK_MONOTONIC), cpu_seconds(), read_bytes("/proc/self/io"),
                      read_bytes(f"/proc/self/task/{me}/io"), disk_reads(args.device))
            sizes.append(run(target))
            walls.append(time.clock_gettime(time.CLOCK_MONOTONIC) - before[0])
            if marks is not None:
                print(label.replace(" ", "_"), me, before[0], before[0] + walls[-1], sizes[-1], file=marks)
            ahead.wait()  # the helpers' last reads count too
            cpus.append(cpu_seconds() - before[1])
            process.append((read_bytes("/proc/self/io") - before[2]) / 4096)
            own.append((read_bytes(f"/proc/self/task/{me}/io") - before[3]) / 4096)
            disk.append(disk_reads(args.device) - before[4])
        print(f"{label}: wall p50 {percentile(walls, 50) * 1e3:.1f} p95 {percentile(walls, 95) * 1e3:.1f} ms;"
              f" CPU p50 {percentile(cpus, 50) * 1e3:.1f} p95 {percentile(cpus, 95) * 1e3:.1f} ms;"
              f" pages read per query: process mean {sum(process) / len(process):.0f}"
              f" (p50 {percentile(process, 50):.0f}), query thread mean {sum(own) / len(own):.0f},"
              f" disk reads mean {sum(disk) / len(disk):.0f}")
        big = [n for n, size in enumerate(sizes) if size >= 0.8 * max(sizes)]
        if len(big) < len(sizes):
            print(f"  the {len(big)} pages of {0.8 * max(sizes):.0f}+ statements: wall mean"
                  f" {mean(walls, big) * 1e3:.1f} ms, CPU mean {mean(cpus, big) * 1e3:.1f} ms; pages read: process"
                  f" {mean(process, big):.0f}, query thread {mean(own, big):.0f}, disk reads {mean(disk, big):.0f}")
    ahead.close()
    reader.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
