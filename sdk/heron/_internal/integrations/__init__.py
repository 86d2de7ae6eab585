"""Integrations with the libraries an app uses; each installs only when its library is importable."""

from __future__ import annotations

import importlib.util
from typing import Protocol

from heron._internal.config import HeronConfig
from heron._internal.guard import internal_errors


class Integration(Protocol):
    name: str
    library: str

    def install(self, config: HeronConfig) -> None: ...

    def uninstall(self) -> None: ...


def available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def all_integrations() -> list[Integration]:
    from heron._internal.integrations.celery import CeleryIntegration
    from heron._internal.integrations.flask import FlaskIntegration
    from heron._internal.integrations.logs import LoggingIntegration
    from heron._internal.integrations.requests import RequestsIntegration

    # Logging first, so the others' startup messages are already exported.
    return [LoggingIntegration(), FlaskIntegration(), RequestsIntegration(), CeleryIntegration()]


def install_enabled(config: HeronConfig) -> list[Integration]:
    """Install every enabled integration whose library is present; return the installed ones."""
    installed: list[Integration] = []
    for integration in all_integrations():
        if integration.name not in config.integrations or not available(integration.library):
            continue
        with internal_errors(f"{integration.name} integration"):
            integration.install(config)
            installed.append(integration)
    return installed


def uninstall_all(installed: list[Integration]) -> None:
    for integration in reversed(installed):
        with internal_errors(f"{integration.name} integration"):
            integration.uninstall()
