"""The one rule the benchmarks' percentiles follow: nearest rank.

The p-th percentile of n values is the value at rank ⌈p/100 × n⌉ of the values in order (the smallest value for
p = 0): always one of the values measured, never a mix of two. For p99 of 1,000 latencies that is the 990th
smallest, with ten above it. ``p`` is taken as written in decimal (99.9 is 999/10, not the float nearest it), so a
rank that is a whole number is not pushed up by one by rounding error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction


def rank(p: float, n: int) -> int:
    """The rank (1 to ``n``) of the p-th percentile of ``n`` values."""
    if not 0 <= p <= 100:
        raise ValueError(f"a percentile is from 0 to 100, not {p}")
    if n < 1:
        raise ValueError("no values")
    return max(1, math.ceil(Fraction(str(p)) * n / 100))


def percentile(values: Iterable[float], p: float) -> float:
    """The p-th percentile of ``values`` (in their own unit), by nearest rank; ValueError when there are none."""
    ordered = sorted(values)
    return ordered[rank(p, len(ordered)) - 1]
