"""A real `loadgen serve` process on a free port, with a clean environment."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.fixtures.stack import clean_env
from tests.helpers import wait_for


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[str]
    disk_dir: Path

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def worker_pids(self, module: str) -> list[int]:
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        pids = []
        for child in children:
            try:
                if module in " ".join(child.cmdline()):
                    pids.append(child.pid)
            except psutil.Error:
                continue
        return pids


def start_server(disk_dir: Path, env: Mapping[str, str] | None = None, stderr_path: Path | None = None) -> Server:
    with contextlib.ExitStack() as files:
        stderr = files.enter_context(stderr_path.open("w")) if stderr_path is not None else subprocess.DEVNULL
        proc = subprocess.Popen(
            [sys.executable, "-m", "loadgen.cli", "serve", "--port", "0", "--disk-dir", str(disk_dir)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=clean_env(dict(env or {})),
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening on" in line, f"loadgen did not start: {line!r}"
    url = line.rsplit(" ", 1)[1].strip()
    server = Server(url, proc, disk_dir)
    wait_for(lambda: httpx.get(f"{url}/api/health", timeout=2).status_code == 200, timeout=20, what="loadgen health")
    return server


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)
    if server.proc.stdout is not None:
        server.proc.stdout.close()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def make(
        env: Mapping[str, str] | None = None, disk_dir: Path | None = None, stderr_path: Path | None = None
    ) -> Server:
        server = start_server(disk_dir or tmp_path, env, stderr_path)
        started.append(server)
        return server

    yield make
    for server in started:
        stop_server(server)


@pytest.fixture
def server(make_server: Callable[..., Server]) -> Server:
    return make_server()
