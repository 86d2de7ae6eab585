"""Anomaly rules: a z-score against a baseline that Prometheus records (trailing window + weekly season).

An anomaly spec compiles to recording rules (the baseline, evaluated by any Prometheus or Thanos
ruler) and one ordinary alert rule on the z-score that Heron's engine evaluates.
"""

from alert_worker.anomaly.compile import compile_files, compile_spec
from alert_worker.anomaly.spec import AnomalySpec, parse_specs

__all__ = ["AnomalySpec", "compile_files", "compile_spec", "parse_specs"]
