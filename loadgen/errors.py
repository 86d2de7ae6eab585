"""Request parsing and JSON error answers: field-level 4xx for bad input, never an HTML error page."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from heron_stack.jsonbody import MAX_BODY_BYTES, DuplicateKey, loads_strict, shorten
from loadgen.exceptions import RequestRejected
from loadgen.instrumentation import capture_exception

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


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


def parse_body(model: type[M], *, optional: bool = False) -> M:
    """Validate the JSON body against `model`; an empty body means {} when `optional`."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return model()
        raise BodyInvalid("a JSON object body is required", [{"field": "body", "message": "missing body"}])
    try:
        loads_strict(raw)
    except DuplicateKey as exc:
        detail = {"field": exc.key, "message": f"the key {shorten(exc.key)} appears twice; send each key once"}
        raise BodyInvalid("the body repeats a JSON key", [detail], status=400) from exc
    except ValueError as exc:
        detail = {"field": "body", "message": f"invalid JSON: {exc} (got {shorten(raw)})"}
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
