"""OpenAPI 3.1 description of the alert API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

bp = Blueprint("alerts_openapi", __name__)

_ERR = {
    "description": "error naming the field",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _op(
    summary: str, ok: str = "200", body: str | None = None, params: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok: {"description": "success"}, "400": _ERR, "401": _ERR}}
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    if params:
        op["parameters"] = params
    return op


def _q(name: str, kind: str = "string", description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": description}


_PATH_NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
_PATH_ID = [{"name": "silence_id", "in": "path", "required": True, "schema": {"type": "string"}}]

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Heron alert API", "version": "1.0.0"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}, "field": {"type": "string"}}},
            "Rule": {
                "type": "object",
                "required": ["alert"],
                "properties": {
                    "alert": {"type": "string"},
                    "expr": {"type": "string", "description": "PromQL"},
                    "condition": {"type": "string", "description": 'shorthand, e.g. "IF CPU > 90% FOR 5 minutes"'},
                    "for": {"type": "string", "example": "5m"},
                    "keep_firing_for": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "Silence": {
                "type": "object",
                "required": ["matchers", "comment"],
                "properties": {
                    "matchers": {"type": "array", "items": {"type": "string"}, "example": ['host_name="web-1"']},
                    "starts_at": {"type": "number", "description": "UNIX seconds (default now)"},
                    "ends_at": {"type": "number", "description": "UNIX seconds"},
                    "duration": {"type": "string", "example": "2h"},
                    "created_by": {"type": "string"},
                    "comment": {"type": "string"},
                },
            },
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/health": {"get": _op("Liveness for process supervisors")},
        "/api/alerts/rules": {
            "get": _op("File rules (read-only) and API rules"),
            "post": _op("Create an API rule", "201", "Rule"),
        },
        "/api/alerts/rules/{name}": {
            "get": _op("One rule", params=_PATH_NAME),
            "put": _op("Replace an API rule", body="Rule", params=_PATH_NAME),
            "delete": _op("Delete an API rule", "204", params=_PATH_NAME),
        },
        "/api/alerts/active": {"get": _op("Pending and firing alerts")},
        "/api/alerts/history": {
            "get": _op(
                "Transitions, notifications and changes, newest first",
                params=[
                    _q("rule"),
                    _q("host", description="host_name label"),
                    _q("kind", description="transition | notification | change"),
                    _q("start", "number", "UNIX seconds"),
                    _q("end", "number", "UNIX seconds"),
                    _q("limit", "integer", "1..1000, default 100"),
                    _q("offset", "integer"),
                ],
            )
        },
        "/api/silences": {"get": _op("All silences"), "post": _op("Create a silence", "201", "Silence")},
        "/api/silences/{silence_id}": {
            "get": _op("One silence", params=_PATH_ID),
            "put": _op("Change a silence", body="Silence", params=_PATH_ID),
            "delete": _op("Expire a silence now", "204", params=_PATH_ID),
        },
    },
}


@bp.get("/api/openapi.json")
def openapi() -> Any:
    return jsonify(SPEC)
