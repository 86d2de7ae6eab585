"""The runner starts real (tiny) processes on loopback: pid files, readiness, idempotent up, exact down."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from heron_stack.exceptions import NotReady, PortInUse
from heron_stack.runner import Port, Runner, ServiceSpec
from heron_stack.services import http_ready
from tests.helpers import wait_for


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


def test_a_service_that_ignores_sigterm_is_killed_and_its_log_says_so(tmp_path: Path) -> None:
    port = _free_port()
    code = (
        "import signal, sys, http.server; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()"
    )
    spec = ServiceSpec(
        name="stubborn", argv=[sys.executable, "-c", code], ready=http_ready(f"http://127.0.0.1:{port}/")
    )
    runner = Runner(tmp_path)
    runner.start(spec, timeout=20)
    assert runner.stop("stubborn", timeout=1) is True
    assert not runner.state("stubborn").running
    assert "stubborn did not stop within 1s of SIGTERM; sent SIGKILL" in runner.log_path("stubborn").read_text()


def test_a_service_that_stops_on_sigterm_leaves_no_kill_line(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    runner.start(http_server(_free_port()), timeout=20)
    assert runner.stop("web") is True
    assert "SIGKILL" not in runner.log_path("web").read_text()


def test_stop_signals_a_service_once_so_a_second_sigterm_cannot_cut_its_shutdown_short(tmp_path: Path) -> None:
    """Like VictoriaLogs: the first SIGTERM starts a clean shutdown, a second one kills it at once."""
    port, done = _free_port(), tmp_path / "shut-down-cleanly"
    code = (
        "import signal, sys, time, http.server\n"
        "def on_term(*_):\n"
        "    signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
        "    time.sleep(1)\n"
        f"    open({str(done)!r}, 'w').write('ok')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        f"http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()\n"
    )
    spec = ServiceSpec(name="careful", argv=[sys.executable, "-c", code], ready=http_ready(f"http://127.0.0.1:{port}/"))
    runner = Runner(tmp_path)
    runner.start(spec, timeout=20)
    assert runner.stop("careful") is True
    assert done.exists(), "the service was killed halfway through its shutdown"


def test_processes_a_service_leaves_behind_in_its_group_are_stopped_with_it(tmp_path: Path) -> None:
    port, orphan_pid = _free_port(), tmp_path / "orphan.pid"
    code = (
        "import subprocess, sys, http.server\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(orphan_pid)!r}, 'w').write(str(child.pid))\n"
        f"http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()\n"
    )
    spec = ServiceSpec(name="parent", argv=[sys.executable, "-c", code], ready=http_ready(f"http://127.0.0.1:{port}/"))
    runner = Runner(tmp_path)
    runner.start(spec, timeout=20)
    pid = int(orphan_pid.read_text())
    assert runner.stop("parent") is True

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")

    assert wait_for(gone, timeout=10, what="the process the service left behind to end")
