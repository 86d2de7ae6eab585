"""Disk and memory actions on small sizes: files removed on cancel and after crashes, pages touched."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from loadgen.actions.base import ActionEnv
from loadgen.actions.disk import DIR_PREFIX, DiskIo, block_order, sweep_stale
from loadgen.actions.memory import MemoryLeak, step_sizes, touched_block
from loadgen.budget import MIB
from loadgen.config import LoadgenConfig
from loadgen.validation import DiskIoRequest, MemoryLeakRequest


def env(tmp_path: Path) -> ActionEnv:
    return ActionEnv(LoadgenConfig(disk_dir=tmp_path))


def test_disk_action_runs_all_operations_and_leaves_nothing(tmp_path: Path) -> None:
    action = DiskIo(DiskIoRequest(operations=20, file_size_kb=100, pattern="random"), env(tmp_path))
    action.run(threading.Event())
    assert action.achieved()["operations_done"] == 20
    assert action.achieved()["bytes_written"] == 20 * 100 * 1024
    assert action.progress() == 1.0
    assert list(tmp_path.iterdir()) == []


def test_disk_action_cleans_up_when_cancelled(tmp_path: Path) -> None:
    stop = threading.Event()
    action = DiskIo(DiskIoRequest(operations=1_000_000, file_size_kb=4), env(tmp_path))
    thread = threading.Thread(target=action.run, args=(stop,))
    thread.start()
    seen: list[Path] = []
    while not seen and thread.is_alive():
        seen = [p for p in tmp_path.iterdir() if p.name.startswith(DIR_PREFIX)]
    stop.set()
    thread.join(5)
    assert seen, "the action never created its work directory"
    assert not thread.is_alive()
    assert list(tmp_path.iterdir()) == []
    assert action.progress() < 1.0


def test_startup_sweep_removes_directories_of_dead_processes(tmp_path: Path) -> None:
    dead = tmp_path / f"{DIR_PREFIX}999999999-abc"
    dead.mkdir()
    (dead / "op-1.bin").write_bytes(b"x")
    mine = tmp_path / f"{DIR_PREFIX}{os.getpid()}-def"
    mine.mkdir()
    other = tmp_path / "unrelated"
    other.mkdir()
    assert sweep_stale(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, "unrelated"])


def test_block_order() -> None:
    import random

    assert block_order(5, "sequential", random.Random(1)) == [0, 1, 2, 3, 4]
    shuffled = block_order(50, "random", random.Random(1))
    assert sorted(shuffled) == list(range(50))
    assert shuffled != list(range(50))


@pytest.mark.parametrize(("total", "steps", "sizes"), [(10, 3, [4, 3, 3]), (9, 3, [3, 3, 3]), (2, 4, [1, 1, 0, 0])])
def test_step_sizes(total: int, steps: int, sizes: list[int]) -> None:
    assert step_sizes(total, steps) == sizes


def test_touched_block_writes_every_page() -> None:
    block = touched_block(5 * 4096 + 10)
    assert [block[i] for i in range(0, len(block), 4096)] == [1] * 6
    assert bytes(block).count(1) == 6
    block.close()


def test_memory_action_stops_growing_when_memory_is_low(tmp_path: Path) -> None:
    action = MemoryLeak(
        MemoryLeakRequest(size_mb=8, duration_seconds=1, steps=2), env(tmp_path), memory_low=lambda: True
    )
    action.run(threading.Event())
    assert action.achieved()["oom_avoided"] == 1.0
    assert action.achieved()["allocated_bytes"] == 0


def test_memory_action_holds_then_releases(tmp_path: Path) -> None:
    stop = threading.Event()
    action = MemoryLeak(
        MemoryLeakRequest(size_mb=4, duration_seconds=30, steps=2), env(tmp_path), memory_low=lambda: False
    )
    thread = threading.Thread(target=action.run, args=(stop,))
    thread.start()
    while action.allocated() < 2 * MIB and thread.is_alive():
        stop.wait(0.01)
    assert action.allocated() >= 2 * MIB
    stop.set()
    thread.join(5)
    assert action.allocated() == 0
    assert action.achieved()["allocated_bytes"] == 0


def test_a_disk_storm_stops_at_its_write_cap(tmp_path: Path) -> None:
    capped = ActionEnv(LoadgenConfig(disk_dir=tmp_path, max_disk_write_mb=1))
    action = DiskIo(DiskIoRequest(operations=1_000_000, file_size_kb=256), capped)
    action.run(threading.Event())
    assert action.achieved()["operations_done"] == 4.0  # 4 x 256 KiB = the 1 MiB cap
    assert action.achieved()["stopped_at_max_bytes_written"] == 1.0
    assert list(tmp_path.iterdir()) == []


def test_a_disk_storm_stops_at_the_longest_action(tmp_path: Path) -> None:
    short = ActionEnv(LoadgenConfig(disk_dir=tmp_path, max_duration_seconds=0.2))
    action = DiskIo(DiskIoRequest(operations=1_000_000, file_size_kb=4), short)
    action.run(threading.Event())
    assert action.achieved()["stopped_at_max_duration"] == 1.0
    assert action.achieved()["operations_done"] < 1_000_000
    assert list(tmp_path.iterdir()) == []
