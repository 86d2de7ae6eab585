"""Bounded, in-order buffer of collected cycles, with optional spill to disk; drops oldest at the bound."""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from pathlib import Path

from otel_agent.models import Cycle, Point

_log = logging.getLogger(__name__)
MIB = 1024 * 1024
# In-memory cost of a point and a cycle, on the safe side: tracemalloc measures about two thirds of it.
POINT_BYTES = 120
ATTR_BYTES = 72
CYCLE_BYTES = 200


def estimate_size(points: list[Point]) -> int:
    return CYCLE_BYTES + sum(POINT_BYTES + ATTR_BYTES * len(p.attrs) for p in points)


class CycleBuffer:
    """Holds cycles until they are acknowledged; oldest first, within cycle and byte limits."""

    def __init__(
        self, max_cycles: int, max_bytes: int, spill_dir: str | None = None, spill_max_bytes: int = 256 * MIB
    ) -> None:
        self.max_cycles = max_cycles
        self.max_bytes = max_bytes
        self.spill_max_bytes = spill_max_bytes
        self.dropped_points = 0
        self._mem: deque[Cycle] = deque()
        self._mem_bytes = 0
        self._lock = threading.Lock()
        self._seq = 0
        self._spill = Path(spill_dir) if spill_dir else None
        self._disk: deque[tuple[int, int, Path, int]] = deque()  # (seq, points, path, bytes)
        self._disk_bytes = 0
        if self._spill is not None:
            self._spill.mkdir(parents=True, exist_ok=True)
            self._load_spilled()

    def _load_spilled(self) -> None:
        assert self._spill is not None
        for path in sorted(self._spill.glob("*.json")):
            seq, _, count = path.stem.partition("-")
            if seq.isdigit() and count.isdigit():
                size = path.stat().st_size
                self._disk.append((int(seq), int(count), path, size))
                self._disk_bytes += size
                self._seq = max(self._seq, int(seq))
        if self._disk:
            _log.info("found %d spilled cycles in %s; delivering them first", len(self._disk), self._spill)

    @property
    def depth(self) -> int:
        return len(self._mem) + len(self._disk)

    @property
    def memory_bytes(self) -> int:
        return self._mem_bytes

    def push(self, cycle: Cycle) -> None:
        """Append a cycle; at the bound, spill or drop the oldest."""
        with self._lock:
            self._seq += 1
            cycle.seq = self._seq
            cycle.size = estimate_size(cycle.points)
            self._mem.append(cycle)
            self._mem_bytes += cycle.size
            while self._mem and (
                len(self._mem) + len(self._disk) > self.max_cycles or self._mem_bytes > self.max_bytes
            ):
                if len(self._mem) + len(self._disk) > self.max_cycles and self._disk:
                    self._drop_disk_oldest()
                    continue
                old = self._mem.popleft()
                self._mem_bytes -= old.size
                if self._spill is None or len(self._mem) + len(self._disk) >= self.max_cycles:
                    self.dropped_points += len(old.points)
                else:
                    self._write(old)

    def _drop_disk_oldest(self) -> None:
        _, count, path, size = self._disk.popleft()
        path.unlink(missing_ok=True)
        self._disk_bytes -= size
        self.dropped_points += count

    def _write(self, cycle: Cycle) -> None:
        assert self._spill is not None
        path = self._spill / f"{cycle.seq:016d}-{len(cycle.points)}.json"
        body = {
            "t": cycle.time_ns,
            "s": cycle.start_ns,
            "p": [[p.name, p.attrs, p.value, p.start_ns] for p in cycle.points],
        }
        try:
            data = json.dumps(body, separators=(",", ":")).encode()
            path.write_bytes(data)
        except OSError as exc:
            _log.warning("cannot spill a cycle to %s (%s); dropping it", path, exc)
            self.dropped_points += len(cycle.points)
            return
        self._disk.append((cycle.seq, len(cycle.points), path, len(data)))
        self._disk_bytes += len(data)
        while self._disk_bytes > self.spill_max_bytes and len(self._disk) > 1:
            self._drop_disk_oldest()

    @staticmethod
    def _read(seq: int, path: Path) -> Cycle | None:
        try:
            body = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            _log.warning("spilled cycle %s is unreadable (%s); skipping it", path, exc)
            return None
        points = [Point(n, tuple((k, v) for k, v in a), val, s) for n, a, val, s in body["p"]]
        return Cycle(body["t"], body["s"], points, seq=seq)

    def peek(self, limit: int) -> list[Cycle]:
        """The oldest `limit` cycles, without removing them."""
        with self._lock:
            out: list[Cycle] = []
            for seq, _, path, _ in list(self._disk)[:limit]:
                cycle = self._read(seq, path)
                if cycle is not None:
                    out.append(cycle)
            out += list(self._mem)[: max(limit - len(out), 0)]
            return out

    def ack(self, cycles: list[Cycle]) -> None:
        """Forget cycles that were delivered."""
        done = {c.seq for c in cycles}
        with self._lock:
            while self._disk and (self._disk[0][0] in done or not self._disk[0][2].exists()):
                _, _, path, size = self._disk.popleft()
                path.unlink(missing_ok=True)
                self._disk_bytes -= size
            while self._mem and self._mem[0].seq in done:
                self._mem_bytes -= self._mem.popleft().size

    def spill_all(self) -> int:
        """Write every in-memory cycle to disk (at shutdown); return how many were written."""
        if self._spill is None:
            return 0
        with self._lock:
            count = 0
            while self._mem:
                cycle = self._mem.popleft()
                self._mem_bytes -= cycle.size
                self._write(cycle)
                count += 1
            return count
