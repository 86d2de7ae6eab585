"""Real actions in a real `loadgen serve`, measured from outside with psutil."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import psutil
import pytest

from tests.helpers import wait_for
from tests.integration.loadgen.conftest import Server

pytestmark = pytest.mark.integration
MIB = 1024 * 1024


def _action(server: Server, action_id: str) -> dict[str, Any]:
    with server.api() as api:
        body: dict[str, Any] = api.get(f"/api/actions/{action_id}").json()
    return body


def _start(server: Server, kind: str, body: dict[str, Any]) -> str:
    with server.api() as api:
        response = api.post(f"/api/actions/{kind}", json=body)
    assert response.status_code == 201, response.text
    action_id: str = response.json()["action_id"]
    return action_id


def _stop(server: Server, action_id: str) -> None:
    with server.api() as api:
        assert api.delete(f"/api/actions/{action_id}/stop").status_code == 200


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def test_cpu_action_runs_one_worker_per_core_and_they_exit_on_stop(server: Server) -> None:
    action_id = _start(server, "cpu-stress", {"target_percent": 50, "duration_seconds": 60, "cores": 2})

    def two_workers() -> list[int] | None:
        found = server.worker_pids("cpu_worker")
        return found if len(found) == 2 else None

    pids = wait_for(two_workers, timeout=10, what="2 CPU workers")
    wait_for(lambda: _cpu_seconds(pids) > 0.5, timeout=20, what="workers burning CPU")
    wait_for(lambda: _action(server, action_id)["achieved"]["achieved_percent"] > 0, timeout=10, what="achieved CPU")
    _stop(server, action_id)
    wait_for(
        lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids),
        timeout=5,
        what="CPU workers gone",
    )
    assert wait_for(lambda: _action(server, action_id)["status"] == "stopped", timeout=5, what="stopped")


def test_memory_action_grows_resident_memory_and_returns_all_of_it(server: Server) -> None:
    proc = psutil.Process(server.proc.pid)
    baseline = proc.memory_info().rss
    for surge in range(3):  # the allocator keeps freed heap buffers from the second surge on; mappings go back
        action_id = _start(server, "memory-leak", {"size_mb": 200, "duration_seconds": 20, "steps": 2})
        wait_for(lambda: proc.memory_info().rss > baseline + 180 * MIB, timeout=20, what=f"RSS +180 MiB ({surge})")
        with server.api() as api:
            stopped = api.delete(f"/api/actions/{action_id}/stop").json()
        wait_for(lambda a=action_id: _action(server, a)["status"] == "stopped", timeout=10, what="stopped")
        # The stop answers what the action took, and the process is back within 10 % of where it started.
        assert _action(server, action_id)["achieved"]["released_bytes"] >= 200 * MIB, stopped
        wait_for(
            lambda: proc.memory_info().rss <= baseline * 1.10,
            timeout=10,
            what=f"RSS back within 10 % of {baseline / MIB:.0f} MiB after surge {surge}",
        )


def test_disk_action_removes_its_files_when_cancelled(server: Server) -> None:
    action_id = _start(server, "disk-io", {"operations": 1_000_000, "file_size_kb": 64, "pattern": "random"})
    wait_for(lambda: any(server.disk_dir.glob("heron-loadgen-*")), timeout=10, what="work directory")
    wait_for(lambda: _action(server, action_id)["achieved"]["operations_done"] > 10, timeout=10, what="disk ops")
    _stop(server, action_id)
    wait_for(lambda: not any(server.disk_dir.glob("heron-loadgen-*")), timeout=5, what="work directory removed")


def test_traffic_hits_own_endpoints_and_reports_errors_and_latency(server: Server) -> None:
    body = {"requests_per_sec": 200, "duration_seconds": 3, "endpoints": ["/api/demo/ok", "/api/demo/flaky"]}
    action_id = _start(server, "traffic", body)
    done = wait_for(
        lambda: (a := _action(server, action_id))["status"] == "completed" and a, timeout=30, what="traffic done"
    )
    achieved = done["achieved"]
    assert achieved["ok"] > 0
    assert achieved["failed"] > 0  # every tenth flaky call answers 503
    assert achieved["sent"] == achieved["ok"] + achieved["failed"]
    assert achieved["latency_p50_ms"] > 0


def test_sigterm_stops_every_action_and_cleans_up(server: Server) -> None:
    _start(server, "cpu-stress", {"target_percent": 30, "duration_seconds": 60, "cores": 1})
    _start(server, "disk-io", {"operations": 1_000_000, "file_size_kb": 16})
    workers = wait_for(lambda: server.worker_pids("cpu_worker"), timeout=10, what="CPU worker")
    wait_for(lambda: any(server.disk_dir.glob("heron-loadgen-*")), timeout=10, what="work directory")
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(10) == 0
    assert not any(server.disk_dir.glob("heron-loadgen-*"))
    wait_for(
        lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in workers),
        timeout=5,
        what="CPU worker gone",
    )


def test_leftovers_of_a_killed_server_are_swept_on_restart(make_server: Callable[..., Server]) -> None:
    first = make_server()
    _start(first, "disk-io", {"operations": 1_000_000, "file_size_kb": 16})
    wait_for(lambda: any(first.disk_dir.glob("heron-loadgen-*")), timeout=10, what="work directory")
    first.proc.kill()
    first.proc.wait(5)
    assert any(first.disk_dir.glob("heron-loadgen-*"))
    second = make_server(disk_dir=first.disk_dir)
    assert not any(second.disk_dir.glob("heron-loadgen-*"))
    with second.api() as api:
        events = api.get("/api/events").json()["events"]
    assert any(e["type"] == "disk_cleanup" for e in events)
