"""The honest wait: when will the customer at position *k* of a queue reach an agent?

Pure functions (no Django), shared by the live queue and ``scripts/simulate_queue.py``, which
measures the error on simulated days (see docs/chat.md for the numbers).

While every slot is busy, slots free up at a rate of ``slots / H`` per second, where ``slots``
is the chat capacity of the eligible agents online and ``H`` the mean handling time of
recently closed chats (the renewal-reward theorem: a slot serves one chat per ``H`` seconds on
average, whatever the distribution). The customer at position *k* needs *k* slots to free:
``k × H / slots``.

The simulation also scored estimators that use more of what is known — each chat in progress
with its age, projected with mean lengths or replayed by Monte Carlo from the empirical
distribution. The projection was worse (it takes the minimum of expected remaining times,
which is far later than the expected minimum of nineteen random ones); the Monte Carlo replay
was no better than this formula at two hundred times its cost. Most of the remaining error
comes from what no estimator sees: security cases that arrive later and go first, customers
ahead who give up, agents who log off.
"""

from __future__ import annotations

from collections.abc import Sequence

# Handling times needed before they are trusted over the configured default.
MIN_SAMPLES = 5
# Dropped from the top before averaging: a chat left open over lunch is not a handling time.
TRIM = 0.05


def mean_handling_seconds(samples: Sequence[float], default: float) -> float:
    """Mean of recent handling times without the longest 5 %, or ``default`` with too few."""
    if len(samples) < MIN_SAMPLES:
        return default
    ordered = sorted(samples)
    kept = ordered[: max(MIN_SAMPLES, int(len(ordered) * (1 - TRIM)))]
    return sum(kept) / len(kept)


def estimate_wait(*, position: int, slots: int, handle_seconds: float) -> float | None:
    """Seconds until the customer at ``position`` (1 = next) gets an agent; None when no agent can."""
    if position < 1:
        return 0.0
    if slots <= 0:
        return None
    return position * handle_seconds / slots
