"""`/api/actions`: start, list, stop and renew actions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from loadgen.errors import parse_body
from loadgen.lab import lab
from loadgen.validation import ACTION_REQUESTS, LeaseRenewRequest

ACTION_ID_PATTERN = r"(?:cpu-stress|memory-leak|disk-io|traffic)-[0-9a-f]{8}"

bp = Blueprint("actions", __name__, url_prefix="/api/actions")


class ActionIdConverter(BaseConverter):
    """Matches action ids only, so `/api/actions/active` and `/stop-all` never look like ids."""

    regex = ACTION_ID_PATTERN


@bp.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["action_id"] = ActionIdConverter


def _now() -> float:
    return lab().engine.now()


def _start(kind: str) -> tuple[Any, int]:
    request = parse_body(ACTION_REQUESTS[kind])
    record = lab().engine.start(kind, request)
    body = record.to_dict(_now())
    return jsonify({"action_id": record.id, "status": "started", "started_at": body["started_at"], "action": body}), 201


@bp.post("/cpu-stress")
def cpu_stress() -> tuple[Any, int]:
    """Start a CPU stress action."""
    return _start("cpu-stress")


@bp.post("/memory-leak")
def memory_leak() -> tuple[Any, int]:
    """Start a memory leak action."""
    return _start("memory-leak")


@bp.post("/disk-io")
def disk_io() -> tuple[Any, int]:
    """Start a disk I/O action."""
    return _start("disk-io")


@bp.post("/traffic")
def traffic() -> tuple[Any, int]:
    """Start a traffic action."""
    return _start("traffic")


@bp.get("/active")
def active() -> Any:
    """Running actions."""
    now = _now()
    return jsonify({"actions": [r.to_dict(now) for r in lab().engine.active()]})


@bp.delete("/stop-all")
def stop_all() -> Any:
    """Stop every running action."""
    return jsonify({"stopped": lab().engine.stop_all(reason="stop-all requested")})


@bp.get("/<action_id:action_id>")
def get_action(action_id: str) -> Any:
    """One running or recently finished action."""
    return jsonify(lab().engine.get(action_id).to_dict(_now()))


@bp.delete("/<action_id:action_id>/stop")
def stop(action_id: str) -> Any:
    """Stop one action (it releases its resources within 1 s)."""
    return jsonify(lab().engine.stop(action_id).to_dict(_now()))


@bp.post("/<action_id:action_id>/renew")
def renew(action_id: str) -> Any:
    """Extend an action's lease."""
    body = parse_body(LeaseRenewRequest)
    return jsonify(lab().engine.renew(action_id, body.lease_seconds).to_dict(_now()))
