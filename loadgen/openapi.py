"""`/openapi.json`, generated from the pydantic request and response models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from loadgen import validation as v
from loadgen.config import LoadgenConfig
from loadgen.views.actions import ACTION_ID_PATTERN

REF = "#/components/schemas/{model}"
_ERRORS = {
    "400": "Body is not valid JSON",
    "401": "Token missing or wrong",
    "404": "No such action or scenario",
    "405": "Method not allowed",
    "409": "Refused by admission control or the current state",
    "422": "A field is invalid or crosses a hard cap",
    "403": "A change requested by another site's page (Origin, Sec-Fetch-Site)",
    "415": "A change whose body is not JSON (Content-Type: application/json)",
    "421": "The Host header names none of this server's names (DNS rebinding)",
}
CHANGES = ("post", "put", "patch", "delete")
EMPTY_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object", "description": "nothing to set: send {}"}}},
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _op(
    summary: str,
    ok: type[BaseModel] | None,
    *,
    status: str = "200",
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    errors: tuple[str, ...] = ("401",),
    params: list[dict[str, Any]] | None = None,
    ok_content: dict[str, Any] | None = None,
) -> dict[str, Any]:
    responses: dict[str, Any] = {status: ok_content or _json(ok or v.ErrorBody, summary)}
    for code in (*errors, "405"):
        responses[code] = _json(v.ErrorBody, _ERRORS[code])
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": _ref(body)}},
        }
        responses.setdefault("400", _json(v.ErrorBody, _ERRORS["400"]))
        responses.setdefault("422", _json(v.ErrorBody, _ERRORS["422"]))
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str, pattern: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": pattern}}


def _paths() -> dict[str, Any]:
    aid = [_path_param("id", f"^{ACTION_ID_PATTERN}$")]
    sid = [_path_param("id", "^[a-z0-9][a-z0-9-]{0,62}$")]
    action_errors = ("401", "409", "422")
    paths: dict[str, Any] = {
        "/api/health": {"get": _op("Liveness", v.Health, errors=())},
        "/api/metrics/current": {"get": _op("Host snapshot", v.HostMetrics)},
        "/api/events": {
            "get": _op(
                "Event log",
                v.EventList,
                errors=("401", "422"),
                params=[
                    {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                ],
            )
        },
        "/api/actions/active": {"get": _op("Running actions", v.ActionList)},
        "/api/actions/stop-all": {"delete": _op("Stop every action", v.StopAllResult)},
        "/api/actions/{id}": {"get": _op("One action", v.ActionStatus, errors=("401", "404"), params=aid)},
        "/api/actions/{id}/stop": {"delete": _op("Stop an action", v.ActionStatus, errors=("401", "404"), params=aid)},
        "/api/actions/{id}/renew": {
            "post": _op("Renew a lease", v.ActionStatus, body=v.LeaseRenewRequest, errors=("401", "404"), params=aid)
        },
        "/api/scenarios": {"get": _op("Scenario catalog", v.ScenarioList)},
        "/api/scenarios/running": {"get": _op("Running scenarios", v.ScenarioRunList)},
        "/api/scenarios/{id}": {"get": _op("Scenario timeline", v.ScenarioDetail, errors=("401", "404"), params=sid)},
        "/api/scenarios/{id}/start": {
            "post": _op(
                "Start a scenario",
                v.ScenarioRun,
                status="201",
                body=v.ScenarioStartRequest,
                body_required=False,
                errors=("401", "404", "409"),
                params=sid,
            )
        },
        "/api/scenarios/{id}/stop": {
            "delete": _op("Stop a scenario", v.ScenarioRun, errors=("401", "404"), params=sid)
        },
        "/api/scenarios/{id}/pause": {
            "post": _op("Pause a scenario", v.ScenarioRun, errors=("401", "404", "409"), params=sid)
        },
        "/api/scenarios/{id}/resume": {
            "post": _op("Resume a scenario", v.ScenarioRun, errors=("401", "404", "409"), params=sid)
        },
        "/api/demo/ok": {"get": _op("Demo endpoint", None, ok_content={"description": "OK"})},
        "/api/demo/slow": {"get": _op("Demo endpoint taking 50 ms", None, ok_content={"description": "OK"})},
    }
    for kind, model in v.ACTION_REQUESTS.items():
        paths[f"/api/actions/{kind}"] = {
            "post": _op(f"Start a {kind} action", v.ActionStarted, status="201", body=model, errors=action_errors)
        }
    return paths


RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    v.ErrorBody,
    v.ActionStarted,
    v.ActionList,
    v.ActionStatus,
    v.StopAllResult,
    v.EventList,
    v.Health,
    v.HostMetrics,
    v.ScenarioList,
    v.ScenarioDetail,
    v.ScenarioRun,
    v.ScenarioRunList,
)
REQUEST_MODELS: tuple[type[BaseModel], ...] = (*v.ACTION_REQUESTS.values(), v.LeaseRenewRequest, v.ScenarioStartRequest)


def _apply_limits(schemas: dict[str, Any], config: LoadgenConfig, cpu_count: int) -> None:
    """Narrow request schemas to this server's hard caps, so the spec tells clients what will be accepted."""
    caps = {
        ("CpuStressRequest", "cores"): cpu_count,
        ("DiskIoRequest", "file_size_kb"): config.max_disk_mb * 1024,
        ("TrafficRequest", "requests_per_sec"): config.max_rate,
        ("TrafficRequest", "concurrency"): config.max_traffic_concurrency,
    }
    for name in ("CpuStressRequest", "MemoryLeakRequest", "TrafficRequest"):
        caps[(name, "duration_seconds")] = config.max_duration_seconds
    for (model, field), cap in caps.items():
        prop = schemas[model]["properties"][field]
        prop["maximum"] = min(prop.get("maximum", cap), cap)
    origins = "|".join(re.escape(o + "/") for o in config.traffic_allow)
    items = schemas["TrafficRequest"]["properties"]["endpoints"]["items"]
    # What loadgen.targets refuses before parsing: control characters, spaces, backslashes.
    safe = r"[^\u0000-\u0020\u007f\\]*$"
    items["pattern"] = f"^(/(?!/)|{origins}){safe}" if origins else f"^/(?!/){safe}"


def _guarded(paths: dict[str, Any], token: bool) -> dict[str, Any]:
    """What every request meets before its view (heron_stack.webguard), and the token only where one is set."""
    for ops in paths.values():
        for method, op in ops.items():
            responses = op["responses"]
            responses["421"] = _json(v.ErrorBody, _ERRORS["421"])
            if not token:
                responses.pop("401", None)
            if method in CHANGES:
                responses["403"] = _json(v.ErrorBody, _ERRORS["403"])
                responses["415"] = _json(v.ErrorBody, _ERRORS["415"])
                if method != "delete":
                    op.setdefault("requestBody", EMPTY_BODY)
                    op["requestBody"]["required"] = True
    return paths


def build_spec(version: str, config: LoadgenConfig | None = None, cpu_count: int | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document; with `config`, request limits are this server's caps and auth its binding's."""
    pairs: list[tuple[type[BaseModel], Any]] = [(m, "validation") for m in REQUEST_MODELS]
    pairs += [(m, "serialization") for m in RESPONSE_MODELS]
    _, schema = models_json_schema(pairs, ref_template=REF)
    if config is not None:
        _apply_limits(schema["$defs"], config, cpu_count or 1)
    token = config is None or bool(config.token)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Heron loadgen", "version": version},
        "components": {
            "schemas": schema.get("$defs", {}),
            **({"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}} if token else {}),
        },
        **({"security": [{"bearer": []}]} if token else {}),
        "paths": _guarded(_paths(), token),
    }
