"""`alert-worker slo check|generate|status`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from alert_worker.commands.output import current_text, write_output
from alert_worker.config import resolve_config
from alert_worker.exceptions import RuleFileError, SourceError
from alert_worker.rules.loader import parse_rules
from alert_worker.rules.retention import add_retention_option
from alert_worker.slo.generate import Generated, generate
from alert_worker.slo.spec import SpecFile, load_specs, retention_warnings
from alert_worker.slo.status import fetch_status, format_status, status_json
from alert_worker.sources.prometheus import PrometheusSource

DEFAULT_SPECS = "prometheus/slo/*.slo.yml"


def _spec_paths(files: list[str]) -> list[Path]:
    if files:
        return [Path(f) for f in files]
    return sorted(Path.cwd().glob(DEFAULT_SPECS))


def _load(files: list[str], cmd: str) -> list[SpecFile] | None:
    paths = _spec_paths(files)
    if not paths:
        print(f"slo {cmd}: no SLO spec files given and none match {DEFAULT_SPECS}", file=sys.stderr)
        return None
    try:
        return load_specs(paths)
    except RuleFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"FAILED: {len(exc.problems)} problem(s)", file=sys.stderr)
        return None


def outputs(spec_path: Path, recording_dir: Path | None, rules_dir: Path | None) -> tuple[Path, Path]:
    """Where a spec's rules go: `X.slo.yml` -> `<recording_dir>/X.slo.yml` and `<rules_dir>/X.slo.rules.yml`.

    By default beside the spec's folder (prometheus/slo -> prometheus/recording, prometheus/rules).
    """
    stem = spec_path.name.removesuffix(".yml").removesuffix(".yaml").removesuffix(".slo")
    root = spec_path.parent.parent
    return (recording_dir or root / "recording") / f"{stem}.slo.yml", (
        rules_dir or root / "rules"
    ) / f"{stem}.slo.rules.yml"


def spec_label(path: Path) -> str:
    """The spec's path as the generated header names it: relative to the current directory (the project
    root, where `alert-worker slo generate` runs) when inside it, else as given."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def compile_spec(spec: SpecFile) -> Generated:
    path = Path(spec.path)
    generated = generate(spec, spec_label(path))
    parse_rules(generated.alerts, f"{path} (generated alert rules)")  # Heron's own loader must accept them
    return generated


def _warn_retention(specs: list[SpecFile], retention_s: float) -> None:
    for line in retention_warnings(specs, retention_s):
        print(line, file=sys.stderr)


def check(args: argparse.Namespace) -> int:
    specs = _load(args.files, "check")
    if specs is None:
        return 1
    _warn_retention(specs, args.retention)
    for spec in specs:
        compile_spec(spec)
        for slo in spec.slos:
            print(f"{slo.service}/{slo.name}: {slo.objective_percent}% over {slo.window}, alert {slo.alerting.name}")
    count = sum(len(s.slos) for s in specs)
    print(f"SUCCESS: {count} SLO(s) in {len(specs)} file(s)")
    return 0


def generate_cmd(args: argparse.Namespace) -> int:
    specs = _load(args.files, "generate")
    if specs is None:
        return 1
    _warn_retention(specs, args.retention)
    stale = []
    for spec in specs:
        generated = compile_spec(spec)
        recording, rules = outputs(Path(spec.path), args.recording_dir, args.rules_dir)
        for path, text in ((recording, generated.recording), (rules, generated.alerts)):
            if current_text(path) == text:
                continue
            if args.check:
                stale.append(path)
                continue
            if not write_output("slo generate", path, text):
                return 2
    if stale:
        for path in stale:
            print(
                f"{path} differs from its spec; run `alert-worker slo generate` and commit the result", file=sys.stderr
            )
        return 1
    return 0


def status(args: argparse.Namespace) -> int:
    specs = _load(args.files, "status")
    if specs is None:
        return 1
    source = PrometheusSource(resolve_config({"prometheus_url": args.prometheus_url}).prometheus_url, timeout=30)
    at = time.time()
    try:
        found = [fetch_status(slo, lambda e: source.query(e, at)) for spec in specs for slo in spec.slos]
    except SourceError as exc:
        print(f"slo status: {exc}", file=sys.stderr)
        return 2
    finally:
        source.close()
    if args.json:
        print(json.dumps([status_json(s) for s in found], indent=2))
    else:
        print("\n\n".join(format_status(s) for s in found))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    slo = sub.add_parser("slo", help="SLOs: check specs, generate their rules, show budgets and burn rates")
    ssub = slo.add_subparsers(dest="slo_cmd", required=True)
    files_help = f"SLO spec files (default {DEFAULT_SPECS})"
    p = ssub.add_parser("check", help="validate SLO specs; errors as file:line: field: message")
    p.add_argument("files", nargs="*", help=files_help)
    add_retention_option(p)
    p.set_defaults(func=check)
    p = ssub.add_parser("generate", help="write recording rules (Prometheus) and alert rules (Heron) for each spec")
    p.add_argument("files", nargs="*", help=files_help)
    p.add_argument("--recording-dir", type=Path, default=None, help="default: recording/ beside the spec's folder")
    p.add_argument("--rules-dir", type=Path, default=None, help="default: rules/ beside the spec's folder")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file is out of date")
    add_retention_option(p)
    p.set_defaults(func=generate_cmd)
    p = ssub.add_parser("status", help="each SLO's error budget left, burn rates and time to exhaustion")
    p.add_argument("files", nargs="*", help=files_help)
    p.add_argument("--prometheus-url", default=None)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=status)
