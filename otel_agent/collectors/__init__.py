"""Pure translation of host readings into OpenTelemetry data points."""

from otel_agent.collectors.catalog import CATALOG
from otel_agent.collectors.filters import Filters
from otel_agent.collectors.naming import HOSTMETRICS, NAMINGS, SEMCONV, info_for
from otel_agent.collectors.pipeline import Pipeline

__all__ = ["CATALOG", "HOSTMETRICS", "NAMINGS", "SEMCONV", "Filters", "Pipeline", "info_for"]
