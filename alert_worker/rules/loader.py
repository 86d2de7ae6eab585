"""Load Prometheus rule files (plus Heron's `heron_*` annotations) with `file:line` errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from alert_worker.exceptions import RuleFileError, TemplateError
from alert_worker.rules import model
from alert_worker.rules.durations import parse_duration
from alert_worker.rules.logsql import logsql_shape_problem
from alert_worker.rules.promql import promql_problem
from alert_worker.rules.templating import check_template
from alert_worker.rules.yamlpos import LABEL_NAME, Located, Problems, label_name_problem, load_or_raise
from alert_worker.rules.yamlpos import Path as YPath

LogsQLCheck = Callable[[str], str | None]
"""Asks the log store's own parser about a LogsQL expression: its message when refused, else None."""

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_GROUP_KEYS = {"name", "interval", "rules", "limit", "query_offset", "type"}
_RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}


class _Checker(Problems):
    def __init__(self, filename: str, doc: Located, logsql_check: LogsQLCheck | None = None) -> None:
        super().__init__(filename, doc)
        self.logsql_check = logsql_check

    def expr(self, value: Any, path: YPath, group_type: model.GroupType) -> None:
        language = "LogsQL" if group_type == "vlogs" else "PromQL"
        if not isinstance(value, str | int | float) or not str(value).strip():
            self.error(path, f"expr is required and must be a {language} string")
            return
        text = str(value).strip()
        if group_type == "vlogs":
            problem = logsql_shape_problem(text)
            if problem is None and self.logsql_check is not None:
                problem = self.logsql_check(text)
        else:
            problem = promql_problem(text)
        if problem:
            self.error(path, f"invalid {language} {text[:200]!r}: {problem}")

    def duration(self, value: Any, path: YPath) -> float:
        if value is None:
            return 0.0
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.error(path, str(exc))
            return 0.0

    def str_map(self, value: Any, path: YPath, what: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping of names to strings, got {type(value).__name__}")
            return {}
        out = {}
        for key, item in value.items():
            if problem := label_name_problem(key, what[:-1]):
                self.error((*path, key), problem)
            if isinstance(item, dict | list):
                self.error((*path, key), f"{what[:-1]} value must be a string, got {type(item).__name__}")
                continue
            text = "" if item is None else str(item)
            try:
                check_template(text)
            except TemplateError as exc:
                self.error((*path, key), str(exc))
            out[key] = text
        return out


def _extensions(chk: _Checker, annotations: dict[str, str], path: YPath) -> dict[str, Any]:
    ext: dict[str, Any] = {}
    channels = annotations.get(model.ANNOTATION_CHANNELS)
    if channels is not None:
        names = tuple(c.strip() for c in channels.split(",") if c.strip())
        for name in names:
            if not CHANNEL_NAME.match(name):
                chk.error((*path, model.ANNOTATION_CHANNELS), f"invalid channel name {name!r}; use a-z, 0-9, -, _")
        ext["channels"] = names
    for key, attr in ((model.ANNOTATION_COOLDOWN, "cooldown_s"), (model.ANNOTATION_REPEAT, "repeat_interval_s")):
        if key in annotations:
            ext[attr] = chk.duration(annotations[key], (*path, key))
    no_data = annotations.get(model.ANNOTATION_NO_DATA)
    if no_data is not None:
        if no_data not in {"alert", "resolve"}:
            chk.error((*path, model.ANNOTATION_NO_DATA), f"invalid value {no_data!r}; allowed: alert, resolve")
        else:
            ext["no_data"] = no_data
    anomaly = annotations.get(model.ANNOTATION_ANOMALY)
    if anomaly is not None:
        if not METRIC_NAME.match(anomaly):
            chk.error((*path, model.ANNOTATION_ANOMALY), f"invalid series prefix {anomaly!r}; use anomaly:<name>")
        ext["anomaly"] = anomaly
        ext["anomaly_unit"] = annotations.get(model.ANNOTATION_ANOMALY_UNIT, "")
    return ext


def _rule(chk: _Checker, raw: Any, path: YPath, group: str, group_type: model.GroupType) -> model.AlertRule | None:
    if not isinstance(raw, dict):
        chk.error(path, "a rule must be a mapping with alert/record and expr")
        return None
    for key in sorted(set(raw) - _RULE_KEYS):
        chk.error((*path, key), f"unknown field {key!r}; allowed: {', '.join(sorted(_RULE_KEYS))}")
    if ("alert" in raw) == ("record" in raw):
        chk.error(path, "exactly one of 'alert' or 'record' is required")
        return None
    expr = raw.get("expr")
    chk.expr(expr, (*path, "expr"), group_type)
    if "record" in raw and group_type == "vlogs":
        chk.error((*path, "record"), "recording rules are not supported in `type: vlogs` groups; use alert rules")
        return None
    if "record" in raw:
        if not METRIC_NAME.match(str(raw["record"])):
            chk.error((*path, "record"), f"invalid metric name {raw['record']!r}; use letters, digits, _ and :")
        for key in ("for", "keep_firing_for", "annotations"):
            if key in raw:
                chk.error((*path, key), f"{key!r} is only valid on alerting rules")
        return None
    name = str(raw["alert"])
    if not LABEL_NAME.match(name):
        chk.error((*path, "alert"), f"invalid alert name {name!r}; use letters, digits and _")
    labels = chk.str_map(raw.get("labels"), (*path, "labels"), "labels")
    annotations = chk.str_map(raw.get("annotations"), (*path, "annotations"), "annotations")
    ext = _extensions(chk, annotations, (*path, "annotations"))
    if group_type == "vlogs" and "no_data" in ext:
        chk.error(
            (*path, "annotations", model.ANNOTATION_NO_DATA),
            "not used by `type: vlogs` groups: no matching log lines means the condition is over",
        )
    return model.AlertRule(
        name=name,
        expr=str(expr).strip(),
        group=group,
        for_s=chk.duration(raw.get("for"), (*path, "for")),
        keep_firing_for_s=chk.duration(raw.get("keep_firing_for"), (*path, "keep_firing_for")),
        labels=labels,
        annotations={k: v for k, v in annotations.items() if k not in model.EXTENSION_ANNOTATIONS},
        source=f"{chk.filename}:{chk.doc.line(path)}",
        **ext,
    )


def _group(chk: _Checker, raw: Any, path: YPath, default_interval: float) -> model.RuleGroup | None:
    if not isinstance(raw, dict):
        chk.error(path, "a group must be a mapping with name, interval and rules")
        return None
    for key in sorted(set(raw) - _GROUP_KEYS):
        chk.error((*path, key), f"unknown field {key!r}; allowed: {', '.join(sorted(_GROUP_KEYS))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        chk.error((*path, "name"), "group name is required")
        name = ""
    interval = chk.duration(raw.get("interval"), (*path, "interval")) or default_interval
    group_type: model.GroupType = "prometheus"
    if "type" in raw:
        if raw["type"] in model.GROUP_TYPES:
            group_type = raw["type"]
        else:
            allowed = ", ".join(model.GROUP_TYPES)
            chk.error((*path, "type"), f"unknown group type {raw['type']!r}; allowed: {allowed}")
    rules_raw = raw.get("rules") or []
    if not isinstance(rules_raw, list):
        chk.error((*path, "rules"), "rules must be a list")
        rules_raw = []
    rules = [_rule(chk, r, (*path, "rules", i), name, group_type) for i, r in enumerate(rules_raw)]
    recording = sum(1 for r in rules_raw if isinstance(r, dict) and "record" in r)
    alerting = tuple(r for r in rules if r is not None)
    return model.RuleGroup(name, interval, alerting, chk.filename, recording, group_type)


def parse_rules(
    text: str, filename: str, default_interval: float = 60.0, logsql_check: LogsQLCheck | None = None
) -> list[model.RuleGroup]:
    """Rule groups in `text`; raises RuleFileError listing every problem as `file:line: field: message`.

    LogsQL expressions (`type: vlogs` groups) are checked for shape here, and by `logsql_check`
    (the log store's parser) when given.
    """
    doc = load_or_raise(text, filename)
    chk = _Checker(filename, doc, logsql_check)
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("groups"), list):
        raise RuleFileError([f"{filename}:1: groups: a rule file needs a top-level 'groups' list"])
    for key in sorted(set(doc.data) - {"groups"}):
        chk.error((key,), f"unknown top-level field {key!r}; only 'groups' is allowed")
    groups = [_group(chk, g, ("groups", i), default_interval) for i, g in enumerate(doc.data["groups"])]
    seen: set[str] = set()
    for i, group in enumerate(groups):
        if group is not None and group.name in seen:
            chk.error(("groups", i, "name"), f"duplicate group name {group.name!r}; names must be unique per file")
        if group is not None:
            seen.add(group.name)
    if chk.problems:
        raise RuleFileError(chk.problems)
    return [g for g in groups if g is not None]


def load_rule_files(
    paths: Iterable[Path], default_interval: float = 60.0, logsql_check: LogsQLCheck | None = None
) -> list[model.RuleGroup]:
    """Groups from every file; collects problems across all files before raising."""
    groups: list[model.RuleGroup] = []
    problems: list[str] = []
    names: dict[str, str] = {}
    for path in paths:
        try:
            loaded = parse_rules(path.read_text(encoding="utf-8"), str(path), default_interval, logsql_check)
        except RuleFileError as exc:
            problems.extend(exc.problems)
            continue
        except OSError as exc:
            problems.append(f"{path}:0: cannot read rule file: {exc.strerror}")
            continue
        for group in loaded:
            if group.name in names:
                problems.append(f"{path}:1: group {group.name!r} is also defined in {names[group.name]}; rename one")
            names[group.name] = str(path)
        groups.extend(loaded)
    if problems:
        raise RuleFileError(problems)
    return groups
