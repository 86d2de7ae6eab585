"""SLO specs: a bad spec gets an error naming the file, line, field, value and what is allowed."""

import pytest

from alert_worker.exceptions import RuleFileError
from alert_worker.slo import sli
from alert_worker.slo.spec import parse_spec

GOOD = """\
version: heron/v1
service: shop
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      http: availability
"""


def problems(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as info:
        parse_spec(text, "shop.slo.yml")
    return info.value.problems


def test_a_good_spec_loads():
    (slo,) = parse_spec(GOOD, "shop.slo.yml").slos
    assert (slo.service, slo.name, slo.objective, slo.window, slo.window_s) == (
        "shop",
        "availability",
        0.999,
        "30d",
        30 * 86400.0,
    )
    assert slo.alerting.name == "ShopAvailabilityBudgetBurn"
    assert 'http_response_status_code=~"5.."' in slo.events.error


def test_objective_of_101_percent_names_the_field_value_and_range():
    (problem,) = problems(GOOD.replace("99.9", "101"))
    assert problem == (
        "shop.slo.yml:5: slos[0].objective: objective 101 is out of range; "
        "allowed: a percentage above 0 and below 100, such as 99.9"
    )


@pytest.mark.parametrize("value", ["100", "0", "-5", '"high"'])
def test_other_objectives_outside_0_to_100_are_refused(value):
    (problem,) = problems(GOOD.replace("99.9", value))
    assert "slos[0].objective" in problem
    assert "allowed: a percentage above 0 and below 100" in problem


def test_an_unknown_sli_shorthand_names_the_field_and_the_shorthands():
    (problem,) = problems(GOOD.replace("http: availability", "http: availabilty"))
    assert problem == (
        "shop.slo.yml:8: slos[0].sli.http: unknown SLI shorthand 'availabilty'; allowed: availability, latency"
    )


@pytest.mark.parametrize("window", ["", '""', "~"])
def test_an_empty_window_names_the_field(window):
    (problem,) = problems(GOOD.replace("window: 30d", f"window: {window}"))
    assert problem == "shop.slo.yml:6: slos[0].window: window is required; allowed: 28d, 30d"


def test_an_unsupported_window_lists_the_allowed_ones():
    (problem,) = problems(GOOD.replace("window: 30d", "window: 7d"))
    assert problem == "shop.slo.yml:6: slos[0].window: window '7d' is not supported; allowed: 28d, 30d"


def test_latency_needs_a_bucket_boundary_of_the_sdk_histogram():
    spec = GOOD.replace("http: availability", "http: latency\n      under: 300ms")
    (problem,) = problems(spec)
    assert problem.startswith("shop.slo.yml:9: slos[0].sli.under: latency threshold '300ms' is not a bucket boundary")
    assert "allowed (the SDK's histogram buckets): 5ms, 10ms, 25ms" in problem
    assert "250ms" in problem
    (slo,) = parse_spec(spec.replace("300ms", "250ms"), "shop.slo.yml").slos
    assert 'le="0.25"' in slo.events.error
    (slo,) = parse_spec(spec.replace("300ms", "1s"), "shop.slo.yml").slos
    assert 'le=~"1(\\\\.0)?"' in slo.events.error


def test_the_shorthand_buckets_are_the_sdks():
    from heron._internal.integrations.flask import DURATION_BUCKETS

    assert sli.SDK_DURATION_BUCKETS_S == DURATION_BUCKETS


def test_every_problem_is_reported_at_once():
    spec = GOOD.replace("99.9", "101").replace("window: 30d", "window:").replace("availability\n", "nope\n")
    found = problems(spec.replace("version: heron/v1", "version: v2"))
    fields = [p.split(": ")[1] for p in found]
    assert fields == ["version", "slos[0].objective", "slos[0].window", "slos[0].sli.http"]


def test_sloth_files_load_as_they_are():
    sloth = """\
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Common SLO based on availability for HTTP request responses."
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      labels:
        category: "availability"
      annotations:
        runbook_url: "https://example.org/runbook"
      page_alert:
        labels:
          routing_key: "myteam"
      ticket_alert:
        disable: true
"""
    (slo,) = parse_spec(sloth, "sloth.yml").slos
    assert slo.alerting.name == "MyServiceHighErrorRate"
    assert slo.window == "30d"  # Sloth's default period
    assert (slo.alerting.page, slo.alerting.ticket) == (True, False)
    assert slo.labels == {"owner": "myteam"}
    assert slo.events.ratio("1h").count("[1h]") == 2


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            ("{{.window}}]))\n        total", "5m]))\n        total"),
            "slos[0].sli.events.error_query",
            "must use {{.window}}",
        ),
        (("error_query: sum(", "error_query: sum(("), "slos[0].sli", "is not valid PromQL"),
        (("error_query", "bad_query"), "slos[0].sli.events.bad_query", "unknown field"),
        (("severity_x", "severity"), "slos[0].alerting.labels.severity", "is set by Heron"),
    ],
)
def test_event_queries_and_labels_are_checked(edit, field, message):
    spec = """\
version: heron/v1
service: shop
slos:
  - name: checkout
    objective: 99.5
    window: 28d
    sli:
      events:
        error_query: sum(rate(checkout_total{result="error"}[{{.window}}]))
        total_query: sum(rate(checkout_total[{{.window}}]))
    alerting:
      labels: {severity_x: high}
"""
    parse_spec(spec, "shop.slo.yml")
    found = problems(spec.replace(*edit))
    assert any(f": {field}: " in p and message in p for p in found), found
