"""The fixed log-spaced buckets in which rolled-up durations are counted.

Bucket 0 holds [0, 1 s); bucket k ≥ 1 holds [10^((k-1)/10), 10^(k/10)) seconds — ten a
decade, each 1.259 times the one before; the last (79) also holds everything above
10^7.8 s (about 2 years). A percentile read from buckets (:meth:`Durations.percentile` in
:mod:`kefu.reports.rollups`) lies in the same bucket as the exact value, so it is within a
factor of 1.259 of it (under 26 % off; under 1 s off below one second).
"""

from __future__ import annotations

import math

BUCKETS = 80
PER_DECADE = 10
RATIO = 10 ** (1 / PER_DECADE)


def bucket_of(seconds: float) -> int:
    if seconds < 1:
        return 0
    return min(BUCKETS - 1, 1 + int(math.floor(math.log10(seconds) * PER_DECADE + 1e-9)))


def bounds(index: int) -> tuple[float, float]:
    """The bucket's lower and upper edge in seconds."""
    if index == 0:
        return 0.0, 1.0
    return 10 ** ((index - 1) / PER_DECADE), 10 ** (index / PER_DECADE)
