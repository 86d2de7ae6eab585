"""Data sources the evaluator queries (Prometheus' HTTP API)."""

from alert_worker.sources.prometheus import PrometheusSource, selector_for

__all__ = ["PrometheusSource", "selector_for"]
