"""Disk I/O: write, sync, read back and delete temp files; removed even on cancel or crash."""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

import psutil

from loadgen.actions.base import Action, ActionEnv
from loadgen.budget import Reservation
from loadgen.validation import DiskIoRequest

DIR_PREFIX = "heron-loadgen-"
BLOCK = 64 * 1024
_DIR_RE = re.compile(rf"^{DIR_PREFIX}(\d+)-")


def block_order(blocks: int, pattern: str, rng: random.Random) -> list[int]:
    """Block indexes in the order they are written: in sequence, or shuffled."""
    order = list(range(blocks))
    if pattern == "random":
        rng.shuffle(order)
    return order


def sweep_stale(directory: Path) -> list[Path]:
    """Remove work directories left by loadgen processes that no longer run; return what was removed."""
    removed: list[Path] = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _DIR_RE.match(entry.name)
        if match and entry.is_dir() and not psutil.pid_exists(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


class DiskIo(Action):
    """Runs `operations` write+fsync+read+delete cycles of `file_size_kb` each.

    It ends early at the load lab's longest action (`HERON_LOADGEN_MAX_DURATION_SECONDS`) or once it
    has written `HERON_LOADGEN_MAX_DISK_WRITE_MB`, whichever comes first, and says which
    (`stopped_at_max_duration` or `stopped_at_max_bytes_written`).
    """

    kind: ClassVar[str] = "disk-io"

    def __init__(self, request: DiskIoRequest, env: ActionEnv) -> None:
        super().__init__()
        self.operations = request.operations
        self.size = request.file_size_kb * 1024
        self.pattern = request.pattern
        self.directory = env.config.disk_dir
        self.max_seconds = env.config.max_duration_seconds
        self.max_bytes = env.config.max_disk_write_mb * 1024 * 1024
        self._recorder = env.recorder
        self._rng = random.Random()  # noqa: S311 - a write order, not a secret
        self.workdir: Path | None = None
        self._report(0.0, operations_done=0.0, bytes_written=0.0, bytes_read=0.0)

    @property
    def expected_seconds(self) -> None:
        return None

    def reservation(self) -> Reservation:
        return Reservation()

    def run(self, stop: threading.Event) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}-", dir=self.directory))
        payload = os.urandom(min(BLOCK, self.size))
        written = read = 0
        started = time.monotonic()
        try:
            for done in range(1, self.operations + 1):
                if stop.is_set():
                    return
                cap = self._cap(time.monotonic() - started, written)
                if cap:
                    self._report(None, **{f"stopped_at_{cap}": 1.0})
                    return
                path = self.workdir / f"op-{done % 4}.bin"
                written += self._write(path, payload, stop)
                read += self._read(path)
                path.unlink()
                self._recorder.disk_ops("write", 1, self.size)
                self._recorder.disk_ops("read", 1, self.size)
                elapsed = max(1e-9, time.monotonic() - started)
                self._report(
                    done / self.operations,
                    operations_done=float(done),
                    bytes_written=float(written),
                    bytes_read=float(read),
                    ops_per_sec=round(done / elapsed, 2),
                )
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _cap(self, elapsed: float, written: int) -> str | None:
        if elapsed >= self.max_seconds:
            return "max_duration"
        if written + self.size > self.max_bytes:
            return "max_bytes_written"
        return None

    def _write(self, path: Path, payload: bytes, stop: threading.Event) -> int:
        blocks = -(-self.size // len(payload))
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            for index in block_order(blocks, self.pattern, self._rng):
                if stop.is_set():
                    break
                offset = index * len(payload)
                os.pwrite(fd, payload[: min(len(payload), self.size - offset)], offset)
            os.fsync(fd)
        finally:
            os.close(fd)
        return self.size

    def _read(self, path: Path) -> int:
        total = 0
        with path.open("rb") as fh:
            while chunk := fh.read(BLOCK):
                total += len(chunk)
        return total
