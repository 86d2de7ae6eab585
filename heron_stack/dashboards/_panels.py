"""Small typed helpers over grafana-foundation-sdk so each dashboard reads like a list of panels.

Every panel gets a title, a description, a unit, bounds where they carry meaning, and its queries;
the structural checks in `checks.py` hold every generated dashboard to that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from grafana_foundation_sdk.builders import dashboard, logs, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.common import StackingConfig
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models.common import LogsSortOrder, StackingMode
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

PROMETHEUS_UID = "heron-prometheus"
LOGS_UID = "heron-logs"
LOGS_TYPE = "victoriametrics-logs-datasource"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)
LOGS = DataSourceRef(type_val=LOGS_TYPE, uid=LOGS_UID)


class LogsQLQuery(cogbuilder.Builder[cogvariants.Dataquery]):
    """A LogsQL query of the VictoriaLogs datasource plugin (the typed SDK has no builder for it)."""

    def __init__(self, expr: str, ref_id: str = "A") -> None:
        self.expr, self.ref_id = expr, ref_id

    def build(self) -> cogvariants.Dataquery:
        return UnknownDataquery(
            {
                "refId": self.ref_id,
                "datasource": {"type": LOGS_TYPE, "uid": LOGS_UID},
                "editorMode": "code",
                "expr": self.expr,
                "queryType": "instant",
            }
        )


@dataclass(frozen=True)
class Q:
    """One PromQL query and its legend."""

    expr: str
    legend: str = ""
    instant: bool = False


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    """Absolute thresholds: (None, "green") is the base step, then (value, color) ascending."""
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=v, color=c) for v, c in steps])
    )


GREEN_YELLOW_RED_70_90 = thresholds((None, "green"), (0.7, "yellow"), (0.9, "red"))


def anomaly_steps(z: float) -> dashboard.ThresholdsConfig:
    """Red beyond ±z standard deviations: where the anomaly rules fire."""
    return thresholds((None, "red"), (-z, "green"), (z, "red"))


def _prom_targets(queries: Sequence[Q]) -> list[prometheus.Dataquery]:
    targets = []
    for index, query in enumerate(queries):
        target = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + index)).datasource(PROMETHEUS)
        if query.legend:
            target = target.legend_format(query.legend)
        target = target.instant().format(PromQueryFormat.TABLE) if query.instant else target.range()
        targets.append(target)
    return targets


PromPanel = TypeVar("PromPanel", timeseries.Panel, stat.Panel, table.Panel)


def _prom_panel(
    panel: PromPanel,
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Q],
    *,
    size: tuple[int, int],
    steps: dashboard.ThresholdsConfig | None,
    min_val: float | None,
    max_val: float | None,
) -> PromPanel:
    """The parts every Prometheus panel has: title, description, unit, bounds, thresholds, queries."""
    panel = panel.title(title).description(description).unit(unit).datasource(PROMETHEUS)
    panel = panel.span(size[0]).height(size[1]).thresholds(steps or thresholds((None, "green")))
    if min_val is not None:
        panel = panel.min(min_val)
    if max_val is not None:
        panel = panel.max(max_val)
    for target in _prom_targets(queries):
        panel = panel.with_target(target)
    return panel


def ts(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Q],
    *,
    min_val: float | None = 0,
    max_val: float | None = None,
    width: int = 12,
    height: int = 8,
    stack: bool = False,
    steps: dashboard.ThresholdsConfig | None = None,
) -> timeseries.Panel:
    panel = timeseries.Panel().line_width(1).fill_opacity(10)
    if stack:
        panel = panel.stacking(StackingConfig().mode(StackingMode.NORMAL))
    return _prom_panel(
        panel, title, description, unit, queries, size=(width, height), steps=steps, min_val=min_val, max_val=max_val
    )


def single(
    title: str,
    description: str,
    unit: str,
    query: Q,
    *,
    steps: dashboard.ThresholdsConfig | None = None,
    min_val: float | None = None,
    max_val: float | None = None,
    width: int = 4,
    height: int = 4,
) -> stat.Panel:
    return _prom_panel(
        stat.Panel(),
        title,
        description,
        unit,
        [query],
        size=(width, height),
        steps=steps,
        min_val=min_val,
        max_val=max_val,
    )


def grid(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Q],
    *,
    steps: dashboard.ThresholdsConfig | None = None,
    width: int = 24,
    height: int = 8,
) -> table.Panel:
    instant = [Q(q.expr, q.legend, instant=True) for q in queries]
    return _prom_panel(
        table.Panel(), title, description, unit, instant, size=(width, height), steps=steps, min_val=None, max_val=None
    )


def log_panel(title: str, description: str, logsql: str, *, width: int = 24, height: int = 10) -> logs.Panel:
    return (
        logs.Panel()
        .title(title)
        .description(description)
        .datasource(LOGS)
        .span(width)
        .height(height)
        .show_time(True)
        .wrap_log_message(True)
        .sort_order(LogsSortOrder.DESCENDING)
        .with_target(LogsQLQuery(logsql))
    )


def host_variable(metric: str = "system_uptime_seconds") -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable("host")
        .label("Host")
        .datasource(PROMETHEUS)
        .query(f"label_values({metric}, host_name)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def label_variable(name: str, title: str, metric: str, label: str, *, multi: bool = True) -> dashboard.QueryVariable:
    """A variable `name` listing the values of `label` on `metric` (e.g. service -> service_name)."""
    variable = (
        dashboard.QueryVariable(name)
        .label(title)
        .datasource(PROMETHEUS)
        .query(f"label_values({metric}, {label})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        variable = variable.multi(True).include_all(True).all_value(".*")
    return variable


def base(title: str, uid: str, description: str, tags: Sequence[str] = ()) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["heron", *tags])
        .refresh("10s")
        .time("now-30m", "now")
        .timezone("browser")
        .editable()
    )
