"""Errors raised by the Heron host agent."""

from __future__ import annotations


class AgentError(Exception):
    """Base class of every error the agent raises on purpose."""


class ConfigError(AgentError, ValueError):
    """A configuration value breaks a rule; the message names the field, the value and what is allowed."""

    def __init__(self, message: str, *, field: str = "", value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class SourceError(AgentError, OSError):
    """A reading could not be taken from the host (missing file, unreadable root)."""
