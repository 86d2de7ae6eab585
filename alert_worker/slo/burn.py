"""Error-budget and burn-rate math of multi-window, multi-burn-rate SLO alerts (pure).

Terms, as in the SRE workbook: with objective `o` (0.999) the error budget is the share `1 - o` of
requests that may fail over the SLO window. The burn rate over a window is its error ratio divided by
that budget: 1x spends the budget exactly by the end of the SLO window, 14.4x spends 2 % of a 30-day
budget in one hour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Severity = Literal["page", "ticket"]

BURN_WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
"""The windows whose error ratio and burn rate are recorded (every one an alert below uses)."""


@dataclass(frozen=True)
class BurnAlert:
    """Alert when the burn rate exceeds `factor` over both the long and the short window."""

    severity: Severity
    factor: float
    long: str
    short: str


POLICY: tuple[BurnAlert, ...] = (
    BurnAlert("page", 14.4, "1h", "5m"),
    BurnAlert("page", 6.0, "6h", "30m"),
    BurnAlert("ticket", 3.0, "1d", "2h"),
    BurnAlert("ticket", 1.0, "3d", "6h"),
)
"""The SRE workbook's defaults: page at 14.4x (1h, 5m) and 6x (6h, 30m); ticket at 3x (1d, 2h) and 1x (3d, 6h)."""

EXHAUSTION_WINDOWS: tuple[str, ...] = tuple(dict.fromkeys(a.long for a in POLICY))
"""Time to exhaustion is projected at the burn rate of each alert's long window (1h, 6h, 1d, 3d): a
notification quotes the one of the policy line that fired, so a slow burn paged over 6 hours is not
projected at a quiet last hour."""


def error_budget(objective: float) -> float:
    """The share of events allowed to fail: 0.999 -> 0.001 (rounded off float noise)."""
    return round(1.0 - objective, 12)


def burn_rate(error_ratio: float, objective: float) -> float:
    """How many times faster than sustainable the budget burns at this error ratio."""
    return error_ratio / error_budget(objective)


def budget_remaining(period_error_ratio: float, objective: float) -> float:
    """Share of the window's error budget left (negative once overspent): 1 - period burn rate."""
    return 1.0 - burn_rate(period_error_ratio, objective)


def time_to_exhaustion(remaining: float, burn: float, window_s: float) -> float:
    """Seconds until the budget is spent at burn rate `burn`: 0 when spent, +inf when nothing burns."""
    if math.isnan(remaining) or math.isnan(burn):
        return math.nan
    if remaining <= 0:
        return 0.0
    if burn <= 0:
        return math.inf
    return remaining * window_s / burn


def budget_spent_by(alert: BurnAlert, window_s: float, window_seconds: Mapping[str, float]) -> float:
    """Share of the budget spent by the time `alert` fires on its long window: 14.4 x 1h / 30d = 2 %."""
    return alert.factor * window_seconds[alert.long] / window_s


def firing(burns: Mapping[str, float]) -> list[BurnAlert]:
    """The policy lines whose long and short windows both burn above their factor (NaN never fires)."""
    return [a for a in POLICY if burns.get(a.long, math.nan) > a.factor and burns.get(a.short, math.nan) > a.factor]
