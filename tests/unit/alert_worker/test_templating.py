import pytest

from alert_worker.exceptions import TemplateError
from alert_worker.rules.evaluator import Sample
from alert_worker.rules.humanize import go_float, humanize, humanize1024, humanize_duration, humanize_percentage
from alert_worker.rules.templating import TemplateData, check_template, render

DATA = TemplateData({"host_name": "web-1", "job": "agent"}, 0.953, {"env": "prod"})


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("CPU on {{ $labels.host_name }}", "CPU on web-1"),
        ("{{ $value }}", "0.953"),
        ("{{ .Value }} {{ .Labels.job }}", "0.953 agent"),
        ("{{ $value | humanizePercentage }}", "95.3%"),
        ("{{ humanizePercentage $value }}", "95.3%"),
        ('{{ printf "%.1f" $value }}', "1.0"),
        ("{{ $externalLabels.env | toUpper }}", "PROD"),
        ("{{ $labels.missing }}", ""),
        ("a {{- /* note */ -}} b", "ab"),
        ("{{ 1234567 | humanize }}", "1.235M"),
    ],
)
def test_render(template, expected):
    assert render(template, DATA) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.95, "0.95"), (123456.0, "123456"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"), (1e-05, "1e-05"), (2.0, "2")],
)
def test_value_prints_like_go(value, expected):
    assert go_float(value) == expected


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (humanize, 1234567, "1.235M"),
        (humanize, 0.0012, "1.2m"),
        (humanize, 0, "0"),
        (humanize1024, 1048576, "1Mi"),
        (humanize_percentage, 0.5, "50%"),
        (humanize_duration, 3725, "1h 2m 5s"),
        (humanize_duration, 90061, "1d 1h 1m 1s"),
        (humanize_duration, 0.25, "250ms"),
        (humanize_duration, 42, "42s"),
    ],
)
def test_humanize_helpers_match_prometheus(func, value, expected):
    assert func(value) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ if $value }}x{{ end }}", "not supported"),
        ("{{ $nope }}", r"unknown name '\$nope'"),
        ("{{ frobnicate $value }}", "not a function"),
    ],
)
def test_bad_templates_are_rejected_with_a_reason(template, message):
    with pytest.raises(TemplateError, match=message):
        check_template(template)


def test_query_runs_at_evaluation_and_first_value_label_read_its_result():
    seen = []

    def query(expr):
        seen.append(expr)
        return [Sample({"slo": "availability"}, 0.755), Sample({"slo": "latency"}, 0.1)]

    data = TemplateData({}, 1.0, {}, query)
    text = '{{ query `budget{slo="a"}` | first | value | humanizePercentage }} of {{ query "x" | first | label "slo" }}'
    assert render(text, data) == "75.5% of availability"
    assert seen == ['budget{slo="a"}', "x"]


def test_query_without_a_result_or_an_adapter_renders_nan_instead_of_failing():
    text = "left {{ query `budget` | first | value | humanizePercentage }}"
    check_template(text)
    assert render(text, TemplateData({}, 1.0, {}, lambda expr: [])) == "left NaN%"
    assert render(text, TemplateData({}, 1.0, {})) == "left NaN%"
