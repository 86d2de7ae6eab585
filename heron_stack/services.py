"""The services `heron up` runs, built from the stack config and the component binaries."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx
import yaml

from heron_stack import endpoints
from heron_stack import environment_variables as ev
from heron_stack.config import StackConfig
from heron_stack.exceptions import ConfigError
from heron_stack.runner import Port, ReadyCheck, ServiceSpec, redis_ready
from heron_stack.sentinel import cluster_layout
from heron_stack.stack_table import (
    ALERT_COMMANDS,
    COLLECTOR_CONFIG,
    PROMETHEUS_FLAGS,
    REDIS_PERSISTENCE,
    VICTORIALOGS_RETENTION_DEFAULT,
    VICTORIALOGS_STORAGE_FLAGS,
)
from heron_stack.supervise import START_MARKER

INFRASTRUCTURE = ("redis", "prometheus", "victorialogs", "collector")
"""The real third-party parts. Destinations start before the collector that feeds them."""

HERON_SERVICES = (
    "mailsink",
    "agent",
    "alert-api",
    "alert-worker",
    "alert-sender",
    "alert-beat",
    "loadgen",
    "grafana",
)
"""Heron's own processes, started after the pipeline they report into.

Grafana runs only where a `grafana` binary is on PATH; Heron does not install it."""

START_ORDER = INFRASTRUCTURE + HERON_SERVICES

COMPONENTS = {"redis": "redis", "prometheus": "prometheus", "victorialogs": "victorialogs", "collector": "collector"}
"""Service -> the component (binary) it needs; Heron's services run on this Python."""


def components_for(names: Sequence[str], config: StackConfig | None = None) -> list[str]:
    """The components the named services need; Prometheus is Debian's or the v3 module build (HERON_PROMETHEUS)."""
    v3 = config is not None and config.prometheus == "v3"
    return [
        ("prometheus3" if v3 and name == "prometheus" else COMPONENTS[name]) for name in names if name in COMPONENTS
    ]


AUTH_OVERLAY = (
    "yaml:receivers::otlp::protocols::grpc::auth::authenticator: bearertokenauth",
    "yaml:receivers::otlp::protocols::http::auth::authenticator: bearertokenauth",
)


def http_ready(url: str, expect: Callable[[httpx.Response], bool] | None = None) -> ReadyCheck:
    def check() -> str | None:
        try:
            resp = httpx.get(url, timeout=2.0)
        except httpx.HTTPError as exc:
            return f"{url}: {type(exc).__name__}"
        ok = expect(resp) if expect else resp.status_code == 200
        return None if ok else f"{url} answered {resp.status_code}: {resp.text.strip()[:120]}"

    return check


def smtp_ready(host: str, port: int) -> ReadyCheck:
    def check() -> str | None:
        try:
            with socket.create_connection((host, port), timeout=2.0) as sock:
                banner = sock.recv(128)
                sock.sendall(b"QUIT\r\n")
        except OSError as exc:
            return f"smtp {host}:{port}: {exc}"
        return None if banner.startswith(b"220") else f"smtp {host}:{port} greeted with {banner!r}"

    return check


def _port(config: StackConfig, name: str) -> Port:
    return Port(config.host, config.port(name), ev.PORT_VARIABLES[name][0])


def render_prometheus_config(config: StackConfig, dest: Path) -> None:
    """Write prometheus.yml with the collector and Prometheus targets pointed at the local ports."""
    source = config.project_dir / "prometheus" / "prometheus.yml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    targets = {
        "otel-collector": config.addr("collector_telemetry"),
        "prometheus": config.addr("prometheus"),
    }
    for job in data.get("scrape_configs", []):
        if job["job_name"] in targets:
            job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    data["rule_files"] = [str(source.parent / pattern) for pattern in data.get("rule_files", [])]
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def go_memory_limit(environ: Mapping[str, str]) -> str:
    """GOMEMLIMIT for the collector: 80 % of memory_limiter's soft limit (limit - spike, as in otel-collector.yaml).

    The Go runtime then collects garbage before the heap reaches the soft limit, so the limiter refuses
    data only when live data really needs the memory, not because garbage piled up at fleet load.
    """
    limit = _mib(environ, "HERON_COLLECTOR_MEMORY_LIMIT_MIB", 400)
    spike = _mib(environ, "HERON_COLLECTOR_MEMORY_SPIKE_MIB", 100)
    if spike >= limit:
        allowed = f"below HERON_COLLECTOR_MEMORY_LIMIT_MIB ({limit})"
        raise ConfigError("HERON_COLLECTOR_MEMORY_SPIKE_MIB", spike, allowed)
    return f"{max(32, (limit - spike) * 8 // 10)}MiB"


def _mib(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name) or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(name, raw, f"a whole number of MiB, at least 1 (default {default})")
    return int(raw)


VICTORIALOGS_OTLP_PATH = "/insert/opentelemetry/v1/logs"
RETENTION = re.compile(r"(\d+)([hdwy])")
HOURS_PER_UNIT = {"h": 1, "d": 24, "w": 24 * 7, "y": 24 * 365}


def victorialogs_retention(environ: Mapping[str, str]) -> str:
    """HERON_VICTORIALOGS_RETENTION, checked: VictoriaLogs keeps at least one day."""
    raw = environ.get(ev.HERON_VICTORIALOGS_RETENTION) or VICTORIALOGS_RETENTION_DEFAULT
    match = RETENTION.fullmatch(raw.strip())
    if match is None or int(match.group(1)) * HOURS_PER_UNIT[match.group(2)] < 24:
        allowed = "a whole number and a unit h, d, w or y, at least one day (e.g. 24h, 7d, 12w, 1y; default 7d)"
        raise ConfigError(ev.HERON_VICTORIALOGS_RETENTION, raw, allowed)
    return match.group(0)


def victorialogs_spec(config: StackConfig, binary: Path, environ: Mapping[str, str] | None = None) -> ServiceSpec:
    """VictoriaLogs with its data under the state dir; its web UI is at /select/vmui."""
    environ = os.environ if environ is None else environ
    data = config.state_dir / "victorialogs"
    return ServiceSpec(
        name="victorialogs",
        argv=[
            str(binary),
            f"-httpListenAddr={config.addr('victorialogs')}",
            f"-storageDataPath={data}",
            f"-retentionPeriod={victorialogs_retention(environ)}",
            "-loggerLevel=WARN",
            *VICTORIALOGS_STORAGE_FLAGS,
        ],
        ready=http_ready(f"{config.url('victorialogs')}/health"),
        urls={"victorialogs": config.url("victorialogs"), "logs_ui": f"{config.url('victorialogs')}/select/vmui/"},
        ports=[_port(config, "victorialogs")],
        prepare=lambda: data.mkdir(parents=True, exist_ok=True),
    )


def collector_env(config: StackConfig, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    env = {
        "GOMEMLIMIT": environ.get("GOMEMLIMIT") or go_memory_limit(environ),
        "HERON_OTLP_GRPC_ENDPOINT": config.addr("otlp_grpc"),
        "HERON_OTLP_HTTP_ENDPOINT": config.addr("otlp_http"),
        "HERON_COLLECTOR_HEALTH_ENDPOINT": config.addr("collector_health"),
        "HERON_COLLECTOR_TELEMETRY_HOST": config.host,
        "HERON_COLLECTOR_TELEMETRY_PORT": str(config.port("collector_telemetry")),
        "HERON_PROMETHEUS_REMOTE_WRITE_URL": endpoints.prometheus_remote_write_url(config),
        "HERON_VICTORIALOGS_OTLP_ENDPOINT": f"{config.url('victorialogs')}{VICTORIALOGS_OTLP_PATH}",
    }
    if config.otlp_token:
        env[ev.HERON_OTLP_TOKEN] = config.otlp_token
    return env


def collector_argv(binary: Path, config: StackConfig) -> list[str]:
    argv = [str(binary), f"--config={config.project_dir / COLLECTOR_CONFIG}"]
    if config.otlp_token:
        argv += [f"--config={overlay}" for overlay in AUTH_OVERLAY]
    return argv


def build_specs(
    config: StackConfig, binaries: Mapping[str, Path], environ: Mapping[str, str] | None = None
) -> dict[str, ServiceSpec]:
    """Service specs for every component whose binary is available, keyed by service name.

    `environ` (default: this process's environment) supplies the settings read from the environment."""
    environ = os.environ if environ is None else environ
    state = config.state_dir
    specs: dict[str, ServiceSpec] = {}
    if "redis" in binaries:
        data = state / "redis"
        specs["redis"] = ServiceSpec(
            name="redis",
            argv=[
                str(binaries["redis"]),
                "--bind",
                config.host,
                "--port",
                str(config.port("redis")),
                "--dir",
                str(data),
                *REDIS_PERSISTENCE,
                "--daemonize",
                "no",
                "--loglevel",
                "notice",
            ],
            ready=redis_ready(config.host, config.port("redis")),
            urls={"redis": f"redis://{config.addr('redis')}/0"},
            ports=[_port(config, "redis")],
            prepare=lambda: data.mkdir(parents=True, exist_ok=True),
        )
    if config.prometheus == "v3" and "prometheus3" in binaries:
        binaries = {**binaries, "prometheus": binaries["prometheus3"]}
    if "prometheus" in binaries:
        rendered = state / "prometheus" / "prometheus.yml"
        specs["prometheus"] = ServiceSpec(
            name="prometheus",
            argv=[
                str(binaries["prometheus"]),
                f"--config.file={rendered}",
                f"--storage.tsdb.path={state / 'prometheus' / 'data'}",
                f"--web.listen-address={config.addr('prometheus')}",
                *PROMETHEUS_FLAGS,
                "--log.level=warn",
            ],
            ready=http_ready(f"{config.url('prometheus')}/-/ready"),
            urls={"prometheus": config.url("prometheus")},
            ports=[_port(config, "prometheus")],
            prepare=lambda: render_prometheus_config(config, rendered),
        )
    if "victorialogs" in binaries:
        specs["victorialogs"] = victorialogs_spec(config, binaries["victorialogs"], environ)
    if "collector" in binaries:
        specs["collector"] = ServiceSpec(
            name="collector",
            argv=collector_argv(binaries["collector"], config),
            ready=http_ready(f"http://{config.addr('collector_health')}/"),
            urls={
                "otlp_grpc": config.url("otlp_grpc"),
                "otlp_http": config.url("otlp_http"),
                "collector_health": config.url("collector_health"),
            },
            ports=[_port(config, n) for n in ("otlp_grpc", "otlp_http", "collector_health", "collector_telemetry")],
            env=collector_env(config, environ),
        )
    specs.update(heron_specs(config, environ))
    return {name: specs[name] for name in START_ORDER if name in specs}


def prometheus_has(config: StackConfig, query: str) -> ReadyCheck:
    """Ready once `query` returns at least one series: the service's data has arrived."""

    def check() -> str | None:
        try:
            resp = httpx.get(f"{config.url('prometheus')}/api/v1/query", params={"query": query}, timeout=2.0)
            result = resp.json()["data"]["result"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            return f"Prometheus query {query!r} failed: {exc}"
        return None if result else f"no data yet for {query}"

    return check


def log_contains(path: Path, marker: str) -> ReadyCheck:
    """Ready once the current run's log shows `marker` (for processes without an HTTP endpoint).

    Only what follows the supervisor's last start line counts: a previous run's "ready" never does.
    """

    def check() -> str | None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return f"no log yet at {path}"
        current = text.rsplit(START_MARKER, 1)
        if len(current) < 2:
            return f"waiting for this run's start in {path}"
        return None if marker in current[1] else f"waiting for {marker!r} in {path}"

    return check


LOCAL_MAIL_DESTINATION = "local-mail"
"""The destination `heron up` adds: email to the local mail sink, so alerts arrive without any account."""


def write_local_destinations(config: StackConfig, dest: Path, *, grafana: bool) -> None:
    """A destinations file with the local mail sink; the environment's quick-setup destinations still apply.

    Messages link to the dashboards only when this stack runs Grafana (`grafana`).
    """
    links = {"external_url": config.url("alert_api")}
    if grafana:
        links["grafana_url"] = config.url("grafana")
    data = {
        "destinations": {
            LOCAL_MAIL_DESTINATION: {
                "type": "email",
                "host": config.host,
                "port": config.port("mail"),
                "security": "none",
                "from": "heron@localhost",
                "to": ["oncall@localhost"],
            }
        },
        "links": links,
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def destinations_file(config: StackConfig) -> Path:
    return config.state_dir / "alerts" / "destinations.yaml"


def alerts_redis_url(config: StackConfig) -> str:
    """The alert services' Redis: the stack's own, or under Sentinel in the cluster topology (docs/sentinel.md)."""
    if config.topology == "cluster":
        return cluster_layout(config).url(0)
    return f"redis://{config.addr('redis')}/0"


def alerts_env(config: StackConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """Settings for the alert services: the shipped rule pack, routing and local destinations unless set."""
    rules = config.project_dir / "prometheus" / "rules"
    defaults = {
        "HERON_ALERTS_RULE_FILES": f"{rules / '*.rules.yml'},{rules / 'logs' / '*.rules.yml'}",
        "HERON_ALERTS_ROUTING_FILE": str(rules / "heron.routing.yaml"),
        "HERON_ALERTS_DESTINATIONS_FILE": str(destinations_file(config)),
    }
    return {
        **{name: environ.get(name) or default for name, default in defaults.items()},
        "HERON_ALERTS_PROMETHEUS_URL": config.url("prometheus"),
        "HERON_ALERTS_VICTORIALOGS_URL": config.url("victorialogs"),
        "HERON_ALERTS_REDIS_URL": alerts_redis_url(config),
        "HERON_ALERTS_API_HOST": config.host,
        "HERON_ALERTS_API_PORT": str(config.port("alert_api")),
    }


def alert_specs(
    config: StackConfig, otlp_env: Mapping[str, str], environ: Mapping[str, str], *, grafana: bool = False
) -> dict[str, ServiceSpec]:
    """The alert engine: API, Celery workers (evaluation; delivery) and beat (RedBeat lock)."""
    env = {**otlp_env, **alerts_env(config, environ)}
    own_destinations = env["HERON_ALERTS_DESTINATIONS_FILE"] == str(destinations_file(config))
    logs = config.state_dir / "logs"
    command = [sys.executable, "-m", "alert_worker"]
    return {
        "alert-api": ServiceSpec(
            name="alert-api",
            argv=[*command, *ALERT_COMMANDS["alert-api"]],
            ready=http_ready(f"{config.url('alert_api')}/api/health"),
            urls={"alerts_api": config.url("alert_api")},
            ports=[Port(config.host, config.port("alert_api"), ev.PORT_VARIABLES["alert_api"][0])],
            env={**env, "OTEL_SERVICE_NAME": "heron-alert-api"},
            prepare=lambda: (
                write_local_destinations(config, destinations_file(config), grafana=grafana)
                if own_destinations
                else None
            ),
        ),
        # Evaluation and delivery in separate pools (stack_table.ALERT_COMMANDS).
        "alert-worker": ServiceSpec(
            name="alert-worker",
            argv=[*command, *ALERT_COMMANDS["alert-worker"]],
            ready=log_contains(logs / "alert-worker.log", " ready."),
            env={**env, "OTEL_SERVICE_NAME": "heron-alert-worker"},
        ),
        "alert-sender": ServiceSpec(
            name="alert-sender",
            argv=[*command, *ALERT_COMMANDS["alert-sender"]],
            ready=log_contains(logs / "alert-sender.log", " ready."),
            env={**env, "OTEL_SERVICE_NAME": "heron-alert-sender"},
        ),
        "alert-beat": ServiceSpec(
            name="alert-beat",
            argv=[*command, *ALERT_COMMANDS["alert-beat"]],
            ready=log_contains(logs / "alert-beat.log", "beat: Starting"),
            env={**env, "OTEL_SERVICE_NAME": "heron-alert-beat"},
        ),
    }


def grafana_spec(config: StackConfig, binary: str) -> ServiceSpec:
    """Grafana with Heron's provisioning; anonymous viewers allowed only while bound to loopback."""
    home = Path(binary).resolve().parent.parent / "share" / "grafana"
    data = config.state_dir / "grafana"
    loopback = config.host in {"127.0.0.1", "::1", "localhost"}
    return ServiceSpec(
        name="grafana",
        argv=[binary, "server", f"--homepath={home}"],
        ready=http_ready(f"{config.url('grafana')}/api/health"),
        urls={"grafana": config.url("grafana")},
        ports=[Port(config.host, config.port("grafana"), ev.PORT_VARIABLES["grafana"][0])],
        env={
            "GF_SERVER_HTTP_ADDR": config.host,
            "GF_SERVER_HTTP_PORT": str(config.port("grafana")),
            "GF_PATHS_DATA": str(data),
            "GF_PATHS_LOGS": str(data / "logs"),
            "GF_PATHS_PROVISIONING": str(config.project_dir / "grafana" / "provisioning"),
            "GF_AUTH_ANONYMOUS_ENABLED": "true" if loopback else "false",
            "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
            "HERON_PROMETHEUS_URL": config.url("prometheus"),
            "HERON_VICTORIALOGS_URL": config.url("victorialogs"),
            "HERON_GRAFANA_DASHBOARDS_DIR": str(config.project_dir / "grafana" / "dashboards"),
        },
        prepare=lambda: data.mkdir(parents=True, exist_ok=True),
    )


def mailsink_spec(config: StackConfig) -> ServiceSpec:
    maildir = config.state_dir / "mail"
    return ServiceSpec(
        name="mailsink",
        argv=[
            sys.executable,
            "-m",
            "heron_stack.mailsink",
            "--host",
            config.host,
            "--port",
            str(config.port("mail")),
            "--maildir",
            str(maildir),
        ],
        ready=smtp_ready(config.host, config.port("mail")),
        urls={"smtp": f"smtp://{config.addr('mail')}", "maildir": str(maildir)},
        ports=[_port(config, "mail")],
    )


def heron_specs(config: StackConfig, environ: Mapping[str, str] | None = None) -> dict[str, ServiceSpec]:
    """Heron's own services, run with this Python so they use the project's environment."""
    environ = os.environ if environ is None else environ
    agent_query = 'max_over_time(system_uptime_seconds{job="otel-agent", heron_simulated!="true"}[30s])'
    loadgen_port = Port(config.host, config.port("loadgen"), ev.PORT_VARIABLES["loadgen"][0])
    otlp_env = {"OTEL_EXPORTER_OTLP_ENDPOINT": config.url("otlp_http")}
    if config.otlp_token:
        otlp_env["OTEL_EXPORTER_OTLP_HEADERS"] = f"authorization=Bearer%20{config.otlp_token}"
    grafana = shutil.which("grafana")
    return {
        **({"grafana": grafana_spec(config, grafana)} if grafana else {}),
        "mailsink": mailsink_spec(config),
        **alert_specs(config, otlp_env, environ, grafana=grafana is not None),
        "loadgen": ServiceSpec(
            name="loadgen",
            argv=[
                sys.executable,
                "-m",
                "loadgen",
                "serve",
                "--host",
                config.host,
                "--port",
                str(config.port("loadgen")),
                "--disk-dir",
                str(config.state_dir / "loadgen"),
            ],
            ready=http_ready(f"{config.url('loadgen')}/api/health"),
            urls={"loadgen": config.url("loadgen")},
            ports=[loadgen_port],
            env={**otlp_env, "OTEL_SERVICE_NAME": "heron-loadgen", "HERON_LOADGEN_ALERTS_URL": config.url("alert_api")},
            prepare=lambda: (config.state_dir / "loadgen").mkdir(parents=True, exist_ok=True),
        ),
        "agent": ServiceSpec(
            name="agent",
            argv=[sys.executable, "-m", "otel_agent", "run", "--endpoint", config.url("otlp_http")],
            ready=prometheus_has(config, agent_query),
            env={
                "HERON_AGENT_SPILL_DIR": str(config.state_dir / "agent-spill"),
                **(
                    {"OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{config.otlp_token}"}
                    if config.otlp_token
                    else {}
                ),
            },
        ),
    }
