"""One resolver for loadgen settings: argument > environment > default, into a frozen `LoadgenConfig`."""

from __future__ import annotations

import ipaddress
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from heron_stack.settings import warn_unknown_settings
from heron_stack.webguard import parse_allowed_hosts
from loadgen import env
from loadgen.exceptions import ConfigError, TargetNotAllowed
from loadgen.targets import parse_target

log = logging.getLogger(__name__)

_ENV_FIELDS: dict[str, str] = {
    "host": env.HERON_LOADGEN_HOST,
    "port": env.HERON_LOADGEN_PORT,
    "disk_dir": env.HERON_LOADGEN_DISK_DIR,
    "max_duration_seconds": env.HERON_LOADGEN_MAX_DURATION_SECONDS,
    "max_memory_share": env.HERON_LOADGEN_MAX_MEMORY_SHARE,
    "max_rate": env.HERON_LOADGEN_MAX_RATE,
    "max_concurrent_actions": env.HERON_LOADGEN_MAX_CONCURRENT_ACTIONS,
    "max_traffic_concurrency": env.HERON_LOADGEN_MAX_TRAFFIC_CONCURRENCY,
    "max_disk_mb": env.HERON_LOADGEN_MAX_DISK_MB,
    "max_disk_write_mb": env.HERON_LOADGEN_MAX_DISK_WRITE_MB,
    "traffic_allow": env.HERON_LOADGEN_TRAFFIC_ALLOW,
    "self_url": env.HERON_LOADGEN_SELF_URL,
    "alerts_url": env.HERON_LOADGEN_ALERTS_URL,
    "alerts_token": env.HERON_LOADGEN_ALERTS_TOKEN,
    "grafana_url": env.HERON_LOADGEN_GRAFANA_URL,
    "threads": env.HERON_LOADGEN_THREADS,
    "allowed_hosts": env.HERON_LOADGEN_ALLOWED_HOSTS,
    "service_name": env.OTEL_SERVICE_NAME,
}


class LoadgenConfig(BaseModel):
    """Resolved loadgen settings (immutable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    token: str | None = Field(None, repr=False, min_length=8)
    disk_dir: Path = Field(default_factory=lambda: Path(tempfile.gettempdir()))
    max_duration_seconds: float = Field(600.0, gt=0, le=86400)
    max_memory_share: float = Field(0.5, gt=0, le=0.9)
    max_rate: float = Field(2000.0, gt=0, le=100_000)
    max_concurrent_actions: int = Field(8, ge=1, le=256)
    max_traffic_concurrency: int = Field(64, ge=1, le=1024)
    max_disk_mb: int = Field(256, ge=1, le=65536)
    max_disk_write_mb: int = Field(4096, ge=1, le=1_048_576)
    traffic_allow: tuple[str, ...] = ()
    allowed_hosts: frozenset[str] = frozenset()
    self_url: str | None = None
    alerts_url: str | None = None
    alerts_token: str | None = Field(None, repr=False)
    grafana_url: str = "http://localhost:3000"
    threads: int = Field(16, ge=1, le=256)
    service_name: str = "heron-loadgen"
    otlp_export: bool = False
    metric_export_interval_ms: int = Field(5000, ge=100, le=3_600_000)

    @field_validator("traffic_allow", mode="before")
    @classmethod
    def _split_allow(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().rstrip("/") for part in value.split(",") if part.strip())
        return value

    @field_validator("traffic_allow")
    @classmethod
    def _check_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            hint = "use scheme://host[:port] with a plain host name or dotted IPv4 address, e.g. http://api:8000"
            try:
                # The parser traffic requests use, so an entry accepted here is one those requests accept too.
                parse_target(origin, env.HERON_LOADGEN_TRAFFIC_ALLOW)
            except TargetNotAllowed as exc:
                raise ValueError(f"entry {exc}; {hint}") from exc
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
                raise ValueError(f"{origin[:200]!r} is not an origin; {hint}")
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _parse_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_allowed_hosts(value, env.HERON_LOADGEN_ALLOWED_HOSTS)
        return value

    @field_validator("self_url", "alerts_url", "grafana_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @property
    def loopback_only(self) -> bool:
        """True when the server binds a loopback address only."""
        return is_loopback(self.host)

    @property
    def own_url(self) -> str:
        """Base URL traffic uses for loadgen's own endpoints."""
        if self.self_url:
            return self.self_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host  # noqa: S104 - mapping, not binding
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


def is_loopback(host: str) -> bool:
    """Whether `host` names a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_token(environ: Mapping[str, str]) -> str | None:
    token = environ.get(env.HERON_LOADGEN_TOKEN)
    if token:
        return token.strip()
    path = environ.get(env.HERON_LOADGEN_TOKEN_FILE)
    if not path:
        return None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(env.HERON_LOADGEN_TOKEN_FILE, path, f"the file cannot be read ({exc.strerror})") from exc
    return lines[0].strip() if lines else None


def _otlp_export(environ: Mapping[str, str]) -> bool:
    if environ.get(env.OTEL_SDK_DISABLED, "").strip().lower() == "true":
        return False
    keys = (
        env.OTEL_EXPORTER_OTLP_ENDPOINT,
        env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
        env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
        env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    )
    return any(environ.get(key) for key in keys)


def resolve_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> LoadgenConfig:
    """Merge explicit values over the environment over defaults; raise `ConfigError` naming the bad key."""
    environ = os.environ if environ is None else environ
    warn_unknown_settings(environ, log.warning)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for field_name, key in _ENV_FIELDS.items():
        if environ.get(key):
            values[field_name], sources[field_name] = environ[key], key
    token = _read_token(environ)
    if token is not None:
        values["token"], sources["token"] = token, env.HERON_LOADGEN_TOKEN
    values["otlp_export"] = _otlp_export(environ)
    if environ.get(env.OTEL_METRIC_EXPORT_INTERVAL):
        values["metric_export_interval_ms"] = environ[env.OTEL_METRIC_EXPORT_INTERVAL]
        sources["metric_export_interval_ms"] = env.OTEL_METRIC_EXPORT_INTERVAL
    for field_name, value in (overrides or {}).items():
        if value is not None:
            values[field_name], sources[field_name] = value, f"--{field_name.replace('_', '-')}"
    try:
        config = LoadgenConfig(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field_name = str(err["loc"][0]) if err["loc"] else "config"
        shown = "<redacted>" if field_name in ("token", "alerts_token") else err.get("input")
        raise ConfigError(sources.get(field_name, field_name), shown, err["msg"]) from exc
    if not config.loopback_only and not config.token:
        raise ConfigError(
            sources.get("host", env.HERON_LOADGEN_HOST),
            config.host,
            f"binding a non-loopback address requires a token: set {env.HERON_LOADGEN_TOKEN} "
            f"or {env.HERON_LOADGEN_TOKEN_FILE}, or bind 127.0.0.1",
        )
    return config
