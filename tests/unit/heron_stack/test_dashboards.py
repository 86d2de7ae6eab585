"""Dashboards as code: the checked-in JSON is the generator's output, and holds to Heron's panel rules."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from heron_stack.config import PROJECT_DIR
from heron_stack.dashboards import render_all, stale_files
from heron_stack.dashboards.checks import duplicate_uids, queries, structural_problems, substitute

PROVISIONING = PROJECT_DIR / "grafana" / "provisioning"


@pytest.fixture(scope="module")
def datasource_uids() -> set[str]:
    data = yaml.safe_load((PROVISIONING / "datasources" / "heron.yaml").read_text())
    return {ds["uid"] for ds in data["datasources"]}


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, Any]]:
    return render_all()


def test_checked_in_dashboards_match_the_generator() -> None:
    assert stale_files() == [], "run `heron dashboards build` and commit grafana/dashboards/"


def test_stale_files_notices_a_hand_edit(tmp_path: Path) -> None:
    for name, data in render_all().items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    assert len(stale_files(tmp_path)) == len(render_all())  # formatting differs: every file is stale


def test_every_dashboard_passes_the_structural_checks(
    rendered: dict[str, dict[str, Any]], datasource_uids: set[str]
) -> None:
    problems = [p for dash in rendered.values() for p in structural_problems(dash, datasource_uids)]
    problems += duplicate_uids(list(rendered.values()))
    assert problems == []


def test_datasources_have_fixed_uids_and_the_log_store_links_trace_ids(datasource_uids: set[str]) -> None:
    assert datasource_uids == {"heron-prometheus", "heron-logs"}
    data = yaml.safe_load((PROVISIONING / "datasources" / "heron.yaml").read_text())
    logs = next(ds for ds in data["datasources"] if ds["uid"] == "heron-logs")
    assert logs["type"] == "victoriametrics-logs-datasource"
    link = logs["jsonData"]["derivedFields"][0]
    assert link["matcherRegex"] == "trace_id"
    assert link["datasourceUid"] == "heron-logs"
    assert link["url"] == 'trace_id:="$${__value.raw}"'


def test_every_log_panel_queries_the_log_store_in_logsql(rendered: dict[str, dict[str, Any]]) -> None:
    log_queries = [q for dash in rendered.values() for q in queries(dash) if q.datasource_uid == "heron-logs"]
    assert {q.dashboard_uid for q in log_queries} == {"heron-alerts", "heron-app-red", "heron-loadlab"}
    for query in log_queries:
        assert query.datasource_type == "victoriametrics-logs-datasource"
        # LogsQL stream filters name OpenTelemetry attributes as they are; LogQL's `|=`/`|~` do not exist.
        assert query.expr.startswith("{service.name"), query
        assert "|~" not in query.expr, query
        assert "|=" not in query.expr, query


def test_dashboard_provider_puts_everything_in_the_heron_folder() -> None:
    data = yaml.safe_load((PROVISIONING / "dashboards" / "heron.yaml").read_text())
    (provider,) = data["providers"]
    assert provider["folder"] == "Heron"
    assert "foldersFromFilesStructure" not in provider.get("options", {})


@pytest.mark.parametrize(
    ("mutate", "finding"),
    [
        (lambda d: d["panels"][1].pop("description"), "no description"),
        (lambda d: d["panels"][1]["fieldConfig"]["defaults"].pop("unit"), "no unit"),
        (lambda d: d["panels"][1].update(targets=[]), "at least one query"),
        (lambda d: d["panels"][1]["targets"][0].update(datasource={"uid": "nope"}), "'nope' is not provisioned"),
        (lambda d: d["panels"][2].update(id=d["panels"][1]["id"]), "not unique"),
        (lambda d: d.update(uid="Host Overview"), "uid must be"),
    ],
)
def test_structural_checks_catch_each_kind_of_mistake(
    rendered: dict[str, dict[str, Any]], datasource_uids: set[str], mutate: Any, finding: str
) -> None:
    dash = copy.deepcopy(rendered["host-overview"])
    mutate(dash)
    problems = structural_problems(dash, datasource_uids)
    assert any(finding in p for p in problems), problems


def test_duplicate_uids_across_dashboards_are_reported(rendered: dict[str, dict[str, Any]]) -> None:
    twin = copy.deepcopy(rendered["fleet"])
    assert duplicate_uids([rendered["fleet"], twin]) == ["uid 'heron-fleet' is used by both 'Fleet' and 'Fleet'"]


def test_queries_substitute_grafana_macros_and_variables(rendered: dict[str, dict[str, Any]]) -> None:
    exprs = [q.expr for q in queries(rendered["host-overview"])]
    assert any("$__rate_interval" in e for e in exprs)
    assert all("$" not in substitute(e, {"host": "web-1"}) for e in exprs)
    assert substitute('x{host_name="$host"}[$__rate_interval]', {"host": "web-1"}) == 'x{host_name="web-1"}[1m]'
