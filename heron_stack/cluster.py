"""The cluster topology: the same stack as several processes per tier, for operators who outgrow one box.

    agents, SDK --OTLP--> HAProxy --> collector-1 | collector-2      (stateless, no batching, no queue)
    collectors --remote write--> HAProxy --> receive-1 | -2 | -3     (Thanos Receive hashring, RF 3, quorum 2)
    receivers + store gateway <-- Thanos Query  (on the Prometheus port: Grafana, alerts, doctor read here)
    receivers --2 h blocks--> filesystem bucket <-- store gateway, compactor
    collectors --OTLP logs--> vlinsert --> vlstorage-1 | vlstorage-2 <-- vlselect (on the VictoriaLogs port)

Everything that reads Prometheus or VictoriaLogs keeps its URL: Thanos Query answers on the Prometheus
port and vlselect on the VictoriaLogs port, so Heron's own services run unchanged on top.
The flags shared with deploy/compose.cluster.yml are written once in `stack_table`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from heron_stack import endpoints, sentinel, services
from heron_stack.config import StackConfig
from heron_stack.runner import Port, ServiceSpec
from heron_stack.stack_table import (
    CLUSTER_COLLECTOR_OVERLAY,
    COLLECTORS,
    LOG_STORAGE,
    RECEIVERS,
    RECORDING_RULES,
    SENTINELS,
    THANOS_GRACE_FLAGS,
    THANOS_QUERY_REPLICA_LABELS,
    THANOS_RECEIVE_FLAGS,
    THANOS_REPLICA_LABEL,
    THANOS_RULE_REPLICA_LABEL,
    VICTORIALOGS_STORAGE_FLAGS,
)

CLUSTER_INFRASTRUCTURE = (
    "redis",
    "redis-replica",
    *SENTINELS,
    *RECEIVERS,
    "thanos-store",
    "thanos-query",
    "thanos-compact",
    "thanos-rule",
    *LOG_STORAGE,
    "vlinsert",
    "vlselect",
    *COLLECTORS,
    "haproxy",
)
"""The cluster's third-party parts, each started after what it writes to."""

START_ORDER = CLUSTER_INFRASTRUCTURE + services.HERON_SERVICES

COMPONENTS = {
    "redis": "redis",
    "redis-replica": "redis",
    **dict.fromkeys(SENTINELS, "redis-sentinel"),
    **dict.fromkeys((*RECEIVERS, "thanos-store", "thanos-query", "thanos-compact", "thanos-rule"), "thanos"),
    **dict.fromkeys((*LOG_STORAGE, "vlinsert", "vlselect"), "victorialogs"),
    **dict.fromkeys(COLLECTORS, "collector"),
    "haproxy": "haproxy",
}
"""Service -> the component (binary) it needs."""


def components_for(names: Sequence[str]) -> list[str]:
    return sorted({COMPONENTS[name] for name in names if name in COMPONENTS})


def _addr(config: StackConfig, name: str) -> str:
    return f"{config.host}:{config.cluster_ports[name]}"


_url = endpoints.cluster_url


def _ports(config: StackConfig, *names: str) -> list[Port]:
    return [Port(config.host, config.cluster_ports[n], "HERON_CLUSTER_BASE_PORT") for n in names]


def thanos_dir(config: StackConfig) -> Path:
    return config.state_dir / "thanos"


def bucket_config(config: StackConfig) -> Path:
    return thanos_dir(config) / "bucket.yml"


def hashring_file(config: StackConfig) -> Path:
    return thanos_dir(config) / "hashring.json"


def hashring(config: StackConfig) -> list[dict[str, object]]:
    """One hashring of every receiver: each series goes to all three (replication factor 3), replicated
    over gRPC or Cap'n Proto (--receive.replication-protocol), so both addresses are listed."""
    endpoints = [
        {"address": _addr(config, f"{r}_grpc"), "capnproto_address": _addr(config, f"{r}_capnp")} for r in RECEIVERS
    ]
    return [{"hashring": "default", "endpoints": endpoints}]


def _write_if_changed(path: Path, text: str) -> None:
    """Write through a rename, and only when the content changes: receivers watch the hashring file."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    staged = path.with_suffix(path.suffix + ".tmp")
    staged.write_text(text, encoding="utf-8")
    staged.replace(path)


def write_thanos_files(config: StackConfig) -> None:
    """The filesystem bucket's config and the hashring, under the state directory."""
    base = thanos_dir(config)
    (base / "bucket").mkdir(parents=True, exist_ok=True)
    _write_if_changed(bucket_config(config), f"type: FILESYSTEM\nconfig:\n  directory: {base / 'bucket'}\n")
    _write_if_changed(hashring_file(config), json.dumps(hashring(config), indent=2) + "\n")


def receive_spec(config: StackConfig, binary: Path, name: str) -> ServiceSpec:
    data = thanos_dir(config) / name
    return ServiceSpec(
        name=name,
        argv=[
            str(binary),
            "receive",
            f"--http-address={_addr(config, f'{name}_http')}",
            f"--grpc-address={_addr(config, f'{name}_grpc')}",
            f"--remote-write.address={_addr(config, f'{name}_write')}",
            f"--receive.capnproto-address={_addr(config, f'{name}_capnp')}",
            *THANOS_GRACE_FLAGS,
            f"--tsdb.path={data}",
            f"--objstore.config-file={bucket_config(config)}",
            f"--receive.hashrings-file={hashring_file(config)}",
            f"--receive.local-endpoint={_addr(config, f'{name}_grpc')}",
            f'--label={THANOS_REPLICA_LABEL}="{name}"',
            *THANOS_RECEIVE_FLAGS,
            "--log.level=warn",
        ],
        ready=services.http_ready(f"{_url(config, f'{name}_http')}/-/ready"),
        urls={name: _url(config, f"{name}_write") + endpoints.RECEIVE_WRITE_PATH},
        ports=_ports(config, *(f"{name}_{kind}" for kind in ("http", "grpc", "write", "capnp"))),
        prepare=lambda: write_thanos_files(config),
    )


def thanos_specs(config: StackConfig, binary: Path) -> dict[str, ServiceSpec]:
    specs = {name: receive_spec(config, binary, name) for name in RECEIVERS}
    bucket = f"--objstore.config-file={bucket_config(config)}"
    specs["thanos-store"] = ServiceSpec(
        name="thanos-store",
        argv=[
            str(binary),
            "store",
            f"--http-address={_addr(config, 'store_http')}",
            f"--grpc-address={_addr(config, 'store_grpc')}",
            f"--data-dir={thanos_dir(config) / 'store'}",
            bucket,
            *THANOS_GRACE_FLAGS,
            "--log.level=warn",
        ],
        ready=services.http_ready(f"{_url(config, 'store_http')}/-/ready"),
        ports=_ports(config, "store_http", "store_grpc"),
        prepare=lambda: write_thanos_files(config),
    )
    endpoints = [_addr(config, f"{r}_grpc") for r in RECEIVERS] + [
        _addr(config, n) for n in ("store_grpc", "rule_grpc")
    ]
    specs["thanos-query"] = ServiceSpec(
        name="thanos-query",
        argv=[
            str(binary),
            "query",
            f"--http-address={config.addr('prometheus')}",
            f"--grpc-address={_addr(config, 'query_grpc')}",
            *(f"--endpoint={endpoint}" for endpoint in endpoints),
            *(f"--query.replica-label={label}" for label in THANOS_QUERY_REPLICA_LABELS),
            *THANOS_GRACE_FLAGS,
            "--log.level=warn",
        ],
        ready=services.http_ready(f"{config.url('prometheus')}/-/ready"),
        urls={"prometheus": config.url("prometheus")},
        ports=[Port(config.host, config.port("prometheus"), "HERON_PROMETHEUS_PORT"), *_ports(config, "query_grpc")],
    )
    specs["thanos-compact"] = ServiceSpec(
        name="thanos-compact",
        argv=[
            str(binary),
            "compact",
            "--wait",
            f"--http-address={_addr(config, 'compact_http')}",
            f"--data-dir={thanos_dir(config) / 'compact'}",
            bucket,
            "--log.level=warn",
        ],
        ready=services.http_ready(f"{_url(config, 'compact_http')}/-/ready"),
        ports=_ports(config, "compact_http"),
        prepare=lambda: write_thanos_files(config),
    )
    # The recording rules Prometheus evaluates in the single-node topology (RED, SLOs, anomaly baselines),
    # evaluated here through Query; Query reads what the ruler records over its StoreAPI.
    specs["thanos-rule"] = ServiceSpec(
        name="thanos-rule",
        argv=[
            str(binary),
            "rule",
            f"--http-address={_addr(config, 'rule_http')}",
            f"--grpc-address={_addr(config, 'rule_grpc')}",
            f"--data-dir={thanos_dir(config) / 'rule'}",
            f"--rule-file={config.project_dir / RECORDING_RULES}",
            f"--query={config.url('prometheus')}",
            f'--label={THANOS_RULE_REPLICA_LABEL}="thanos-rule"',
            bucket,
            *THANOS_GRACE_FLAGS,
            "--log.level=warn",
        ],
        ready=services.http_ready(f"{_url(config, 'rule_http')}/-/ready"),
        ports=_ports(config, "rule_http", "rule_grpc"),
        prepare=lambda: write_thanos_files(config),
    )
    return specs


def log_specs(config: StackConfig, binary: Path, environ: Mapping[str, str]) -> dict[str, ServiceSpec]:
    """VictoriaLogs in cluster mode: storage nodes, an insert tier and a select tier, one binary."""
    specs: dict[str, ServiceSpec] = {}
    for name in LOG_STORAGE:
        data = config.state_dir / name
        specs[name] = ServiceSpec(
            name=name,
            argv=[
                str(binary),
                f"-httpListenAddr={_addr(config, f'{name}_http')}",
                f"-storageDataPath={data}",
                f"-retentionPeriod={services.victorialogs_retention(environ)}",
                *VICTORIALOGS_STORAGE_FLAGS,
                "-loggerLevel=WARN",
            ],
            ready=services.http_ready(f"{_url(config, f'{name}_http')}/health"),
            ports=_ports(config, f"{name}_http"),
            prepare=lambda data=data: data.mkdir(parents=True, exist_ok=True),  # type: ignore[misc]  # default arg binds this loop value
        )
    nodes = "-storageNode=" + ",".join(_addr(config, f"{s}_http") for s in LOG_STORAGE)
    specs["vlinsert"] = ServiceSpec(
        name="vlinsert",
        argv=[str(binary), f"-httpListenAddr={_addr(config, 'vlinsert_http')}", nodes, "-select.disable"],
        ready=services.http_ready(f"{_url(config, 'vlinsert_http')}/health"),
        ports=_ports(config, "vlinsert_http"),
    )
    specs["vlselect"] = ServiceSpec(
        name="vlselect",
        argv=[str(binary), f"-httpListenAddr={config.addr('victorialogs')}", nodes, "-insert.disable"],
        ready=services.http_ready(f"{config.url('victorialogs')}/health"),
        urls={"victorialogs": config.url("victorialogs"), "logs_ui": f"{config.url('victorialogs')}/select/vmui/"},
        ports=[Port(config.host, config.port("victorialogs"), "HERON_VICTORIALOGS_PORT")],
    )
    return specs


def collector_specs(config: StackConfig, binary: Path, environ: Mapping[str, str]) -> dict[str, ServiceSpec]:
    """Two collectors with the shipped config, made pass-through: a client's OTLP request is answered
    only once the receivers (write quorum) or the log insert tier took the data, so killing a collector
    loses nothing the client was told is stored; the client retries what failed."""
    specs = {}
    base_argv = services.collector_argv(binary, config)
    for name in COLLECTORS:
        env = {
            **services.collector_env(config, environ),
            "HERON_OTLP_GRPC_ENDPOINT": _addr(config, f"{name}_grpc"),
            "HERON_OTLP_HTTP_ENDPOINT": _addr(config, f"{name}_http"),
            "HERON_COLLECTOR_HEALTH_ENDPOINT": _addr(config, f"{name}_health"),
            "HERON_COLLECTOR_TELEMETRY_PORT": str(config.cluster_ports[f"{name}_telemetry"]),
            "HERON_COLLECTOR_INSTANCE": name,
            "HERON_PROMETHEUS_REMOTE_WRITE_URL": endpoints.receive_lb_write_url(config),
            "HERON_VICTORIALOGS_OTLP_ENDPOINT": f"{_url(config, 'vlinsert_http')}{services.VICTORIALOGS_OTLP_PATH}",
        }
        specs[name] = ServiceSpec(
            name=name,
            argv=[*base_argv, *(f"--config={overlay}" for overlay in CLUSTER_COLLECTOR_OVERLAY)],
            ready=services.http_ready(f"{_url(config, f'{name}_health')}/"),
            ports=_ports(config, *(f"{name}_{kind}" for kind in ("grpc", "http", "health", "telemetry"))),
            env=env,
        )
    return specs


def haproxy_config(config: StackConfig) -> str:
    """HAProxy in front of the collectors (OTLP gRPC and HTTP, health) and of the receivers (remote write).

    A server leaves the rotation after one failed check (every second) and comes back after one good one;
    a connection refused by a dead server is redispatched to the other."""
    check = "check inter 1s fall 1 rise 1"

    def servers(port_kind: str, check_kind: str, names: Sequence[str]) -> str:
        return "\n".join(
            f"  server {n} {_addr(config, f'{n}_{port_kind}')} {check} port {config.cluster_ports[f'{n}_{check_kind}']}"
            for n in names
        )

    return f"""# Written by `heron up --topology cluster`; deploy/haproxy.cluster.cfg is the same for compose.
global
  maxconn 4096

defaults
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  retries 3
  option redispatch

frontend otlp_grpc
  mode tcp
  bind {config.addr("otlp_grpc")}
  default_backend collectors_grpc

backend collectors_grpc
  mode tcp
  balance leastconn
  option httpchk GET /
{servers("grpc", "health", COLLECTORS)}

frontend otlp_http
  mode http
  bind {config.addr("otlp_http")}
  default_backend collectors_http

backend collectors_http
  mode http
  balance roundrobin
  option httpchk GET /
{servers("http", "health", COLLECTORS)}

frontend collector_health
  mode http
  bind {config.addr("collector_health")}
  default_backend collectors_health

backend collectors_health
  mode http
  option httpchk GET /
{servers("health", "health", COLLECTORS)}

frontend remote_write
  mode http
  bind {_addr(config, "receive_lb")}
  default_backend receivers

backend receivers
  mode http
  balance roundrobin
  option httpchk GET /-/ready
{servers("write", "http", RECEIVERS)}
"""


def haproxy_spec(config: StackConfig, binary: Path) -> ServiceSpec:
    rendered = config.state_dir / "haproxy" / "haproxy.cfg"

    def prepare() -> None:
        rendered.parent.mkdir(parents=True, exist_ok=True)
        rendered.write_text(haproxy_config(config), encoding="utf-8")

    return ServiceSpec(
        name="haproxy",
        argv=[str(binary), "-f", str(rendered), "-db"],
        ready=services.http_ready(f"{config.url('collector_health')}/"),
        urls={"otlp_grpc": config.url("otlp_grpc"), "otlp_http": config.url("otlp_http")},
        ports=[
            Port(config.host, config.port(n), f"HERON_{n.upper()}_PORT")
            for n in ("otlp_grpc", "otlp_http", "collector_health")
        ]
        + _ports(config, "receive_lb"),
        prepare=prepare,
    )


def build_specs(
    config: StackConfig, binaries: Mapping[str, Path], environ: Mapping[str, str] | None = None
) -> dict[str, ServiceSpec]:
    """Specs of every cluster service whose binary is available, in start order."""
    environ = os.environ if environ is None else environ
    single = services.build_specs(config, {k: v for k, v in binaries.items() if k == "redis"}, environ)
    specs: dict[str, ServiceSpec] = dict(single)
    if "redis" in binaries and "redis-sentinel" in binaries:
        layout = sentinel.cluster_layout(config)
        specs.update(sentinel.sentinel_specs(layout, binaries["redis"], binaries["redis-sentinel"], config.state_dir))
    if "thanos" in binaries:
        specs.update(thanos_specs(config, binaries["thanos"]))
    if "victorialogs" in binaries:
        specs.update(log_specs(config, binaries["victorialogs"], environ))
    if "collector" in binaries:
        specs.update(collector_specs(config, binaries["collector"], environ))
    if "haproxy" in binaries:
        specs["haproxy"] = haproxy_spec(config, binaries["haproxy"])
    return {name: specs[name] for name in START_ORDER if name in specs}
