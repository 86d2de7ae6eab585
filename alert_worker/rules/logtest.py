"""Unit tests for LogsQL rules, in promtool's test-file shape with `input_logs` instead of `input_series`.

    rule_files: [../logs/heron-logs.rules.yml]
    evaluation_interval: 1m
    tests:
      - name: a burst of errors fires
        input_logs:
          - {at: 0m, every: 5s, count: 30, msg: payment declined,
             fields: {service.name: shop, severity_number: "17"}}
        alert_rule_test:
          - eval_time: 4m
            alertname: LogErrorBurst
            exp_alerts:
              - exp_labels: {severity: warning, service_name: shop}

Lines are written to the real log store in a throwaway tenant of their own (random AccountID), with
times counted from a start a few hours ago, then the rules are evaluated at every
`evaluation_interval` up to the last `eval_time` by Heron's own state machine, as promtool does with
Prometheus'. Each evaluation counts the lines of the last `evaluation_interval` unless the
expression has its own `_time:` filter.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alert_worker.rules.durations import format_duration, parse_duration
from alert_worker.rules.evaluator import EvalSettings, Sample, evaluate, match_results, vanished_firing
from alert_worker.rules.model import RuleGroup
from alert_worker.rules.state import RuleState
from heron_stack import logsql


def _seconds(value: Any) -> Any:
    return parse_duration(str(value)) if isinstance(value, str | int) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputLines(_Strict):
    """`count` lines, the first `at` after the start, then one every `every`."""

    at: float = 0.0
    every: float = 1.0
    count: int = Field(default=1, ge=1, le=100_000)
    msg: str = ""
    fields: dict[str, str] = {}

    _durations = field_validator("at", "every", mode="before")(_seconds)

    @field_validator("fields", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else value


class ExpectedAlert(_Strict):
    exp_labels: dict[str, str] = {}
    exp_annotations: dict[str, str] | None = None


class AlertCheck(_Strict):
    eval_time: float
    alertname: str
    exp_alerts: list[ExpectedAlert] = []

    _durations = field_validator("eval_time", mode="before")(_seconds)


class LogTestCase(_Strict):
    name: str = ""
    input_logs: list[InputLines]
    alert_rule_test: list[AlertCheck] = Field(min_length=1)


class LogTestFile(_Strict):
    rule_files: list[str] = Field(min_length=1)
    evaluation_interval: float = 60.0
    tests: list[LogTestCase] = Field(min_length=1)

    _durations = field_validator("evaluation_interval", mode="before")(_seconds)

    @model_validator(mode="after")
    def _on_the_grid(self) -> LogTestFile:
        if self.evaluation_interval <= 0:
            raise ValueError("evaluation_interval must be a positive duration such as 1m")
        for i, case in enumerate(self.tests):
            for j, check in enumerate(case.alert_rule_test):
                if not math.isclose(check.eval_time % self.evaluation_interval, 0.0, abs_tol=1e-9):
                    raise ValueError(
                        f"tests.{i}.alert_rule_test.{j}.eval_time {format_duration(check.eval_time)} is not a "
                        f"multiple of evaluation_interval {format_duration(self.evaluation_interval)}; rules are "
                        "evaluated only at those steps"
                    )
        return self


class LogTestFileError(ValueError):
    """The test file itself is wrong (message names the file and the field)."""


def is_log_test_file(doc: Any) -> bool:
    """Whether a parsed test file feeds logs (Heron's runner) rather than series (promtool's)."""
    tests = doc.get("tests") if isinstance(doc, dict) else None
    return isinstance(tests, list) and any(isinstance(t, dict) and "input_logs" in t for t in tests)


def parse_test_file(path: Path) -> LogTestFile:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        return LogTestFile.model_validate(doc)
    except (OSError, yaml.YAMLError) as exc:
        raise LogTestFileError(f"{path}: cannot read it as YAML: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "file"
        raise LogTestFileError(f"{path}: {where}: {err['msg']} (got {err.get('input')!r})") from exc


@dataclass
class TenantStore:
    """The log store seen through one throwaway tenant: writes lines, runs the rules' stats queries."""

    base_url: str
    account: int = field(default_factory=lambda: 1_000_000 + secrets.randbelow(2**31 - 1_000_000))
    timeout: float = 30.0

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url.rstrip("/"), headers=self.headers, timeout=self.timeout)

    @property
    def headers(self) -> dict[str, str]:
        return {"AccountID": str(self.account), "ProjectID": "0"}

    def close(self) -> None:
        self.client.close()

    def write(self, lines: list[dict[str, str]]) -> None:
        body = "".join(json.dumps(line) + "\n" for line in lines)
        resp = self.client.post("/insert/jsonline", content=body, headers={"Content-Type": "application/stream+json"})
        if resp.status_code >= 400:
            raise logsql.LogsQLRejected(f"the log store refused the test lines ({resp.status_code}): {resp.text[:200]}")

    def wait_stored(self, count: int, deadline_s: float = 30.0) -> None:
        """Return once all `count` lines are searchable (the store makes new lines visible within seconds)."""
        end = time.monotonic() + deadline_s
        seen = 0.0
        while time.monotonic() < end:
            rows = logsql.stats(self.client, self.base_url, "* | stats count() as n")
            seen = rows[0].value if rows else 0.0
            if seen >= count:
                return
            time.sleep(0.2)
        raise TimeoutError(f"only {seen:g} of {count} test lines became searchable in {deadline_s:g}s")


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def render_lines(case: LogTestCase, start: float) -> list[dict[str, str]]:
    return [
        {**block.fields, "_msg": block.msg or "-", "_time": _rfc3339(start + block.at + i * block.every)}
        for block in case.input_logs
        for i in range(block.count)
    ]


Query = Callable[[str, float, float], list[Sample]]


def run_case(
    case: LogTestCase, groups: list[RuleGroup], query: Query, start: float, interval: float, settings: EvalSettings
) -> list[str]:
    """Evaluate every rule at each step up to the last eval_time; the failures, as promtool words them."""
    rules = [(g, r) for g in groups for r in g.rules]
    states: dict[str, RuleState] = {}
    firing_at: dict[tuple[float, str], list[tuple[dict[str, str], dict[str, str]]]] = {}
    checks = {round(c.eval_time / interval) * interval for c in case.alert_rule_test}  # on the grid (checked)
    last = max(checks)
    for step in range(round(last / interval) + 1):
        t = step * interval
        for _group, rule in rules:
            prev = states.get(rule.key, RuleState())
            matched = match_results(rule, query(rule.expr, start + t, interval), settings)
            present = {a.fingerprint: True for a in vanished_firing(prev, matched)}
            states[rule.key] = evaluate(rule, prev, start + t, matched, present, settings).state
            if t in checks:
                for a in states[rule.key].alerts.values():
                    if a.state == "firing":
                        labels = {k: v for k, v in a.labels.items() if k != "alertname"}
                        firing_at.setdefault((t, rule.name), []).append((labels, dict(a.annotations)))
    failures = []
    for check in case.alert_rule_test:
        t = round(check.eval_time / interval) * interval
        got = sorted(firing_at.get((t, check.alertname), []), key=lambda la: sorted(la[0].items()))
        want = check.exp_alerts
        ok = len(got) == len(want) and all(
            any(
                labels == w.exp_labels and (w.exp_annotations is None or annotations == w.exp_annotations)
                for labels, annotations in got
            )
            for w in want
        )
        if not ok:
            failures.append(
                f"    alertname: {check.alertname}, time: {format_duration(check.eval_time)},\n"
                f"        exp:{_show([(w.exp_labels, w.exp_annotations) for w in want])},\n"
                f"        got:{_show(got)}"
            )
    return failures


def _show(alerts: Sequence[tuple[Mapping[str, str], Mapping[str, str] | None]]) -> str:
    shown = []
    for labels, notes in alerts:
        text = "{labels: " + json.dumps(dict(sorted(labels.items())))
        if notes is not None:
            text += ", annotations: " + json.dumps(dict(sorted(notes.items())))
        shown.append(text + "}")
    return "[" + ", ".join(shown) + "]"


def start_time(last_eval_s: float, now: float) -> float:
    """A minute-aligned start far enough back that every line and evaluation lies in the past."""
    return math.floor((now - last_eval_s - 3600.0) / 60.0) * 60.0
