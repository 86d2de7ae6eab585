"""Scenario timelines (pure) and the shipped scenario files."""

from __future__ import annotations

import itertools

import pytest

from loadgen.exceptions import ConfigError
from loadgen.scenarios.loader import builtin_scenarios, parse_scenario
from loadgen.scenarios.model import Phase, Scenario, Step, TimelineClock, due_steps, phase_at, scale_params

SCENARIO = Scenario(
    "s",
    "S",
    "",
    60.0,
    (
        Phase(0, "one", "", (Step(0, "traffic", {}), Step(5, "cpu-stress", {}))),
        Phase(30, "two", "", (Step(30, "memory-leak", {}),)),
    ),
    (),
)


def test_consecutive_windows_fire_every_step_exactly_once() -> None:
    fired: list[float] = []
    ticks = [0.0, 0.1, 4.9, 5.0, 5.05, 29.99, 30.0, 30.2, 60.0]
    for before, now in itertools.pairwise(ticks):
        fired += [s.at for s in due_steps(SCENARIO, before, now)]
    assert fired == [0, 5, 30]


@pytest.mark.parametrize(("elapsed", "name"), [(0, "one"), (29.9, "one"), (30, "two"), (59, "two")])
def test_phase_at(elapsed: float, name: str) -> None:
    phase = phase_at(SCENARIO, elapsed)
    assert phase is not None
    assert phase.name == name


def test_clock_excludes_pauses_and_applies_speed() -> None:
    clock = TimelineClock(started=100.0, speed=10.0)
    assert clock.elapsed(101.0) == pytest.approx(10.0)
    clock.pause(101.0)
    assert clock.elapsed(150.0) == pytest.approx(10.0)
    assert clock.paused
    clock.resume(150.0)
    assert clock.elapsed(152.0) == pytest.approx(30.0)


def test_scale_params_compresses_durations_but_keeps_a_floor() -> None:
    assert scale_params({"duration_seconds": 60, "size_mb": 5}, 10) == {"duration_seconds": 6.0, "size_mb": 5}
    assert scale_params({"duration_seconds": 5}, 100)["duration_seconds"] == 1.0
    assert scale_params({"operations": 10}, 10) == {"operations": 10}


def test_builtin_scenarios_are_the_five_stories() -> None:
    names = {s.name for s in builtin_scenarios().values()}
    assert names == {"Startup Launch Day", "Black Friday Rush", "DDoS Attack", "Memory Leak", "Morning Rush Hour"}
    for scenario in builtin_scenarios().values():
        assert scenario.expected_alerts, scenario.id
        assert all(0 <= s.at < scenario.duration for s in scenario.steps())


GOOD = """
id: x
name: X
description: d
duration_seconds: 10
phases:
  - at: 0
    name: p
    actions:
      - type: cpu-stress
        params: {target_percent: 50, duration_seconds: 5}
"""


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (GOOD.replace("cpu-stress", "cpu-melt"), "phases.0.actions.0.type"),
        (GOOD.replace("target_percent: 50", "target_percent: 500"), "params.target_percent"),
        (GOOD.replace("duration_seconds: 10", "duration_seconds: -1"), "duration_seconds"),
        (GOOD + "surprise: 1\n", "surprise"),
        ("a: [", "<yaml>"),
    ],
)
def test_bad_scenario_files_name_the_field(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_scenario(text, "x.yaml")
    assert where in str(info.value)


def test_good_file_parses() -> None:
    scenario = parse_scenario(GOOD, "x.yaml")
    assert [s.kind for s in scenario.steps()] == ["cpu-stress"]
