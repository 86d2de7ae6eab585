"""The bounded buffer: in order, drop oldest at the bound (counted), optional spill to disk."""

from __future__ import annotations

from pathlib import Path

from otel_agent.buffer import CycleBuffer, estimate_size
from otel_agent.models import Cycle, Point


def _cycle(t: int, n: int = 3) -> Cycle:
    return Cycle(t, 1, [Point("system.uptime", (("k", i),), float(t)) for i in range(n)])


def _times(cycles: list[Cycle]) -> list[int]:
    return [c.time_ns for c in cycles]


def test_cycles_come_out_oldest_first_and_stay_until_acked() -> None:
    buf = CycleBuffer(max_cycles=10, max_bytes=10**6)
    for t in range(5):
        buf.push(_cycle(t))
    first = buf.peek(2)
    assert _times(first) == [0, 1]
    assert _times(buf.peek(2)) == [0, 1]
    buf.ack(first)
    assert _times(buf.peek(10)) == [2, 3, 4]
    assert buf.depth == 3


def test_cycle_bound_drops_oldest_and_counts_points() -> None:
    buf = CycleBuffer(max_cycles=3, max_bytes=10**6)
    for t in range(5):
        buf.push(_cycle(t))
    assert _times(buf.peek(10)) == [2, 3, 4]
    assert buf.dropped_points == 6


def test_byte_bound_drops_oldest() -> None:
    one = estimate_size(_cycle(0).points)
    buf = CycleBuffer(max_cycles=100, max_bytes=one * 2)
    for t in range(4):
        buf.push(_cycle(t))
    assert _times(buf.peek(10)) == [2, 3]
    assert buf.memory_bytes <= one * 2


def test_spill_keeps_order_and_survives_a_restart(tmp_path: Path) -> None:
    one = estimate_size(_cycle(0).points)
    buf = CycleBuffer(max_cycles=100, max_bytes=one * 2, spill_dir=str(tmp_path))
    for t in range(6):
        buf.push(_cycle(t))
    assert buf.dropped_points == 0
    assert _times(buf.peek(10)) == [0, 1, 2, 3, 4, 5]
    assert buf.peek(1)[0].points == _cycle(0).points
    buf.ack(buf.peek(2))
    assert buf.spill_all() == 2
    restarted = CycleBuffer(max_cycles=100, max_bytes=one * 2, spill_dir=str(tmp_path))
    assert _times(restarted.peek(10)) == [2, 3, 4, 5]
    restarted.push(_cycle(6))
    assert _times(restarted.peek(10)) == [2, 3, 4, 5, 6]


def test_spill_respects_the_cycle_bound(tmp_path: Path) -> None:
    one = estimate_size(_cycle(0).points)
    buf = CycleBuffer(max_cycles=3, max_bytes=one, spill_dir=str(tmp_path))
    for t in range(5):
        buf.push(_cycle(t))
    assert _times(buf.peek(10)) == [2, 3, 4]
    assert buf.dropped_points == 6
    assert len(list(tmp_path.glob("*.json"))) == 2
