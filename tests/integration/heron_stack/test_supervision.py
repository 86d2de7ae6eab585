"""A service that dies under `heron up` comes back, and `heron status` counts the restart."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from heron_stack import cli
from heron_stack import environment_variables as ev
from tests.fixtures.stack import StackHandle, start_stack
from tests.helpers import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_only(tmp_path: Path) -> Iterator[StackHandle]:
    handle = start_stack(tmp_path / "state", only=["redis"])
    try:
        yield handle
    finally:
        handle.stack.down()


def _pong(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_a_killed_service_is_restarted_and_counted(
    redis_only: StackHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = redis_only.stack.runner
    supervisor = runner.state("redis").pid
    assert supervisor is not None
    (server,) = psutil.Process(supervisor).children()
    host, port = redis_only.config.host, redis_only.config.port("redis")

    os.kill(server.pid, signal.SIGKILL)  # a crash, not `heron down`

    wait_for(lambda: runner.restarts("redis") == 1, timeout=20, what="the supervisor to count a restart")
    wait_for(lambda: _pong(host, port), timeout=30, what="redis to answer again")
    (again,) = psutil.Process(supervisor).children()
    assert again.pid != server.pid
    log = runner.log_path("redis").read_text()
    assert "heron supervise: redis exited with code -9" in log

    monkeypatch.setenv(ev.HERON_STATE_DIR, str(redis_only.state_dir))
    for name, value in redis_only.config.ports.items():
        monkeypatch.setenv(ev.PORT_VARIABLES[name][0], str(value))
    assert cli.main(["status"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("redis "))
    assert f"running (pid {supervisor})" in line
    assert "1 restart(s)" in line

    # `heron down` stops the service for good: the supervisor does not bring it back.
    redis_only.stack.down()
    wait_for(lambda: not _pong(host, port), timeout=20, what="redis to stop")
    assert not psutil.pid_exists(again.pid) or psutil.Process(again.pid).status() == psutil.STATUS_ZOMBIE
