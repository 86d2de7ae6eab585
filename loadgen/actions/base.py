"""The action interface and what every action gets from the engine."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from loadgen.budget import Reservation
from loadgen.config import LoadgenConfig


class Recorder(Protocol):
    """Where actions report counters (telemetry implements it)."""

    def disk_ops(self, operation: str, count: int, nbytes: int) -> None: ...

    def traffic(self, ok: int, failed: int, dropped: int, latencies: Sequence[float]) -> None: ...


class NullRecorder:
    """A recorder that drops everything (used when telemetry is off and in unit tests)."""

    def disk_ops(self, operation: str, count: int, nbytes: int) -> None:
        """Drop."""

    def traffic(self, ok: int, failed: int, dropped: int, latencies: Sequence[float]) -> None:
        """Drop."""


@dataclass(frozen=True)
class ActionEnv:
    """Settings and adapters an action may use."""

    config: LoadgenConfig
    recorder: Recorder = field(default_factory=NullRecorder)
    auth_header: str | None = None
    trace_export: bool = False


class Action(ABC):
    """One unit of load. `run` blocks until the work is done or `stop` is set (then returns within 1 s)."""

    kind: ClassVar[str]

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._progress = 0.0
        self._achieved: dict[str, float] = {}

    @property
    @abstractmethod
    def expected_seconds(self) -> float | None:
        """Planned run time, when known in advance."""

    @abstractmethod
    def reservation(self) -> Reservation:
        """The most this action will use, for admission control."""

    @abstractmethod
    def run(self, stop: threading.Event) -> None:
        """Do the work; return when finished or soon after `stop` is set. Always release resources."""

    def progress(self) -> float:
        """Fraction done, 0..1."""
        with self._lock:
            return self._progress

    def achieved(self) -> dict[str, float]:
        """Measured values so far (e.g. achieved CPU percent, allocated bytes, requests/s)."""
        with self._lock:
            return dict(self._achieved)

    def _report(self, progress: float | None = None, **achieved: float) -> None:
        with self._lock:
            if progress is not None:
                self._progress = min(1.0, max(0.0, progress))
            self._achieved.update(achieved)
