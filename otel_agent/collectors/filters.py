"""Include/exclude filters for devices, interfaces and mounts (pure; compiled once per config)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from otel_agent.models import MountReading

# Partitions, RAM disks, loop and floppy devices: the whole disk is enough (node_exporter's default).
DEFAULT_DISK_EXCLUDE = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"
# Pseudo and virtual filesystems say nothing about disk space.
DEFAULT_FSTYPE_EXCLUDE: tuple[str, ...] = (
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
    "efivarfs", "fuse.lxcfs", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay", "proc",
    "procfs", "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs",
    "tracefs",
)  # fmt: skip
DEFAULT_MOUNT_EXCLUDE = r"^/(dev|proc|sys|run/credentials/.+|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


def _allowed(name: str, include: re.Pattern[str] | None, exclude: re.Pattern[str] | None) -> bool:
    if include is not None and not include.search(name):
        return False
    return exclude is None or not exclude.search(name)


@dataclass(frozen=True)
class Filters:
    """Which disks, interfaces and mounts the agent reports."""

    disk_include: str | None = None
    disk_exclude: str | None = DEFAULT_DISK_EXCLUDE
    interface_include: str | None = None
    interface_exclude: str | None = None
    include_loopback: bool = True
    mount_include: str | None = None
    mount_exclude: str | None = DEFAULT_MOUNT_EXCLUDE
    fstype_exclude: tuple[str, ...] = DEFAULT_FSTYPE_EXCLUDE
    bind_mounts: bool = False
    """Report every mount of a device; off, a device already reported (bind mounts) is reported once."""
    _re: dict[str, re.Pattern[str] | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        patterns = {
            "disk_include": self.disk_include,
            "disk_exclude": self.disk_exclude,
            "interface_include": self.interface_include,
            "interface_exclude": self.interface_exclude,
            "mount_include": self.mount_include,
            "mount_exclude": self.mount_exclude,
        }
        object.__setattr__(self, "_re", {k: _compile(v) for k, v in patterns.items()})

    def disk(self, device: str) -> bool:
        return _allowed(device, self._re["disk_include"], self._re["disk_exclude"])

    def interface(self, name: str) -> bool:
        if not self.include_loopback and name == "lo":
            return False
        return _allowed(name, self._re["interface_include"], self._re["interface_exclude"])

    def mount(self, mountpoint: str, fstype: str) -> bool:
        if fstype in self.fstype_exclude:
            return False
        return _allowed(mountpoint, self._re["mount_include"], self._re["mount_exclude"])


def one_mount_per_device(mounts: list[MountReading]) -> list[MountReading]:
    """Keep one mount per device: the mount of the filesystem's own root, else the shortest mountpoint.

    A bind mount (e.g. /run/netns, or a container volume) shows the same space as the mount it repeats,
    so reporting it again would count that disk twice in every sum over filesystems.
    """
    best: dict[str, MountReading] = {}
    for m in mounts:
        key = m.dev_id or m.device
        kept = best.get(key)
        if kept is None or (m.root == "/", -len(m.mountpoint)) > (kept.root == "/", -len(kept.mountpoint)):
            best[key] = m
    chosen = set(map(id, best.values()))
    return [m for m in mounts if id(m) in chosen]
