"""SLOs: each SLO's error budget over time, its burn rates and when the budget was spent.

Reads the series `alert-worker slo generate` records (see alert_worker/slo/generate.py), so every SLO
of every spec shows up without editing the dashboard.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from heron_stack.dashboards._panels import Q, base, grid, thresholds, ts

LEGEND = "{{service_name}} / {{slo}}"
BURN = "slo:burn_rate:ratio_rate"
BUDGET_STEPS = thresholds((None, "red"), (0, "orange"), (0.25, "yellow"), (0.5, "green"))
BURN_STEPS = thresholds((None, "green"), (1, "yellow"), (6, "orange"), (14.4, "red"))


def build() -> dashboard.Dashboard:
    burn_windows = ("5m", "1h", "6h", "1d", "3d")
    return (
        base(
            "SLOs",
            "heron-slo",
            "Service level objectives compiled by `alert-worker slo generate`: error budget left, burn rates "
            "(page above 14.4x over 1h and 6x over 6h, ticket above 3x over 1d and 1x over 3d) and the hours "
            "that spent the budget.",
            ["slo", "alerts"],
        )
        .time("now-7d", "now")
        .with_panel(
            grid(
                "Objectives",
                "Each SLO now: objective, share of its error budget left, and when the budget runs out at the "
                "burn rate of the last hour and of the last day (+Inf: nothing burns), so a slow burn shows too.",
                "short",
                [
                    Q("slo:objective:ratio", "objective"),
                    Q("slo:error_budget_remaining:ratio", "budget left"),
                    Q('slo:time_to_exhaustion:seconds{burn_window="1h"}', "time to exhaustion (1h burn)"),
                    Q('slo:time_to_exhaustion:seconds{burn_window="1d"}', "time to exhaustion (1d burn)"),
                ],
                height=6,
            )
        )
        .with_panel(
            ts(
                "Error budget left",
                "Share of the error budget of the SLO window (28 or 30 days) still unspent; below 0 it is overspent.",
                "percentunit",
                [Q("slo:error_budget_remaining:ratio", LEGEND)],
                min_val=None,
                steps=BUDGET_STEPS,
            )
        )
        .with_panel(
            ts(
                "Budget spent per hour",
                "Share of the whole error budget the bad events of each hour spent: the incidents that consumed it.",
                "percentunit",
                [Q(f"{BURN}1h * 3600 / on (service_name, slo) slo:window:seconds", LEGEND)],
            )
        )
        .with_panel(
            ts(
                "Burn rate",
                "How many times faster than sustainable the budget burns, per window. 1x spends it exactly by "
                "the end of the SLO window.",
                "suffix:x",
                [Q(f"{BURN}{w}", f"{LEGEND} {w}") for w in burn_windows],
                steps=BURN_STEPS,
                width=24,
            )
        )
    )
