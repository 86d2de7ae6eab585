"""`heron`: run the local Heron stack and inspect its parts.

heron up            build/install what is missing, start every service, print URLs
heron down          stop exactly what `heron up` started
heron status        one line per service
heron components    one line per component: name, version, path, status
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from heron_stack import components, config, services
from heron_stack.exceptions import ConfigError, HeronStackError
from heron_stack.stack import Stack

SERVICE_NAMES = list(services.START_ORDER)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="heron", description="Run and inspect the local Heron stack.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = sub.add_parser("up", help="start the stack (builds the collector and Loki on first run)")
    up.add_argument(
        "--only",
        nargs="+",
        choices=SERVICE_NAMES,
        metavar="SERVICE",
        help=f"start only these services ({', '.join(SERVICE_NAMES)})",
    )
    sub.add_parser("down", help="stop every service `heron up` started")
    sub.add_parser("status", help="show which services run")
    comp = sub.add_parser("components", help="list the real components and where they come from")
    comp.add_argument("--ensure", action="store_true", help="install or build whatever is missing")
    return parser


def _cmd_up(stack: Stack, only: Sequence[str] | None) -> int:
    results = stack.up(only)
    for result in results:
        state = "started" if result.started else "already running"
        urls = "  ".join(f"{k}={v}" for k, v in result.urls.items())
        print(f"{result.name:<11} {state:<16} {urls}")
    cfg = stack.config
    print()
    print(f"Prometheus:  {cfg.url('prometheus')}")
    print(f"OTLP:        gRPC {cfg.url('otlp_grpc')}   HTTP {cfg.url('otlp_http')}")
    if any(r.name == "loki" for r in results):
        print(f"Loki:        {cfg.url('loki')}")
    print(f"Logs:        {cfg.state_dir / 'logs'}")
    print("Stop with:   make down")
    return 0


def _cmd_status(stack: Stack) -> int:
    any_running = False
    for state in stack.status():
        any_running |= state.running
        label = f"running (pid {state.pid})" if state.running else "stopped"
        print(f"{state.name:<11} {label:<22} log: {state.log}")
    return 0 if any_running else 3


def _cmd_components(cfg: config.StackConfig, ensure: bool) -> int:
    if ensure:
        components.ensure_all(cfg)
    missing = 0
    for comp in components.registry(cfg).values():
        status = comp.locate()
        missing += status.path is None
        print(f"{status.name:<11} {status.version:<10} {status.path or '-'!s:<60} {status.status}")
    return 1 if ensure and missing else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cfg = config.resolve()
        stack = Stack(cfg)
        if args.command == "up":
            return _cmd_up(stack, args.only)
        if args.command == "down":
            stopped = stack.down()
            print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
            return 0
        if args.command == "status":
            return _cmd_status(stack)
        return _cmd_components(cfg, args.ensure)
    except ConfigError as exc:
        print(f"heron: configuration error: {exc}", file=sys.stderr)
        return 2
    except HeronStackError as exc:
        print(f"heron: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
