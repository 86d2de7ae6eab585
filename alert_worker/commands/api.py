"""`alert-worker api`: serve the alert API (loopback by default; bearer token required elsewhere)."""

from __future__ import annotations

import argparse

import waitress

from alert_worker import telemetry
from alert_worker.api import create_app
from alert_worker.config import resolve_config
from heron_stack.jsonbody import MAX_BODY_BYTES


def serve(args: argparse.Namespace) -> int:
    config = resolve_config({"api_host": args.host, "api_port": args.port})
    app = create_app(config)
    telemetry.setup()
    waitress.serve(
        app,
        host=config.api_host,
        port=config.api_port,
        threads=8,
        ident="heron-alerts",
        max_request_body_size=MAX_BODY_BYTES,
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("api", help="serve the alert HTTP API")
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 9097)")
    p.set_defaults(func=serve)
