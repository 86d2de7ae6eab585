"""Where an evaluation's time goes: seconds per stage, summed over the threads of one group run.

The engine opens a `StageClock` for each run; adapters that run inside it (the Prometheus source)
add their own stages through `record`, so no adapter signature has to carry the clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

STAGES = ("load", "query", "decode", "prometheus", "state", "pipeline", "save", "enqueue")
"""load: lock, snapshot, silences and other groups' firing alerts from the store; query: wall time of the
group's queries (round trips, run concurrently); decode: JSON decoding of the answers (inside query);
prometheus: the query engine's own evaluation time, from the query API's stats (inside query, summed over
concurrent queries); state: matching results and advancing the state machines; pipeline: routing,
grouping, inhibition and silences; save: encoding and writing the snapshot; enqueue: handing jobs over."""


class StageClock:
    """Thread-safe accumulator of seconds per stage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._seconds[stage] = self._seconds.get(stage, 0.0) + seconds

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def seconds(self) -> dict[str, float]:
        with self._lock:
            return dict(self._seconds)


_current: ContextVar[StageClock | None] = ContextVar("heron_stage_clock", default=None)


def record(stage: str, seconds: float) -> None:
    """Add `seconds` to `stage` of the run this thread works for (nothing outside a run)."""
    clock = _current.get()
    if clock is not None:
        clock.add(stage, seconds)


@contextmanager
def collecting(clock: StageClock) -> Iterator[StageClock]:
    """Make `clock` the one `record` adds to, in this context (copy the context into worker threads)."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)
