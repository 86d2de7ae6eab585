"""Resolve the SDK configuration: argument, then environment, then default, into one frozen object.

Bad values never raise: the SDK runs inside someone else's app, so it warns and falls back.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from heron._internal import env
from heron._internal.exceptions import HeronConfigWarning
from heron._internal.settings import unknown_settings

Protocol = Literal["http/protobuf", "grpc"]
DEFAULT_HEALTH_ROUTES = frozenset({"/health", "/healthz", "/ready", "/livez", "/metrics"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "WARN": logging.WARNING}
_LEVELS |= {"ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL}
INTEGRATIONS = ("flask", "requests", "celery", "logging")


@dataclass(frozen=True)
class InitArgs:
    """What the caller passed to `heron.init`; None means "not given"."""

    service_name: str | None = None
    endpoint: str | None = None
    environment: str | None = None
    service_version: str | None = None
    protocol: str | None = None
    headers: Mapping[str, str] | None = None
    resource_attributes: Mapping[str, str | int | float | bool] | None = None
    metric_export_interval: float | None = None
    instrument: Mapping[str, bool | None] = field(default_factory=dict)
    log_level: int | str | None = None
    health_check_routes: Iterable[str] | None = None
    scrub: bool | None = None
    scrub_patterns: Iterable[str] | None = None
    capture_uncaught: bool | None = None


@dataclass(frozen=True)
class BatchSettings:
    """Batch span/log processor tuning (OTEL_BSP_* override these defaults)."""

    schedule_delay_ms: int = 500
    max_queue_size: int = 8192
    max_export_batch_size: int = 512


@dataclass(frozen=True)
class HeronConfig:
    """The resolved, validated SDK configuration."""

    service_name: str
    environment: str | None = None
    service_version: str | None = None
    endpoint: str | None = None
    protocol: Protocol = "http/protobuf"
    headers: Mapping[str, str] | None = None
    export_timeout_s: float | None = 5.0
    resource_attributes: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    metric_export_interval_s: float = 10.0
    batch: BatchSettings = field(default_factory=BatchSettings)
    integrations: frozenset[str] = frozenset(INTEGRATIONS)
    log_level: int = logging.INFO
    health_check_routes: frozenset[str] = DEFAULT_HEALTH_ROUTES
    scrub: bool = True
    scrub_patterns: tuple[str, ...] = ()
    capture_uncaught: bool = True


def _warn(field_name: str, value: object, allowed: str, fallback: object) -> None:
    warnings.warn(
        f"heron: {field_name}={value!r} is not valid ({allowed}); using {fallback!r}",
        HeronConfigWarning,
        stacklevel=4,
    )


def parse_bool(name: str, raw: str | None, default: bool) -> bool:
    """Read a boolean env value, warning on anything but true/false words."""
    if raw is None or not raw.strip():
        return default
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    _warn(name, raw, "true/false, 1/0, yes/no, on/off", default)
    return default


def _env_int(environ: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        _warn(name, raw, f"an integer >= {minimum}", default)
        return default
    return value


def _positive_float(name: str, value: str | float, default: float) -> float:
    try:
        number = float(value)  # a caller may pass any object at run time: float() rejects it below
    except (TypeError, ValueError):
        number = -1.0
    if number <= 0:
        _warn(name, value, "a positive number of seconds", default)
        return default
    return number


def _service_name(args: InitArgs, environ: Mapping[str, str]) -> str:
    for candidate in (args.service_name, environ.get(env.OTEL_SERVICE_NAME)):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    match = re.search(r"(?:^|,)\s*service\.name\s*=\s*([^,]+)", environ.get(env.OTEL_RESOURCE_ATTRIBUTES, ""))
    if match:
        return match.group(1).strip()
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    fallback = f"unknown_service:{script}"
    _warn("service_name", args.service_name, f"a non-empty name, or set {env.OTEL_SERVICE_NAME}", fallback)
    return fallback


def _protocol(args: InitArgs, environ: Mapping[str, str]) -> Protocol:
    raw = args.protocol if args.protocol is not None else environ.get(env.OTEL_EXPORTER_OTLP_PROTOCOL)
    if raw is None or not raw.strip():
        return "http/protobuf"
    word = raw.strip().lower()
    if word == "grpc":
        return "grpc"
    if word == "http/protobuf":
        return "http/protobuf"
    _warn("protocol", raw, "'http/protobuf' or 'grpc'", "http/protobuf")
    return "http/protobuf"


def _metric_interval(args: InitArgs, environ: Mapping[str, str]) -> float:
    if args.metric_export_interval is not None:
        return _positive_float("metric_export_interval", args.metric_export_interval, 10.0)
    raw = environ.get(env.OTEL_METRIC_EXPORT_INTERVAL)
    if raw is None or not raw.strip():
        return 10.0
    return _positive_float(env.OTEL_METRIC_EXPORT_INTERVAL, raw, 10_000.0) / 1000.0


def _integrations(args: InitArgs, environ: Mapping[str, str]) -> frozenset[str]:
    disabled = {part.strip().lower() for part in environ.get(env.OTEL_PYTHON_DISABLED_INSTRUMENTATIONS, "").split(",")}
    unknown = set(args.instrument) - set(INTEGRATIONS)
    if unknown:
        _warn("instrument", sorted(unknown), f"one of {', '.join(INTEGRATIONS)}", "ignored")
    enabled = set()
    for name in INTEGRATIONS:
        chosen = args.instrument.get(name)
        if chosen is None:
            variable = f"HERON_INSTRUMENT_{name.upper()}"
            chosen = parse_bool(variable, environ.get(variable), name not in disabled)
        if chosen:
            enabled.add(name)
    return frozenset(enabled)


def _log_level(args: InitArgs, environ: Mapping[str, str]) -> int:
    raw: int | str | None = args.log_level if args.log_level is not None else environ.get(env.HERON_LOG_LEVEL)
    if raw is None or raw == "":
        return logging.INFO
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    level = _LEVELS.get(str(raw).strip().upper())
    if level is None:
        _warn("log_level", raw, "DEBUG, INFO, WARNING, ERROR or CRITICAL", "INFO")
        return logging.INFO
    return level


def _routes(args: InitArgs, environ: Mapping[str, str]) -> frozenset[str]:
    if args.health_check_routes is not None:
        items: Iterable[str] = args.health_check_routes
    elif environ.get(env.HERON_HEALTH_ROUTES) is not None:
        items = environ[env.HERON_HEALTH_ROUTES].split(",")
    else:
        return DEFAULT_HEALTH_ROUTES
    routes = set()
    for item in items:
        path = str(item).strip()
        if not path:
            continue
        if not path.startswith("/"):
            _warn("health_check_routes", path, "paths starting with '/'", "/" + path)
            path = "/" + path
        routes.add(path)
    return frozenset(routes)


def _scrub_patterns(args: InitArgs, environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = args.scrub_patterns
    items = list(raw) if raw is not None else environ.get(env.HERON_SCRUB_PATTERNS, "").split(",")
    valid = []
    for item in (str(part).strip() for part in items):
        if not item:
            continue
        try:
            re.compile(item)
        except re.error as exc:
            _warn("scrub_patterns", item, f"a valid regular expression ({exc})", "pattern skipped")
            continue
        valid.append(item)
    return tuple(valid)


def _export_timeout(environ: Mapping[str, str]) -> float | None:
    # The exporters read OTEL_EXPORTER_OTLP_TIMEOUT themselves; Heron's shorter default applies otherwise.
    return None if environ.get(env.OTEL_EXPORTER_OTLP_TIMEOUT) else 5.0


def _optional_text(value: str | None, environ: Mapping[str, str], name: str) -> str | None:
    chosen = value if value is not None else environ.get(name)
    return chosen.strip() or None if chosen is not None else None


_reported_unknown: set[str] = set()


def warn_unknown_settings(environ: Mapping[str, str]) -> list[str]:
    """Warn once per process about each unknown variable that looks like the SDK's (see `env.OWNED_PREFIXES`)."""
    messages = []
    for name, suggestion in unknown_settings(environ, env.SETTINGS.names(), env.OWNED_PREFIXES, env.TYPO_CUTOFF):
        if name in _reported_unknown:
            continue
        _reported_unknown.add(name)
        hint = f"; did you mean {suggestion}?" if suggestion else " (the SDK ignores it)"
        messages.append(f"heron: {name} is not a Heron setting{hint}")
        warnings.warn(messages[-1], HeronConfigWarning, stacklevel=4)
    return messages


def resolve_config(args: InitArgs, environ: Mapping[str, str] | None = None) -> HeronConfig:
    """Merge arguments over environment over defaults; warn and fall back on bad values."""
    environ = os.environ if environ is None else environ
    warn_unknown_settings(environ)
    endpoint = args.endpoint.strip().rstrip("/") if args.endpoint and args.endpoint.strip() else None
    return HeronConfig(
        service_name=_service_name(args, environ),
        environment=_optional_text(args.environment, environ, env.HERON_ENVIRONMENT),
        service_version=_optional_text(args.service_version, environ, env.HERON_SERVICE_VERSION),
        endpoint=endpoint,
        protocol=_protocol(args, environ),
        headers=dict(args.headers) if args.headers else None,
        export_timeout_s=_export_timeout(environ),
        resource_attributes=dict(args.resource_attributes or {}),
        metric_export_interval_s=_metric_interval(args, environ),
        batch=BatchSettings(
            schedule_delay_ms=_env_int(environ, env.OTEL_BSP_SCHEDULE_DELAY, 500),
            max_queue_size=_env_int(environ, env.OTEL_BSP_MAX_QUEUE_SIZE, 8192),
            max_export_batch_size=_env_int(environ, env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512),
        ),
        integrations=_integrations(args, environ),
        log_level=_log_level(args, environ),
        health_check_routes=_routes(args, environ),
        scrub=args.scrub if args.scrub is not None else parse_bool(env.HERON_SCRUB, environ.get(env.HERON_SCRUB), True),
        scrub_patterns=_scrub_patterns(args, environ),
        capture_uncaught=args.capture_uncaught
        if args.capture_uncaught is not None
        else parse_bool(env.HERON_CAPTURE_UNCAUGHT, environ.get(env.HERON_CAPTURE_UNCAUGHT), True),
    )


def sdk_disabled(environ: Mapping[str, str] | None = None) -> bool:
    """OTEL_SDK_DISABLED=true turns the whole SDK into a no-op."""
    environ = os.environ if environ is None else environ
    return parse_bool(env.OTEL_SDK_DISABLED, environ.get(env.OTEL_SDK_DISABLED), False)
