"""The supervisor's backoff, and readiness that reads only the current run's log."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from heron_stack import supervise
from heron_stack.services import log_contains
from heron_stack.supervise import START_MARKER, Supervisor, main, next_backoff, start_line


@pytest.mark.parametrize(
    ("previous", "ran_for", "expected"),
    [(0.0, 0.5, 1.0), (1.0, 0.5, 2.0), (8.0, 3.0, 16.0), (16.0, 1.0, 30.0), (30.0, 1.0, 30.0), (30.0, 61.0, 1.0)],
)
def test_quick_crashes_back_off_and_a_long_run_starts_over(previous: float, ran_for: float, expected: float) -> None:
    assert next_backoff(previous, ran_for) == expected


def test_an_old_ready_line_does_not_make_a_new_run_ready(tmp_path: Path) -> None:
    log = tmp_path / "alert-worker.log"
    check = log_contains(log, " ready.")
    log.write_text(f"{start_line('alert-worker')}\ncelery@host ready.\nworker: Warm shutdown\n")
    assert check() is None
    with log.open("a") as fh:
        fh.write(f"{start_line('alert-worker')}\nloading rules\n")  # the next `heron up`
    assert check() is not None
    with log.open("a") as fh:
        fh.write("celery@host ready.\n")
    assert check() is None
    assert START_MARKER in log.read_text()


def test_bad_arguments_print_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redis", "/tmp/x"]) == 2
    assert "usage: python -m heron_stack.supervise NAME RESTARTS_FILE -- ARGV" in capsys.readouterr().err


def test_a_stop_that_arrives_while_the_service_starts_still_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`heron down` during a restart: the signal lands before the new child exists, and must not be lost."""
    supervisor = Supervisor("svc", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "restarts")
    real_popen = subprocess.Popen
    started: list[subprocess.Popen[bytes]] = []

    def popen_then_signal(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        supervisor.stop(signal.SIGTERM, None)  # the handler runs before `child` names the new process
        child = real_popen(*args, **kwargs)
        started.append(child)
        return child

    monkeypatch.setattr(supervise.subprocess, "Popen", popen_then_signal)
    runner = threading.Thread(target=supervisor.run)
    runner.start()
    runner.join(timeout=20)
    assert not runner.is_alive(), "the supervisor kept waiting on a service it was told to stop"
    assert [child.returncode for child in started] == [-signal.SIGTERM]
