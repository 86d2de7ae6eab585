from pathlib import Path

import pytest

from alert_worker.exceptions import RuleFileError
from alert_worker.rules.loader import load_rule_files, parse_rules

PACK = Path(__file__).resolve().parents[3] / "prometheus" / "rules"

GOOD = """\
groups:
  - name: hosts
    interval: 15s
    rules:
      - record: host:cpu:avg
        expr: avg by (host_name) (system_cpu_utilization_ratio)
      - alert: HostHighCpu
        expr: host:cpu:avg > 0.9
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: warning
        annotations:
          summary: "CPU on {{ $labels.host_name }}"
          heron_channels: ops-telegram, console
          heron_cooldown: 10m
          heron_repeat_interval: 1h
          heron_no_data: resolve
"""


def test_parses_standard_fields_and_heron_extensions():
    (group,) = parse_rules(GOOD, "hosts.yml")
    assert (group.name, group.interval_s, group.recording_rules) == ("hosts", 15.0, 1)
    (rule,) = group.rules
    assert (rule.name, rule.for_s, rule.keep_firing_for_s) == ("HostHighCpu", 300.0, 60.0)
    assert rule.channels == ("ops-telegram", "console")
    assert (rule.cooldown_s, rule.repeat_interval_s, rule.no_data) == (600.0, 3600.0, "resolve")
    assert dict(rule.annotations) == {"summary": "CPU on {{ $labels.host_name }}"}
    assert rule.source == "hosts.yml:7"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("for: 5m", "for: 5 minutes"), "hosts.yml:9: groups[0].rules[1].for: invalid duration"),
        (GOOD.replace("keep_firing_for", "keep_firing"), "hosts.yml:10: groups[0].rules[1].keep_firing: unknown field"),
        (GOOD.replace("severity:", "bad-name:"), "hosts.yml:12: groups[0].rules[1].labels.bad-name: invalid label"),
        (GOOD.replace("$labels.host_name", "$lables.host_name"), "hosts.yml:14: groups[0].rules[1].annotations.summ"),
        (GOOD.replace("heron_no_data: resolve", "heron_no_data: ignore"), "hosts.yml:18: groups[0].rules[1].annot"),
        (
            GOOD.replace("      - alert: HostHighCpu\n", "      - alert: HostHighCpu\n        record: x\n"),
            "exactly one",
        ),
        (GOOD.replace("    interval: 15s", "    interval: 15s\n  - name: hosts"), "duplicate group name"),
        ("groups: [\n", "hosts.yml:2: invalid YAML"),
        ("rules: []\n", "hosts.yml:1: groups: a rule file needs"),
    ],
)
def test_errors_point_at_file_and_line(text, expected):
    with pytest.raises(RuleFileError) as info:
        parse_rules(text, "hosts.yml")
    assert any(p.startswith(expected) or expected in p for p in info.value.problems), info.value.problems


def test_collects_every_problem_of_a_file():
    text = GOOD.replace("for: 5m", "for: soon").replace("severity:", "bad-name:")
    with pytest.raises(RuleFileError) as info:
        parse_rules(text, "hosts.yml")
    assert len(info.value.problems) == 2


def test_default_rule_pack_loads():
    groups = load_rule_files(sorted(PACK.glob("*.rules.yml")))
    names = {r.name for g in groups for r in g.rules}
    assert {"HostHighCpu", "HostMemoryHigh", "HostSwapHigh", "HostDiskFilling", "HostDiskAlmostFull"} <= names
    assert {"HostNetworkErrors", "HostHighLoad", "HostStoppedReporting", "AppHighErrorRate"} <= names
    assert "AppHighLatencyP95" in names
