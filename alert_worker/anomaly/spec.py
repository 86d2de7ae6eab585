"""The `anomaly` rule kind: its fields, defaults and validation with `file:line` errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from alert_worker.exceptions import RuleFileError, TemplateError
from alert_worker.rules.durations import format_duration, parse_duration
from alert_worker.rules.model import SEVERITIES
from alert_worker.rules.promql import promql_problem
from alert_worker.rules.retention import ADVICE, beyond
from alert_worker.rules.templating import check_template
from alert_worker.rules.yamlpos import Path as YPath
from alert_worker.rules.yamlpos import Problems, label_name_problem, load_or_raise

Direction = Literal["above", "below", "both"]
DIRECTIONS: tuple[Direction, ...] = ("above", "below", "both")
UNIT_KINDS = ("ratio", "seconds")
"""Units formatted specially in messages (percent, durations); any other text is printed after the number."""

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ALERT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_LABELS = {
    "severity": "use the rule's `severity` field",
    "alertname": "use the rule's `alert` field",
}
"""Labels the compiled alert sets itself, and where to set them instead."""
_FILE_KEYS = {"interval", "anomalies"}
_KEYS = {
    "kind", "name", "alert", "expr", "subject", "unit", "direction", "z", "min_abs", "min_rel", "window", "warmup",
    "seasonal_weeks", "for", "severity", "labels",
}  # fmt: skip
MAX_SEASONAL_WEEKS = 8
WEEK_S = 7 * 86400.0


@dataclass(frozen=True)
class AnomalySpec:
    """One anomaly rule: alert when `expr` is `z` standard deviations off its usual value.

    The usual value is the mean of the same hour of the week over the last `seasonal_weeks` weeks
    when that history exists, else the mean over the trailing `window`. No alert fires before the
    trailing window holds `warmup` worth of samples, nor when the deviation is below `min_abs` or below
    `min_rel` times the usual value.
    """

    name: str
    alert: str
    expr: str
    subject: str
    unit: str = ""
    direction: Direction = "both"
    z: float = 4.0
    min_abs: float = 0.0
    min_rel: float = 0.0
    window_s: float = 3600.0
    warmup_s: float = 1800.0
    seasonal_weeks: int = 3
    for_s: float = 180.0
    severity: str = "warning"
    labels: tuple[tuple[str, str], ...] = ()
    source: str = ""

    @property
    def history_s(self) -> float:
        """How far back the baseline reads: `seasonal_weeks` weeks plus half a window (the centred window)."""
        return max(self.window_s, self.seasonal_weeks * WEEK_S + self.window_s / 2)

    @property
    def prefix(self) -> str:
        """Name prefix of the recorded series: `anomaly:<name>:value`, `...:avg`, ..."""
        return f"anomaly:{self.name}"


class _Fields(Problems):
    def number(self, raw: dict[str, Any], key: str, path: YPath, default: float, *, minimum: float) -> float:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error((*path, key), f"invalid value {value!r}; {key} must be a number >= {minimum:g}")
            return default
        if value < minimum:
            self.error((*path, key), f"invalid value {value!r}; {key} must be >= {minimum:g}")
            return default
        return float(value)

    def duration(self, raw: dict[str, Any], key: str, path: YPath, default: float, *, positive: bool) -> float:
        if key not in raw:
            return default
        try:
            value = parse_duration(str(raw[key]))
        except ValueError as exc:
            self.error((*path, key), str(exc))
            return default
        if positive and value <= 0:
            self.error((*path, key), f"invalid value {raw[key]!r}; {key} must be a duration above zero, e.g. 1h")
            return default
        return value

    def labels(self, raw: Any, path: YPath) -> tuple[tuple[str, str], ...]:
        if not isinstance(raw, dict):
            self.error(path, "labels must be a mapping of names to strings")
            return ()
        for key, value in raw.items():
            if problem := label_name_problem(key):
                self.error((*path, key), problem)
            elif key in RESERVED_LABELS:
                self.error((*path, key), f"label {key!r} is set by Heron; {RESERVED_LABELS[key]}")
            if isinstance(value, dict | list):
                self.error((*path, key), f"label value must be a string, got {type(value).__name__}")
        return tuple(sorted((str(k), str(v)) for k, v in raw.items()))

    def template(self, value: str, path: YPath) -> None:
        try:
            check_template(value)
        except TemplateError as exc:
            self.error(path, str(exc))


def _spec(f: _Fields, raw: Any, path: YPath) -> AnomalySpec | None:
    if not isinstance(raw, dict):
        f.error(path, "an anomaly rule must be a mapping with name, alert, expr and subject")
        return None
    for key in sorted(set(raw) - _KEYS):
        f.error((*path, key), f"unknown field {key!r}; allowed: {', '.join(sorted(_KEYS))}")
    kind = raw.get("kind", "anomaly")
    if kind != "anomaly":
        f.error((*path, "kind"), f"unknown rule kind {kind!r}; allowed: anomaly")
    name = str(raw.get("name", ""))
    if not NAME.match(name):
        f.error((*path, "name"), f"invalid name {name!r}; use lower-case letters, digits and _ (it names the series)")
    alert = str(raw.get("alert", ""))
    if not ALERT_NAME.match(alert):
        f.error((*path, "alert"), f"invalid alert name {alert!r}; use letters, digits and _")
    expr = raw.get("expr")
    if not isinstance(expr, str) or not expr.strip():
        f.error((*path, "expr"), "expr is required and must be a PromQL string")
        expr = ""
    elif problem := promql_problem(expr.strip()):
        f.error((*path, "expr"), f"invalid PromQL {expr.strip()[:200]!r}: {problem}")
    subject = raw.get("subject", name)
    if not isinstance(subject, str) or not subject.strip():
        f.error((*path, "subject"), "subject must be a non-empty string such as '{{ $labels.service_name }} requests'")
        subject = name
    f.template(subject, (*path, "subject"))
    direction = raw.get("direction", "both")
    if direction not in DIRECTIONS:
        f.error((*path, "direction"), f"invalid value {direction!r}; allowed: {', '.join(DIRECTIONS)}")
        direction = "both"
    weeks = raw.get("seasonal_weeks", 3)
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 0 <= weeks <= MAX_SEASONAL_WEEKS:
        allowed = f"use a whole number from 0 to {MAX_SEASONAL_WEEKS}"
        f.error((*path, "seasonal_weeks"), f"invalid value {weeks!r}; {allowed}")
        weeks = 0
    window = f.duration(raw, "window", path, 3600.0, positive=True)
    warmup = f.duration(raw, "warmup", path, min(1800.0, window), positive=False)
    if warmup > window:
        f.error((*path, "warmup"), f"warmup {raw.get('warmup')!r} is longer than window; it must fit in the window")
    labels = f.labels(raw.get("labels") or {}, (*path, "labels"))
    severity = raw.get("severity", "warning")
    if severity not in SEVERITIES:
        f.error((*path, "severity"), f"invalid value {severity!r}; allowed: {', '.join(SEVERITIES)}")
        severity = "warning"
    return AnomalySpec(
        name=name,
        alert=alert,
        expr=str(expr).strip(),
        subject=subject,
        unit=str(raw.get("unit", "")),
        direction=direction,
        z=f.number(raw, "z", path, 4.0, minimum=0.5),
        min_abs=f.number(raw, "min_abs", path, 0.0, minimum=0.0),
        min_rel=f.number(raw, "min_rel", path, 0.0, minimum=0.0),
        window_s=window,
        warmup_s=warmup,
        seasonal_weeks=weeks,
        for_s=f.duration(raw, "for", path, 180.0, positive=False),
        severity=str(severity),
        labels=labels,
        source=f"{f.filename}:{f.doc.line(path)}",
    )


@dataclass(frozen=True)
class AnomalyFile:
    """A file of anomaly rules and the interval Prometheus records their baseline at."""

    interval_s: float
    specs: tuple[AnomalySpec, ...]


def parse_specs(text: str, filename: str) -> AnomalyFile:
    """The anomaly rules in `text`; raises RuleFileError listing every problem as `file:line: field: message`."""
    doc = load_or_raise(text, filename)
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("anomalies"), list):
        raise RuleFileError([f"{filename}:1: anomalies: an anomaly file needs a top-level 'anomalies' list"])
    f = _Fields(filename, doc)
    for key in sorted(set(doc.data) - _FILE_KEYS):
        f.error((key,), f"unknown top-level field {key!r}; allowed: {', '.join(sorted(_FILE_KEYS))}")
    interval = f.duration(doc.data, "interval", (), 30.0, positive=True)
    specs = [_spec(f, raw, ("anomalies", i)) for i, raw in enumerate(doc.data["anomalies"])]
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        if spec is None:
            continue
        if spec.name in seen:
            f.error(("anomalies", i, "name"), f"duplicate name {spec.name!r}; names must be unique per file")
        seen.add(spec.name)
        if spec.window_s < 2 * interval:
            shown = format_duration(spec.window_s)
            f.error(
                ("anomalies", i, "window"),
                f"invalid value {shown!r}; window must hold at least two samples (twice the file's interval)",
            )
    if f.problems:
        raise RuleFileError(f.problems)
    return AnomalyFile(interval, tuple(s for s in specs if s is not None))


def retention_warnings(specs: tuple[AnomalySpec, ...], retention_s: float) -> list[str]:
    """One line per rule whose baseline reads further back than `retention_s`."""
    out = []
    for spec in specs:
        too_long = beyond(spec.history_s, retention_s)
        if too_long is None:
            continue
        window, back = format_duration(spec.window_s), format_duration(spec.history_s)
        if spec.seasonal_weeks:
            what = f"seasonal_weeks: warning: anomaly {spec.name!r} seasonal_weeks {spec.seasonal_weeks}"
            effect = "its seasonal mean silently averages only the weeks still kept"
            what += f" (window {window}) reads back {back}, {too_long}"
        else:
            what = f"window: warning: anomaly {spec.name!r} window {window} reads back {back}, {too_long}"
            effect = "its trailing mean covers only the samples kept"
        out.append(f"{spec.source}: {what}; {effect}; {ADVICE}")
    return out
