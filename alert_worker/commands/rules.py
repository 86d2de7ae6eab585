"""`alert-worker rules check|test|compile|backtest`."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from alert_worker.config import resolve_config
from alert_worker.exceptions import RuleFileError, ShorthandError, SourceError
from alert_worker.rules.backtest import align, backtest
from alert_worker.rules.durations import parse_duration
from alert_worker.rules.loader import load_rule_files
from alert_worker.rules.shorthand import compile_shorthand
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.sources.victorialogs import VictoriaLogsSource


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _logsql_check(args: argparse.Namespace) -> Callable[[str], str | None] | None:
    """The log store's parser for LogsQL rules, or None with --offline (shape checks only).

    Raises SourceError when the store cannot be asked.
    """
    if args.offline:
        return None
    url = resolve_config({"victorialogs_url": args.logs_url}).victorialogs_url
    return VictoriaLogsSource(url, timeout=10).check


def check(args: argparse.Namespace) -> int:
    try:
        groups = load_rule_files([Path(f) for f in args.files], logsql_check=_logsql_check(args))
    except RuleFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"FAILED: {len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    except SourceError as exc:
        print(
            f"rules check: cannot check the LogsQL rules: {exc}\n"
            "Start the log store (heron up), name it with --logs-url, or pass --offline to check their shape only.",
            file=sys.stderr,
        )
        return 2
    rules = sum(len(g.rules) for g in groups)
    print(f"SUCCESS: {len(groups)} group(s), {rules} alerting rule(s) in {len(args.files)} file(s)")
    return 0


def test(args: argparse.Namespace) -> int:
    """Rule unit tests in promtool's format, run by promtool's own PromQL engine."""
    promtool = shutil.which("promtool")
    if promtool is None:
        print(
            "rules test: promtool is not on PATH; install Prometheus' promtool (apt install prometheus)",
            file=sys.stderr,
        )
        return 2
    return subprocess.call([promtool, "test", "rules", *args.files])


def compile_(args: argparse.Namespace) -> int:
    try:
        compiled = compile_shorthand(args.condition)
    except ShorthandError as exc:
        print(f"rules compile: {exc}", file=sys.stderr)
        return 2
    rule = {"alert": args.name, "expr": compiled.expr, "for": compiled.for_text, "labels": {"severity": args.severity}}
    print(yaml.safe_dump([rule], sort_keys=False, width=1000).rstrip())
    return 0


def backtest_cmd(args: argparse.Namespace) -> int:
    config = resolve_config({"prometheus_url": args.prometheus_url})
    files = [Path(f) for f in args.rules] if args.rules else config.rule_paths()
    try:
        groups = load_rule_files(files)
        since = parse_duration(args.since)
    except (RuleFileError, ValueError) as exc:
        print(f"rules backtest: {exc}", file=sys.stderr)
        return 2
    matches = [(g, r) for g in groups for r in g.rules if r.name == args.rule]
    if not matches:
        print(f"rules backtest: no alerting rule named {args.rule!r} in {len(files)} rule file(s)", file=sys.stderr)
        return 2
    if any(g.type == "vlogs" for g, _ in matches):
        print(f"rules backtest: {args.rule} is a LogsQL rule; backtest replays PromQL rules", file=sys.stderr)
        return 2
    end = time.time()
    source = PrometheusSource(config.prometheus_url, timeout=60)
    for group, rule in matches:
        step = parse_duration(args.step) if args.step else group.interval_s
        start, stop = align(end - since, end, step)
        try:
            matrix = source.query_range(rule.expr, start, stop, step)
        except SourceError as exc:
            print(f"rules backtest: {exc}", file=sys.stderr)
            return 1
        episodes = backtest(rule, matrix, start, stop, step)
        print(f"{rule.name} ({rule.source}, for {rule.for_s:g}s, step {step:g}s): {len(episodes)} episode(s)")
        for ep in episodes:
            labels = ",".join(f"{k}={v}" for k, v in sorted(ep.labels.items()) if k != "alertname")
            resolved = _stamp(ep.resolved_at) if ep.resolved_at is not None else "still firing"
            print(f"  fired {_stamp(ep.fired_at)}  resolved {resolved}  {{{labels}}}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = sub.add_parser("rules", help="check, test, compile and backtest alert rules")
    rsub = rules.add_subparsers(dest="rules_cmd", required=True)
    p = rsub.add_parser("check", help="validate rule files; errors as file:line")
    p.add_argument("files", nargs="+")
    p.add_argument(
        "--logs-url", default=None, help="VictoriaLogs that checks LogsQL rules (default HERON_ALERTS_VICTORIALOGS_URL)"
    )
    p.add_argument("--offline", action="store_true", help="check LogsQL rules without the log store (shape only)")
    p.set_defaults(func=check)
    p = rsub.add_parser("test", help="run promtool-format rule unit tests")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=test)
    p = rsub.add_parser("compile", help='compile a shorthand such as "IF CPU > 90%% FOR 5 minutes"')
    p.add_argument("condition")
    p.add_argument("--name", default="HeronShorthandAlert")
    p.add_argument("--severity", default="warning")
    p.set_defaults(func=compile_)
    p = rsub.add_parser("backtest", help="replay a rule over past Prometheus data")
    p.add_argument("rule", help="alert name")
    p.add_argument("--since", default="6h", help="how far back (Prometheus duration, default 6h)")
    p.add_argument("--step", default="", help="evaluation step (default: the group's interval)")
    p.add_argument("--rules", nargs="*", default=[], help="rule files (default: configured rule files)")
    p.add_argument("--prometheus-url", default=None)
    p.set_defaults(func=backtest_cmd)
