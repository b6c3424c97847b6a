"""A serving process's garbage collection: in-flight work must not set off full collections.

A full (oldest-generation) collection walks every live object with the event loop stopped; at
1,000 chats that was 100–400 ms, the chat's latency tail (docs/benchmarks.md, live chat). It
runs once enough objects have survived into the old generation, and with CPython's default
young threshold (700) what survived was mostly work in flight at a young collection, dead soon
after. :func:`kefu.serve.settle_memory` sets the threshold that keeps that work young.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterator

import pytest

from kefu.serve import settle_memory


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def _full_collections() -> int:
    return gc.get_stats()[2]["collections"]


def test_in_flight_work_does_not_set_off_full_collections(collector: None) -> None:
    settle_memory()
    # What the server holds after start-up: its connections' objects (long-lived, not frozen),
    # swept once as the growth of the heap would have it.
    connections = [[[i] for _ in range(5)] for i in range(20_000)]  # lists: always tracked
    gc.collect()
    before = _full_collections()
    # The steady state: each message leaves some cyclic garbage (as asyncio's futures and
    # tracebacks do) and keeps a few objects alive while it is in flight.
    in_flight: deque[list[int]] = deque()
    for n in range(500_000):
        garbage: list[object] = []
        garbage.append(garbage)
        in_flight.append([n])
        if len(in_flight) > 5_000:
            in_flight.popleft()
    assert _full_collections() == before
    assert len(connections) == 20_000
