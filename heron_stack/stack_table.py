"""Facts `heron up` (services.py) and docker-compose.yml share, each written once.

services.py builds its argv from the constants below; `heron_stack.composecheck.drift` compares
docker-compose.yml with the specs services.py builds, service by service, through `SHARED`: image tags,
command flags, published ports and environment. Everything the two may do differently is listed in a
service's `differences` with the reason, so an undocumented difference fails the tests by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

PROMETHEUS_RETENTION = "35d"
"""How long Prometheus keeps samples: the longest SLO window (30d) plus room, and the longest default
anomaly history (3 weeks plus the trailing window). `alert-worker slo check` and `anomaly compile` warn
when a spec needs more."""

PROMETHEUS_FLAGS = (
    "--web.enable-remote-write-receiver",
    "--web.enable-lifecycle",
    f"--storage.tsdb.retention.time={PROMETHEUS_RETENTION}",
)
"""Remote write in (the collector's exporter), reload over HTTP, and how long samples are kept."""

REDIS_PERSISTENCE = ("--appendonly", "yes", "--appendfsync", "everysec", "--save", "60 1")
"""Alert state survives a restart: append-only file synced every second, plus a snapshot a minute."""

SENTINEL_MASTER_NAME = "heron"
"""The name the sentinels monitor the alert worker's Redis primary under (the path of a redis+sentinel:// URL)."""

SENTINEL_TIMINGS = {"down-after-milliseconds": 5000, "failover-timeout": 30000}
"""Sentinel's view of a dead primary: unanswered for 5 s, then a failover, retried after 30 s if it stalls.

Redis' own defaults (30 s, 3 min) hold alert evaluation for half a minute; alerts tolerate 5 s."""

VICTORIALOGS_RETENTION_DEFAULT = "7d"
"""HERON_VICTORIALOGS_RETENTION when unset (compose: `${HERON_VICTORIALOGS_RETENTION:-7d}`)."""

COLLECTOR_CONFIG = "otel-collector.yaml"
"""The collector's configuration, relative to the project directory (compose mounts the same file)."""

COLLECTORS = ("collector-1", "collector-2")
RECEIVERS = ("receive-1", "receive-2", "receive-3")
LOG_STORAGE = ("vlstorage-1", "vlstorage-2")
SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
"""The cluster topology's replicated tiers (heron_stack.cluster; deploy/compose.cluster.yml)."""

CLUSTER_PORT_NAMES = (
    *(f"{c}_{kind}" for c in COLLECTORS for kind in ("grpc", "http", "health", "telemetry")),
    *(f"{r}_{kind}" for r in RECEIVERS for kind in ("http", "grpc", "write", "capnp")),
    "receive_lb",
    "query_grpc",
    "store_http",
    "store_grpc",
    "compact_http",
    *(f"{s}_http" for s in LOG_STORAGE),
    "vlinsert_http",
    "redis_replica",
    *SENTINELS,
    "rule_http",
    "rule_grpc",
)
"""The cluster's own ports, beyond the single-node ones it reuses (OTLP, Prometheus, VictoriaLogs, Redis, ...).

HAProxy takes the OTLP and collector-health ports, Thanos Query the Prometheus port, vlselect the
VictoriaLogs port. The rest sit at HERON_CLUSTER_BASE_PORT + their index here."""


def cluster_ports(base: int) -> dict[str, int]:
    """The cluster's own ports from HERON_CLUSTER_BASE_PORT."""
    return {name: base + index for index, name in enumerate(CLUSTER_PORT_NAMES)}


THANOS_REPLICA_LABEL = "receive_replica"
"""The external label each Thanos receiver stamps on what it stores; Query merges the copies on it."""

THANOS_RECEIVE_FLAGS = (
    "--receive.replication-factor=3",
    "--receive.hashrings-algorithm=ketama",
    "--tsdb.retention=1d",
)
"""Every series on all three receivers (a write succeeds once 2 of 3 have it); a day kept locally,
older history from the bucket through the store gateway (receivers upload a block every 2 h)."""

THANOS_GRACE_FLAGS = ("--http-grace-period=5s", "--grpc-grace-period=5s")
"""Receive, Query and the store gateway stop within seconds (their default grace is 2 minutes)."""

THANOS_RULE_REPLICA_LABEL = "rule_replica"
"""The external label the Thanos Ruler stamps on the series it records; Query removes it like the others."""

THANOS_QUERY_REPLICA_LABELS = (THANOS_REPLICA_LABEL, "tenant_id", THANOS_RULE_REPLICA_LABEL)
"""Labels Query removes while merging: the receiver copies, the receive tenant (Heron writes one
tenant) and the ruler's label, so series carry the same labels as on single-node Prometheus."""

RECORDING_RULES = "prometheus/recording/*.yml"
"""The recording rules Prometheus loads (prometheus/prometheus.yml) and the cluster's Thanos Ruler evaluates."""

VICTORIALOGS_FLUSH_SECONDS = 1
VICTORIALOGS_STORAGE_FLAGS = (f"-inmemoryDataFlushInterval={VICTORIALOGS_FLUSH_SECONDS}s",)
"""VictoriaLogs (single node, or a cluster's storage node) writes what it holds in memory to disk every
second (its default is 5 s; 1 s is its minimum). It is also what a stop depends on: when a client holds a
request open past VictoriaLogs' 7 s shutdown deadline it exits without saving, and by then all it had
acknowledged is on disk. A crash loses the last seconds (VICTORIALOGS_LOSS_WINDOW_SECONDS)."""

VICTORIALOGS_LOSS_WINDOW_SECONDS = 1 + 1 + 2 * VICTORIALOGS_FLUSH_SECONDS + 1
"""How long before a log storage node's crash the logs it may lose were acknowledged (VictoriaLogs does
not replicate between storage nodes; docs/scaling.md): vlinsert acknowledges once a row is in its send
buffer (sent every 1 s), the node keeps rows in a buffer for up to 1 s before they form an in-memory
part, that part reaches disk within two flush intervals, plus 1 s of slack for a loaded machine."""

COLLECTOR_SELF_METRICS_INTERVAL_MS = 5000
"""How often a cluster collector pushes its own metrics: Prometheus' scrape interval of the collector."""

CLUSTER_COLLECTOR_OVERLAY = (
    "yaml:service::pipelines::metrics::processors: [memory_limiter, resource/labels]",
    "yaml:service::pipelines::logs::processors: [memory_limiter]",
    "yaml:exporters::prometheus_remote_write::remote_write_queue::enabled: false",
    "yaml:exporters::otlp_http/victorialogs::sending_queue::enabled: false",
    "yaml:service::telemetry::resource: "
    "{service.name: otel-collector, service.instance.id: '${env:HERON_COLLECTOR_INSTANCE:-otel-collector}'}",
    "yaml:service::telemetry::metrics::readers: ["
    "{pull: {exporter: {prometheus: {host: '${env:HERON_COLLECTOR_TELEMETRY_HOST:-0.0.0.0}', "
    "port: '${env:HERON_COLLECTOR_TELEMETRY_PORT:-8888}', without_type_suffix: false, without_units: false}}}}, "
    f"{{periodic: {{interval: {COLLECTOR_SELF_METRICS_INTERVAL_MS}, exporter: {{otlp: {{protocol: http/protobuf, "
    "endpoint: 'http://${env:HERON_OTLP_HTTP_ENDPOINT:-0.0.0.0:4318}/v1/metrics', "
    "headers: [{name: Authorization, value: 'Bearer ${env:HERON_OTLP_TOKEN:-unused-when-auth-is-off}'}]}}}}]",
)
"""The cluster's collectors run otel-collector.yaml pass-through: no batch processor and no in-memory
queue, so the OTLP answer waits for the stores and a killed collector holds nothing a client was told
is stored (clients batch and retry: the agent's buffer, the SDK's exporter).

Nothing scrapes in the cluster, so each collector also pushes its own metrics (otelcol_*) into its own
OTLP receiver every few seconds, from where they reach Thanos like any other metric: `job` is
otel-collector as on single-node Prometheus, `instance` the collector's name (HERON_COLLECTOR_INSTANCE).
The pull reader is otel-collector.yaml's, repeated because a list in an overlay replaces the list."""

ALERT_COMMANDS: Mapping[str, tuple[str, ...]] = {
    "alert-api": ("api",),
    # Evaluation and delivery in separate pools: a notification backlog never takes the processes
    # that evaluate rules.
    "alert-worker": ("worker", "--role", "evaluate", "--concurrency", "2"),
    "alert-sender": ("worker", "--role", "deliver", "--concurrency", "4"),
    "alert-beat": ("beat",),
}
"""The alert-worker subcommand and flags of each alert service."""

COMPOSE_ADDRESSES: Mapping[str, str] = {
    "prometheus": "prometheus",
    "victorialogs": "victorialogs",
    "redis": "redis",
    "otlp_grpc": "otel-collector",
    "otlp_http": "otel-collector",
    "alert_api": "alert-api",
    "mail": "mailsink",
    "loadgen": "loadgen",
}
"""Logical port (environment_variables.PORT_VARIABLES) -> the compose service that serves it.

`heron up` reaches a part at HERON_BIND_HOST and its port; compose at the service name and the default port."""

ON_ALL_INTERFACES = "in the container it listens on all interfaces, at the default port; `ports` publishes it"
STATE_ON_VOLUME = "heron up keeps data under HERON_STATE_DIR; compose on a named volume"
IMAGE_DEFAULT = "compose keeps the image's default"
NOT_PUBLISHED = "reached inside the compose network by service name only, not published on the host"
OWN_DESTINATIONS = (
    "heron up writes a destinations file with its local mail sink; compose sends email to the mailsink "
    "service through HERON_ALERTS_SMTP_* (x-alerts-env)"
)
FROM_ALERT_IMAGE = "the alert-worker image's setting, which the mail sink (same image) does not read"
API_PORT_DEFAULT = "the API listens on its default port 9097 in the container"


@dataclass(frozen=True)
class SharedService:
    """One service both stacks run, and what must agree between them."""

    native: str
    """Its name in services.py (`heron up`)."""
    compose: str
    """Its name in docker-compose.yml."""
    image: str
    """The image repository compose runs."""
    tag: str
    """Where the image tag comes from: `versions.yaml:<entry>`, `otelcol-builder.yaml`, a Dockerfile path
    (Heron's own image, tagged `local`), or `unpinned: <why>`."""
    flags: tuple[str, ...] = ()
    """Flags whose values must be equal in both commands (paths compared through compose's bind mounts)."""
    program: str | None = None
    """The program compose's `command` starts with, when it names one (Redis); otherwise the image's entrypoint."""
    differences: Mapping[str, str] = field(default_factory=dict)
    """`flag NAME`, `env NAME` or `port NAME` -> why the two stacks differ there."""


_ALERT_DIFFERENCES = {
    "env HERON_ALERTS_DESTINATIONS_FILE": OWN_DESTINATIONS,
    "env HERON_ALERTS_API_HOST": ON_ALL_INTERFACES,
    "env HERON_ALERTS_API_PORT": API_PORT_DEFAULT,
}

SHARED: tuple[SharedService, ...] = (
    SharedService(
        native="redis",
        compose="redis",
        image="redis",
        tag="unpinned: heron up runs Debian's redis-server package; compose the redis 7.4 Alpine image",
        flags=("--appendonly", "--appendfsync", "--save"),
        program="redis-server",
        differences={
            "flag --bind": ON_ALL_INTERFACES,
            "flag --port": ON_ALL_INTERFACES,
            "flag --dir": STATE_ON_VOLUME,
            "flag --daemonize": IMAGE_DEFAULT,
            "flag --loglevel": IMAGE_DEFAULT,
            "port redis": NOT_PUBLISHED,
        },
    ),
    SharedService(
        native="prometheus",
        compose="prometheus",
        image="prom/prometheus",
        tag="versions.yaml:prometheus",
        flags=("--web.enable-remote-write-receiver", "--web.enable-lifecycle", "--storage.tsdb.retention.time"),
        differences={
            "flag --config.file": "heron up renders prometheus/prometheus.yml with local targets; compose mounts it",
            "flag --storage.tsdb.path": STATE_ON_VOLUME,
            "flag --web.listen-address": ON_ALL_INTERFACES,
            "flag --log.level": IMAGE_DEFAULT,
        },
    ),
    SharedService(
        native="victorialogs",
        compose="victorialogs",
        image="victoriametrics/victoria-logs",
        tag="versions.yaml:victorialogs",
        flags=("-retentionPeriod", "-inmemoryDataFlushInterval"),
        differences={
            "flag -httpListenAddr": ON_ALL_INTERFACES,
            "flag -storageDataPath": STATE_ON_VOLUME,
            "flag -loggerLevel": IMAGE_DEFAULT,
        },
    ),
    SharedService(
        native="collector",
        compose="otel-collector",
        image="otel/opentelemetry-collector-contrib",
        tag="otelcol-builder.yaml",
        flags=("--config",),
        differences={
            "env HERON_OTLP_GRPC_ENDPOINT": ON_ALL_INTERFACES + " (otel-collector.yaml's default)",
            "env HERON_OTLP_HTTP_ENDPOINT": ON_ALL_INTERFACES + " (otel-collector.yaml's default)",
            "env HERON_COLLECTOR_HEALTH_ENDPOINT": ON_ALL_INTERFACES + " (otel-collector.yaml's default)",
            "env HERON_COLLECTOR_TELEMETRY_HOST": ON_ALL_INTERFACES + " (otel-collector.yaml's default)",
            "env HERON_COLLECTOR_TELEMETRY_PORT": ON_ALL_INTERFACES + " (otel-collector.yaml's default)",
            "port collector_health": "probed inside the compose network by the otel-collector-health sidecar",
            "port collector_telemetry": "scraped inside the compose network by Prometheus",
        },
    ),
    SharedService(
        native="mailsink",
        compose="mailsink",
        image="heron/alert-worker",
        tag="deploy/alert-worker/Dockerfile",
        flags=("--port",),
        differences={
            "flag --host": ON_ALL_INTERFACES,
            "flag --maildir": STATE_ON_VOLUME,
            "port mail": NOT_PUBLISHED,
            "env HERON_ALERTS_API_HOST": FROM_ALERT_IMAGE,
            "env HERON_ALERTS_ROUTING_FILE": FROM_ALERT_IMAGE,
            "env HERON_ALERTS_RULE_FILES": FROM_ALERT_IMAGE,
        },
    ),
    *(
        SharedService(
            native=name,
            compose=name,
            image="heron/alert-worker",
            tag="deploy/alert-worker/Dockerfile",
            flags=("--role", "--concurrency"),
            differences={
                **_ALERT_DIFFERENCES,
                "env HERON_ALERTS_API_ALLOWED_HOSTS": "compose's load lab calls the API by its service name",
            }
            if name == "alert-api"
            else _ALERT_DIFFERENCES,
        )
        for name in ALERT_COMMANDS
    ),
    SharedService(
        native="loadgen",
        compose="loadgen",
        image="heron/loadgen",
        tag="deploy/loadgen/Dockerfile",
        differences={
            "flag --host": ON_ALL_INTERFACES + " (the image's HERON_LOADGEN_HOST)",
            "flag --port": "the image's HERON_LOADGEN_PORT, the default 8080",
            "flag --disk-dir": "the image's HERON_LOADGEN_DISK_DIR, its home directory",
            "env HERON_LOADGEN_HOST": "heron up passes --host",
            "env HERON_LOADGEN_PORT": "heron up passes --port",
            "env HERON_LOADGEN_DISK_DIR": "heron up passes --disk-dir",
            "env HERON_LOADGEN_ALERTS_TOKEN": "compose's alert API requires its token (HERON_ALERTS_API_TOKEN)",
            "env HERON_LOADGEN_GRAFANA_URL": "links to the Grafana compose runs (HERON_ALERTS_GRAFANA_URL)",
        },
    ),
)
"""The services both stacks run (Grafana and the host agent are set up differently on purpose)."""
