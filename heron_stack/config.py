"""Resolve the stack runner's settings: explicit overrides, then environment, then defaults."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from heron_stack import environment_variables as ev
from heron_stack.exceptions import ConfigError
from heron_stack.settings import warn_unknown_settings
from heron_stack.stack_table import cluster_ports as cluster_ports_from

PROJECT_DIR = Path(__file__).resolve().parent.parent
"""The Heron project directory: configs (otel-collector.yaml, prometheus/, grafana/, build/) live here."""


@dataclass(frozen=True)
class StackConfig:
    """Everything `heron up` needs to know to run the local stack."""

    project_dir: Path
    state_dir: Path
    cache_dir: Path
    host: str
    ports: Mapping[str, int]
    otlp_token: str | None = field(default=None, repr=False)
    ready_timeout: float = 60.0
    prometheus: str = "debian"
    """`debian` (the package, with UI) or `v3` (built from Prometheus' module, as compose ships it)."""
    topology: str = "single"
    """`single` (one process per part) or `cluster` (heron_stack.cluster: several per tier)."""
    cluster_ports: Mapping[str, int] = field(default_factory=dict)
    """The cluster topology's own ports (heron_stack.cluster.PORT_NAMES)."""

    def port(self, name: str) -> int:
        return self.ports[name]

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def addr(self, name: str) -> str:
        return f"{self.host}:{self.ports[name]}"


def default_cache_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(env.get(ev.HERON_CACHE_DIR) or Path(base) / "heron")


def _port(env: Mapping[str, str], var: str, default: int) -> int:
    raw = env.get(var)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(var, raw, "a TCP port number from 1 to 65535") from None
    if not 1 <= value <= 65535:
        raise ConfigError(var, raw, "a TCP port number from 1 to 65535")
    return value


def _host(env: Mapping[str, str]) -> str:
    raw = env.get(ev.HERON_BIND_HOST) or "127.0.0.1"
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        if raw != "localhost":
            raise ConfigError(ev.HERON_BIND_HOST, raw, "an IP address such as 127.0.0.1 or 0.0.0.0") from None
    return raw


def _token(env: Mapping[str, str]) -> str | None:
    token = env.get(ev.HERON_OTLP_TOKEN)
    path = env.get(ev.HERON_OTLP_TOKEN_FILE)
    if token and path:
        raise ConfigError(ev.HERON_OTLP_TOKEN_FILE, path, f"set either {ev.HERON_OTLP_TOKEN} or this, not both")
    if path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(ev.HERON_OTLP_TOKEN_FILE, path, f"a readable file ({exc.strerror})") from None
        if not token:
            raise ConfigError(ev.HERON_OTLP_TOKEN_FILE, path, "a file holding a non-empty token")
    return token or None


def _timeout(env: Mapping[str, str]) -> float:
    raw = env.get(ev.HERON_READY_TIMEOUT)
    if not raw:
        return 60.0
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(ev.HERON_READY_TIMEOUT, raw, "a number of seconds greater than 0") from None
    if value <= 0:
        raise ConfigError(ev.HERON_READY_TIMEOUT, raw, "a number of seconds greater than 0")
    return value


CLUSTER_BASE_PORT_DEFAULT = 19100

PROMETHEUS_CHOICES = ("debian", "v3")
TOPOLOGIES = ("single", "cluster")


def _topology(env: Mapping[str, str]) -> str:
    raw = env.get(ev.HERON_TOPOLOGY) or "single"
    if raw not in TOPOLOGIES:
        raise ConfigError(ev.HERON_TOPOLOGY, raw, " or ".join(TOPOLOGIES))
    return raw


def _prometheus(env: Mapping[str, str]) -> str:
    raw = env.get(ev.HERON_PROMETHEUS) or "debian"
    if raw not in PROMETHEUS_CHOICES:
        raise ConfigError(ev.HERON_PROMETHEUS, raw, " or ".join(PROMETHEUS_CHOICES))
    return raw


def _report(message: str) -> None:
    print(f"heron: {message}", file=sys.stderr)


def resolve(
    env: Mapping[str, str] | None = None,
    *,
    state_dir: Path | None = None,
    ports: Mapping[str, int] | None = None,
    project_dir: Path | None = None,
    cluster_ports: Mapping[str, int] | None = None,
) -> StackConfig:
    """Build the stack config from arguments, then the environment, then defaults."""
    env = os.environ if env is None else env
    warn_unknown_settings(env, _report)
    project = project_dir or PROJECT_DIR
    resolved = {name: _port(env, var, default) for name, (var, default) in ev.PORT_VARIABLES.items()}
    resolved.update(ports or {})
    taken: dict[int, str] = {}
    for name, port in resolved.items():
        if port in taken:
            var = ev.PORT_VARIABLES[name][0]
            raise ConfigError(var, port, f"a port not already used by {taken[port]}")
        taken[port] = name
    base = _port(env, ev.HERON_CLUSTER_BASE_PORT, CLUSTER_BASE_PORT_DEFAULT)
    own = {**cluster_ports_from(base), **(cluster_ports or {})}
    if max(own.values()) > 65535:
        raise ConfigError(ev.HERON_CLUSTER_BASE_PORT, base, f"at most {65535 - len(own) + 1}")
    return StackConfig(
        project_dir=project,
        state_dir=(state_dir or Path(env.get(ev.HERON_STATE_DIR) or project / ".heron")).resolve(),
        cache_dir=default_cache_dir(env),
        host=_host(env),
        ports=resolved,
        otlp_token=_token(env),
        ready_timeout=_timeout(env),
        prometheus=_prometheus(env),
        topology=_topology(env),
        cluster_ports=own,
    )
