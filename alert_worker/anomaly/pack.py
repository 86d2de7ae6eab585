"""Heron's default anomaly pack, as shipped in prometheus/anomaly/ (dashboards draw its scores)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alert_worker.anomaly.spec import AnomalySpec, parse_specs

DEFAULT_PACK = Path(__file__).resolve().parents[2] / "prometheus" / "anomaly" / "heron-anomaly.yml"


@cache
def default_specs() -> dict[str, AnomalySpec]:
    """The default pack's specs by name (`app_request_rate`, `host_cpu`, ...)."""
    return {s.name: s for s in parse_specs(DEFAULT_PACK.read_text(encoding="utf-8"), str(DEFAULT_PACK)).specs}
