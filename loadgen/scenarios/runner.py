"""Runs scenario timelines against the engine: start / pause / resume / stop, phase events, alert checks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loadgen.engine import Engine
from loadgen.events import EventLog, iso, utc_now
from loadgen.exceptions import Conflict, NotFound, RequestRejected
from loadgen.scenarios.alerts import AlertSource, AlertSourceError
from loadgen.scenarios.model import Scenario, Step, TimelineClock, due_steps, phase_at, scale_params
from loadgen.validation import ACTION_REQUESTS

log = logging.getLogger(__name__)

TICK = 0.1
ALERT_POLL_SECONDS = 5.0
ALERT_GRACE_SECONDS = 120.0
HANDOVER_SECONDS = 1.5


@dataclass
class Run:
    """One run of a scenario."""

    scenario: Scenario
    clock: TimelineClock
    started_at: datetime
    status: str = "running"
    phase: str | None = None
    action_ids: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    alerts_seen: dict[str, datetime] = field(default_factory=dict)
    alerts_checked: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    resume_steps: list[Step] = field(default_factory=list)
    finished_mono: float | None = None


class ScenarioRunner:
    """One run per scenario id at a time; each run has its own thread."""

    def __init__(
        self,
        engine: Engine,
        events: EventLog,
        catalog: Mapping[str, Scenario],
        alert_source: AlertSource | None = None,
        clock: Callable[[], float] = time.monotonic,
        alert_poll_seconds: float = ALERT_POLL_SECONDS,
    ) -> None:
        self.engine, self.events, self.catalog = engine, events, dict(catalog)
        self.alert_source = alert_source
        self._clock = clock
        self._alert_poll = alert_poll_seconds
        self._lock = threading.RLock()
        self._runs: dict[str, Run] = {}

    def scenario(self, scenario_id: str) -> Scenario:
        """A scenario from the catalog."""
        found = self.catalog.get(scenario_id)
        if found is None:
            raise NotFound(f"no scenario {scenario_id!r}; known: {sorted(self.catalog)}", field="id")
        return found

    def start(self, scenario_id: str, speed: float = 1.0) -> Run:
        """Start a run; refuse when one is already running or paused."""
        scenario = self.scenario(scenario_id)
        with self._lock:
            current = self._runs.get(scenario_id)
            if current is not None and current.status in ("running", "paused"):
                raise Conflict(f"scenario {scenario_id!r} is already {current.status}; stop it first", field="id")
            run = Run(scenario, TimelineClock(self._clock(), speed), utc_now())
            self._runs[scenario_id] = run
        self.events.emit("scenario_started", f"scenario {scenario.name} started (x{speed:g})", scenario_id=scenario_id)
        threading.Thread(target=self._loop, args=(run,), name=f"scenario-{scenario_id}", daemon=True).start()
        return run

    def stop(self, scenario_id: str) -> Run:
        """Stop a run and every action it started."""
        run = self.get(scenario_id)
        with self._lock:
            if run.status in ("running", "paused"):
                run.status = "stopped"
                run.finished_mono = self._clock()
                run.stop.set()
        self.engine.stop_all(reason=f"scenario {scenario_id} stopped", scenario_id=scenario_id)
        self.events.emit(
            "scenario_stopped", f"scenario {run.scenario.name} stopped", "warning", scenario_id=scenario_id
        )
        return run

    def pause(self, scenario_id: str) -> Run:
        """Freeze the timeline and stop its actions; resume restarts them for their remaining time."""
        run = self.get(scenario_id)
        with self._lock:
            if run.status != "running":
                raise Conflict(f"scenario {scenario_id!r} is {run.status}, not running", field="id")
            now = self._clock()
            run.clock.pause(now)
            run.status = "paused"
            elapsed = run.clock.elapsed(now)
            run.resume_steps = self._remaining_steps(run, elapsed)
        self.engine.stop_all(reason=f"scenario {scenario_id} paused", scenario_id=scenario_id)
        self.events.emit("scenario_paused", f"scenario {run.scenario.name} paused", "info", scenario_id=scenario_id)
        return run

    def resume(self, scenario_id: str) -> Run:
        """Continue a paused run."""
        run = self.get(scenario_id)
        with self._lock:
            if run.status != "paused":
                raise Conflict(f"scenario {scenario_id!r} is {run.status}, not paused", field="id")
            run.clock.resume(self._clock())
            run.status = "running"
            steps, run.resume_steps = run.resume_steps, []
        for step in steps:
            self._launch(run, step)
        self.events.emit("scenario_resumed", f"scenario {run.scenario.name} resumed", "info", scenario_id=scenario_id)
        return run

    def get(self, scenario_id: str) -> Run:
        """The latest run of a scenario."""
        self.scenario(scenario_id)
        with self._lock:
            run = self._runs.get(scenario_id)
        if run is None:
            raise NotFound(f"scenario {scenario_id!r} has not been started", field="id")
        return run

    def runs(self) -> list[Run]:
        """Latest run of every scenario started in this process."""
        with self._lock:
            return list(self._runs.values())

    def shutdown(self) -> None:
        """Stop every run."""
        for run in self.runs():
            if run.status in ("running", "paused"):
                self.stop(run.scenario.id)

    # --- the run thread ----------------------------------------------------------------------------------------

    def _loop(self, run: Run) -> None:
        before = 0.0
        next_poll = self._clock()
        while not run.stop.wait(TICK):
            now = self._clock()
            if now >= next_poll:
                self._check_alerts(run)
                next_poll = now + self._alert_poll
            if run.status == "completed":
                if self._alerts_settled(run, now):
                    return
                continue
            if run.status != "running":
                continue
            elapsed = min(run.clock.elapsed(now), run.scenario.duration)
            self._enter_phase(run, elapsed)
            if elapsed > before:
                for step in due_steps(run.scenario, before, elapsed):
                    self._launch(run, step)
                before = elapsed
            if elapsed >= run.scenario.duration:
                self._complete(run, now)

    def _enter_phase(self, run: Run, elapsed: float) -> None:
        phase = phase_at(run.scenario, elapsed)
        if phase is not None and phase.name != run.phase:
            run.phase = phase.name
            self.events.emit(
                "scenario_phase",
                f"{run.scenario.name}: {phase.name}" + (f" - {phase.description}" if phase.description else ""),
                "info",
                scenario_id=run.scenario.id,
                phase=phase.name,
            )

    def _launch(self, run: Run, step: Step) -> None:
        """Start one step, replacing the run's running action of the same kind (a phase sets the level)."""
        for record in self.engine.active():
            if record.scenario_id == run.scenario.id and record.kind == step.kind:
                self.engine.stop(record.id, "next phase")
                if record.thread is not None:
                    record.thread.join(HANDOVER_SECONDS)
        params = scale_params(step.params, run.clock.speed)
        try:
            request = ACTION_REQUESTS[step.kind].model_validate(params)
            record = self.engine.start(step.kind, request, scenario_id=run.scenario.id)
        except RequestRejected as exc:
            run.skipped.append(f"{step.at:g}s {step.kind}: {exc}")
            self.events.emit(
                "scenario_step_skipped",
                f"{run.scenario.name}: {step.kind} skipped: {exc}",
                "warning",
                scenario_id=run.scenario.id,
            )
            return
        run.action_ids.append(record.id)

    def _remaining_steps(self, run: Run, elapsed: float) -> list[Step]:
        steps = []
        for record in self.engine.active():
            if record.scenario_id != run.scenario.id or "duration_seconds" not in record.params:
                continue
            done = (utc_now() - record.started_at).total_seconds()
            remaining = float(record.params["duration_seconds"]) - done
            if remaining >= 1.0:
                params: dict[str, Any] = dict(record.params, duration_seconds=remaining * run.clock.speed)
                steps.append(Step(elapsed, record.kind, params))
        return steps

    def _complete(self, run: Run, now: float) -> None:
        with self._lock:
            if run.status != "running":
                return
            run.status = "completed"
            run.finished_mono = now
        self.events.emit(
            "scenario_completed", f"scenario {run.scenario.name} completed", "success", scenario_id=run.scenario.id
        )

    def _check_alerts(self, run: Run) -> None:
        if self.alert_source is None or not run.scenario.expected_alerts:
            return
        try:
            firing = self.alert_source.firing()
        except AlertSourceError as exc:
            log.warning("alert check failed: %s", exc)
            return
        run.alerts_checked = True
        for name in run.scenario.expected_alerts:
            if name in firing and name not in run.alerts_seen:
                run.alerts_seen[name] = utc_now()
                self.events.emit(
                    "scenario_alert_fired",
                    f"{run.scenario.name}: expected alert {name} fired",
                    "success",
                    scenario_id=run.scenario.id,
                    alert=name,
                )

    def _alerts_settled(self, run: Run, now: float) -> bool:
        if self.alert_source is None or set(run.scenario.expected_alerts) <= set(run.alerts_seen):
            return True
        return run.finished_mono is not None and now - run.finished_mono > ALERT_GRACE_SECONDS


def run_to_dict(run: Run, source: AlertSource | None, now: float) -> dict[str, Any]:
    """JSON form (the `ScenarioRun` schema)."""
    elapsed = min(run.clock.elapsed(now if run.finished_mono is None else run.finished_mono), run.scenario.duration)
    alerts = []
    for name in run.scenario.expected_alerts:
        seen = run.alerts_seen.get(name)
        fired = True if seen else (False if run.alerts_checked else None)
        alerts.append({"name": name, "fired": fired, "first_seen_at": iso(seen)})
    return {
        "scenario_id": run.scenario.id,
        "name": run.scenario.name,
        "status": run.status,
        "progress": round(elapsed / run.scenario.duration, 4),
        "elapsed_seconds": round(elapsed, 2),
        "duration_seconds": run.scenario.duration,
        "speed": run.clock.speed,
        "started_at": iso(run.started_at),
        "current_phase": run.phase,
        "action_ids": list(run.action_ids),
        "alerts": alerts,
        "alerts_source": getattr(source, "url", None),
        "skipped_steps": list(run.skipped),
    }
