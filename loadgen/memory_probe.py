"""How much memory memory actions may still take: host available memory, capped by a cgroup v2 limit."""

from __future__ import annotations

from pathlib import Path

import psutil

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_headroom(root: Path = CGROUP_ROOT) -> int | None:
    """Bytes left under this cgroup's `memory.max`, or None when unlimited or not on cgroup v2."""
    try:
        limit = (root / "memory.max").read_text().strip()
        current = int((root / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None
    if limit == "max":
        return None
    try:
        return max(0, int(limit) - current)
    except ValueError:
        return None


def available_memory(root: Path = CGROUP_ROOT) -> int:
    """psutil's available memory, lowered to the container's headroom when a memory limit applies."""
    available = int(psutil.virtual_memory().available)
    headroom = cgroup_headroom(root)
    return available if headroom is None else min(available, headroom)
