"""The agent's one config resolver: CLI > environment > YAML file > defaults, into a frozen typed object."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote

import msgspec

from heron_stack.settings import warn_unknown_settings
from otel_agent import env as envvars
from otel_agent.collectors.filters import DEFAULT_DISK_EXCLUDE, DEFAULT_FSTYPE_EXCLUDE, DEFAULT_MOUNT_EXCLUDE
from otel_agent.config_messages import Problem, explain
from otel_agent.exceptions import ConfigError

_log = logging.getLogger(__name__)


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A frozen, strictly keyed config section; msgspec checks types, bounds and choices."""


class ExportConfig(_Section, frozen=True):
    endpoint: str | None = None
    metrics_endpoint: str | None = None
    protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    timeout: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10.0
    compression: Literal["gzip", "none"] = "gzip"
    logs: bool = True
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None

    def __repr__(self) -> str:  # header values are credentials
        return f"ExportConfig(endpoint={self.endpoint!r}, protocol={self.protocol!r}, headers=<redacted>)"

    def metrics_url(self) -> str:
        """Where metrics go: the metrics endpoint as is, else the base URL (+ /v1/metrics over HTTP)."""
        if self.metrics_endpoint:
            return self.metrics_endpoint
        if self.protocol == "grpc":
            return self.endpoint or "http://localhost:4317"
        return (self.endpoint or "http://localhost:4318").rstrip("/") + "/v1/metrics"

    def logs_url(self) -> str:
        if self.protocol == "grpc":
            return self.endpoint or "http://localhost:4317"
        return (self.endpoint or "http://localhost:4318").rstrip("/") + "/v1/logs"


class BufferConfig(_Section, frozen=True):
    max_cycles: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 2160
    max_mib: Annotated[float, msgspec.Meta(gt=0, le=4096)] = 8.0
    spill_dir: str | None = None
    spill_max_mib: Annotated[float, msgspec.Meta(gt=0, le=1_048_576)] = 256.0
    batch_cycles: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 30


class FilterConfig(_Section, frozen=True):
    disk_include: str | None = None
    disk_exclude: str | None = DEFAULT_DISK_EXCLUDE
    interface_include: str | None = None
    interface_exclude: str | None = None
    include_loopback: bool = True
    mount_include: str | None = None
    mount_exclude: str | None = DEFAULT_MOUNT_EXCLUDE
    fstype_exclude: tuple[str, ...] = DEFAULT_FSTYPE_EXCLUDE
    bind_mounts: bool = False


class ProcessesConfig(_Section, frozen=True):
    states: bool = True
    top_n: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    sort_by: Literal["cpu", "memory"] = "cpu"
    include: str | None = None
    exclude: str | None = None


class ResourceConfig(_Section, frozen=True):
    service_name: Annotated[str, msgspec.Meta(min_length=1)] = "otel-agent"
    attributes: dict[str, str] = msgspec.field(default_factory=dict)


class AgentConfig(_Section, frozen=True):
    """Everything the agent needs to run, validated once at start (and on SIGHUP)."""

    interval: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 10.0
    root: str = "/"
    source: Literal["auto", "procfs", "psutil"] = "auto"
    naming: Literal["semconv", "hostmetrics"] = "semconv"
    cardinality_limit: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000
    statvfs_timeout: Annotated[float, msgspec.Meta(ge=0.05, le=60)] = 1.0
    shutdown_timeout: Annotated[float, msgspec.Meta(ge=0, le=300)] = 5.0
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    export: ExportConfig = msgspec.field(default_factory=ExportConfig)
    buffer: BufferConfig = msgspec.field(default_factory=BufferConfig)
    filters: FilterConfig = msgspec.field(default_factory=FilterConfig)
    processes: ProcessesConfig = msgspec.field(default_factory=ProcessesConfig)
    resource: ResourceConfig = msgspec.field(default_factory=ResourceConfig)


_URL_FIELDS = ("export.endpoint", "export.metrics_endpoint")
_PEM_FIELDS = ("export.certificate", "export.client_certificate", "export.client_key")
_PATTERN_FIELDS = (
    *(f"filters.{k}_{d}" for k in ("disk", "interface", "mount") for d in ("include", "exclude")),
    "processes.include",
    "processes.exclude",
)


def _get(config: AgentConfig, path: str) -> Any:
    section, name = path.split(".")
    return getattr(getattr(config, section), name)


def _rule_problems(config: AgentConfig) -> list[Problem]:
    """Rules beyond types and bounds: URLs, PEM files and regular expressions."""
    problems = []
    for path in _URL_FIELDS:
        value = _get(config, path)
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            problems.append(Problem(path, value, "must be an http:// or https:// URL, e.g. http://localhost:4318"))
    for path in _PEM_FIELDS:
        value = _get(config, path)
        if value is not None and not Path(value).is_file():
            problems.append(Problem(path, value, "must be the path of an existing PEM file"))
    for path in _PATTERN_FIELDS:
        value = _get(config, path)
        if value:
            try:
                re.compile(value)
            except re.error as exc:
                problems.append(Problem(path, value, f"must be a valid regular expression ({exc})"))
    return problems


Layer = dict[str, Any]


def parse_pairs(text: str, name: str) -> dict[str, str]:
    """Parse the OTEL `key=value,key2=value2` list format (values may be percent-encoded)."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"{name}: item {item.split('=')[0]!r}... is not key=value; use key=value,key2=value2", field=name
            )
        pairs[unquote(key.strip())] = unquote(value.strip())
    return pairs


def _ms_to_s(raw: str, name: str) -> float:
    try:
        return float(raw) / 1000
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: must be a number of milliseconds, e.g. 10000", field=name) from None


def env_layer(environ: Mapping[str, str]) -> tuple[Layer, dict[str, str]]:
    """Translate environment variables into a config layer, remembering which variable set which field."""
    layer: Layer = {}
    origin: dict[str, str] = {}

    def put(path: str, value: object, var: str) -> None:
        node = layer
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
        origin[path] = f"env {var}"

    def get(*names: str) -> tuple[str, str] | None:
        for name in names:
            if environ.get(name, "").strip():
                return name, environ[name].strip()
        return None

    simple = {
        "export.endpoint": (envvars.OTEL_EXPORTER_OTLP_ENDPOINT,),
        "export.metrics_endpoint": (envvars.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,),
        "export.protocol": (envvars.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, envvars.OTEL_EXPORTER_OTLP_PROTOCOL),
        "export.compression": (envvars.OTEL_EXPORTER_OTLP_COMPRESSION,),
        "export.certificate": (envvars.OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE, envvars.OTEL_EXPORTER_OTLP_CERTIFICATE),
        "export.client_certificate": (
            envvars.OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
            envvars.OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
        ),
        "export.client_key": (envvars.OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY, envvars.OTEL_EXPORTER_OTLP_CLIENT_KEY),
        "root": (envvars.HERON_AGENT_ROOT,),
        "source": (envvars.HERON_AGENT_SOURCE,),
        "naming": (envvars.HERON_AGENT_NAMING,),
        "buffer.max_cycles": (envvars.HERON_AGENT_BUFFER_MAX_CYCLES,),
        "buffer.max_mib": (envvars.HERON_AGENT_BUFFER_MAX_MIB,),
        "buffer.spill_dir": (envvars.HERON_AGENT_SPILL_DIR,),
        "processes.top_n": (envvars.HERON_AGENT_PROCESSES_TOP_N,),
        "log_level": (envvars.HERON_AGENT_LOG_LEVEL,),
    }
    for path, names in simple.items():
        if (found := get(*names)) is not None:
            put(path, found[1].upper() if path == "log_level" else found[1], found[0])
    if (found := get(envvars.OTEL_EXPORTER_OTLP_METRICS_HEADERS, envvars.OTEL_EXPORTER_OTLP_HEADERS)) is not None:
        put("export.headers", parse_pairs(found[1], found[0]), found[0])
    if (found := get(envvars.OTEL_EXPORTER_OTLP_TIMEOUT)) is not None:
        put("export.timeout", _ms_to_s(found[1], found[0]), found[0])
    if (found := get(envvars.OTEL_LOGS_EXPORTER)) is not None:
        if found[1] not in ("otlp", "none"):
            raise ConfigError(f"{found[0]}={found[1]!r}: allowed values are 'otlp' and 'none'", field=found[0])
        put("export.logs", found[1] == "otlp", found[0])
    if (found := get(envvars.HERON_AGENT_INTERVAL)) is not None:
        put("interval", found[1], found[0])
    elif (found := get(envvars.OTEL_METRIC_EXPORT_INTERVAL)) is not None:
        put("interval", _ms_to_s(found[1], found[0]), found[0])
    attributes = parse_pairs(environ.get(envvars.OTEL_RESOURCE_ATTRIBUTES, ""), envvars.OTEL_RESOURCE_ATTRIBUTES)
    service = attributes.pop("service.name", None)
    if attributes:
        put("resource.attributes", attributes, envvars.OTEL_RESOURCE_ATTRIBUTES)
    if (found := get(envvars.OTEL_SERVICE_NAME)) is not None:
        put("resource.service_name", found[1], found[0])
    elif service:
        put("resource.service_name", service, envvars.OTEL_RESOURCE_ATTRIBUTES)
    return layer, origin


def load_file(path: str | os.PathLike[str]) -> Layer:
    """Read the YAML config file; it must hold a mapping."""
    import yaml  # only hosts with a config file pay for the YAML parser

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read ({exc.strerror}); pass an existing file") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping of settings, not {type(data).__name__}")
    return data


def _merge(base: Layer, top: Mapping[str, Any]) -> Layer:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key not in ("headers", "attributes"):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _paths(layer: Mapping[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in layer.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and key not in ("headers", "attributes"):
            paths += _paths(value, path + ".")
        else:
            paths.append(path)
    return paths


def resolve_config(
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> AgentConfig:
    """Merge CLI arguments (dotted keys), environment and the YAML file over the defaults, and validate."""
    environ = os.environ if environ is None else environ
    warn_unknown_settings(environ, _log.warning)
    file_path = config_file or environ.get(envvars.HERON_AGENT_CONFIG) or None
    layers: list[tuple[Layer, dict[str, str]]] = []
    if file_path:
        file_layer = load_file(file_path)
        layers.append((file_layer, dict.fromkeys(_paths(file_layer), f"file {file_path}")))
    layers.append(env_layer(environ))
    cli_layer: Layer = {}
    for dotted, value in (cli or {}).items():
        if value is not None:
            cli_layer = _merge(cli_layer, _nest(dotted, value))
    layers.append((cli_layer, dict.fromkeys(_paths(cli_layer), "command line")))
    merged: Layer = {}
    origin: dict[str, str] = {}
    for layer, where in layers:
        merged = _merge(merged, layer)
        origin.update(where)
    try:
        config = msgspec.convert(merged, AgentConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise explain([Problem.from_validation(str(exc), merged, AgentConfig)], origin) from None
    if problems := _rule_problems(config):
        raise explain(problems, origin)
    return config


def _nest(dotted: str, value: object) -> Layer:
    *parents, leaf = dotted.split(".")
    node: Layer = {leaf: value}
    for part in reversed(parents):
        node = {part: node}
    return node
