"""The Flask app factory."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request

from heron_stack.jsonbody import MAX_BODY_BYTES
from heron_stack.webguard import Guard, flask_guard
from loadgen import env as envvars
from loadgen.actions.base import ActionEnv
from loadgen.actions.disk import sweep_stale
from loadgen.actions.registry import ActionFactory
from loadgen.config import LoadgenConfig, resolve_config
from loadgen.engine import Engine
from loadgen.errors import error_response, register_error_handlers
from loadgen.events import EventLog
from loadgen.hostmetrics import HostSampler
from loadgen.lab import EXTENSION, Lab
from loadgen.openapi import build_spec
from loadgen.scenarios.alerts import AlertSource, HttpAlertSource
from loadgen.scenarios.loader import builtin_scenarios
from loadgen.scenarios.model import Scenario
from loadgen.scenarios.runner import ScenarioRunner
from loadgen.telemetry import Telemetry
from loadgen.views import actions, scenarios, system

log = logging.getLogger(__name__)
OPEN_PATHS = frozenset({"/", "/api/health", "/openapi.json"})


def create_app(
    config: LoadgenConfig | Mapping[str, Any] | None = None,
    *,
    factories: Mapping[str, ActionFactory] | None = None,
    telemetry: Telemetry | None = None,
    alert_source: AlertSource | None = None,
    catalog: Mapping[str, Scenario] | None = None,
    memory_available: Any = None,
) -> Flask:
    """Build the load lab app. `config` is a `LoadgenConfig` or overrides for `resolve_config`."""
    cfg = config if isinstance(config, LoadgenConfig) else resolve_config(config)
    events = EventLog()
    telemetry = telemetry or Telemetry.from_config(cfg)
    events.subscribe(telemetry.on_event)
    auth = f"Bearer {cfg.token}" if cfg.token else None
    env = ActionEnv(cfg, telemetry, auth_header=auth, trace_export=telemetry.trace_export)
    engine_kwargs: dict[str, Any] = {} if memory_available is None else {"memory_available": memory_available}
    engine = Engine(env, events, factories, **engine_kwargs)
    telemetry.observe(engine.gauges)
    if alert_source is None and cfg.alerts_url:
        alert_source = HttpAlertSource(cfg.alerts_url, cfg.alerts_token)
    runner = ScenarioRunner(engine, events, catalog if catalog is not None else builtin_scenarios(), alert_source)
    sampler = HostSampler(extra=lambda: _own_totals(engine))
    the_lab = Lab(cfg, events, telemetry, engine, runner, sampler)

    for stale in sweep_stale(cfg.disk_dir):
        events.emit("disk_cleanup", f"removed stale disk I/O directory {stale.name}", "warning")
    engine.start_ticker()
    sampler.start()

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it; the base class does not
    app.extensions[EXTENSION] = the_lab
    register_error_handlers(app)
    app.register_blueprint(system.bp)
    app.register_blueprint(actions.bp)
    app.register_blueprint(scenarios.bp)
    spec = build_spec(system.VERSION, cfg, engine.cpu_count)
    app.add_url_rule("/openapi.json", "openapi", lambda: spec)
    guard = Guard("load lab", cfg.host, cfg.allowed_hosts, envvars.HERON_LOADGEN_ALLOWED_HOSTS)
    flask_guard(app, guard, lambda r: error_response(r.status, r.code, r.message))
    if cfg.token:
        app.before_request(_require_token(cfg.token))
    events.emit("loadgen_started", f"loadgen ready on {cfg.host}:{cfg.port}", "info")
    return app


def _require_token(token: str) -> Any:
    expected = f"Bearer {token}".encode()

    def check() -> Response | None:
        if request.path in OPEN_PATHS or not request.path.startswith("/api/"):
            return None
        given = request.headers.get("Authorization", "").encode()
        if hmac.compare_digest(given, expected):
            return None
        response = error_response(401, "unauthorized", "send the loadgen token as 'Authorization: Bearer <token>'")
        response.headers["WWW-Authenticate"] = 'Bearer realm="heron-loadgen"'
        return response

    return check


def _own_totals(engine: Engine) -> dict[str, float]:
    active = engine.active()
    gauges = engine.gauges()
    return {
        "active_actions": float(len(active)),
        "cpu_target_percent": sum(g.cpu_target for g in gauges),
        "cpu_achieved_percent": sum(g.cpu_achieved for g in gauges),
        "allocated_bytes": sum(g.allocated_bytes for g in gauges),
    }
