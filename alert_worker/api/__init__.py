"""HTTP API of the alert engine: rules, active alerts, history and silences (OpenAPI at /api/openapi.json)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from alert_worker import envvars as ev
from alert_worker.config import AlertsConfig, resolve_config
from alert_worker.exceptions import ConfigError, StateError
from alert_worker.redis_url import redact
from alert_worker.rules.model import RuleGroup
from alert_worker.state.base import StateStore
from heron_stack.jsonbody import MAX_BODY_BYTES
from heron_stack.webguard import Guard, flask_guard

log = logging.getLogger(__name__)


@dataclass
class ApiContext:
    """What the views need: the store, the read-only file rules and a clock."""

    store: StateStore
    file_groups: Callable[[], list[RuleGroup]]
    clock: Callable[[], float] = time.time
    token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _default_context(config: AlertsConfig) -> ApiContext:
    from alert_worker.rules.loader import load_rule_files
    from alert_worker.state.redis_store import RedisStore

    def groups() -> list[RuleGroup]:
        return load_rule_files(config.rule_paths())

    store = RedisStore.from_url(
        config.redis_url, history_retention_s=config.history_retention_s, replica_wait=config.replica_wait()
    )
    return ApiContext(store=store, file_groups=groups)


def create_app(config: AlertsConfig | None = None, context: ApiContext | None = None) -> Flask:
    """The API app; bound off loopback it requires a bearer token (ConfigError without one)."""
    cfg = config or resolve_config()
    ctx = context or _default_context(cfg)
    token = ctx.token or cfg.api_bearer_token()
    if not is_loopback(cfg.api_host) and not token:
        raise ConfigError(
            "HERON_ALERTS_API_TOKEN",
            "",
            f"the API binds to {cfg.api_host}, off loopback; set a bearer token or its file",
        )
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["HERON"] = ctx
    app.config["HERON_TOKEN_REQUIRED"] = bool(token)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it

    guard = Guard("alert API", cfg.api_host, cfg.api_allowed_hosts, ev.HERON_ALERTS_API_ALLOWED_HOSTS)
    flask_guard(app, guard, lambda r: _error(r.status, r.message))

    @app.before_request
    def _auth() -> Any:
        g.actor = request.headers.get("X-Heron-Actor", "api")[:100]
        if not token or request.path == "/api/openapi.json":
            return None
        header = request.headers.get("Authorization", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return jsonify(error="a valid bearer token is required (Authorization: Bearer <token>)"), 401
        return None

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if exc.code == 413:
            message = f"body: request bodies are limited to {MAX_BODY_BYTES} bytes (got {request.content_length})"
            return jsonify(error=message, field="body"), 413
        response = jsonify(error=exc.description or exc.name)
        response.status_code = exc.code or 400
        allow = dict(exc.get_headers()).get("Allow")
        if allow:  # a 405 says which methods the path takes
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(StateError)
    def _state_error(exc: StateError) -> Any:
        return jsonify(error=f"state store unavailable: {exc}"), 503

    @app.errorhandler(redis.RedisError)
    def _redis_error(exc: redis.RedisError) -> Any:
        where = redact(cfg.redis_url)
        log.warning("alert API: cannot reach Redis at %s: %s", where, exc)
        return jsonify(error=f"state store unavailable: cannot reach Redis at {where}: {exc}"), 503

    from alert_worker.api import openapi, views

    app.register_blueprint(views.bp)
    app.register_blueprint(openapi.bp)
    return app


def _error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


__all__ = ["ApiContext", "create_app", "is_loopback"]
