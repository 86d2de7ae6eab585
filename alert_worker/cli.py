"""The `alert-worker` console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alert_worker.commands import anomaly, rules, run, silences, slo
from alert_worker.exceptions import ConfigError, RuleFileError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alert-worker", description="Heron alert engine")
    sub = parser.add_subparsers(dest="command", required=True)
    rules.register(sub)
    anomaly.register(sub)
    silences.register(sub)
    run.register(sub)
    slo.register(sub)
    try:
        from alert_worker.commands import api as api_cmd

        api_cmd.register(sub)
    except ImportError:
        pass
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except ConfigError as exc:
        print(f"alert-worker: bad configuration: {exc}", file=sys.stderr)
        return 2
    except RuleFileError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
