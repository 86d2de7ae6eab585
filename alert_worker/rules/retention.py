"""How far back a rule reads against how long Prometheus keeps samples.

A query over more than the retention answers from the samples that are left, silently: a 28-day error
ratio over 15 days of data overstates the budget, a seasonal mean over weeks that are gone averages fewer
weeks. `alert-worker slo` and `alert-worker anomaly compile` warn with the lines below.
"""

from __future__ import annotations

import argparse

from alert_worker.rules.durations import format_duration, parse_duration
from heron_stack.stack_table import PROMETHEUS_RETENTION

ADVICE = "raise Prometheus' --storage.tsdb.retention.time or query a long-retention store (Thanos, VictoriaMetrics)"


def retention_arg(text: str) -> float:
    """argparse type of `--retention`: a Prometheus duration above zero, in seconds."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a duration above zero, such as 35d")
    return seconds


def add_retention_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--retention",
        type=retention_arg,
        default=parse_duration(PROMETHEUS_RETENTION),
        help=f"how long the Prometheus queried keeps samples; warn when a rule reads further back "
        f"(default {PROMETHEUS_RETENTION}, the retention Heron ships)",
    )


def beyond(needed_s: float, retention_s: float) -> str | None:
    """`"longer than Prometheus' retention 35d"` when `needed_s` exceeds `retention_s`, else None."""
    if needed_s <= retention_s:
        return None
    return f"longer than Prometheus' retention {format_duration(retention_s)}"
