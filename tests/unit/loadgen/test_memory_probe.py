"""Memory headroom honours a container's cgroup v2 limit (fixture cgroup trees)."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from loadgen.memory_probe import available_memory, cgroup_headroom


def cgroup(tmp_path: Path, limit: str, current: str) -> Path:
    (tmp_path / "memory.max").write_text(limit + "\n")
    (tmp_path / "memory.current").write_text(current + "\n")
    return tmp_path


@pytest.mark.parametrize(
    ("limit", "current", "headroom"),
    [("1073741824", "268435456", 805306368), ("max", "123", None), ("100", "200", 0), ("junk", "1", None)],
)
def test_cgroup_headroom(tmp_path: Path, limit: str, current: str, headroom: int | None) -> None:
    assert cgroup_headroom(cgroup(tmp_path, limit, current)) == headroom


def test_no_cgroup_files_means_host_memory(tmp_path: Path) -> None:
    assert cgroup_headroom(tmp_path) is None
    assert available_memory(tmp_path) > 0


def test_a_small_container_limit_caps_available_memory(tmp_path: Path) -> None:
    root = cgroup(tmp_path, str(64 * 1024 * 1024), str(16 * 1024 * 1024))
    assert available_memory(root) == min(psutil.virtual_memory().available, 48 * 1024 * 1024)
