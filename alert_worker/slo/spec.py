"""Load SLO spec files (Sloth's shape) with errors as `file:line: field: message`.

```yaml
version: heron/v1
service: shop
slos:
  - name: availability
    objective: 99.9            # percent of good events
    window: 28d                # 28d or 30d
    sli:
      http: availability       # shorthand over the SDK's HTTP metrics (or `latency` with `under: 250ms`)
  - name: checkout
    objective: 99.5
    window: 30d
    sli:
      events:                  # or good_query + total_query
        error_query: sum(rate(shop_checkout_total{result="error"}[{{.window}}]))
        total_query: sum(rate(shop_checkout_total[{{.window}}]))
    alerting:
      name: ShopCheckoutBudgetBurn
      labels: {team: payments}
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from alert_worker.exceptions import RuleFileError
from alert_worker.rules.durations import parse_duration
from alert_worker.rules.promql import promql_problem
from alert_worker.rules.retention import ADVICE, beyond
from alert_worker.rules.yamlpos import Path, Problems, label_name_problem, load_or_raise
from alert_worker.slo import sli

VERSIONS = ("heron/v1", "prometheus/v1")
"""`prometheus/v1` is Sloth's version string: its files with `sli.events` load as they are (window 30d
when not given, as in Sloth)."""
WINDOWS: Mapping[str, float] = {"28d": 28 * 86400.0, "30d": 30 * 86400.0}
NAME = re.compile(r"^[a-z0-9]([a-z0-9_.-]*[a-z0-9])?$")
ALERT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABELS = frozenset({"service_name", "slo", "severity", "alertname"})
_TOP_KEYS = {"version", "service", "labels", "slos", "interval", "budget_interval"}
_SLO_KEYS = {"name", "objective", "window", "description", "sli", "alerting", "labels"}
_ALERTING_KEYS = {"name", "labels", "annotations", "page_alert", "ticket_alert"}


@dataclass(frozen=True)
class Alerting:
    """Names and labels of the page and ticket alerts of one SLO."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    page_labels: Mapping[str, str] = field(default_factory=dict)
    ticket_labels: Mapping[str, str] = field(default_factory=dict)
    page: bool = True
    ticket: bool = True


@dataclass(frozen=True)
class SLO:
    """One objective of one service: `objective` of `events` good over `window`."""

    service: str
    name: str
    objective: float  # ratio: 99.9 % -> 0.999
    window: str
    events: sli.Events
    alerting: Alerting
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def window_s(self) -> float:
        return WINDOWS[self.window]

    @property
    def objective_percent(self) -> str:
        return f"{self.objective * 100:.10g}"

    @property
    def selector(self) -> str:
        """The label matchers that pick this SLO's recorded series."""
        return f'{{service_name="{self.service}", slo="{self.name}"}}'


@dataclass(frozen=True)
class SpecFile:
    """A spec file: its SLOs and how often their rules run."""

    path: str
    service: str
    slos: tuple[SLO, ...]
    interval: str = "30s"
    budget_interval: str = "1m"


def _camel(text: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^a-zA-Z0-9]+", text) if p)


class _Checker(Problems):
    def unknown(self, raw: Mapping[str, Any], allowed: set[str], path: Path) -> None:
        for key in sorted(set(raw) - allowed):
            self.error((*path, key), f"unknown field {key!r}; allowed: {', '.join(sorted(allowed))}")

    def mapping(self, raw: Any, path: Path, what: str) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.error(path, f"{what} must be a mapping, got {type(raw).__name__} {raw!r}")
            return {}
        return raw

    def labels(self, raw: Any, path: Path) -> dict[str, str]:
        out = {}
        for key, value in self.mapping(raw, path, "labels").items():
            if problem := label_name_problem(key):
                self.error((*path, key), problem)
            elif key in RESERVED_LABELS:
                self.error(
                    (*path, key), f"label {key!r} is set by Heron; reserved: {', '.join(sorted(RESERVED_LABELS))}"
                )
            elif isinstance(value, dict | list) or value is None:
                self.error((*path, key), f"label value must be a string, got {value!r}")
            else:
                out[key] = str(value)
        return out

    def interval(self, raw: Mapping[str, Any], key: str, default: str) -> str:
        value = raw.get(key, default)
        try:
            if parse_duration(str(value)) <= 0:
                raise ValueError(f"invalid duration {value!r}; use a positive Prometheus duration such as 30s or 1m")
        except ValueError as exc:
            self.error((key,), str(exc))
            return default
        return str(value)

    def objective(self, raw: Any, path: Path) -> float:
        allowed = "allowed: a percentage above 0 and below 100, such as 99.9"
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            self.error(path, f"objective {raw!r} is not a number; {allowed}")
            return 0.0
        if not 0 < raw < 100:
            self.error(path, f"objective {raw!r} is out of range; {allowed}")
            return 0.0
        return round(float(raw) / 100, 12)

    def window(self, raw: Any, path: Path) -> str:
        allowed = f"allowed: {', '.join(WINDOWS)}"
        if raw is None or str(raw).strip() == "":
            self.error(path, f"window is required; {allowed}")
            return "28d"
        if str(raw) not in WINDOWS:
            self.error(path, f"window {raw!r} is not supported; {allowed}")
            return "28d"
        return str(raw)

    def promql(self, events: sli.Events, path: Path) -> None:
        for name, text in (("error", events.error), ("total", events.total)):
            problem = promql_problem(text.replace(sli.WINDOW, "5m"))
            if problem:
                self.error(path, f"the {name} query {text[:200]!r} is not valid PromQL: {problem}")


def _http_sli(chk: _Checker, raw: dict[str, Any], path: Path, service: str) -> sli.Events | None:
    chk.unknown(raw, {"http", "under", "filter"}, path)
    kind = raw.get("http")
    filter_ = str(raw.get("filter") or "")
    if kind not in sli.HTTP_KINDS:
        chk.error((*path, "http"), f"unknown SLI shorthand {kind!r}; allowed: {', '.join(sli.HTTP_KINDS)}")
        return None
    if kind == "availability":
        if "under" in raw:
            chk.error((*path, "under"), "'under' is only valid with `http: latency`")
        return sli.http_availability(service, filter_)
    allowed = "allowed (the SDK's histogram buckets): " + ", ".join(map(sli.bucket_ms, sli.SDK_DURATION_BUCKETS_S))
    try:
        under_s = parse_duration(str(raw.get("under", "")))
    except ValueError:
        chk.error((*path, "under"), f"latency threshold {raw.get('under')!r} is not a duration; {allowed}")
        return None
    if not any(abs(under_s - b) < 1e-9 for b in sli.SDK_DURATION_BUCKETS_S):
        chk.error((*path, "under"), f"latency threshold {raw.get('under')!r} is not a bucket boundary; {allowed}")
        return None
    return sli.http_latency(service, under_s, filter_)


def _event_sli(chk: _Checker, raw: Any, path: Path) -> sli.Events | None:
    events = chk.mapping(raw, path, "events")
    chk.unknown(events, {"error_query", "good_query", "total_query"}, path)
    if ("error_query" in events) == ("good_query" in events) or "total_query" not in events:
        chk.error(path, "events needs total_query and exactly one of error_query or good_query")
        return None
    for key in sorted(events):
        if sli.WINDOW not in str(events[key]):
            chk.error((*path, key), f"the query must use {sli.WINDOW} as its range, as in rate(x[{sli.WINDOW}])")
            return None
    total = str(events["total_query"]).strip()
    if "error_query" in events:
        return sli.Events(str(events["error_query"]).strip(), total)
    return sli.from_good(str(events["good_query"]).strip(), total)


def _sli(chk: _Checker, raw: Any, path: Path, service: str) -> sli.Events | None:
    body = chk.mapping(raw, path, "sli")
    if not body:
        chk.error(path, "sli is required: `http: availability`, `http: latency` with `under`, or `events`")
        return None
    if "http" in body:
        events = _http_sli(chk, body, path, service)
    else:
        chk.unknown(body, {"events", "http"}, path)
        events = _event_sli(chk, body.get("events"), (*path, "events")) if "events" in body else None
        if "events" not in body:
            chk.error(path, "sli needs `http` (availability or latency) or `events`")
    if events is not None:
        chk.promql(events, path)
    return events


def _alerting(chk: _Checker, raw: Any, path: Path, default_name: str) -> Alerting:
    body = chk.mapping(raw, path, "alerting")
    chk.unknown(body, _ALERTING_KEYS, path)
    name = str(body.get("name") or default_name)
    if not ALERT_NAME.match(name):
        chk.error((*path, "name"), f"invalid alert name {name!r}; use letters, digits and _")
    sides: dict[str, tuple[bool, dict[str, str]]] = {}
    for side in ("page_alert", "ticket_alert"):
        sub = chk.mapping(body.get(side), (*path, side), side)
        chk.unknown(sub, {"disable", "labels"}, (*path, side))
        sides[side] = (not bool(sub.get("disable", False)), chk.labels(sub.get("labels"), (*path, side, "labels")))
    annotations = {
        str(k): str(v) for k, v in chk.mapping(body.get("annotations"), (*path, "annotations"), "annotations").items()
    }
    return Alerting(
        name=name,
        labels=chk.labels(body.get("labels"), (*path, "labels")),
        annotations=annotations,
        page=sides["page_alert"][0],
        page_labels=sides["page_alert"][1],
        ticket=sides["ticket_alert"][0],
        ticket_labels=sides["ticket_alert"][1],
    )


def _slo(chk: _Checker, raw: Any, path: Path, service: str, labels: Mapping[str, str]) -> SLO | None:
    if not isinstance(raw, dict):
        chk.error(path, "an SLO must be a mapping with name, objective, window and sli")
        return None
    chk.unknown(raw, _SLO_KEYS, path)
    name = str(raw.get("name") or "")
    if not NAME.match(name):
        chk.error((*path, "name"), f"invalid SLO name {name!r}; use lower-case letters, digits, -, _ and .")
    objective = chk.objective(raw.get("objective"), (*path, "objective"))
    sloth_default = "window" not in raw and chk.doc.data.get("version") == "prometheus/v1"
    window = "30d" if sloth_default else chk.window(raw.get("window"), (*path, "window"))
    events = _sli(chk, raw.get("sli"), (*path, "sli"), service)
    alerting = _alerting(chk, raw.get("alerting"), (*path, "alerting"), f"{_camel(service)}{_camel(name)}BudgetBurn")
    if events is None:
        return None
    own = {**labels, **chk.labels(raw.get("labels"), (*path, "labels"))}
    source = f"{chk.filename}:{chk.doc.line(path)}"
    return SLO(service, name, objective, window, events, alerting, str(raw.get("description") or ""), own, source)


def parse_spec(text: str, filename: str) -> SpecFile:
    """The SLOs in `text`; raises RuleFileError listing every problem as `file:line: field: message`."""
    doc = load_or_raise(text, filename)
    chk = _Checker(filename, doc)
    if not isinstance(doc.data, dict):
        raise RuleFileError([f"{filename}:1: an SLO spec is a mapping with version, service and slos"])
    raw = doc.data
    chk.unknown(raw, _TOP_KEYS, ())
    if raw.get("version") not in VERSIONS:
        chk.error(("version",), f"unknown version {raw.get('version')!r}; allowed: {', '.join(VERSIONS)}")
    service = str(raw.get("service") or "")
    if not service or '"' in service or "\\" in service:
        chk.error(("service",), f"service {raw.get('service')!r} must be the service.name of the app, such as shop")
    labels = chk.labels(raw.get("labels"), ("labels",))
    slos_raw = raw.get("slos")
    if not isinstance(slos_raw, list) or not slos_raw:
        chk.error(("slos",), "slos must be a non-empty list")
        slos_raw = []
    slos = [_slo(chk, s, ("slos", i), service, labels) for i, s in enumerate(slos_raw)]
    names = [s.name for s in slos if s is not None]
    for i, slo in enumerate(slos):
        if slo is not None and names.count(slo.name) > 1:
            chk.error(("slos", i, "name"), f"duplicate SLO name {slo.name!r}; names must be unique per service")
    interval = chk.interval(raw, "interval", "30s")
    budget_interval = chk.interval(raw, "budget_interval", "1m")
    if chk.problems:
        raise RuleFileError(chk.problems)
    return SpecFile(filename, service, tuple(s for s in slos if s is not None), interval, budget_interval)


def load_specs(paths: list[FsPath]) -> list[SpecFile]:
    """Every file's spec; collects problems across files before raising."""
    specs: list[SpecFile] = []
    problems: list[str] = []
    for path in paths:
        try:
            specs.append(parse_spec(path.read_text(encoding="utf-8"), str(path)))
        except RuleFileError as exc:
            problems.extend(exc.problems)
        except OSError as exc:
            problems.append(f"{path}:0: cannot read SLO spec: {exc.strerror}")
    seen: dict[tuple[str, str], str] = {}
    for spec in specs:
        for slo in spec.slos:
            key = (slo.service, slo.name)
            if key in seen:
                problems.append(
                    f"{slo.source}: SLO {slo.service}/{slo.name} is also defined at {seen[key]}; rename one"
                )
            seen[key] = slo.source
    if problems:
        raise RuleFileError(problems)
    return specs


def retention_warnings(specs: list[SpecFile], retention_s: float) -> list[str]:
    """One line per SLO whose window reaches past `retention_s`: its ratio would cover less than the window."""
    out = []
    for spec in specs:
        for slo in spec.slos:
            if too_long := beyond(slo.window_s, retention_s):
                out.append(
                    f"{slo.source}: window: warning: SLO {slo.service}/{slo.name} window {slo.window} is {too_long}; "
                    f"its error ratio covers only the samples kept, so the budget left is overstated; {ADVICE}"
                )
    return out
