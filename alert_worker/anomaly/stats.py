"""The baseline arithmetic the recording rules perform, in plain Python (the reference the PromQL is tested against).

Prometheus' `stddev_over_time` is the population standard deviation; so is `pstdev` here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean, pstdev


@dataclass(frozen=True)
class Baseline:
    """The usual value and spread at one instant, and whether they came from past weeks."""

    mean: float
    sigma: float
    seasonal: bool


def trailing(window: Sequence[float]) -> Baseline:
    """Mean and spread of the samples in the trailing window."""
    return Baseline(fmean(window), pstdev(window), seasonal=False)


def seasonal(weeks: Sequence[Sequence[float]]) -> Baseline | None:
    """Mean over past weeks' windows; spread = sqrt(mean within-week variance + variance of the weekly means).

    `weeks` holds, for each past week with enough samples, the samples of the window centred on the
    same time of that week. None when no past week qualifies.
    """
    if not weeks:
        return None
    means = [fmean(w) for w in weeks]
    within = fmean([pstdev(w) ** 2 for w in weeks])
    return Baseline(fmean(means), math.sqrt(within + pstdev(means) ** 2), seasonal=True)


def zscore(value: float, baseline: Baseline, min_abs: float, z: float) -> float:
    """Signed distance from the usual value in standard deviations (spread floored at min_abs / z)."""
    sigma = max(baseline.sigma, min_abs / z) if min_abs > 0 else baseline.sigma
    deviation = value - baseline.mean
    if sigma == 0:
        return math.copysign(math.inf, deviation) if deviation else math.nan
    return deviation / sigma


def is_anomaly(
    value: float, baseline: Baseline, *, z: float, min_abs: float, direction: str, min_rel: float = 0.0
) -> bool:
    """Whether the alert condition holds (warm-up is checked separately, on the sample count)."""
    score, deviation = zscore(value, baseline, min_abs, z), value - baseline.mean
    big_enough = abs(deviation) > min_abs and (not min_rel or abs(deviation) > min_rel * baseline.mean)
    if direction == "above":
        return score > z and deviation > 0 and big_enough
    if direction == "below":
        return score < -z and deviation < 0 and big_enough
    return abs(score) > z and big_enough
