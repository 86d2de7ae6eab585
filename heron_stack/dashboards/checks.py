"""Structural checks and query extraction for generated dashboards (pure: dicts in, findings out)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

GRAFANA_MACROS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "30m",
}


@dataclass(frozen=True)
class PanelQuery:
    dashboard_uid: str
    panel_title: str
    datasource_uid: str
    datasource_type: str
    expr: str


def panels(dash: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for panel in dash.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def queries(dash: Mapping[str, Any]) -> list[PanelQuery]:
    found = []
    for panel in panels(dash):
        for target in panel.get("targets", []):
            ds = target.get("datasource") or panel.get("datasource") or {}
            found.append(
                PanelQuery(
                    dash["uid"], panel.get("title", ""), ds.get("uid", ""), ds.get("type", ""), target.get("expr", "")
                )
            )
    return found


def substitute(expr: str, variables: Mapping[str, str]) -> str:
    """Replace Grafana macros and dashboard variables ($host, ${host}) the way Grafana would."""
    for macro, value in GRAFANA_MACROS.items():
        expr = expr.replace(macro, value)
    for name, value in variables.items():
        expr = re.sub(rf"\$\{{{name}\}}|\${name}\b", value, expr)
    return expr


def structural_problems(dash: Mapping[str, Any], datasource_uids: set[str]) -> list[str]:
    """Everything that would make the dashboard wrong or misleading in Grafana, as readable findings."""
    problems: list[str] = []
    uid = dash.get("uid") or ""
    where = f"dashboard {dash.get('title')!r} ({uid})"
    if not re.fullmatch(r"heron-[a-z0-9-]{1,34}", uid):
        problems.append(f"{where}: uid must be 'heron-' + lowercase words (at most 40 characters)")
    ids: set[int] = set()
    for panel in panels(dash):
        title = panel.get("title") or "<untitled>"
        at = f"{where}, panel {title!r}"
        panel_id = panel.get("id")
        if not isinstance(panel_id, int) or panel_id in ids:
            problems.append(f"{at}: panel id {panel_id!r} is missing or not unique")
        else:
            ids.add(panel_id)
        if not panel.get("description"):
            problems.append(f"{at}: no description")
        targets = panel.get("targets") or []
        if not targets or not all(t.get("expr") for t in targets):
            problems.append(f"{at}: a panel needs at least one query, and every query an expression")
        if panel.get("type") != "logs" and not (panel.get("fieldConfig", {}).get("defaults", {}).get("unit")):
            problems.append(f"{at}: no unit")
        for target in targets:
            ds_uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
            if ds_uid not in datasource_uids:
                problems.append(f"{at}: datasource uid {ds_uid!r} is not provisioned ({sorted(datasource_uids)})")
        grid = panel.get("gridPos") or {}
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")):
            problems.append(f"{at}: no grid position")
    for variable in dash.get("templating", {}).get("list", []):
        ds_uid = (variable.get("datasource") or {}).get("uid")
        if variable.get("type") == "query" and ds_uid not in datasource_uids:
            problems.append(f"{where}, variable {variable.get('name')!r}: datasource uid {ds_uid!r} not provisioned")
    return problems


def duplicate_uids(dashboards: list[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for dash in dashboards:
        uid = dash.get("uid", "")
        if uid in seen:
            problems.append(f"uid {uid!r} is used by both {seen[uid]!r} and {dash.get('title')!r}")
        seen[uid] = dash.get("title", "")
    return problems
