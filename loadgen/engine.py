"""The engine: registry of running actions, caps and admission control, leases, stop-all, shutdown."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loadgen.actions.base import Action, ActionEnv
from loadgen.actions.cpu import available_cores
from loadgen.actions.registry import ActionFactory, default_factories
from loadgen.budget import Budget, check_admission, memory_budget
from loadgen.events import EventLog, iso, utc_now
from loadgen.exceptions import LimitExceeded, NotFound
from loadgen.instrumentation import capture_exception
from loadgen.memory_probe import available_memory
from loadgen.telemetry import ActionGauge

log = logging.getLogger(__name__)

TICK = 0.25
KEEP_FINISHED = 100
MILESTONES = (0.25, 0.5, 0.75)


@dataclass
class Record:
    """One action the engine started."""

    id: str
    kind: str
    action: Action
    params: dict[str, Any]
    started_at: datetime
    stop: threading.Event = field(default_factory=threading.Event)
    status: str = "running"
    finished_at: datetime | None = None
    error: str | None = None
    scenario_id: str | None = None
    lease_deadline: float | None = None
    stop_reason: str | None = None
    milestones_sent: int = 0
    thread: threading.Thread | None = None

    def to_dict(self, now_mono: float) -> dict[str, Any]:
        """JSON form (the `ActionStatus` schema)."""
        expected = self.action.expected_seconds
        lease_at = None
        if self.lease_deadline is not None and self.status == "running":
            lease_at = iso(utc_now() + timedelta(seconds=max(0.0, self.lease_deadline - now_mono)))
        return {
            "id": self.id,
            "type": self.kind,
            "status": self.status,
            "progress": 1.0 if self.status == "completed" else round(self.action.progress(), 4),
            "started_at": iso(self.started_at),
            "estimated_completion": iso(self.started_at + timedelta(seconds=expected)) if expected else None,
            "finished_at": iso(self.finished_at),
            "params": self.params,
            "achieved": self.action.achieved(),
            "scenario_id": self.scenario_id,
            "lease_expires_at": lease_at,
            "error": self.error,
        }


class Engine:
    """Starts, tracks and stops actions under one shared budget."""

    def __init__(
        self,
        env: ActionEnv,
        events: EventLog,
        factories: Mapping[str, ActionFactory] | None = None,
        memory_available: Callable[[], int] = available_memory,
        cpu_count: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.env = env
        self.config = env.config
        self.events = events
        self.factories = dict(factories or default_factories())
        self.cpu_count = cpu_count or available_cores()
        self._memory_available = memory_available
        self._clock = clock
        self._lock = threading.RLock()
        self._active: dict[str, Record] = {}
        self._finished: OrderedDict[str, Record] = OrderedDict()
        self._closed = threading.Event()
        self._ticker: threading.Thread | None = None

    def now(self) -> float:
        """The engine's monotonic clock (leases are measured on it)."""
        return self._clock()

    # --- lifecycle -------------------------------------------------------------------------------------------

    def start_ticker(self) -> None:
        """Start the background thread that enforces leases and reports progress milestones."""
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick_loop, name="loadgen-engine", daemon=True)
            self._ticker.start()

    def shutdown(self, timeout: float = 3.0) -> int:
        """Stop every action, wait for them to release their resources, stop the ticker."""
        stopped = self.stop_all(reason="shutdown")
        deadline = self._clock() + timeout
        for record in self.records():
            if record.thread is not None:
                record.thread.join(max(0.0, deadline - self._clock()))
        self._closed.set()
        return stopped

    # --- starting --------------------------------------------------------------------------------------------

    def start(self, kind: str, request: Any, scenario_id: str | None = None) -> Record:
        """Validate caps, build the action, admit it against the budget and run it in a thread."""
        if kind not in self.factories:
            raise NotFound(f"no action type {kind!r}; known: {sorted(self.factories)}", field="type", value=kind)
        self._check_caps(kind, request)
        action = self.factories[kind](request, self.env)
        params = request.model_dump(exclude_none=True)
        with self._lock:
            check_admission(
                self._budget(), (r.action.reservation() for r in self._active.values()), action.reservation()
            )
            record = Record(f"{kind}-{secrets.token_hex(4)}", kind, action, params, utc_now(), scenario_id=scenario_id)
            if request.lease_seconds is not None:
                record.lease_deadline = self._clock() + request.lease_seconds
            self._active[record.id] = record
            record.thread = threading.Thread(target=self._run, args=(record,), name=f"loadgen-{record.id}", daemon=True)
        attrs: dict[str, str | float | int | bool] = {"action_id": record.id, "action_type": kind}
        if scenario_id:
            attrs["scenario_id"] = scenario_id
        self.events.emit("action_started", f"{kind} started: {_describe(params)}", "info", **attrs)
        record.thread.start()
        return record

    def _check_caps(self, kind: str, request: Any) -> None:
        cfg = self.config
        duration = getattr(request, "duration_seconds", None)
        if duration is not None and duration > cfg.max_duration_seconds:
            raise LimitExceeded(
                f"duration_seconds={duration:g} exceeds the cap of {cfg.max_duration_seconds:g} s "
                "(HERON_LOADGEN_MAX_DURATION_SECONDS)",
                field="duration_seconds",
                value=duration,
            )
        if kind == "cpu-stress" and request.cores > self.cpu_count:
            raise LimitExceeded(
                f"cores={request.cores} but this host has {self.cpu_count}; use 0 for all", field="cores"
            )
        if kind == "disk-io" and request.file_size_kb > cfg.max_disk_mb * 1024:
            raise LimitExceeded(
                f"file_size_kb={request.file_size_kb} exceeds the cap of {cfg.max_disk_mb * 1024} "
                "(HERON_LOADGEN_MAX_DISK_MB)",
                field="file_size_kb",
            )
        if kind == "traffic":
            if request.requests_per_sec > cfg.max_rate:
                raise LimitExceeded(
                    f"requests_per_sec={request.requests_per_sec:g} exceeds the cap of {cfg.max_rate:g} "
                    "(HERON_LOADGEN_MAX_RATE)",
                    field="requests_per_sec",
                )
            if request.concurrency > cfg.max_traffic_concurrency:
                raise LimitExceeded(
                    f"concurrency={request.concurrency} exceeds the cap of {cfg.max_traffic_concurrency} "
                    "(HERON_LOADGEN_MAX_TRAFFIC_CONCURRENCY)",
                    field="concurrency",
                )

    def _budget(self) -> Budget:
        held = sum(int(r.action.achieved().get("allocated_bytes", 0)) for r in self._active.values())
        return Budget(
            cpu_cores=float(self.cpu_count),
            memory_bytes=memory_budget(self.config.max_memory_share, self._memory_available(), held),
            traffic_rate=self.config.max_rate,
            actions=self.config.max_concurrent_actions,
        )

    def _run(self, record: Record) -> None:
        try:
            record.action.run(record.stop)
        except Exception as exc:
            capture_exception(exc)
            log.exception("action %s failed", record.id)
            record.error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            record.finished_at = utc_now()
            if record.error:
                record.status = "failed"
            else:
                record.status = "stopped" if record.stop.is_set() else "completed"
            self._active.pop(record.id, None)
            self._finished[record.id] = record
            while len(self._finished) > KEEP_FINISHED:
                self._finished.popitem(last=False)
        self._emit_finished(record)

    def _emit_finished(self, record: Record) -> None:
        achieved = {k: round(v, 2) for k, v in record.action.achieved().items()}
        attrs: dict[str, str | float | int | bool] = {"action_id": record.id, "action_type": record.kind}
        if record.scenario_id:
            attrs["scenario_id"] = record.scenario_id
        if record.status == "failed":
            self.events.emit("action_failed", f"{record.kind} failed: {record.error}", "critical", **attrs)
        elif record.status == "stopped":
            reason = record.stop_reason or "stopped"
            self.events.emit(
                "action_stopped", f"{record.kind} stopped ({reason}): {_describe(achieved)}", "warning", **attrs
            )
        else:
            self.events.emit("action_completed", f"{record.kind} completed: {_describe(achieved)}", "success", **attrs)

    # --- stopping and queries ---------------------------------------------------------------------------------

    def stop(self, action_id: str, reason: str = "stopped by request") -> Record:
        """Ask one action to stop (it returns within 1 s)."""
        with self._lock:
            record = self._active.get(action_id) or self._finished.get(action_id)
        if record is None:
            raise NotFound(f"no action with id {action_id!r}; list them with GET /api/actions/active", field="id")
        if record.status == "running" and not record.stop.is_set():
            record.stop_reason = reason
            record.stop.set()
        return record

    def stop_all(self, reason: str = "stop-all", scenario_id: str | None = None) -> int:
        """Stop every running action (or those of one scenario); return how many were asked to stop."""
        with self._lock:
            targets = [r for r in self._active.values() if scenario_id is None or r.scenario_id == scenario_id]
        for record in targets:
            self.stop(record.id, reason)
        return len(targets)

    def renew(self, action_id: str, seconds: float) -> Record:
        """Push an action's lease deadline `seconds` into the future."""
        with self._lock:
            record = self._active.get(action_id)
            if record is None:
                raise NotFound(f"no running action with id {action_id!r}", field="id")
            record.lease_deadline = self._clock() + seconds
        return record

    def get(self, action_id: str) -> Record:
        """A running or recently finished action."""
        with self._lock:
            record = self._active.get(action_id) or self._finished.get(action_id)
        if record is None:
            raise NotFound(f"no action with id {action_id!r}", field="id")
        return record

    def active(self) -> list[Record]:
        """Running actions, oldest first."""
        with self._lock:
            return list(self._active.values())

    def records(self) -> list[Record]:
        """Running and recently finished actions."""
        with self._lock:
            return list(self._finished.values()) + list(self._active.values())

    def gauges(self) -> list[ActionGauge]:
        """Per-action values for the telemetry gauges."""
        out = []
        for r in self.active():
            a = r.action.achieved()
            out.append(
                ActionGauge(
                    r.id,
                    r.kind,
                    a.get("target_percent", 0.0),
                    a.get("achieved_percent", 0.0),
                    a.get("allocated_bytes", 0.0),
                )
            )
        return out

    def _tick_loop(self) -> None:
        while not self._closed.wait(TICK):
            now = self._clock()
            for record in self.active():
                if record.lease_deadline is not None and now > record.lease_deadline:
                    self.stop(record.id, "lease expired")
                progress = record.action.progress()
                while record.milestones_sent < len(MILESTONES) and progress >= MILESTONES[record.milestones_sent]:
                    pct = int(MILESTONES[record.milestones_sent] * 100)
                    record.milestones_sent += 1
                    self.events.emit(
                        "action_progress",
                        f"{record.kind} {pct}% done: {_describe(record.action.achieved())}",
                        "info",
                        action_id=record.id,
                        action_type=record.kind,
                        progress=pct / 100,
                    )


def _describe(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
