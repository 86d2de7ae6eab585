"""Request parsing and JSON error answers: field-level 4xx for bad input, never an HTML error page."""

from __future__ import annotations

import json
import logging
import reprlib
from typing import Any, TypeVar

from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from loadgen.exceptions import RequestRejected
from loadgen.instrumentation import capture_exception

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 1024 * 1024  # request bodies here are tiny; anything larger is refused with 413
_SHORT = reprlib.Repr()  # keyword arguments need Python 3.12
_SHORT.maxstring = _SHORT.maxother = 120


def shorten(value: object) -> str:
    """`repr(value)` cut to about 120 characters, so an error never echoes a huge input back."""
    return _SHORT.repr(value)


class BodyInvalid(RequestRejected):
    """The body or query string does not match its schema."""

    status = 422
    code = "validation_failed"

    def __init__(self, message: str, details: list[dict[str, str]], status: int = 422) -> None:
        super().__init__(message)
        self.details = details
        self.status = status
        if status == 400:
            self.code = "invalid_json"


def _details(exc: ValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "body"
        shown = err.get("input")
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field; remove it"
        elif not isinstance(shown, dict | list):
            message = f"{message} (got {shorten(shown)})"
        out.append({"field": field, "message": message})
    return out


class DuplicateKey(ValueError):
    """A JSON object names the same key twice (JSON would silently keep the last)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def parse_body(model: type[M], *, optional: bool = False) -> M:
    """Validate the JSON body against `model`; an empty body means {} when `optional`."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return model()
        raise BodyInvalid("a JSON object body is required", [{"field": "body", "message": "missing body"}])
    try:
        json.loads(raw, object_pairs_hook=_unique_keys)
    except DuplicateKey as exc:
        detail = {"field": exc.key, "message": f"the key {shorten(exc.key)} appears twice; send each key once"}
        raise BodyInvalid("the body repeats a JSON key", [detail], status=400) from exc
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 JSON text"
        detail = {"field": "body", "message": f"invalid JSON: {reason} (got {shorten(raw)})"}
        raise BodyInvalid("the body is not valid JSON", [detail], status=400) from exc
    try:
        # Validate the raw text, not `data`: JSON-mode validation is what the schema promises.
        return model.model_validate_json(raw)
    except ValidationError as exc:
        details = _details(exc)
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise BodyInvalid("the body is not valid JSON", details, status=400) from exc
        raise BodyInvalid(
            f"{len(details)} invalid field(s): " + "; ".join(d["field"] for d in details), details
        ) from exc


def parse_query(model: type[M]) -> M:
    """Validate the query string against `model` (values arrive as strings and are converted)."""
    try:
        return model.model_validate(request.args.to_dict(), strict=False)
    except ValidationError as exc:
        details = _details(exc)
        raise BodyInvalid("invalid query parameter(s): " + "; ".join(d["field"] for d in details), details) from exc


def error_response(status: int, code: str, message: str, details: list[dict[str, str]] | None = None) -> Response:
    """The `ErrorBody` JSON answer."""
    response = jsonify({"error": code, "message": message, "details": details or []})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """JSON answers for our rejections, every HTTP error and anything unexpected."""

    @app.errorhandler(RequestRejected)
    def _rejected(exc: RequestRejected) -> Response:
        details = getattr(exc, "details", None)
        if details is None and exc.field:
            details = [{"field": exc.field, "message": str(exc)}]
        return error_response(exc.status, exc.code, str(exc), details)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        code = (exc.name or "error").lower().replace(" ", "_")
        if exc.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or MAX_BODY_BYTES
            allowed = f"request bodies are limited to {limit} bytes; send a JSON object of at most that size"
            got = f" (got {request.content_length} bytes)" if request.content_length is not None else ""
            return error_response(413, "body_too_large", allowed, [{"field": "body", "message": allowed + got}])
        response = error_response(exc.code or 500, code, exc.description or code)
        if exc.code == 405 and exc.response is None:
            valid = getattr(exc, "valid_methods", None)
            if valid:
                response.headers["Allow"] = ", ".join(valid)
        for header in ("WWW-Authenticate",):
            if exc.response is not None and header in exc.response.headers:
                response.headers[header] = exc.response.headers[header]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # The catch-all answers before Flask's own error path, so hand the error to Heron here.
        capture_exception(exc)
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "an unexpected error occurred; see the loadgen log")
