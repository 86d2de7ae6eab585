"""A shipped scenario, time-compressed, in a real server, checked against a fake alert worker over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.integration.loadgen.conftest import Server

pytestmark = pytest.mark.integration


# The alert worker's shape: name in labels.alertname, state pending|firing.
FIRING = (
    {"labels": {"alertname": "LoadlabCpuSpike", "severity": "warning"}, "state": "firing"},
    {"labels": {"alertname": "LoadlabTrafficSurge"}, "state": "pending"},
)


class _AlertApi(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"alerts": list(FIRING)}).encode() if self.path == "/api/alerts/active" else b"{}"
        self.send_response(200 if self.path == "/api/alerts/active" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def alert_api() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _AlertApi)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_ddos_scenario_runs_its_phases_and_reports_alerts(make_server: Callable[..., Server], alert_api: str) -> None:
    server = make_server({"HERON_LOADGEN_ALERTS_URL": alert_api})
    with server.api() as api:
        run = api.post("/api/scenarios/ddos-attack/start", json={"speed": 20}).json()
        assert run["status"] == "running"
        assert {a["name"] for a in run["alerts"]} == {"LoadlabTrafficSurge", "LoadlabErrorRate", "LoadlabCpuSpike"}

        def last_run() -> dict[str, Any]:
            body: dict[str, Any] = api.get("/api/scenarios/ddos-attack").json()["last_run"]
            return body

        done = wait_for(lambda: (r := last_run())["status"] == "completed" and r, timeout=60, what="scenario done")
        assert done["skipped_steps"] == []
        kinds = {api.get(f"/api/actions/{i}").json()["type"] for i in done["action_ids"]}
        assert kinds == {"traffic", "cpu-stress"}
        fired = {a["name"]: a["fired"] for a in done["alerts"]}
        assert fired == {"LoadlabTrafficSurge": False, "LoadlabErrorRate": False, "LoadlabCpuSpike": True}
        phases = [
            e["attributes"]["phase"] for e in api.get("/api/events").json()["events"] if e["type"] == "scenario_phase"
        ]
        assert phases == [
            "Normal operations",
            "Attack begins",
            "Peak attack intensity",
            "Mitigation kicks in",
            "Back to normal",
        ]
        wait_for(lambda: not api.get("/api/actions/active").json()["actions"], timeout=15, what="actions finished")
