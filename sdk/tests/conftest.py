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


class RecordingServer(ThreadingHTTPServer):
    """Keeps what `_Recorder` saw; `hang` (an Event) stalls POSTs until set."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.seen: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self.hang: threading.Event | None = None


class _Recorder(BaseHTTPRequestHandler):
    """A loopback HTTP server that remembers the headers of each request."""

    server: RecordingServer

    def do_GET(self) -> None:
        self.server.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        self._answer()

    def do_POST(self) -> None:
        self.server.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        hang = self.server.hang
        if hang is not None:
            hang.wait(30)  # a collector that accepts and never answers
        self.server.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self._answer()

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    """A loopback HTTP server.

    `.seen` lists each request's path and lower-cased headers, `.bodies` each POST body; `.hang` (an Event)
    stalls POSTs until set.
    """
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        if server.hang is not None:
            server.hang.set()
        server.shutdown()
        server.server_close()
