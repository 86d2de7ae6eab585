"""The anomaly alert's message.

For example: "checkout request rate is 4.2 sigma above its usual value for Tuesday 14:00 (usual 120 ± 15 req/s)",
with the Greek letter for sigma.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from alert_worker.rules import humanize as hz

SIGMA = "\N{GREEK SMALL LETTER SIGMA}"


def _plain(value: float) -> str:
    """Three significant figures without SI sub-units, which read oddly after a rate: `100`, `0.999`, `12.3`.

    From 1000 up, and below 0.01, Prometheus' `humanize` (`1.2k`, `4.5m`) is the shorter form.
    """
    magnitude = abs(value)
    if not math.isfinite(value) or magnitude >= 999.5 or (magnitude < 0.01 and value != 0):
        return hz.humanize(value)
    digits = max(0, 2 - math.floor(math.log10(magnitude))) if value else 0
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _amount(value: float, unit: str) -> str:
    if unit == "ratio":
        return hz.humanize_percentage(value)
    if unit == "seconds":
        return hz.humanize_duration(value)
    return _plain(value)


def usual(mean: float, sigma: float, unit: str) -> str:
    """`120 ± 15 req/s`, `1.2% ± 0.4%`, `120ms ± 15ms`."""
    if unit in ("ratio", "seconds"):
        return f"{_amount(mean, unit)} ± {_amount(sigma, unit)}"
    return f"{_amount(mean, unit)} ± {_amount(sigma, unit)}" + (f" {unit}" if unit else "")


def time_of_week(at: float) -> str:
    """The hour of the week the usual value is for, in UTC: `Tuesday 14:00`."""
    return datetime.fromtimestamp(at, tz=UTC).strftime("%A %H:00")


def describe(subject: str, z: float, mean: float, sigma: float, at: float, unit: str) -> str:
    side = "above" if z >= 0 else "below"
    score = "∞" if math.isinf(z) else f"{abs(z):.1f}"
    when = time_of_week(at)
    return f"{subject} is {score}{SIGMA} {side} its usual value for {when} (usual {usual(mean, sigma, unit)})"
