"""Scoring of the live load-lab benchmark: attack windows from scenario files, episodes, detections."""

from __future__ import annotations

import pytest

from alert_worker.rules.state import Transition
from loadgen.scenarios.loader import builtin_scenarios, parse_scenario
from tests.fixtures.anomaly_live import EpisodeLog, LiveEpisode, Window, attack_window, score_scenario


def _t(rule: str, fp: str, frm: str, to: str, at: float) -> Transition:
    return Transition(rule, fp, {"service_name": "shop"}, frm, to, at, 1.0)


def test_attack_window_runs_from_the_second_phase_to_the_end_in_wall_clock_time() -> None:
    ddos = builtin_scenarios()["ddos-attack"]  # phases at 0 (normal), 20 (attack) ... duration 120
    assert attack_window(ddos, 1000.0) == Window(1020.0, 1120.0)
    assert attack_window(ddos, 1000.0, speed=2.0) == Window(1010.0, 1060.0)


def test_a_scenario_without_a_normal_phase_has_no_attack_window() -> None:
    one = parse_scenario(
        "id: x\nname: X\ndescription: d\nduration_seconds: 10\n"
        "phases:\n  - {at: 0, name: only, actions: "
        "[{type: traffic, params: {requests_per_sec: 1, duration_seconds: 1}}]}\n",
        "x.yaml",
    )
    with pytest.raises(ValueError, match="normal phase"):
        attack_window(one, 0.0)


def test_episodes_open_on_firing_and_close_on_leaving_it() -> None:
    log = EpisodeLog()
    log.add([_t("A", "a", "inactive", "pending", 10), _t("A", "a", "pending", "firing", 40)])
    log.add([_t("B", "b", "pending", "firing", 50), _t("A", "a", "firing", "inactive", 90)])
    log.add([_t("A", "a", "pending", "inactive", 95)])  # a pending that never fired is no episode
    assert log.all() == [
        LiveEpisode("A", (("service_name", "shop"),), 40, 90),
        LiveEpisode("B", (("service_name", "shop"),), 50, None),
    ]


def test_detection_counts_the_first_alert_in_the_window_or_its_grace_and_false_alerts_in_the_quiet() -> None:
    eps = [
        LiveEpisode("Noisy", (), 150.0),  # in the quiet stretch: false
        LiveEpisode("Early", (), 199.0),  # before the attack, after the quiet stretch: neither
        LiveEpisode("Slow", (), 420.0),  # after the window, within grace: detection
        LiveEpisode("Fast", (), 260.0),
        LiveEpisode("Fast", (), 270.0),
        LiveEpisode("Late", (), 501.0),  # past the grace
    ]
    score = score_scenario(eps, Window(200.0, 300.0), 200.0, Window(100.0, 190.0))
    assert score.detected
    assert score.delay_s == 60.0
    assert score.detecting == ("Fast", "Slow")
    assert score.false_alerts == ("Noisy",)


def test_nothing_in_the_window_is_a_miss() -> None:
    score = score_scenario([LiveEpisode("Late", (), 600.0)], Window(200.0, 300.0), 60.0, Window(0.0, 200.0))
    assert (score.detected, score.delay_s, score.detecting, score.false_alerts) == (False, None, (), ())
