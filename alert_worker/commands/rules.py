"""`alert-worker rules check|test|compile|backtest`."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from alert_worker.config import resolve_config
from alert_worker.exceptions import RuleFileError, ShorthandError, SourceError
from alert_worker.rules.backtest import align, backtest
from alert_worker.rules.durations import parse_duration
from alert_worker.rules.evaluator import EvalSettings
from alert_worker.rules.expand import ExpandError, Recording, expand, load_recording_rules
from alert_worker.rules.loader import load_rule_files
from alert_worker.rules.logtest import (
    LogTestFileError,
    TenantStore,
    is_log_test_file,
    parse_test_file,
    render_lines,
    run_case,
    start_time,
)
from alert_worker.rules.model import AlertRule, RuleGroup
from alert_worker.rules.shorthand import compile_shorthand
from alert_worker.sources.prometheus import PrometheusSource
from alert_worker.sources.victorialogs import VictoriaLogsSource
from heron_stack.logsql import LogsQLError


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _logs_for_check(args: argparse.Namespace) -> VictoriaLogsSource | None:
    """The log store whose parser checks LogsQL rules, or None with --offline (shape checks only)."""
    if args.offline:
        return None
    return VictoriaLogsSource(resolve_config({"victorialogs_url": args.logs_url}).victorialogs_url, timeout=10)


def check(args: argparse.Namespace) -> int:
    logs = _logs_for_check(args)
    try:
        groups = load_rule_files([Path(f) for f in args.files], logsql_check=logs.check if logs else None)
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
    finally:
        if logs is not None:
            logs.close()
    rules = sum(len(g.rules) for g in groups)
    print(f"SUCCESS: {len(groups)} group(s), {rules} alerting rule(s) in {len(args.files)} file(s)")
    return 0


def test(args: argparse.Namespace) -> int:
    """Rule unit tests: series tests run by promtool's own PromQL engine, log tests by the real log store."""
    status = 0
    series_files = []
    for name in args.files:
        try:
            doc = yaml.safe_load(Path(name).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            print(f"rules test: cannot read {name}: {exc}", file=sys.stderr)
            return 2
        if is_log_test_file(doc):
            status = max(status, _log_tests(Path(name), args))
        else:
            series_files.append(name)
    if not series_files:
        return status
    promtool = shutil.which("promtool")
    if promtool is None:
        print(
            "rules test: promtool is not on PATH; install Prometheus' promtool (apt install prometheus)",
            file=sys.stderr,
        )
        return 2
    return max(status, subprocess.call([promtool, "test", "rules", *series_files]))


def _log_tests(path: Path, args: argparse.Namespace) -> int:
    """Run one `input_logs` test file against the log store; 0 passed, 1 failed, 2 could not run."""
    url = resolve_config({"victorialogs_url": args.logs_url}).victorialogs_url
    try:
        spec = parse_test_file(path)
        groups = load_rule_files([path.parent / f for f in spec.rule_files])
    except (LogTestFileError, RuleFileError) as exc:
        print(f"rules test: {exc}", file=sys.stderr)
        return 2
    groups = [g for g in groups if g.type == "vlogs"]
    print(f"Unit Testing: {path}")
    failed = 0
    for case in spec.tests:
        store = TenantStore(url)
        source = VictoriaLogsSource(url, timeout=30, headers=store.headers)
        try:
            start = start_time(max(c.eval_time for c in case.alert_rule_test), time.time())
            lines = render_lines(case, start)
            store.write(lines)
            store.wait_stored(len(lines))
            failures = run_case(case, groups, source.query, start, spec.evaluation_interval, EvalSettings())
        except (LogsQLError, SourceError, TimeoutError) as exc:
            print(f"rules test: {path}: {case.name or 'test'}: the log store could not run it: {exc}", file=sys.stderr)
            return 2
        finally:
            store.close()
            source.close()
        if failures:
            failed += 1
            print(f"  FAILED: {case.name}".rstrip(), *failures, sep="\n")
    if not failed:
        print("  SUCCESS")
    return 1 if failed else 0


def compile_(args: argparse.Namespace) -> int:
    try:
        compiled = compile_shorthand(args.condition)
    except ShorthandError as exc:
        print(f"rules compile: {exc}", file=sys.stderr)
        return 2
    rule = {"alert": args.name, "expr": compiled.expr, "for": compiled.for_text, "labels": {"severity": args.severity}}
    print(yaml.safe_dump([rule], sort_keys=False, width=1000).rstrip())
    return 0


DEFAULT_RECORDING = "prometheus/recording/*.yml"


def _recording(args: argparse.Namespace) -> list[Recording]:
    paths = [Path(f) for f in args.recording] if args.recording else sorted(Path.cwd().glob(DEFAULT_RECORDING))
    return load_recording_rules(paths)


def backtest_cmd(args: argparse.Namespace) -> int:
    config = resolve_config({"prometheus_url": args.prometheus_url})
    files = [Path(f) for f in args.rules] if args.rules else config.rule_paths()
    try:
        groups = load_rule_files(files)
        since = parse_duration(args.since)
        recording = _recording(args)
    except (RuleFileError, ValueError, OSError, yaml.YAMLError) as exc:
        print(f"rules backtest: {exc}", file=sys.stderr)
        return 2
    matches = [(g, r) for g in groups for r in g.rules if r.name == args.rule]
    if not matches:
        print(f"rules backtest: no alerting rule named {args.rule!r} in {len(files)} rule file(s)", file=sys.stderr)
        return 2
    if any(g.type == "vlogs" for g, _ in matches):
        print(f"rules backtest: {args.rule} is a LogsQL rule; backtest replays PromQL rules", file=sys.stderr)
        return 2
    source = PrometheusSource(config.prometheus_url, timeout=60)
    try:
        return _replay(args, matches, recording, since, source)
    finally:
        source.close()


def _replay(
    args: argparse.Namespace,
    matches: list[tuple[RuleGroup, AlertRule]],
    recording: list[Recording],
    since: float,
    source: PrometheusSource,
) -> int:
    end = time.time()
    for group, raw_rule in matches:
        # Recorded series have no past before their rule was loaded: replay from the raw series instead.
        try:
            rule = dataclasses.replace(raw_rule, expr=expand(raw_rule.expr, recording))
        except ExpandError as exc:
            for problem in exc.problems:
                print(f"rules backtest: {raw_rule.name} ({raw_rule.source}): {problem}", file=sys.stderr)
            print(
                "rules backtest: the recorded series above have no past to replay; nothing was queried", file=sys.stderr
            )
            return 2
        step = parse_duration(args.step) if args.step else group.interval_s
        start, stop = align(end - since, end, step)
        try:
            matrix = source.query_range(rule.expr, start, stop, step)
        except SourceError as exc:
            print(f"rules backtest: {exc}", file=sys.stderr)
            return 1
        episodes = backtest(rule, matrix, start, stop, step)
        inlined = ", recording rules inlined" if rule.expr != raw_rule.expr else ""
        print(f"{rule.name} ({rule.source}, for {rule.for_s:g}s, step {step:g}s{inlined}): {len(episodes)} episode(s)")
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
    p = rsub.add_parser("test", help="run rule unit tests (promtool's format; input_logs for LogsQL rules)")
    p.add_argument("files", nargs="+")
    p.add_argument(
        "--logs-url",
        default=None,
        help="VictoriaLogs that runs input_logs tests (default HERON_ALERTS_VICTORIALOGS_URL)",
    )
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
    p.add_argument(
        "--recording",
        nargs="*",
        default=[],
        help=f"recording rule files to inline into the rule (default {DEFAULT_RECORDING})",
    )
    p.add_argument("--prometheus-url", default=None)
    p.set_defaults(func=backtest_cmd)
