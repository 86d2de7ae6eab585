"""`loadgen serve`: run the load lab behind waitress, stopping every action on SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from types import FrameType
from typing import Any

from waitress.server import create_server

from loadgen.config import resolve_config
from loadgen.exceptions import ConfigError
from loadgen.instrumentation import Instrumentation
from loadgen.lab import lab
from loadgen.telemetry import Telemetry

log = logging.getLogger("loadgen")
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadgen", description="Heron load lab.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API and control page")
    serve.add_argument("--host", help="bind address (default 127.0.0.1; others need a token)")
    serve.add_argument("--port", type=int, help="bind port (default 8080; 0 picks a free one)")
    serve.add_argument("--disk-dir", help="directory for disk I/O temp files")
    serve.add_argument("--alerts-url", help="alert worker base URL for scenario alert checks")
    serve.add_argument("--grafana-url", help="Grafana URL linked from the control page")
    serve.add_argument("--self-url", help="base URL traffic uses to reach loadgen itself")
    serve.add_argument("--threads", type=int, help="WSGI worker threads (default 16)")
    serve.add_argument("--max-duration-seconds", type=float, help="longest single action")
    serve.add_argument("--max-memory-share", type=float, help="share of available memory actions may hold")
    serve.add_argument("--max-rate", type=float, help="total traffic cap in requests/s")
    return parser


class _LazyApp:
    """WSGI callable bound before the app exists, so port 0 can be resolved first."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        result: Iterable[bytes] = self.app(environ, start_response)
        return result


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def serve(overrides: dict[str, Any]) -> int:
    """Resolve config, start the Heron SDK, bind, serve until SIGTERM/SIGINT, then stop every action and flush."""
    try:
        config = resolve_config(overrides)
    except ConfigError as exc:
        print(f"loadgen: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from heron_stack.jsonbody import MAX_BODY_BYTES
    from loadgen.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    sdk = Instrumentation()
    # Before the app exists, so its first events and logs already go out through Heron's exporters.
    telemetry = Telemetry.shared() if sdk.start(config, os.environ) else None
    lazy = _LazyApp()
    server: Any = create_server(
        lazy, host=config.host, port=config.port, threads=config.threads, max_request_body_size=MAX_BODY_BYTES
    )
    if config.port == 0:
        config = config.model_copy(update={"port": int(server.effective_port)})
    app = create_app(config, telemetry=telemetry)
    lazy.app = app
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    log.info("loadgen listening on http://%s:%s", config.host, config.port)
    print(f"loadgen listening on http://{config.host}:{config.port}", flush=True)
    code = 0
    try:
        server.run()
    except SystemExit as exc:
        code = 0 if exc.code in (128 + signal.SIGTERM, 128 + signal.SIGINT) else int(exc.code or 0)
    finally:
        lab(app).shutdown()
        server.close()
        log.info("loadgen stopped")
        sdk.shutdown()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `loadgen` console script."""
    args = _parser().parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "command" and v is not None}
    return serve(overrides)


if __name__ == "__main__":  # pragma: no cover - `python -m loadgen` runs __main__.py
    raise SystemExit(main())
