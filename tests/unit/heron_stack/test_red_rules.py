"""The checked-in RED recording rules are what heron_stack.red_rules generates, in Prometheus' rule format."""

from __future__ import annotations

import yaml

from heron_stack import red_rules


def test_checked_in_file_matches_the_generator() -> None:
    on_disk = red_rules.RULES_FILE.read_text(encoding="utf-8")
    assert on_disk == red_rules.render(), "run `python -m heron_stack.red_rules` and commit the result"


def test_each_window_records_the_normalized_family_from_every_source() -> None:
    windows = [g for g in yaml.safe_load(red_rules.render())["groups"] if g["name"] != "heron-red-source"]
    assert [g["name"] for g in windows] == [f"heron-red-{w}" for w in red_rules.WINDOWS]
    for group in windows:
        window = group["name"].removeprefix("heron-red-")
        records = [r["record"] for r in group["rules"]]
        sources = [r["labels"]["red_source"] for r in group["rules"] if "labels" in r]
        assert sorted(set(sources)) == sorted(red_rules.SOURCES)
        for metric in ("requests", "errors", "duration_seconds_bucket"):
            assert red_rules.name("service", metric, window) in records
            assert red_rules.name("service_route", metric, window) in records
        assert red_rules.name("service", "error_ratio", window) in records


def test_a_later_source_is_chosen_only_where_no_earlier_one_reported_the_service_for_10_minutes() -> None:
    seen = {
        s.name: f"present_over_time({red_rules._selector(s.count, s.matchers)}[10m])" for s in red_rules.ALL_SOURCES
    }
    http, old, spans = (
        f'label_replace(group by (service_name) ({seen[n]}), "red_source", "{n}", "", "")' for n in red_rules.SOURCES
    )
    assert red_rules.choice_rule()["expr"] == (
        f"{http} or ({old} unless on (service_name) ({http})) or ({spans} unless on (service_name) ({http} or {old}))"
    )


def test_every_window_reuses_the_one_choice() -> None:
    for window in red_rules.WINDOWS:
        rules = {r["record"]: r["expr"] for r in red_rules.normalized_rules(window)}
        for metric in ("requests", "errors", "duration_seconds_bucket"):
            expr = rules[red_rules.name("service_route", metric, window)]
            assert f"and on (service_name, red_source) {red_rules.CHOICE}" in expr


def test_http_target_routes_lose_their_query_string() -> None:
    expr = red_rules._routed_rate(red_rules.HTTP_OLD, red_rules.HTTP_OLD.count, "5m")
    assert '"http_route", "$1", "http_target", "([^?]*).*"' in expr
