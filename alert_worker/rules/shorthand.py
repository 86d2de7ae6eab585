"""Compile the shorthand `IF CPU > 90% FOR 5 minutes [BY host_name]` into a PromQL alert rule.

Grammar (case-insensitive keywords):
    IF <metric> <op> <threshold>[%|ms|s] [FOR <n> <unit>] [BY <label>[, <label>...]] [WHERE <label>="<v>"[, ...]]
`metric` is an alias from `METRICS` (CPU, MEMORY, SWAP, DISK, LOAD, NETWORK_ERRORS, ERROR_RATE, LATENCY_P95)
or a raw Prometheus metric name. Percent thresholds become ratios because Heron's metrics are ratios.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alert_worker.exceptions import ShorthandError
from alert_worker.rules.durations import format_duration

_UNIT_SECONDS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
}  # fmt: skip


@dataclass(frozen=True)
class MetricAlias:
    """A PromQL template (`{sel}` = extra matchers, `{by}` = grouping labels) and its unit."""

    template: str
    default_by: tuple[str, ...]
    unit: str  # "ratio" (percent thresholds allowed), "seconds", "count"


METRICS: dict[str, MetricAlias] = {
    "CPU": MetricAlias(
        '1 - avg by ({by}) (system_cpu_utilization_ratio{{cpu_mode="idle"{sel}}})', ("host_name",), "ratio"
    ),
    "MEMORY": MetricAlias(
        'sum by ({by}) (system_memory_utilization_ratio{{system_memory_state="used"{sel}}})', ("host_name",), "ratio"
    ),
    "SWAP": MetricAlias(
        'sum by ({by}) (system_paging_utilization_ratio{{system_paging_state="used"{sel}}})', ("host_name",), "ratio"
    ),
    "DISK": MetricAlias(
        'max by ({by}) (system_filesystem_utilization_ratio{{system_filesystem_state="used"{sel}}})',
        ("host_name", "system_device", "system_filesystem_mountpoint"),
        "ratio",
    ),
    "LOAD": MetricAlias(
        "max by ({by}) (system_cpu_load_average_1m{{{sel0}}}) / max by ({by}) (system_cpu_logical_count{{{sel0}}})",
        ("host_name",),
        "count",
    ),
    "NETWORK_ERRORS": MetricAlias(
        "sum by ({by}) (rate(system_network_errors_total{{{sel0}}}[5m]))",
        ("host_name", "network_interface_name"),
        "count",
    ),
    "ERROR_RATE": MetricAlias(
        'sum by ({by}) (rate(http_server_request_duration_seconds_count{{http_response_status_code=~"5.."{sel}}}[5m]))'
        " / sum by ({by}) (rate(http_server_request_duration_seconds_count{{{sel0}}}[5m]))",
        ("service_name",),
        "ratio",
    ),
    "LATENCY_P95": MetricAlias(
        "histogram_quantile(0.95, sum by (le, {by}) (rate(http_server_request_duration_seconds_bucket{{{sel0}}}[5m])))",
        ("service_name",),
        "seconds",
    ),
}
_ALIASES = {"MEM": "MEMORY", "RAM": "MEMORY", "FILESYSTEM": "DISK", "ERRORS": "ERROR_RATE", "P95": "LATENCY_P95"}

_GRAMMAR = re.compile(
    r"^\s*IF\s+(?P<metric>[A-Za-z_:][A-Za-z0-9_:]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*"
    r"(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>%|ms|s)?"
    r"(?:\s+FOR\s+(?P<for_n>\d+)\s*(?P<for_u>[A-Za-z]+))?"
    r"(?:\s+BY\s+(?P<by>[A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*))?"
    r"(?:\s+WHERE\s+(?P<where>.+?))?\s*$",
    re.IGNORECASE,
)
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')


@dataclass(frozen=True)
class CompiledShorthand:
    """The PromQL expression and `for` duration a shorthand compiles to."""

    expr: str
    for_s: float

    @property
    def for_text(self) -> str:
        return format_duration(self.for_s)


def _threshold(num: str, unit: str | None, alias: MetricAlias | None, text: str) -> str:
    value = float(num)
    if unit == "%":
        if alias is not None and alias.unit != "ratio":
            raise ShorthandError(f"{text!r}: a percent threshold needs a ratio metric; drop the % sign")
        value /= 100
    elif unit == "ms":
        value /= 1000
    return f"{value:g}"


def _where(clause: str | None, text: str) -> list[str]:
    if not clause:
        return []
    out = []
    for part in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", clause):
        m = _MATCHER.match(part)
        if not m:
            raise ShorthandError(f'{text!r}: WHERE expects label="value" matchers, got {part.strip()!r}')
        out.append(f'{m.group(1)}{m.group(2)}"{m.group(3)}"')
    return out


def compile_shorthand(text: str) -> CompiledShorthand:
    """PromQL for `text`; raises ShorthandError naming the part that did not parse."""
    m = _GRAMMAR.match(text)
    if not m:
        raise ShorthandError(
            f"{text!r} is not a shorthand condition; expected "
            "'IF <METRIC> <op> <threshold>[%] [FOR <n> minutes] [BY label,...] [WHERE label=\"v\"]'"
        )
    name = m.group("metric")
    alias = METRICS.get(_ALIASES.get(name.upper(), name.upper()))
    for_s = 0.0
    if m.group("for_n"):
        unit = m.group("for_u").lower()
        if unit not in _UNIT_SECONDS:
            raise ShorthandError(f"{text!r}: unknown FOR unit {unit!r}; use seconds, minutes or hours")
        for_s = float(int(m.group("for_n")) * _UNIT_SECONDS[unit])
    matchers = _where(m.group("where"), text)
    threshold = _threshold(m.group("num"), m.group("unit"), alias, text)
    op = m.group("op")
    by = tuple(b.strip() for b in m.group("by").split(",")) if m.group("by") else None
    if alias is None:
        selector = name + (f"{{{', '.join(matchers)}}}" if matchers else "")
        left = f"max by ({', '.join(by)}) ({selector})" if by else selector
        return CompiledShorthand(f"{left} {op} {threshold}", for_s)
    sel = "".join(f", {x}" for x in matchers)
    left = alias.template.format(by=", ".join(by or alias.default_by), sel=sel, sel0=", ".join(matchers))
    if " / " in left and not left.startswith("("):
        left = f"({left})"
    if left.startswith("1 - "):
        left = f"({left})"
    return CompiledShorthand(f"{left} {op} {threshold}", for_s)
