"""`heron logs`: search and follow the stack's logs in VictoriaLogs with LogsQL.

heron logs 'service.name:shop error' --since 15m
heron logs '{service.name="heron-loadgen"} event.type:action_started' --limit 20 --json
heron logs 'severity_text:ERROR' --follow
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TextIO

import httpx

from heron_stack import logsql
from heron_stack.config import StackConfig

DURATION = re.compile(r"(\d+)([smhdw])")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_LIMIT = 10_000
SHOWN_FIRST = ("service.name", "host.name", "severity_text")
NOT_SHOWN = {"_time", "_msg", "_stream", *SHOWN_FIRST}


def duration(text: str) -> float:
    """`--since`: a whole number and a unit s, m, h, d or w."""
    match = DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: a whole number and s, m, h, d or w (15m, 2h)")
    return float(int(match.group(1)) * SECONDS[match.group(2)])


def limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of entries from 1 to {MAX_LIMIT}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", nargs="?", default="*", help="a LogsQL query (default: every entry)")
    parser.add_argument("--since", type=duration, default=900.0, metavar="DURATION", help="how far back (15m)")
    parser.add_argument("--limit", type=limit, default=100, metavar="N", help="show the newest N entries (100)")
    parser.add_argument("-f", "--follow", action="store_true", help="then keep printing new entries as they arrive")
    parser.add_argument("--json", action="store_true", help="one JSON object per entry, every field")
    parser.add_argument("--url", help="VictoriaLogs' address (default: the local stack's)")


def format_entry(entry: Mapping[str, str]) -> str:
    """One readable line: time, service@host, severity, message, then the other fields that matter."""
    where = entry.get("service.name", "-") + (f"@{entry['host.name']}" if "host.name" in entry else "")
    extras = [f"{k}={v}" for k, v in sorted(entry.items()) if k not in NOT_SHOWN and _worth_showing(k)]
    parts = [entry.get("_time", "-"), where, entry.get("severity_text", "-"), entry.get("_msg", "")]
    return "  ".join(parts + ([" ".join(extras)] if extras else []))


def _worth_showing(field: str) -> bool:
    return not field.startswith(("telemetry.", "scope.", "code.", "service.instance")) and field != "severity_number"


def run(
    args: argparse.Namespace,
    cfg: StackConfig,
    *,
    client: httpx.Client | None = None,
    out: TextIO | None = None,
    now: Callable[[], float] = time.time,
) -> int:
    if client is None:
        with httpx.Client(timeout=30.0) as own:
            return run(args, cfg, client=own, out=out, now=now)
    base = args.url or cfg.url("victorialogs")
    emit = _emitter(out or sys.stdout, as_json=args.json)
    try:
        start = str(int(now() - args.since))
        found = logsql.query(client, base, args.query, start=start, limit=args.limit)
        _print_all(sorted(found, key=_entry_time), emit)
        if not found and not args.follow:
            print(f"no log entries match {args.query!r} in the last {_since_text(args.since)}", file=sys.stderr)
        if args.follow:
            _print_all(logsql.tail(client, base, args.query), emit)
    except logsql.LogsQLRejected as exc:
        print(f"heron logs: {exc}", file=sys.stderr)
        return 2
    except logsql.LogsQLUnavailable as exc:
        print(f"heron logs: {exc}. Is the stack running? `heron up` starts VictoriaLogs.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def _entry_time(entry: Mapping[str, str]) -> float:
    try:
        return logsql.parse_time(entry["_time"]).timestamp()
    except (KeyError, ValueError):
        return 0.0


def _emitter(out: TextIO, *, as_json: bool) -> Callable[[Mapping[str, str]], None]:
    def emit(entry: Mapping[str, str]) -> None:
        out.write((json.dumps(dict(entry), sort_keys=True) if as_json else format_entry(entry)) + "\n")
        out.flush()

    return emit


def _print_all(entries: Iterable[Mapping[str, str]], emit: Callable[[Mapping[str, str]], None]) -> None:
    for entry in entries:
        emit(entry)


def _since_text(seconds: float) -> str:
    for unit in ("w", "d", "h", "m"):
        if seconds % SECONDS[unit] == 0:
            return f"{int(seconds // SECONDS[unit])}{unit}"
    return f"{int(seconds)}s"
