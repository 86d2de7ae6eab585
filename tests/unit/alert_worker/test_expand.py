"""Recording rules inlined for backtests: the expanded expression selects the same thing from raw series."""

from alert_worker.rules.expand import Recording, expand
from alert_worker.rules.promql import promql_problem

RULES = [
    Recording("job:errors:ratio", "sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))", {"slo": "a"}),
    Recording("job:errors:ratio", "sum(rate(failed_total[5m])) / sum(rate(requests_total[5m]))", {"slo": "b"}),
    Recording("job:burn", 'job:errors:ratio{slo="a"} / 0.01', {"slo": "a"}),
]


def test_a_selector_by_static_labels_becomes_its_rule_with_the_labels_put_back():
    assert expand('job:errors:ratio{slo="b"} > 0.1', RULES) == (
        '(label_replace((sum(rate(failed_total[5m])) / sum(rate(requests_total[5m]))), "slo", "b", "", "")) > 0.1'
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


def test_what_cannot_be_expanded_exactly_is_left_alone():
    for expr in [
        'job:errors:ratio{slo=~"a|b"}',
        "job:errors:ratio[5m]",
        'rate(job:errors:ratio{slo="a"}[5m])',
        'job:errors:ratio{team="x"}',
        "other > 1",
    ]:
        assert expand(expr, RULES) == expr
