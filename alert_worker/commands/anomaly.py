"""`alert-worker anomaly compile`: anomaly specs to recording rules for Prometheus and alert rules for Heron."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alert_worker.anomaly import compile_files, parse_specs
from alert_worker.anomaly.spec import retention_warnings
from alert_worker.commands.output import current_text, write_output
from alert_worker.exceptions import RuleFileError
from alert_worker.rules.retention import add_retention_option

DEFAULT_SPEC = "prometheus/anomaly/heron-anomaly.yml"
DEFAULT_RECORDING = "prometheus/recording/heron-anomaly.recording.yml"
DEFAULT_RULES = "prometheus/rules/heron-anomaly.rules.yml"


def compile_cmd(args: argparse.Namespace) -> int:
    spec_path = Path(args.spec)
    try:
        parsed = parse_specs(spec_path.read_text(encoding="utf-8"), str(spec_path))
    except OSError as exc:
        print(f"anomaly compile: cannot read {spec_path}: {exc.strerror}", file=sys.stderr)
        return 2
    except RuleFileError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    for line in retention_warnings(parsed.specs, args.retention):
        print(line, file=sys.stderr)
    recording, alerts = compile_files(parsed.specs, parsed.interval_s, args.spec)
    outputs = {Path(args.recording): recording, Path(args.rules): alerts}
    if args.check:
        stale = [str(p) for p, text in outputs.items() if current_text(p) != text]
        if stale:
            hint = "run `alert-worker anomaly compile`"
            print(f"anomaly compile: out of date: {', '.join(stale)}; {hint}", file=sys.stderr)
            return 1
        print(f"up to date: {len(parsed.specs)} anomaly rule(s)")
        return 0
    for path, text in outputs.items():
        if not write_output("anomaly compile", path, text):
            return 2
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    anomaly = sub.add_parser("anomaly", help="compile anomaly rules to recording and alert rules")
    asub = anomaly.add_subparsers(dest="anomaly_cmd", required=True)
    p = asub.add_parser("compile", help="write the recording rules and alert rules of an anomaly file")
    p.add_argument("spec", nargs="?", default=DEFAULT_SPEC)
    p.add_argument("--recording", default=DEFAULT_RECORDING, help="recording rule file Prometheus loads")
    p.add_argument("--rules", default=DEFAULT_RULES, help="alert rule file Heron's engine loads")
    p.add_argument("--check", action="store_true", help="only check the outputs are up to date (exit 1 if not)")
    add_retention_option(p)
    p.set_defaults(func=compile_cmd)
