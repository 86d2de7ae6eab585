"""Errors raised by the Heron stack runner; each message says what is wrong and what to do."""

from __future__ import annotations


class HeronStackError(Exception):
    """Base class for stack runner errors shown to the user without a traceback."""


class ConfigError(HeronStackError, ValueError):
    """A setting has a value that is not allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}={value!r} is not valid: {allowed}")


class ComponentMissing(HeronStackError):
    """A binary the stack needs is not installed and cannot be installed or built here."""

    def __init__(self, component: str, reason: str, fix: str) -> None:
        self.component, self.reason, self.fix = component, reason, fix
        super().__init__(f"{component}: {reason}. {fix}")


class BuildFailed(HeronStackError):
    """Building a component from source failed."""

    def __init__(self, component: str, step: str, log_path: str) -> None:
        self.component, self.step, self.log_path = component, step, log_path
        super().__init__(f"building {component} failed at '{step}'; see the full log in {log_path}")


class PortInUse(HeronStackError):
    """A port the stack needs is taken by another process."""

    def __init__(self, service: str, host: str, port: int, env_var: str) -> None:
        self.service, self.host, self.port = service, host, port
        super().__init__(
            f"{service} cannot listen on {host}:{port}: the port is already in use. "
            f"Stop whatever holds it (e.g. `ss -ltnp 'sport = :{port}'`) or set {env_var} to a free port."
        )


class NotReady(HeronStackError):
    """A service did not become ready before its deadline."""

    def __init__(self, service: str, timeout: float, log_path: str, detail: str) -> None:
        self.service, self.timeout, self.log_path = service, timeout, log_path
        super().__init__(f"{service} was not ready after {timeout:.0f}s ({detail}); see its log: {log_path}")
