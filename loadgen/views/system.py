"""Health, host metrics, the event log, demo endpoints for traffic, and the control page."""

from __future__ import annotations

import threading
import time
from importlib import resources
from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from loadgen.errors import parse_query
from loadgen.events import iso, utc_now
from loadgen.lab import lab

VERSION = "0.1.0"
SLOW_SECONDS = 0.05
FLAKY_EVERY = 10

bp = Blueprint("system", __name__)
_flaky_lock = threading.Lock()
_flaky_count = 0


class EventsQuery(BaseModel):
    """Query string of GET /api/events."""

    model_config = ConfigDict(extra="forbid")
    after: int = Field(0, ge=0, description="Only events with a larger id.")
    limit: int = Field(200, ge=1, le=1000)


@bp.get("/")
def index() -> Response:
    """The control page."""
    html = resources.files("loadgen.static").joinpath("index.html").read_text(encoding="utf-8")
    return Response(html, mimetype="text/html")


@bp.get("/api/health")
def health() -> Any:
    """Liveness and a short summary (no token needed)."""
    the_lab = lab()
    return jsonify(
        {
            "status": "healthy",
            "version": VERSION,
            "timestamp": iso(utc_now()),
            "uptime_seconds": round(time.monotonic() - the_lab.started, 3),
            "active_actions": len(the_lab.engine.active()),
            "grafana_url": the_lab.config.grafana_url,
            "token_required": the_lab.config.token is not None,
        }
    )


@bp.get("/api/metrics/current")
def metrics_current() -> Any:
    """A host snapshot plus loadgen's own totals."""
    return jsonify(lab().sampler.snapshot())


@bp.get("/api/events")
def events() -> Any:
    """The event log, oldest first; poll with `after` set to the last id seen."""
    query = parse_query(EventsQuery)
    log = lab().events
    return jsonify({"events": [e.to_dict() for e in log.since(query.after, query.limit)], "last_id": log.last_id})


@bp.get("/api/demo/ok")
def demo_ok() -> Any:
    """A cheap endpoint for traffic actions."""
    return jsonify({"ok": True})


@bp.get("/api/demo/slow")
def demo_slow() -> Any:
    """An endpoint that takes 50 ms."""
    time.sleep(SLOW_SECONDS)
    return jsonify({"ok": True, "slept_seconds": SLOW_SECONDS})


@bp.get("/api/demo/flaky")
def demo_flaky() -> tuple[Any, int]:
    """Every tenth call answers 503, so error-rate alerts have something to see."""
    global _flaky_count  # noqa: PLW0603 - a process-wide request counter
    with _flaky_lock:
        _flaky_count += 1
        fail = _flaky_count % FLAKY_EVERY == 0
    if fail:
        return jsonify({"error": "service_unavailable", "message": "simulated failure", "details": []}), 503
    return jsonify({"ok": True}), 200
