"""OpenAPI 3.1 description of the alert API, served at /api/openapi.json.

It says what the server does: the bearer token is declared only when this server requires one, every
request may meet the Host/Origin/JSON guard (421, 403, 415), and the schemas carry the server's own
constraints (names, required fields, ranges).
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, current_app, jsonify

from alert_worker.rules.yamlpos import LABEL_NAME

bp = Blueprint("alerts_openapi", __name__)

_ERR = {
    "description": "error naming the field",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_GUARD_CHANGES = ("403", "415")
CHANGES = ("post", "put", "delete")
NAME = {"type": "string", "pattern": LABEL_NAME.pattern}


def _op(
    summary: str,
    ok: str = "200",
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[str, ...] = (),
) -> dict[str, Any]:
    responses: dict[str, Any] = {ok: {"description": "success"}}
    for code in (*errors, "421", "503"):
        responses[code] = _ERR
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
        responses["400"] = _ERR
    if params:
        op["parameters"] = params
    return op


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_PATH_NAME = [{"name": "name", "in": "path", "required": True, "schema": NAME}]
_PATH_ID = [{"name": "silence_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}]
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}, "propertyNames": NAME}
_RULE_FIELDS = {
    "alert": NAME,
    "for": {"type": "string", "examples": ["5m"]},
    "keep_firing_for": {"type": "string"},
    "labels": _LABELS,
    "annotations": _LABELS,
}

_SILENCE_FIELDS: dict[str, Any] = {
    "matchers": {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "minLength": 1},
        "examples": [['host_name="web-1"']],
    },
    "starts_at": {"type": "number", "minimum": 0, "description": "UNIX seconds (default now)"},
    "ends_at": {"type": "number", "minimum": 0, "description": "UNIX seconds"},
    "duration": {"type": "string", "examples": ["2h"]},
    "created_by": {"type": "string"},
    "comment": {"type": "string", "minLength": 1},
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
    },
    "Rule": {
        "type": "object",
        "additionalProperties": False,
        "required": ["alert"],
        "properties": {
            **_RULE_FIELDS,
            "expr": {"type": "string", "minLength": 1, "description": "PromQL, parsed before it is accepted"},
            "condition": {"type": "string", "minLength": 1, "description": 'e.g. "IF CPU > 90% FOR 5 minutes"'},
        },
        "oneOf": [{"required": ["expr"]}, {"required": ["condition"]}],
    },
    "Silence": {
        "type": "object",
        "additionalProperties": False,
        "required": ["matchers", "comment"],
        "properties": _SILENCE_FIELDS,
        "oneOf": [{"required": ["duration"]}, {"required": ["ends_at"]}],
    },
    "SilenceChange": {
        "description": "The fields to change; the others keep their values",
        "type": "object",
        "additionalProperties": False,
        "properties": _SILENCE_FIELDS,
        "not": {"required": ["duration", "ends_at"]},
    },
}

# Links tell clients (and schemathesis' stateful runs) how the answer of one call feeds the next.
_SILENCE_ID = {"parameters": {"silence_id": "$response.body#/id"}}
_SILENCE_CREATED = _op("Create a silence", "201", "Silence")
_SILENCE_CREATED["responses"]["201"]["links"] = {
    "GetSilence": {"operationId": "getSilence", **_SILENCE_ID},
    "ChangeSilence": {"operationId": "changeSilence", **_SILENCE_ID},
    "ExpireSilence": {"operationId": "expireSilence", **_SILENCE_ID},
}
_RULE_NAME = {"parameters": {"name": "$response.body#/alert"}}
_RULE_CREATED = _op("Create an API rule", "201", "Rule", errors=("409",))
_RULE_CREATED["responses"]["201"]["links"] = {
    "GetRule": {"operationId": "getRule", **_RULE_NAME},
    "ReplaceRule": {"operationId": "replaceRule", **_RULE_NAME},
    "DeleteRule": {"operationId": "deleteRule", **_RULE_NAME},
}

_PATHS: dict[str, Any] = {
    "/api/health": {"get": _op("Liveness for process supervisors")},
    "/api/alerts/rules": {
        "get": _op("File rules (read-only) and API rules"),
        "post": _RULE_CREATED,
    },
    "/api/alerts/rules/{name}": {
        "get": {**_op("One rule", params=_PATH_NAME, errors=("404",)), "operationId": "getRule"},
        "put": {
            **_op("Replace an API rule", body="Rule", params=_PATH_NAME, errors=("404", "409")),
            "operationId": "replaceRule",
        },
        "delete": {
            **_op("Delete an API rule", "204", params=_PATH_NAME, errors=("404", "409")),
            "operationId": "deleteRule",
        },
    },
    "/api/alerts/active": {"get": _op("Pending and firing alerts")},
    "/api/alerts/history": {
        "get": _op(
            "Transitions, notifications and changes, newest first",
            params=[
                _q("rule", {"type": "string"}),
                _q("host", {"type": "string"}, "host_name label"),
                _q("kind", {"type": "string", "enum": ["transition", "notification", "change"]}),
                _q("start", {"type": "number", "minimum": 0, "maximum": 1e11}, "UNIX seconds"),
                _q("end", {"type": "number", "minimum": 0, "maximum": 1e11}, "UNIX seconds"),
                _q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                _q("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
            ],
            errors=("400",),
        )
    },
    "/api/silences": {"get": _op("All silences"), "post": _SILENCE_CREATED},
    "/api/silences/{silence_id}": {
        "get": {**_op("One silence", params=_PATH_ID, errors=("404",)), "operationId": "getSilence"},
        "put": {
            **_op("Change a silence", body="SilenceChange", params=_PATH_ID, errors=("404",)),
            "operationId": "changeSilence",
        },
        "delete": {
            **_op("Expire a silence now", "204", params=_PATH_ID, errors=("404",)),
            "operationId": "expireSilence",
        },
    },
}


def build_spec(token_required: bool) -> dict[str, Any]:
    """The document for a server that does, or does not, require a bearer token."""
    paths = copy.deepcopy(_PATHS)
    for ops in paths.values():
        for method, op in ops.items():
            if method in CHANGES:
                op["responses"].update(dict.fromkeys(_GUARD_CHANGES, _ERR))
            if token_required:
                op["responses"]["401"] = _ERR
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Heron alert API", "version": "1.0.0"},
        "components": {"schemas": _SCHEMAS},
        "paths": paths,
    }
    if token_required:
        spec["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        spec["security"] = [{"bearer": []}]
    return spec


@bp.get("/api/openapi.json")
def openapi() -> Any:
    return jsonify(build_spec(bool(current_app.config["HERON_TOKEN_REQUIRED"])))
