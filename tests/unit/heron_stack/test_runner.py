"""The runner starts real (tiny) processes on loopback: pid files, readiness, idempotent up, exact down."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from heron_stack.exceptions import NotReady, PortInUse
from heron_stack.runner import Port, Runner, ServiceSpec
from heron_stack.services import http_ready


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_server(port: int, name: str = "web") -> ServiceSpec:
    return ServiceSpec(
        name=name,
        argv=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        ready=http_ready(f"http://127.0.0.1:{port}/"),
        ports=[Port("127.0.0.1", port, "WEB_PORT")],
    )


def test_up_twice_starts_once_and_down_stops_exactly_that_process(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    spec = http_server(_free_port())
    try:
        assert runner.start(spec, timeout=20) is True
        pid = runner.state("web").pid
        assert runner.start(spec, timeout=20) is False
        assert runner.state("web").pid == pid
        assert runner.state("web").running
    finally:
        assert runner.stop("web") is True
    assert not runner.state("web").running
    assert runner.known() == []
    assert runner.stop("web") is False


def test_a_taken_port_is_reported_with_service_port_and_variable(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUse) as info:
            Runner(tmp_path).start(http_server(port), timeout=5)
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message
    assert "web" in message
    assert "WEB_PORT" in message


def test_a_service_that_exits_at_start_fails_fast_with_its_log(tmp_path: Path) -> None:
    spec = ServiceSpec(
        name="broken",
        argv=[sys.executable, "-c", "import sys; print('bad flag --nope'); sys.exit(3)"],
        ready=lambda: "never",
    )
    with pytest.raises(NotReady) as info:
        Runner(tmp_path).start(spec, timeout=30)
    assert "exited with code 3" in str(info.value)
    assert "bad flag --nope" in str(info.value)


def test_stop_all_survives_a_stale_pid_file(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    runner.run_dir.mkdir(parents=True)
    (runner.run_dir / "ghost.json").write_text('{"pid": 999999, "argv0": "ghost"}')
    assert runner.stop_all([]) == []
    assert runner.known() == []
