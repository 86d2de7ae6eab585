"""`otel-agent`: run the host agent, print one cycle (`--once`), or validate the configuration."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

import msgspec

from otel_agent.agent import Agent
from otel_agent.config import AgentConfig, resolve_config
from otel_agent.exceptions import ConfigError
from otel_agent.exporting import make_log_handler, make_resource
from otel_agent.render import render_json, render_text

_log = logging.getLogger("otel_agent")
EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="otel-agent", description="Heron host agent: host metrics over OTLP.")
    p.add_argument("command", nargs="?", choices=["run", "check-config"], default="run", help="default: run")
    p.add_argument("--config", help="YAML config file (also HERON_AGENT_CONFIG)")
    p.add_argument("--endpoint", help="OTLP base URL, e.g. http://localhost:4318")
    p.add_argument("--protocol", choices=["http/protobuf", "grpc"], help="OTLP protocol (default http/protobuf)")
    p.add_argument("--interval", type=float, help="seconds between collections, 1 to 3600 (default 10)")
    p.add_argument("--root", help="host root to read /proc and /sys under (default /)")
    p.add_argument("--source", choices=["auto", "procfs", "psutil"], help="where readings come from")
    p.add_argument("--naming", choices=["semconv", "hostmetrics"], help="metric naming dialect")
    p.add_argument("--service-name", help="service.name resource attribute (default otel-agent)")
    p.add_argument("--processes-top-n", type=int, help="report the N busiest processes (default 0: off)")
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--once", action="store_true", help="collect once, print every data point and exit")
    p.add_argument("--json", action="store_true", help="with --once: print JSON instead of text")
    return p


def _cli_values(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "export.endpoint": args.endpoint,
        "export.protocol": args.protocol,
        "interval": args.interval,
        "root": args.root,
        "source": args.source,
        "naming": args.naming,
        "resource.service_name": args.service_name,
        "processes.top_n": args.processes_top_n,
        "log_level": args.log_level,
    }


def _describe(config: AgentConfig) -> str:
    data = msgspec.to_builtins(config)
    data["export"]["headers"] = dict.fromkeys(config.export.headers, "<redacted>")
    data["export"]["metrics_url"] = config.export.metrics_url()
    return json.dumps(data, indent=2)


def _print(text: str) -> int:
    try:
        print(text)
    except BrokenPipeError:  # `otel-agent --once | head` is fine; keep the exit-time flush from failing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli = _cli_values(args)
    try:
        config = resolve_config(cli, os.environ, args.config)
    except ConfigError as exc:
        print(f"otel-agent: invalid configuration\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check-config":
        return _print(_describe(config))
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _log.setLevel(config.log_level)
    if config.log_level != "DEBUG":
        # The exporters log every retry; the agent already logs one line per outage and one on recovery.
        logging.getLogger("opentelemetry.exporter.otlp").setLevel(logging.ERROR)
    if args.once:
        agent = Agent(config)
        cycle = agent.collect()
        return _print(render_json(cycle, agent.resource_attributes) if args.json else render_text(cycle))
    return _run(config, cli, args.config)


def _run(config: AgentConfig, cli: dict[str, Any], config_file: str | None) -> int:
    agent = Agent(config)
    handler = make_log_handler(config.export, make_resource(agent.resource_attributes))
    if handler is not None:
        logging.getLogger("otel_agent").addHandler(handler[0])
    stop, reload_requested = threading.Event(), threading.Event()

    def on_stop(signum: int, _frame: FrameType | None) -> None:
        _log.info("received signal %d; flushing and stopping", signum)
        stop.set()

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        reload_requested.set()  # applied before the next cycle

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, on_hup)

    def reload() -> AgentConfig | None:
        if not reload_requested.is_set():
            return None
        reload_requested.clear()
        try:
            return resolve_config(cli, os.environ, config_file)
        except ConfigError as exc:
            _log.error("reload rejected, keeping the running configuration:\n%s", exc)
            return None

    # Start-up objects (modules, config, caches) live forever: keep the collector from rescanning them.
    gc.freeze()
    agent.run(stop, reload)
    if handler is not None:
        logging.getLogger("otel_agent").removeHandler(handler[0])
        handler[1].shutdown()
    return 0
