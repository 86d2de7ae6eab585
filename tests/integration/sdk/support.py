"""Process and file helpers for the SDK integration tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_rows(directory: Path, prefix: str) -> list[dict]:
    rows = []
    for path in sorted(directory.glob(f"{prefix}-*.jsonl")):
        rows.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return rows


def started(directory: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(directory.glob("started-*.json"))]


@contextmanager
def process(
    cmd: list[str], env: dict[str, str], log_path: Path, ready_url: str | None = None
) -> Iterator[subprocess.Popen]:
    """Run `cmd` with its output in `log_path`; SIGTERM (then SIGKILL) on exit."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        if ready_url:
            wait_for(
                lambda: (
                    (proc.poll() is None and httpx.get(ready_url, timeout=2).status_code < 500) or _dead(proc, log_path)
                ),
                timeout=60,
                what=f"{cmd[2] if len(cmd) > 2 else cmd[0]} to answer {ready_url}",
            )
        yield proc
    finally:
        stop(proc)


def _dead(proc: subprocess.Popen, log_path: Path) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"process exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
    return False


def stop(proc: subprocess.Popen, timeout: float = 30) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    return proc.returncode


PYTHON = sys.executable
