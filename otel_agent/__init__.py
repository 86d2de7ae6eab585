"""Heron host agent: full semantic-convention host metrics over OTLP, buffered so nothing is lost."""

from otel_agent.agent import Agent
from otel_agent.buffer import CycleBuffer
from otel_agent.collectors import Filters, Pipeline
from otel_agent.config import AgentConfig, resolve_config
from otel_agent.exceptions import AgentError, ConfigError, SourceError
from otel_agent.models import Cycle, Point, Readings

__all__ = [
    "Agent",
    "AgentConfig",
    "AgentError",
    "ConfigError",
    "Cycle",
    "CycleBuffer",
    "Filters",
    "Pipeline",
    "Point",
    "Readings",
    "SourceError",
    "resolve_config",
]
