"""How steady this machine's CPUs are: a fixed unit of pure-Python work, run back to back on each CPU in turn,
and the episodes where it runs several times slower than its median.

A latency benchmark's p99 is set by the slowest moments. On a shared virtual machine the host can slow a vCPU
for tens of milliseconds at a time, which no guest tool reports (no steal time, nothing else runnable), and a
server three quarters busy then falls behind by more than the episode lasts. Run this beside a benchmark to see
whether the machine has such episodes now; nothing else should run meanwhile. Example:

    .venv/bin/python bench/cpu_steadiness.py            # 15 s on each CPU
    .venv/bin/python bench/cpu_steadiness.py --seconds 30 --cpus 0
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from percentiles import percentile

UNIT_LOOPS = 2000
"""Loop turns in one unit of work: about 0.1 ms of Python on a current CPU."""
SLOW = 3.0
"""A unit this many times its median is slow."""
GAP = 0.02
"""Slow units this close (seconds) belong to the same episode."""
EPISODE = 0.005
"""Episodes shorter than this (seconds) are left out: a timer interrupt, a page fault."""


def unit() -> int:
    total = 0
    for i in range(UNIT_LOOPS):
        total += i * i
    return total


def measure(cpu: int, seconds: float) -> dict[str, float]:
    os.sched_setaffinity(0, {cpu})
    samples: list[tuple[float, float]] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        unit()
        samples.append((start, time.perf_counter() - start))
    durations = sorted(d for _, d in samples)
    median = statistics.median(durations)
    episodes: list[list[float]] = []  # [start, end, summed unit time, units]
    for at, took in samples:
        if took <= SLOW * median:
            continue
        if episodes and at - episodes[-1][1] < GAP:
            episode = episodes[-1]
            episode[1], episode[2], episode[3] = at + took, episode[2] + took, episode[3] + 1
        else:
            episodes.append([at, at + took, took, 1])
    long = [e for e in episodes if e[1] - e[0] >= EPISODE]
    # The slowdown inside an episode: every unit it spans, fast ones included, against the median.
    factors = []
    for first, last, _sum, _n in long:
        inside = [d for at, d in samples if first <= at <= last]
        factors.append(statistics.mean(inside) / median)
    elapsed = samples[-1][0] + samples[-1][1] - samples[0][0]
    return {
        "median_us": median * 1e6,
        "p99_us": percentile(durations, 99) * 1e6,
        "episodes": len(long),
        "per_minute": 60 * len(long) / elapsed,
        "share": sum(e[1] - e[0] for e in long) / elapsed,
        "longest_ms": max((e[1] - e[0] for e in long), default=0.0) * 1e3,
        "worst_factor": max(factors, default=1.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="per CPU")
    parser.add_argument("--cpus", type=int, nargs="*", default=sorted(os.sched_getaffinity(0)))
    args = parser.parse_args()
    rows = [(cpu, measure(cpu, args.seconds)) for cpu in args.cpus]
    print(f"CPU steadiness: a unit of {UNIT_LOOPS:,} loop turns of Python run back to back for {args.seconds:g} s "
          f"per CPU; an episode is slow units (over {SLOW:g}x the median) less than {GAP * 1e3:g} ms apart, "
          f"lasting {EPISODE * 1e3:g} ms or more.\n")
    print("| CPU | Unit, median | Unit, p99 | Slow episodes | Per minute | Time in them | Longest | Worst slowdown |")
    print("|---|---|---|---|---|---|---|---|")
    for cpu, r in rows:
        print(f"| {cpu} | {r['median_us']:.0f} µs | {r['p99_us']:.0f} µs | {r['episodes']:.0f} | "
              f"{r['per_minute']:.0f} | {100 * r['share']:.1f}% | {r['longest_ms']:.0f} ms | "
              f"{r['worst_factor']:.1f}x |")


if __name__ == "__main__":
    main()
