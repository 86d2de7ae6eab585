"""The baseline arithmetic against cases worked by hand."""

from __future__ import annotations

import math

import pytest

from alert_worker.anomaly.stats import Baseline, is_anomaly, seasonal, trailing, zscore


def test_trailing_mean_and_population_spread() -> None:
    b = trailing([1.0, 2.0, 3.0, 4.0])
    assert b.mean == 2.5
    assert b.sigma == pytest.approx(math.sqrt(1.25))  # ((1.5² + 0.5²) * 2) / 4
    assert not b.seasonal


def test_seasonal_spread_adds_within_and_between_week_variance() -> None:
    # Week means 11 and 15 -> usual 13; within-week variance 1 each; between-week variance 4.
    b = seasonal([[10.0, 12.0], [14.0, 16.0]])
    assert b is not None
    assert (b.mean, b.seasonal) == (13.0, True)
    assert b.sigma == pytest.approx(math.sqrt(5))


def test_seasonal_is_none_without_a_past_week() -> None:
    assert seasonal([]) is None


def test_zscore_is_signed_distance_in_sigmas() -> None:
    b = Baseline(mean=120.0, sigma=15.0, seasonal=True)
    assert zscore(183.0, b, min_abs=0, z=4) == pytest.approx(4.2)
    assert zscore(90.0, b, min_abs=0, z=4) == pytest.approx(-2.0)


def test_flat_series_spread_is_floored_at_min_abs_over_z() -> None:
    flat = Baseline(mean=10.0, sigma=0.0, seasonal=False)
    assert zscore(13.0, flat, min_abs=2.0, z=4.0) == pytest.approx(6.0)  # spread floored at 0.5
    assert zscore(10.0, flat, min_abs=0.0, z=4.0) != zscore(10.0, flat, min_abs=0.0, z=4.0)  # NaN: no score
    assert zscore(10.5, flat, min_abs=0.0, z=4.0) == math.inf


def test_small_deviation_on_a_flat_series_does_not_page() -> None:
    flat = Baseline(mean=10.0, sigma=0.001, seasonal=False)
    assert not is_anomaly(10.5, flat, z=4, min_abs=1.0, direction="both")  # 500 sigma but under min_abs
    assert is_anomaly(11.5, flat, z=4, min_abs=1.0, direction="both")


@pytest.mark.parametrize(
    ("value", "direction", "fires"),
    [(160.0, "above", True), (160.0, "below", False), (80.0, "below", True), (80.0, "above", False),
     (80.0, "both", True), (125.0, "both", False)],
)  # fmt: skip
def test_direction(value: float, direction: str, fires: bool) -> None:
    b = Baseline(mean=120.0, sigma=5.0, seasonal=True)
    assert is_anomaly(value, b, z=4, min_abs=10, direction=direction) is fires


def test_min_rel_needs_a_deviation_that_is_a_share_of_the_usual_value() -> None:
    b = Baseline(mean=100.0, sigma=2.0, seasonal=True)
    assert is_anomaly(115.0, b, z=4, min_abs=0.5, direction="both")  # 7.5 sigma, 15 req/s
    assert not is_anomaly(115.0, b, z=4, min_abs=0.5, direction="both", min_rel=0.2)  # but only 15 % of usual
    assert is_anomaly(75.0, b, z=4, min_abs=0.5, direction="below", min_rel=0.2)
