"""One resolver for the engine's settings: argument > environment > config file > default."""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from alert_worker import envvars as ev
from alert_worker.exceptions import ConfigError
from alert_worker.redis_client import ReplicaWait
from alert_worker.redis_url import FORMS, SENTINEL_SCHEME, RedisTarget, parse_redis_url, redact
from alert_worker.rules.durations import parse_duration
from heron_stack.settings import warn_unknown_settings
from heron_stack.webguard import parse_allowed_hosts

log = logging.getLogger(__name__)

_ENV: dict[str, str] = {
    "prometheus_url": ev.HERON_ALERTS_PROMETHEUS_URL,
    "victorialogs_url": ev.HERON_ALERTS_VICTORIALOGS_URL,
    "redis_url": ev.HERON_ALERTS_REDIS_URL,
    "broker_url": ev.HERON_ALERTS_BROKER_URL,
    "rule_files": ev.HERON_ALERTS_RULE_FILES,
    "routing_file": ev.HERON_ALERTS_ROUTING_FILE,
    "external_labels": ev.HERON_ALERTS_EXTERNAL_LABELS,
    "eval_queue": ev.HERON_ALERTS_EVAL_QUEUE,
    "notify_queue": ev.HERON_ALERTS_NOTIFY_QUEUE,
    "flap_threshold": ev.HERON_ALERTS_FLAP_THRESHOLD,
    "flap_window_s": ev.HERON_ALERTS_FLAP_WINDOW,
    "query_timeout_s": ev.HERON_ALERTS_QUERY_TIMEOUT,
    "query_concurrency": ev.HERON_ALERTS_QUERY_CONCURRENCY,
    "history_retention_s": ev.HERON_ALERTS_HISTORY_RETENTION,
    "visibility_timeout_s": ev.HERON_ALERTS_VISIBILITY_TIMEOUT,
    "redis_wait_replicas": ev.HERON_ALERTS_REDIS_WAIT_REPLICAS,
    "redis_wait_timeout_s": ev.HERON_ALERTS_REDIS_WAIT_TIMEOUT,
    "shard_ttl_s": ev.HERON_ALERTS_SHARD_TTL,
    "beat_lock_timeout_s": ev.HERON_ALERTS_BEAT_LOCK_TIMEOUT,
    "api_host": ev.HERON_ALERTS_API_HOST,
    "api_port": ev.HERON_ALERTS_API_PORT,
    "api_token": ev.HERON_ALERTS_API_TOKEN,
    "api_token_file": ev.HERON_ALERTS_API_TOKEN_FILE,
    "api_allowed_hosts": ev.HERON_ALERTS_API_ALLOWED_HOSTS,
}
DEFAULT_RULE_GLOB = "prometheus/rules/*.rules.yml"
# LogsQL rule files sit one level down: Prometheus loads prometheus/rules/*.yml and would refuse them.
DEFAULT_LOG_RULE_GLOB = "prometheus/rules/logs/*.rules.yml"
DEFAULT_ROUTING_FILE = "prometheus/rules/heron.routing.yaml"


def _split(value: Any) -> Any:
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


class AlertsConfig(BaseModel):
    """Resolved settings of the alert engine (frozen)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prometheus_url: str = "http://127.0.0.1:9090"
    victorialogs_url: str = "http://127.0.0.1:9428"
    redis_url: str = "redis://127.0.0.1:6379/0"
    broker_url: str = ""
    rule_files: tuple[str, ...] = (DEFAULT_RULE_GLOB, DEFAULT_LOG_RULE_GLOB)
    routing_file: str = ""
    external_labels: Mapping[str, str] = {}
    eval_queue: str = "alerts"
    notify_queue: str = "notify"
    flap_threshold: int = 4
    flap_window_s: float = 1800.0
    query_timeout_s: float = 10.0
    #: Queries of one group in flight at once (Prometheus runs up to --query.max-concurrency=20 itself).
    query_concurrency: int = 4
    history_retention_s: float = 30 * 86400.0
    #: The broker redelivers a task unacknowledged this long (its worker was killed outright).
    visibility_timeout_s: float = 20.0
    #: Replicas a state write waits for (None: 1 under Sentinel, else 0); see alert_worker.redis_client.
    redis_wait_replicas: int | None = None
    redis_wait_timeout_s: float = 1.0
    #: A sharded worker silent this long has left; beat routes its groups to the other shards.
    shard_ttl_s: float = 10.0
    #: A standby beat takes over this long after the active one stopped renewing the lock.
    beat_lock_timeout_s: float = 30.0
    api_host: str = "127.0.0.1"
    api_port: int = 9097
    api_token: str = ""
    api_token_file: str = ""
    api_allowed_hosts: frozenset[str] = frozenset()

    _lists = field_validator("rule_files", mode="before")(_split)

    @field_validator("external_labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        pairs = [p.split("=", 1) for p in _split(value)]
        if any(len(p) != 2 for p in pairs):
            raise ValueError("use name=value pairs separated by commas")
        return {k.strip(): v.strip() for k, v in pairs}

    @field_validator("api_allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        return parse_allowed_hosts(value, ev.HERON_ALERTS_API_ALLOWED_HOSTS) if isinstance(value, str) else value

    @field_validator(
        "flap_window_s",
        "query_timeout_s",
        "history_retention_s",
        "visibility_timeout_s",
        "redis_wait_timeout_s",
        "shard_ttl_s",
        "beat_lock_timeout_s",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("visibility_timeout_s")
    @classmethod
    def _visibility(cls, value: float) -> float:
        if value < 10:
            raise ValueError("must be at least 10s (a duration such as 5m); tasks run longer than that are retried")
        return value

    @field_validator("shard_ttl_s")
    @classmethod
    def _shard_ttl(cls, value: float) -> float:
        if value < 2:
            raise ValueError("must be at least 2s (a duration such as 10s); workers renew it every third of it")
        return value

    @field_validator("beat_lock_timeout_s")
    @classmethod
    def _beat_lock(cls, value: float) -> float:
        if value < 3 or value != int(value):
            raise ValueError("must be a whole number of seconds, at least 3s (a duration such as 30s)")
        return value

    @field_validator("prometheus_url", "victorialogs_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("must be a URL such as http://127.0.0.1:9090")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str) -> str:
        parse_redis_url(value)
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker(cls, value: str) -> str:
        if value.startswith(f"{SENTINEL_SCHEME}://"):
            parse_redis_url(value)
        elif value and "://" not in value:
            raise ValueError(f"must be a Celery broker URL such as amqp://host:5672// or {FORMS}")
        return value

    @field_validator("redis_wait_replicas")
    @classmethod
    def _replicas(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 16:
            raise ValueError("must be a whole number from 0 (do not wait) to 16")
        return value

    @field_validator("redis_wait_timeout_s")
    @classmethod
    def _wait_timeout(cls, value: float) -> float:
        if not 0.01 <= value <= 10:
            raise ValueError("must be a duration from 10ms to 10s (such as 500ms or 1s)")
        return value

    @field_validator("flap_threshold", "api_port")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive integer")
        return value

    @field_validator("query_concurrency")
    @classmethod
    def _concurrency(cls, value: int) -> int:
        if not 1 <= value <= 64:
            raise ValueError("must be an integer from 1 to 64")
        return value

    @property
    def redis_target(self) -> RedisTarget:
        """Where alert state, delivery state and RedBeat's lock live."""
        return parse_redis_url(self.redis_url)

    def broker_transport(self) -> tuple[str, dict[str, Any]]:
        """Celery's broker URL and extra transport options (kombu's `sentinel://...;...` under Sentinel)."""
        url = self.broker_url or self.redis_url
        if url.startswith(f"{SENTINEL_SCHEME}://"):
            return parse_redis_url(url).kombu_broker()
        return url, {}

    @property
    def broker(self) -> str:
        return self.broker_transport()[0]

    def replica_wait(self) -> ReplicaWait:
        """How writes that matter wait for replicas (`redis_wait_replicas`, by default 1 under Sentinel)."""
        replicas = self.redis_wait_replicas
        if replicas is None:
            replicas = 1 if self.redis_target.is_sentinel else 0
        return ReplicaWait(replicas, self.redis_wait_timeout_s)

    def rule_paths(self, base: Path | None = None) -> list[Path]:
        """Rule files matched by `rule_files` (relative globs resolve against `base` or the cwd)."""
        root = base or Path.cwd()
        out: list[Path] = []
        for pattern in self.rule_files:
            full = pattern if os.path.isabs(pattern) else str(root / pattern)
            out.extend(Path(p) for p in sorted(glob.glob(full)))
        return out

    def routing_path(self, base: Path | None = None) -> Path | None:
        name = self.routing_file or DEFAULT_ROUTING_FILE
        path = Path(name) if os.path.isabs(name) else (base or Path.cwd()) / name
        if self.routing_file and not path.exists():
            raise ConfigError("routing_file", self.routing_file, "the file does not exist")
        return path if path.exists() else None

    def __repr_args__(self) -> Any:
        """The repr (and so Celery's `inspect conf`, which shows this config) without the API token or a
        Redis password."""
        for name, value in super().__repr_args__():
            if name == "api_token" and value:
                yield name, "***"
            elif name in ("redis_url", "broker_url") and value:
                yield name, redact(str(value))
            else:
                yield name, value

    def api_bearer_token(self) -> str:
        if self.api_token:
            return self.api_token
        if self.api_token_file:
            try:
                return Path(self.api_token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError("api_token_file", self.api_token_file, f"cannot read it: {exc.strerror}") from exc
        return ""


def resolve_config(overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> AlertsConfig:
    """Merge overrides > env > file (HERON_ALERTS_CONFIG) > defaults; ConfigError names the bad key."""
    env = os.environ if env is None else env
    warn_unknown_settings(env, log.warning)
    values: dict[str, Any] = {}
    file_name = env.get(ev.HERON_ALERTS_CONFIG)
    if file_name:
        try:
            loaded = yaml.safe_load(Path(file_name).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(ev.HERON_ALERTS_CONFIG, file_name, f"cannot load it as YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(ev.HERON_ALERTS_CONFIG, file_name, "the file must hold a mapping of settings")
        values.update(loaded)
    values.update({field: env[name] for field, name in _ENV.items() if env.get(name)})
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return AlertsConfig.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "config"
        value = err.get("input")
        if field in ("redis_url", "broker_url") and isinstance(value, str):
            value = redact(value)  # the password never reaches a log
        raise ConfigError(_ENV.get(field, field), value, err["msg"]) from exc
