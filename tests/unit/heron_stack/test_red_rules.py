"""The checked-in RED recording rules are what heron_stack.red_rules generates, in Prometheus' rule format."""

from __future__ import annotations

import yaml

from heron_stack import red_rules


def test_checked_in_file_matches_the_generator() -> None:
    on_disk = red_rules.RULES_FILE.read_text(encoding="utf-8")
    assert on_disk == red_rules.render(), "run `python -m heron_stack.red_rules` and commit the result"


def test_each_window_records_the_normalized_family_from_every_source() -> None:
    for group in yaml.safe_load(red_rules.render())["groups"]:
        window = group["name"].removeprefix("heron-red-")
        records = [r["record"] for r in group["rules"]]
        sources = [r["labels"]["red_source"] for r in group["rules"] if "labels" in r]
        assert sorted(set(sources)) == sorted(red_rules.SOURCES)
        for metric in ("requests", "errors", "duration_seconds_bucket"):
            assert red_rules.name("service", metric, window) in records
            assert red_rules.name("service_route", metric, window) in records
        assert red_rules.name("service", "error_ratio", window) in records


def test_a_later_source_is_used_only_where_no_earlier_one_reports_the_service() -> None:
    expr = red_rules.normalized_rules("1m")[0]["expr"]
    series = red_rules.name("service_route_source", "requests", "1m")
    assert expr.startswith(f'{series}{{red_source="http"}} or ')
    assert f'{series}{{red_source="http_old"}} unless on (service_name) {series}{{red_source=~"http"}}' in expr
    assert f'{series}{{red_source="spans"}} unless on (service_name) {series}{{red_source=~"http|http_old"}}' in expr
