"""The benchmarks' one percentile rule (bench/percentiles.py): nearest rank."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import lrs_bench
import openloop
from percentiles import percentile, rank


def test_nearest_rank() -> None:
    values = [float(n) for n in range(1, 1001)]  # 1 to 1,000: the p-th percentile is 10p
    assert [percentile(values, p) for p in (0, 1, 50, 95, 99, 99.9, 100)] == [1, 10, 500, 950, 990, 999, 1000]
    assert percentile(reversed(values), 99) == 990  # in any order
    # Rank ⌈p/100 × n⌉: a fraction of a rank goes up, never down, and a whole rank stays (99.9% of 1,000 is 999,
    # though 99.9 * 1000 / 100 is a hair over 999 in floating point).
    assert [rank(99, n) for n in (1, 99, 100, 101, 150, 1234)] == [1, 99, 99, 100, 149, 1222]
    assert rank(99.9, 1000) == 999 and rank(50, 2) == 1 and rank(0, 5) == 1


def test_no_values_or_a_percentile_that_cannot_be() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="from 0 to 100"):
        rank(101, 10)


def test_both_load_generators_use_it() -> None:
    latencies = [n / 1000 for n in range(150, 0, -1)]  # 1 to 150 ms; p99 is the 149th: 149 ms
    result = openloop.OpenResult(label="x", offered=1.0, connections=1, latencies=latencies)
    assert result.percentile(99) == pytest.approx(149.0)
    assert lrs_bench.QueryResult(label="x", latencies=latencies).percentile(99) == pytest.approx(149.0)
    assert lrs_bench.LoadResult(label="x", latencies=latencies).p99 == pytest.approx(149.0)
    assert openloop.OpenResult(label="x", offered=1.0, connections=1).percentile(99) == float("inf")
