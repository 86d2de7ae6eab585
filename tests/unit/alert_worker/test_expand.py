"""Recording rules inlined for backtests: the expanded expression selects the same thing from raw series."""

import pytest

from alert_worker.rules.expand import ExpandError, Recording, expand
from alert_worker.rules.promql import promql_problem

RULES = [
    Recording("job:errors:ratio", "sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))", {"slo": "a"}),
    Recording("job:errors:ratio", "sum(rate(failed_total[5m])) / sum(rate(requests_total[5m]))", {"slo": "b"}),
    Recording("job:burn", 'job:errors:ratio{slo="a"} / 0.01', {"slo": "a"}),
]


def test_a_selector_by_static_labels_becomes_its_rule_with_the_labels_put_back():
    assert expand('job:errors:ratio{slo="b"} > 0.1', RULES) == (
        '(label_replace((sum(rate(failed_total{}[5m])) / sum(rate(requests_total{}[5m]))), "slo", "b", "", "")) > 0.1'
    )


def test_nested_recordings_expand_down_to_raw_series():
    expanded = expand('job:burn{slo="a"} > 14.4', RULES)
    assert "job:" not in expanded
    assert "errors_total" in expanded
    assert promql_problem(expanded) is None


def test_a_bare_name_takes_every_rule_of_that_name_joined_by_or():
    expanded = expand("job:errors:ratio", RULES)
    assert expanded.count("label_replace") == 2
    assert " or " in expanded


def test_regex_and_negative_matchers_pick_rules_by_their_static_labels():
    assert expand('job:errors:ratio{slo=~"a|b"}', RULES) == expand("job:errors:ratio", RULES)
    negated = expand('job:errors:ratio{slo!="a"}', RULES)
    assert "failed_total" in negated
    assert "errors_total" not in negated
    assert expand('job:errors:ratio{slo!~"b"}', RULES) == expand('job:errors:ratio{slo="a"}', RULES)


def test_offset_moves_into_every_selector_of_the_inlined_expression():
    expanded = expand('job:burn{slo="a"} offset 1h > 14.4', RULES)
    assert promql_problem(expanded) is None, expanded
    assert "errors_total{}[5m] offset 1h" in expanded
    assert "requests_total{}[5m] offset 1h" in expanded
    assert ") offset" not in expanded


def test_offset_adds_to_the_rules_own_offsets_and_shifts_subqueries_once():
    rules = [Recording("r", "max_over_time(rate(x[5m])[1h:1m]) + y offset 1m")]
    expanded = expand("r offset 1h", rules)
    assert promql_problem(expanded) is None, expanded
    assert "rate(x{}[5m])[1h:1m] offset 1h" in expanded
    assert "y{} offset 1h1m" in expanded


def test_expressions_without_recorded_series_are_returned_as_written():
    assert expand("other > 1", RULES) == "other > 1"


@pytest.mark.parametrize(
    ("expr", "why"),
    [
        ('job:errors:ratio{team="x"}', "label 'team' is not a static label of every `job:errors:ratio` recording rule"),
        ("job:errors:ratio[5m]", "a range over a recorded series cannot be inlined"),
        ('rate(job:errors:ratio{slo="a"}[5m])', "a range over a recorded series cannot be inlined"),
        ('job:errors:ratio{slo="c"}', "no `job:errors:ratio` recording rule has static labels matching it"),
        ("job:errors:ratio @ 100", "`@` on a recorded series cannot be inlined"),
    ],
)
def test_what_cannot_be_inlined_exactly_is_refused_naming_the_selector(expr: str, why: str) -> None:
    with pytest.raises(ExpandError) as exc:
        expand(expr, RULES)
    (problem,) = exc.value.problems
    assert problem.startswith("job:errors:ratio"), problem
    assert why in problem
