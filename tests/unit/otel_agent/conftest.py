"""Shared fixtures for the agent's unit tests: a clean environment and the checked-in /proc tree."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from otel_agent.collectors.filters import Filters
from otel_agent.models import ClockReading
from otel_agent.sources.procfs import ProcfsSource

FIXTURE_ROOT = Path(__file__).parents[2] / "fixtures" / "proc" / "linux-2cpu"
GIB = 1024**3
FIXTURE_CLOCK = ClockReading(offset_seconds=-0.000250, max_error_seconds=0.5, synchronized=True)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("OTEL_", "HERON_")):
            monkeypatch.delenv(name)


class FakeStat:
    """statvfs stand-in: fixed sizes per mountpoint; paths in `hang` block until released."""

    def __init__(self, root: Path, hang: tuple[str, ...] = ()) -> None:
        self.root = str(root)
        self.hang = hang
        self.release = threading.Event()

    def __call__(self, path: str) -> os.statvfs_result:
        mountpoint = "/" + os.path.relpath(path, self.root).removeprefix(".")
        if mountpoint in self.hang:
            self.release.wait(30)
        # f_bsize f_frsize f_blocks f_bfree f_bavail f_files f_ffree f_favail f_flag f_namemax
        return os.statvfs_result((4096, 4096, 262144, 131072, 65536, 1000, 400, 400, 0, 255))


@pytest.fixture
def fake_stat() -> FakeStat:
    return FakeStat(FIXTURE_ROOT)


@pytest.fixture
def source(fake_stat: FakeStat) -> ProcfsSource:
    return ProcfsSource(
        str(FIXTURE_ROOT),
        Filters(),
        statvfs_timeout=0.5,
        clock=lambda: 1_700_000_100_000_000_000,
        stat=fake_stat,
        clock_reader=lambda: FIXTURE_CLOCK,
    )
