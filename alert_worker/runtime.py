"""Builds the engine from config once per process and reloads rules when their files change."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alert_worker.config import AlertsConfig
from alert_worker.engine import Engine, Source
from alert_worker.exceptions import RuleFileError, SourceError
from alert_worker.models import NotificationJob
from alert_worker.notify.routing import RoutingConfig, expand_receivers, load_routing
from alert_worker.rules.api_rules import API_GROUP, api_group
from alert_worker.rules.evaluator import EvalSettings
from alert_worker.rules.loader import load_rule_files
from alert_worker.rules.model import RuleGroup
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.sources.victorialogs import VictoriaLogsSource
from alert_worker.state.base import StateStore
from alert_worker.state.redis_store import RedisStore

log = logging.getLogger(__name__)


def _mtimes(paths: list[Path]) -> tuple[tuple[str, float], ...]:
    out = []
    for p in paths:
        try:
            out.append((str(p), os.stat(p).st_mtime))
        except OSError:
            out.append((str(p), -1.0))
    return tuple(out)


def store_checked(logs: VictoriaLogsSource) -> Callable[[str], str | None]:
    """A LogsQL check by the store's parser that lets rules load while the store is down.

    An expression the store cannot judge now is evaluated anyway; if it is bad, its evaluations fail
    with the store's message (the rule shows an error, its alerts are held), never a false resolve.
    """

    def check(expr: str) -> str | None:
        try:
            return logs.check(expr)
        except SourceError as exc:
            log.warning("cannot check a LogsQL rule now (%s); it is checked when evaluated", exc)
            return None

    return check


def _configured_destinations() -> list[str]:
    from alert_worker.channels.config import resolve_destinations  # the channel layer loads only when asked

    return list(resolve_destinations().destinations)


@dataclass
class Runtime:
    """Process-wide engine; `groups()` re-reads rule files when any of them changed."""

    config: AlertsConfig
    enqueue: Callable[[NotificationJob], None]
    _groups: dict[str, RuleGroup] = field(default_factory=dict)
    _routing: RoutingConfig = field(default_factory=RoutingConfig)
    _stamp: tuple[tuple[str, float], ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _engine: Engine | None = None
    _logs: VictoriaLogsSource | None = None
    #: Names the routing receiver `*` stands for; by default the destinations the delivery side configures.
    destination_names: Callable[[], Sequence[str]] = field(default=_configured_destinations)

    def _paths(self) -> list[Path]:
        routing = self.config.routing_path()
        return self.config.rule_paths() + ([routing] if routing else [])

    def refresh(self) -> None:
        """Reload rules and routing if a file changed; a broken edit keeps the last good rules."""
        with self._lock:
            paths = self._paths()
            stamp = _mtimes(paths)
            if stamp == self._stamp and self._engine is not None:
                return
            if self._logs is None:
                self._logs = VictoriaLogsSource(self.config.victorialogs_url, timeout=self.config.query_timeout_s)
            try:
                groups = load_rule_files(self.config.rule_paths(), logsql_check=store_checked(self._logs))
                self._routing = expand_receivers(load_routing(self.config.routing_path()), self.destination_names())
            except RuleFileError as exc:
                if self._engine is None:
                    raise
                log.error("rule files changed but are invalid; keeping the previous rules:\n%s", exc)
                self._stamp = stamp
                return
            self._groups = {g.name: g for g in groups}
            self._stamp = stamp
            source: Source
            store: StateStore
            if self._engine is None:
                source = PrometheusSource(
                    self.config.prometheus_url,
                    timeout=self.config.query_timeout_s,
                    connections=self.config.query_concurrency,
                )
                store = RedisStore.from_url(
                    self.config.redis_url,
                    history_retention_s=self.config.history_retention_s,
                    replica_wait=self.config.replica_wait(),
                )
            else:  # keep the connections; only rules and routing changed
                source, store = self._engine.source, self._engine.store
            self._engine = Engine(
                source=source,
                store=store,
                routing=self._routing,
                settings=EvalSettings(
                    external_labels=dict(self.config.external_labels),
                    flap_threshold=self.config.flap_threshold,
                    flap_window_s=self.config.flap_window_s,
                ),
                enqueue=self.enqueue,
                generator_base=self.config.prometheus_url,
                logs=self._logs,
                logs_base=self.config.victorialogs_url,
                query_concurrency=self.config.query_concurrency,
            )

    @property
    def engine(self) -> Engine:
        self.refresh()
        assert self._engine is not None
        return self._engine

    def groups(self) -> dict[str, RuleGroup]:
        """File groups plus the API group (read from Redis on every call, so edits apply at once)."""
        self.refresh()
        groups = dict(self._groups)
        groups[API_GROUP] = api_group(self.engine.store.api_rules())
        return groups

    def queue_for(self, group: str) -> str:
        self.refresh()
        return self._routing.group_queues.get(group, self.config.eval_queue)
