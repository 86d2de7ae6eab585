"""Every rule expression, alerting and recording, is parsed with a real PromQL parser at load time."""

from __future__ import annotations

import pytest

from alert_worker.exceptions import RuleFileError
from alert_worker.rules.loader import parse_rules
from alert_worker.rules.promql import promql_problem
from tests.fixtures.promql_corpus import BAD, GOOD


@pytest.mark.parametrize("expr", GOOD)
def test_valid_promql_passes(expr: str) -> None:
    assert promql_problem(expr) is None


@pytest.mark.parametrize(("expr", "message"), BAD.items())
def test_invalid_promql_is_named_with_the_parsers_message(expr: str, message: str) -> None:
    problem = promql_problem(expr)
    assert problem is not None
    assert message in problem


def test_rule_files_report_bad_alerting_and_recording_expressions_at_their_line() -> None:
    text = """groups:
  - name: g
    rules:
      - record: job:x:rate5m
        expr: 'test +'
      - alert: Fine
        expr: up == 0
      - alert: Broken
        expr: 'rate(x[5m] >'
      - record: 'not a metric'
        expr: up
"""
    with pytest.raises(RuleFileError) as info:
        parse_rules(text, "pack.rules.yml")
    assert info.value.problems == [
        "pack.rules.yml:5: groups[0].rules[0].expr: invalid PromQL 'test +': invalid promql query",
        "pack.rules.yml:9: groups[0].rules[2].expr: invalid PromQL 'rate(x[5m] >': unclosed left parenthesis",
        "pack.rules.yml:10: groups[0].rules[3].record: invalid metric name 'not a metric'; "
        "use letters, digits, _ and :",
    ]
