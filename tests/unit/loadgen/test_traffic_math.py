"""Latency percentiles reported by traffic actions."""

from __future__ import annotations

import pytest

from loadgen.actions.traffic import percentile


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, 0.0),
        ([3.0], 0.99, 3.0),
        ([float(v) for v in range(1, 101)], 0.5, 50.0),
        ([float(v) for v in range(1, 101)], 0.95, 95.0),
        ([float(v) for v in range(1, 101)], 0.99, 99.0),
        ([5.0, 1.0, 3.0, 2.0, 4.0], 0.5, 3.0),
    ],
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected
