"""Burn-rate math against cases computed by hand."""

import math

import pytest

from alert_worker.rules.evaluator import Sample
from alert_worker.slo import burn
from alert_worker.slo.spec import parse_spec
from alert_worker.slo.status import fetch_status, format_status, status_from, status_json

DAY = 86400.0
WINDOW_S = {"5m": 300.0, "30m": 1800.0, "1h": 3600.0, "2h": 7200.0, "6h": 21600.0, "1d": DAY, "3d": 3 * DAY}


def test_error_budget_is_one_minus_the_objective_without_float_noise():
    assert burn.error_budget(0.999) == 0.001
    assert burn.error_budget(0.995) == 0.005


@pytest.mark.parametrize(
    ("error_ratio", "objective", "expected"),
    [(0.0144, 0.999, 14.4), (0.001, 0.999, 1.0), (0.0, 0.99, 0.0), (0.3, 0.99, 30.0), (0.03, 0.995, 6.0)],
)
def test_burn_rate_is_the_error_ratio_over_the_budget(error_ratio, objective, expected):
    assert burn.burn_rate(error_ratio, objective) == pytest.approx(expected)


def test_the_workbook_policy_spends_2_5_10_10_percent_of_a_30_day_budget():
    # 14.4 x 1h / 720h = 2 %; 6 x 6h / 720h = 5 %; 3 x 24h / 720h = 10 %; 1 x 72h / 720h = 10 %.
    spent = [burn.budget_spent_by(a, 30 * DAY, WINDOW_S) for a in burn.POLICY]
    assert spent == pytest.approx([0.02, 0.05, 0.10, 0.10])
    assert [(a.severity, a.factor, a.long, a.short) for a in burn.POLICY] == [
        ("page", 14.4, "1h", "5m"),
        ("page", 6.0, "6h", "30m"),
        ("ticket", 3.0, "1d", "2h"),
        ("ticket", 1.0, "3d", "6h"),
    ]


def test_budget_remaining_and_time_to_exhaustion():
    # Objective 99.9 %: an error ratio of 0.05 % over the window spent half the budget.
    assert burn.budget_remaining(0.0005, 0.999) == pytest.approx(0.5)
    assert burn.budget_remaining(0.003, 0.999) == pytest.approx(-2.0)
    # Half a 30-day budget (360 h of sustainable burn) at 14.4x lasts 360 h / 14.4 = 25 h.
    assert burn.time_to_exhaustion(0.5, 14.4, 30 * DAY) == pytest.approx(25 * 3600)
    assert burn.time_to_exhaustion(-2.0, 14.4, 30 * DAY) == 0.0
    assert burn.time_to_exhaustion(0.5, 0.0, 30 * DAY) == math.inf
    assert math.isnan(burn.time_to_exhaustion(math.nan, 1.0, 30 * DAY))


@pytest.mark.parametrize(
    ("burns", "expected"),
    [
        ({"1h": 15.0, "5m": 15.0}, [("page", 14.4)]),
        ({"1h": 15.0, "5m": 10.0}, []),  # the short window shows the burn has stopped
        ({"1h": 10.0, "5m": 20.0}, []),
        ({"6h": 7.0, "30m": 7.0, "1d": 3.5, "2h": 7.0}, [("page", 6.0), ("ticket", 3.0)]),
        ({"3d": 1.2, "6h": 1.1}, [("ticket", 1.0)]),
        ({"1h": math.nan, "5m": 100.0}, []),
    ],
)
def test_a_policy_line_fires_only_when_both_windows_burn_above_its_factor(burns, expected):
    assert [(a.severity, a.factor) for a in burn.firing(burns)] == expected


SPEC = """\
version: heron/v1
service: shop
slos:
  - name: availability
    objective: 99
    window: 28d
    sli: {http: availability}
"""


def test_status_from_recorded_error_ratios():
    # 28 days at a 0.2 % error ratio, the last hour at 30 %: the hand computation of the integration test.
    (slo,) = parse_spec(SPEC, "shop.slo.yml").slos
    period = (0.002 * 671 + 0.3) / 672
    ratios = {"5m": 0.3, "30m": 0.3, "1h": 0.3, "2h": 0.151, "6h": (0.002 * 5 + 0.3) / 6, "1d": 0.0144, "3d": 0.006}
    st = status_from(slo, {**ratios, "28d": period})
    assert st.budget_remaining == pytest.approx(1 - period / 0.01)
    assert st.burn_rates["1h"] == pytest.approx(30.0)
    tte = st.time_to_exhaustion_s
    assert list(tte) == ["1h", "6h", "1d", "3d"]  # the long window of every alert policy line
    assert tte["1h"] == pytest.approx(st.budget_remaining * 28 * DAY / 30.0)
    assert tte["1d"] == pytest.approx(st.budget_remaining * 28 * DAY / 1.44)
    assert [(a.severity, a.factor) for a in st.firing] == [("page", 14.4)]
    text = format_status(st)
    assert "error budget left   75.57%" in text
    assert "16h 55m" in text
    assert "time to exhaustion  16h 55m 36s at the 1h burn rate\n" in text
    assert "\n                      4d 2h 17m 1s at the 6h burn rate\n                      14d 16h" in text
    assert "page (14.4x over 1h and 5m)" in text


def test_fetch_status_reads_every_window_in_one_query_and_reports_no_data():
    (slo,) = parse_spec(SPEC, "shop.slo.yml").slos
    queries = []

    def query(expr):
        queries.append(expr)
        return [Sample({"__name__": "slo:sli_error:ratio_rate28d", "slo": "availability"}, 0.005)]

    st = fetch_status(slo, query)
    assert len(queries) == 1
    assert 'slo="availability"' in queries[0]
    assert 'service_name="shop"' in queries[0]
    assert st.budget_remaining == pytest.approx(0.5)
    assert math.isnan(st.burn_rates["1h"])
    assert st.firing == []
    empty = fetch_status(slo, lambda expr: [])
    assert not empty.has_data
    assert "no data" in format_status(empty)


def test_a_slow_burn_is_not_reported_as_never():
    # Nothing failed in the last two hours, but the last day burnt at 2x: the budget still runs out.
    (slo,) = parse_spec(SPEC, "shop.slo.yml").slos
    ratios = {"5m": 0.0, "30m": 0.0, "1h": 0.0, "2h": 0.0, "6h": 0.03, "1d": 0.02, "3d": 0.01, "28d": 0.005}
    st = status_from(slo, ratios)
    assert st.budget_remaining == pytest.approx(0.5)
    tte = st.time_to_exhaustion_s
    assert tte["1h"] == math.inf
    # By hand: half of a 28-day budget at 2x lasts 7 days; at the 6h rate (3x) 4d 16h; at 1x (3d) 14 days.
    assert tte["1d"] == pytest.approx(7 * DAY)
    assert tte["6h"] == pytest.approx(4 * DAY + 16 * 3600)
    assert tte["3d"] == pytest.approx(14 * DAY)
    text = format_status(st)
    assert "never (nothing burns) at the 1h burn rate\n" in text
    assert "7d 0h 0m 0s at the 1d burn rate" in text
    assert status_json(st)["time_to_exhaustion_seconds"] == {"1h": "inf", "6h": 4 * DAY + 16 * 3600, "1d": 7 * DAY,
                                                             "3d": 14 * DAY}  # fmt: skip
