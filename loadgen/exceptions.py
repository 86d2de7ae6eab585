"""Errors raised by loadgen; each message names the rule, the value and the fix."""

from __future__ import annotations


class LoadgenError(Exception):
    """Base class of loadgen errors."""


class ConfigError(LoadgenError):
    """A configuration value is invalid; services exit with code 2."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={value!r} is invalid: {allowed}")


class RequestRejected(LoadgenError):
    """A request is well-formed but refused; maps to an HTTP 4xx answer."""

    status = 400
    code = "rejected"

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        self.field, self.value = field, value
        super().__init__(message)


class LimitExceeded(RequestRejected):
    """A request crosses a hard cap (duration, rate, cores, ...)."""

    status = 422
    code = "limit_exceeded"


class AdmissionRefused(RequestRejected):
    """Running the request now would cross the shared resource budget."""

    status = 409
    code = "admission_refused"


class TargetNotAllowed(RequestRejected):
    """A traffic endpoint is outside the allow-list or points at a forbidden address."""

    status = 422
    code = "target_not_allowed"


class NotFound(RequestRejected):
    """No action or scenario with that id."""

    status = 404
    code = "not_found"


class Conflict(RequestRejected):
    """The object is not in a state that allows the request (e.g. already running)."""

    status = 409
    code = "conflict"
