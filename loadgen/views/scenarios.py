"""`/api/scenarios`: list, inspect, start, pause, resume and stop scenario runs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from loadgen.errors import parse_body
from loadgen.lab import lab
from loadgen.scenarios.model import Scenario
from loadgen.scenarios.runner import Run, run_to_dict
from loadgen.validation import ScenarioStartRequest

bp = Blueprint("scenarios", __name__, url_prefix="/api/scenarios")


def _summary(s: Scenario) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "duration_seconds": s.duration,
        "expected_alerts": list(s.expected_alerts),
    }


def _run(run: Run) -> dict[str, Any]:
    runner = lab().runner
    return run_to_dict(run, runner.alert_source, runner.engine.now())


@bp.get("")
def list_scenarios() -> Any:
    """Every scenario in the catalog."""
    return jsonify({"scenarios": [_summary(s) for s in lab().runner.catalog.values()]})


@bp.get("/running")
def running() -> Any:
    """Runs that are running or paused."""
    runs = [r for r in lab().runner.runs() if r.status in ("running", "paused")]
    return jsonify({"scenarios": [_run(r) for r in runs]})


@bp.get("/<scenario_id>")
def detail(scenario_id: str) -> Any:
    """A scenario's timeline and its latest run."""
    runner = lab().runner
    scenario = runner.scenario(scenario_id)
    phases = [
        {
            "at_seconds": p.at,
            "name": p.name,
            "description": p.description,
            "actions": [{"type": s.kind, "at_seconds": s.at, "params": dict(s.params)} for s in p.steps],
        }
        for p in scenario.phases
    ]
    last = next((r for r in runner.runs() if r.scenario.id == scenario_id), None)
    return jsonify(_summary(scenario) | {"phases": phases, "last_run": _run(last) if last else None})


@bp.post("/<scenario_id>/start")
def start(scenario_id: str) -> tuple[Any, int]:
    """Start a run (optionally time-compressed with `speed`)."""
    runner = lab().runner
    runner.scenario(scenario_id)
    body = parse_body(ScenarioStartRequest, optional=True)
    return jsonify(_run(runner.start(scenario_id, body.speed))), 201


@bp.delete("/<scenario_id>/stop")
def stop(scenario_id: str) -> Any:
    """Stop a run and its actions."""
    return jsonify(_run(lab().runner.stop(scenario_id)))


@bp.post("/<scenario_id>/pause")
def pause(scenario_id: str) -> Any:
    """Freeze a run's timeline and stop its actions."""
    return jsonify(_run(lab().runner.pause(scenario_id)))


@bp.post("/<scenario_id>/resume")
def resume(scenario_id: str) -> Any:
    """Continue a paused run."""
    return jsonify(_run(lab().runner.resume(scenario_id)))
