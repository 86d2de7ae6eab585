"""Redis under Sentinel as services: a replica of the primary and three `redis-sentinel` processes.

The primary is the stack's `redis` service (or any redis-server); `sentinel_specs` adds what turns it
into a Sentinel-managed pair, for a topology to start after it. Every sentinel gets its own config file
in the state directory, because a sentinel rewrites its file with what it learns (replicas, peers, the
current primary after a failover) and must find that again after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from heron_stack.config import StackConfig
from heron_stack.runner import Port, ServiceSpec, redis_ready
from heron_stack.stack_table import REDIS_PERSISTENCE, SENTINEL_MASTER_NAME, SENTINEL_TIMINGS, SENTINELS


@dataclass(frozen=True)
class SentinelLayout:
    """Where the primary, its replica and the sentinels listen; `quorum` sentinels agree a primary is down."""

    host: str
    primary_port: int
    replica_port: int
    sentinel_ports: tuple[int, ...]
    master_name: str = SENTINEL_MASTER_NAME
    quorum: int = 2
    down_after_ms: int = SENTINEL_TIMINGS["down-after-milliseconds"]
    failover_timeout_ms: int = SENTINEL_TIMINGS["failover-timeout"]

    def __post_init__(self) -> None:
        if not 1 <= self.quorum <= len(self.sentinel_ports):
            raise ValueError(f"quorum {self.quorum} must be from 1 to the number of sentinels")

    def url(self, db: int = 0) -> str:
        """HERON_ALERTS_REDIS_URL for the alert worker (see alert_worker.redis_url)."""
        sentinels = ",".join(f"{self.host}:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{sentinels}/{self.master_name}/{db}"


def sentinel_config(layout: SentinelLayout, port: int, workdir: Path) -> str:
    """The starting config of one sentinel (it adds what it learns below these lines)."""
    name = layout.master_name
    return "\n".join(
        [
            f"bind {layout.host}",
            f"port {port}",
            "daemonize no",
            f"dir {workdir}",
            'logfile ""',
            f"sentinel monitor {name} {layout.host} {layout.primary_port} {layout.quorum}",
            f"sentinel down-after-milliseconds {name} {layout.down_after_ms}",
            f"sentinel failover-timeout {name} {layout.failover_timeout_ms}",
            f"sentinel parallel-syncs {name} 1",
            "",
        ]
    )


def replica_spec(
    layout: SentinelLayout, redis_server: Path, state_dir: Path, name: str = "redis-replica"
) -> ServiceSpec:
    """A redis-server replicating the primary, with the primary's persistence settings."""
    data = state_dir / name
    return ServiceSpec(
        name=name,
        argv=[
            str(redis_server),
            "--bind",
            layout.host,
            "--port",
            str(layout.replica_port),
            "--dir",
            str(data),
            *REDIS_PERSISTENCE,
            "--replicaof",
            layout.host,
            str(layout.primary_port),
            "--daemonize",
            "no",
            "--loglevel",
            "notice",
        ],
        ready=redis_ready(layout.host, layout.replica_port),
        ports=[Port(layout.host, layout.replica_port, "the replica's port of the topology")],
        prepare=lambda: data.mkdir(parents=True, exist_ok=True),
    )


def sentinel_spec(layout: SentinelLayout, index: int, redis_sentinel: Path, state_dir: Path) -> ServiceSpec:
    """Sentinel number `index` (from 1); its config is written once and then kept, as the sentinel rewrites it."""
    port = layout.sentinel_ports[index - 1]
    name = f"sentinel-{index}"
    workdir = state_dir / name
    conf = workdir / "sentinel.conf"

    def prepare() -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        if not conf.exists():
            conf.write_text(sentinel_config(layout, port, workdir), encoding="utf-8")

    return ServiceSpec(
        name=name,
        argv=[str(redis_sentinel), str(conf)],
        ready=redis_ready(layout.host, port),
        urls={name: f"redis://{layout.host}:{port}"},
        ports=[Port(layout.host, port, f"the port of {name} in the topology")],
        prepare=prepare,
    )


def sentinel_specs(
    layout: SentinelLayout, redis_server: Path, redis_sentinel: Path, state_dir: Path
) -> dict[str, ServiceSpec]:
    """The replica and every sentinel, keyed by service name, in start order (replica first)."""
    specs = {"redis-replica": replica_spec(layout, redis_server, state_dir)}
    for index in range(1, len(layout.sentinel_ports) + 1):
        spec = sentinel_spec(layout, index, redis_sentinel, state_dir)
        specs[spec.name] = spec
    return specs


def cluster_layout(config: StackConfig) -> SentinelLayout:
    """The cluster topology's Redis under Sentinel: its primary is the stack's `redis`, the replica and the
    sentinels sit at their HERON_CLUSTER_BASE_PORT offsets (stack_table.CLUSTER_PORT_NAMES)."""
    return SentinelLayout(
        host=config.host,
        primary_port=config.port("redis"),
        replica_port=config.cluster_ports["redis_replica"],
        sentinel_ports=tuple(config.cluster_ports[name] for name in SENTINELS),
    )


def service_names(layout: SentinelLayout) -> Sequence[str]:
    return ["redis-replica", *(f"sentinel-{i}" for i in range(1, len(layout.sentinel_ports) + 1))]
