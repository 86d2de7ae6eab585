"""Errors raised by the alert engine; each message names the field, the value and the fix."""

from __future__ import annotations


class AlertWorkerError(Exception):
    """Base class for alert_worker errors."""


class ConfigError(AlertWorkerError, ValueError):
    """A setting (env var, file, argument) has a bad value."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}: invalid value {value!r}; {allowed}")


class RuleFileError(AlertWorkerError, ValueError):
    """A rule or routing file is invalid; `problems` holds one `file:line: message` per error."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class ShorthandError(AlertWorkerError, ValueError):
    """A shorthand condition such as `IF CPU > 90% FOR 5 minutes` could not be compiled."""


class TemplateError(AlertWorkerError, ValueError):
    """An annotation or label template is invalid."""


class SourceError(AlertWorkerError):
    """Prometheus could not answer a query."""

    def __init__(self, message: str, *, transient: bool) -> None:
        self.transient = transient
        super().__init__(message)


class StateError(AlertWorkerError):
    """The state store could not be read or written."""


class StaleEvaluationError(StateError):
    """Another evaluation already saved this group's slot (or a later one); this one must not count."""
