"""SLOs: specs compiled to recording rules and multi-window, multi-burn-rate alerts; budget math."""

from alert_worker.slo.burn import POLICY, BurnAlert, budget_remaining, burn_rate, error_budget, time_to_exhaustion
from alert_worker.slo.generate import Generated, generate
from alert_worker.slo.spec import SLO, SpecFile, load_specs, parse_spec

__all__ = [
    "POLICY",
    "SLO",
    "BurnAlert",
    "Generated",
    "SpecFile",
    "budget_remaining",
    "burn_rate",
    "error_budget",
    "generate",
    "load_specs",
    "parse_spec",
    "time_to_exhaustion",
]
