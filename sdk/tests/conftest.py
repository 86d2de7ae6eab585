"""Heron SDK unit tests: a clean environment, internal errors raised, and Heron stopped after each test."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from heron._internal import runtime


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("OTEL_", "HERON_")) and name != "OTEL_SEMCONV_STABILITY_OPT_IN":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HERON_SDK_RAISE_INTERNAL", "1")
    yield
    runtime.stop(1.0)


class _Recorder(BaseHTTPRequestHandler):
    """A loopback HTTP server that remembers the headers of each request."""

    seen: list[dict[str, str]]
    hang: threading.Event | None = None

    def do_GET(self) -> None:
        self.server.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})  # type: ignore[attr-defined]
        self._answer()

    def do_POST(self) -> None:
        self.server.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})  # type: ignore[attr-defined]
        hang = self.server.hang  # type: ignore[attr-defined]
        if hang is not None:
            hang.wait(30)  # a collector that accepts and never answers
        self.server.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))  # type: ignore[attr-defined]
        self._answer()

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def http_server() -> Iterator[ThreadingHTTPServer]:
    """A loopback HTTP server.

    `.seen` lists each request's path and lower-cased headers, `.bodies` each POST body; `.hang` (an Event)
    stalls POSTs until set.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen = []  # type: ignore[attr-defined]
    server.bodies = []  # type: ignore[attr-defined]
    server.hang = None  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        if server.hang is not None:  # type: ignore[attr-defined]
            server.hang.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()
