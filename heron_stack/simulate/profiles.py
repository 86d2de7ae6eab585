"""Per-host profiles of a synthetic fleet: hardware, baseline load and identity (pure; seeded)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

GIB = 1024**3
GB = 1000**3

# (logical cores, weight): most fleets are many small machines and a few large ones.
_CORES = ((2, 30), (4, 35), (8, 20), (16, 10), (32, 5))
_OS = (
    ("Debian GNU/Linux 12 (bookworm) 6.1.0-28-amd64", "amd64"),
    ("Ubuntu 24.04.1 LTS 6.8.0-49-generic", "amd64"),
    ("Ubuntu 22.04.5 LTS 5.15.0-126-generic", "amd64"),
    ("Rocky Linux 9.5 (Blue Onyx) 5.14.0-503.14.1.el9_5.x86_64", "amd64"),
    ("Debian GNU/Linux 12 (bookworm) 6.1.0-28-arm64", "arm64"),
)


@dataclass(frozen=True)
class DiskProfile:
    device: str
    read_iops: float
    write_iops: float


@dataclass(frozen=True)
class FilesystemProfile:
    device: str
    mountpoint: str
    fstype: str
    size: int
    fill: float
    """Share used at the start."""
    growth: float
    """Bytes per second the filesystem grows by on average (logs, data); negative shrinks."""


@dataclass(frozen=True)
class HostProfile:
    """Everything fixed about one synthetic host."""

    index: int
    name: str
    host_id: str
    seed: int
    os_description: str
    arch: str
    cores: int
    physical_cores: int
    base_hz: float
    memory: int
    swap: int
    disks: tuple[DiskProfile, ...]
    filesystems: tuple[FilesystemProfile, ...]
    interfaces: tuple[str, ...]
    net_bytes_per_s: float
    baseline: float
    """Mean CPU busy share around which the host's load wanders."""
    memory_baseline: float
    phase: float
    """Where in its day the host starts (0..1), so the fleet's daily peaks are spread out."""
    uptime: float
    """Seconds the host has been up when the simulation starts."""


def _cores(rng: random.Random) -> int:
    values, weights = zip(*_CORES, strict=True)
    return rng.choices(values, weights)[0]


def _disks(rng: random.Random) -> tuple[DiskProfile, ...]:
    names = ("nvme0n1", "nvme1n1") if rng.random() < 0.6 else ("sda", "sdb", "sdc")
    count = rng.choice((1, 1, 2, 2, 3)) if len(names) == 3 else rng.choice((1, 2))
    return tuple(DiskProfile(names[i], rng.uniform(5, 400), rng.uniform(10, 600)) for i in range(count))


def _filesystems(rng: random.Random, disks: tuple[DiskProfile, ...]) -> tuple[FilesystemProfile, ...]:
    root_size = rng.choice((30, 50, 100, 200)) * GB
    out = [
        FilesystemProfile(disks[0].device, "/", rng.choice(("ext4", "xfs")), root_size, rng.uniform(0.15, 0.75), 0.0)
    ]
    for n, disk in enumerate(disks[1:], start=1):
        size = rng.choice((250, 500, 1000, 2000, 4000)) * GB
        # About one data volume in five fills steadily, so disk-filling rules have something to find.
        growth = size * rng.uniform(2e-6, 2e-5) if rng.random() < 0.2 else rng.uniform(-5e3, 5e4)
        mount = "/data" if n == 1 else f"/data{n}"
        out.append(FilesystemProfile(disk.device, mount, "xfs", size, rng.uniform(0.05, 0.85), growth))
    return tuple(out)


def make_profile(index: int, prefix: str = "sim-", seed: int = 0) -> HostProfile:
    """The profile of host number `index`: the same seed and index always give the same host."""
    host_seed = seed * 1_000_003 + index
    rng = random.Random(host_seed)  # noqa: S311 - seeded simulation, not secrets
    cores = _cores(rng)
    memory = cores * rng.choice((2, 4, 4, 8)) * GIB
    disks = _disks(rng)
    os_description, arch = rng.choice(_OS)
    name = f"{prefix}{index}"
    nics = ("eth0",) if rng.random() < 0.7 else ("eth0", "eth1")
    return HostProfile(
        index=index,
        name=name,
        host_id=uuid.uuid5(uuid.NAMESPACE_DNS, f"{seed}.{name}.heron.simulated").hex,
        seed=host_seed,
        os_description=os_description,
        arch=arch,
        cores=cores,
        physical_cores=cores if arch == "arm64" or rng.random() < 0.3 else max(cores // 2, 1),
        base_hz=rng.choice((2.0, 2.2, 2.5, 2.9, 3.2, 3.6)) * 1e9,
        memory=memory,
        swap=rng.choice((0, 0, 2 * GIB, 4 * GIB, 8 * GIB)),
        disks=disks,
        filesystems=_filesystems(rng, disks),
        interfaces=("lo", *nics),
        net_bytes_per_s=10 ** rng.uniform(4, 7.5),
        baseline=min(rng.lognormvariate(-1.9, 0.6), 0.85),
        memory_baseline=rng.uniform(0.25, 0.8),
        phase=rng.random(),
        uptime=rng.uniform(3600, 90 * 86400),
    )


def make_profiles(count: int, prefix: str = "sim-", seed: int = 0) -> list[HostProfile]:
    return [make_profile(i, prefix, seed) for i in range(count)]


def resource_for(profile: HostProfile, service_name: str, version: str, extra: dict[str, str]) -> dict[str, str]:
    """The resource attributes the agent would report on this host (host.*, os.*, service.*)."""
    attrs = {
        "host.name": profile.name,
        "host.arch": profile.arch,
        "os.type": "linux",
        "os.description": profile.os_description,
        "service.version": version,
        "host.id": profile.host_id,
        **extra,
        "heron.simulated": "true",
    }
    attrs["host.name"], attrs["host.id"] = profile.name, profile.host_id
    attrs["service.name"] = service_name
    attrs["service.instance.id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"heron:{profile.host_id}:{service_name}"))
    return attrs
