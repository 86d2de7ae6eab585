"""Scenario runs through the API: timeline, pause / resume / stop, expected alerts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from loadgen.lab import lab
from loadgen.scenarios.alerts import AlertSourceError, HttpAlertSource, alert_names
from tests.helpers import wait_for
from tests.unit.loadgen.conftest import FakeAlerts, make_app


@pytest.fixture
def alerts() -> FakeAlerts:
    return FakeAlerts()


@pytest.fixture
def alert_app(tmp_path: Any, alerts: FakeAlerts) -> Iterator[Flask]:
    application = make_app(tmp_path, alerts=alerts)
    lab(application).runner._alert_poll = 0.1  # poll fast in tests
    yield application
    lab(application).shutdown()


def _run(client: FlaskClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/api/scenarios/tiny").get_json()["last_run"]
    return body


def test_catalog_and_timeline(client: FlaskClient) -> None:
    listed = client.get("/api/scenarios").get_json()["scenarios"]
    assert [s["id"] for s in listed] == ["tiny"]
    detail = client.get("/api/scenarios/tiny").get_json()
    assert [p["name"] for p in detail["phases"]] == ["calm", "storm"]
    assert detail["last_run"] is None
    assert client.get("/api/scenarios/nope").status_code == 404


def test_run_walks_the_timeline_and_completes(client: FlaskClient) -> None:
    started = client.post("/api/scenarios/tiny/start", json={"speed": 20})
    assert started.status_code == 201
    assert started.get_json()["status"] == "running"
    assert client.post("/api/scenarios/tiny/start", json={}).status_code == 409
    done = wait_for(lambda: _run(client)["status"] == "completed" and _run(client), timeout=15, what="completion")
    assert done["progress"] == 1.0
    assert len(done["action_ids"]) == 2
    kinds = {client.get(f"/api/actions/{i}").get_json()["type"] for i in done["action_ids"]}
    assert kinds == {"cpu-stress", "traffic"}
    phases = [e["attributes"].get("phase") for e in client.get("/api/events").get_json()["events"]]
    assert [p for p in phases if p] == ["calm", "storm"]
    assert client.get("/api/scenarios/running").get_json()["scenarios"] == []


class ManualClock:
    """The scenario runner's monotonic clock, moved only by the test."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_pause_stops_actions_and_resume_restarts_them(app: Flask, client: FlaskClient) -> None:
    clock = ManualClock()
    # Scenario time (the runner's clock, which the API reads through the engine's) moves only when the test says so.
    lab(app).runner._clock = lab(app).engine._clock = clock
    client.post("/api/scenarios/tiny/start", json={"speed": 1})
    clock.t += 2.0
    wait_for(lambda: _run(client)["action_ids"], timeout=5, what="first action")
    paused = client.post("/api/scenarios/tiny/pause", json={})
    assert paused.get_json()["status"] == "paused"
    wait_for(lambda: not client.get("/api/actions/active").get_json()["actions"], timeout=5, what="actions stopped")
    assert _run(client)["elapsed_seconds"] == 2.0
    clock.t += 100.0  # a long pause: the timeline does not move while paused
    assert _run(client)["elapsed_seconds"] == 2.0
    assert client.post("/api/scenarios/tiny/pause", json={}).status_code == 409
    resumed = client.post("/api/scenarios/tiny/resume", json={}).get_json()
    assert resumed["status"] == "running"
    assert resumed["elapsed_seconds"] == 2.0
    assert resumed["current_phase"] == "calm"
    active = client.get("/api/actions/active").get_json()["actions"]
    assert [a["type"] for a in active] == ["cpu-stress"]
    clock.t += 3.0
    assert _run(client)["elapsed_seconds"] == 5.0  # after the resume it moves on from where it stopped
    stopped = client.delete("/api/scenarios/tiny/stop").get_json()
    assert stopped["status"] == "stopped"
    wait_for(lambda: not client.get("/api/actions/active").get_json()["actions"], timeout=5, what="actions stopped")


def test_pause_resume_and_start_take_no_body(client: FlaskClient) -> None:
    # No body and no Content-Type, as `curl -X POST` sends: the controls need no data.
    assert client.post("/api/scenarios/tiny/start").status_code == 201
    assert client.post("/api/scenarios/tiny/pause").get_json()["status"] == "paused"
    assert client.post("/api/scenarios/tiny/resume").get_json()["status"] == "running"
    # A body still has to be JSON.
    typed = client.post("/api/scenarios/tiny/pause", data="x=1", content_type="text/plain")
    assert typed.status_code == 415
    # ...and a bodiless change from another site is still refused.
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = client.post("/api/scenarios/tiny/pause", headers=headers)
        assert refused.status_code == 403, headers
        assert refused.get_json()["error"] in {"cross_origin_request", "cross_site_request"}
    assert _run(client)["status"] == "running"
    client.delete("/api/scenarios/tiny/stop")


def test_speed_is_validated(client: FlaskClient) -> None:
    response = client.post("/api/scenarios/tiny/start", json={"speed": 0})
    assert response.status_code == 422
    assert response.get_json()["details"][0]["field"] == "speed"


def test_expected_alerts_are_reported_when_they_fire(alert_app: Flask, alerts: FakeAlerts) -> None:
    client = alert_app.test_client()
    client.post("/api/scenarios/tiny/start", json={"speed": 2})
    checked = wait_for(lambda: _run(client)["alerts"][0]["fired"] is False, timeout=5, what="first check")
    assert checked
    alerts.names.add("HighCpuUsage")
    fired = wait_for(lambda: (a := _run(client)["alerts"][0])["fired"] and a, timeout=5, what="alert seen")
    assert fired["name"] == "HighCpuUsage"
    assert fired["first_seen_at"] is not None
    client.delete("/api/scenarios/tiny/stop")


def test_without_alert_source_fired_is_unknown(client: FlaskClient) -> None:
    run = client.post("/api/scenarios/tiny/start", json={"speed": 2}).get_json()
    assert run["alerts"] == [{"name": "HighCpuUsage", "fired": None, "first_seen_at": None}]
    client.delete("/api/scenarios/tiny/stop")


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ([{"rule": "A", "status": "firing"}, {"rule": "B", "status": "resolved"}], {"A"}),
        ({"alerts": [{"labels": {"alertname": "C"}}]}, {"C"}),
        ({"alerts": [{"name": "D"}, "junk", 3]}, {"D"}),
        ("nonsense", set()),
        (
            {
                "alerts": [
                    {"labels": {"alertname": "E"}, "state": "firing"},
                    {"labels": {"alertname": "F"}, "state": "pending"},
                ]
            },
            {"E"},
        ),
    ],
)
def test_alert_names(body: Any, names: set[str]) -> None:
    assert alert_names(body) == names


def test_http_alert_source_reads_the_alert_api() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != "Bearer alerts-token":
            return httpx.Response(401, json={"error": "a valid bearer token is required"})
        assert request.url.path == "/api/alerts/active"
        return httpx.Response(200, json={"alerts": [{"labels": {"alertname": "HighCpuUsage"}, "state": "firing"}]})

    transport = httpx.MockTransport(handler)
    assert HttpAlertSource("http://alerts.test/", "alerts-token", transport=transport).firing() == {"HighCpuUsage"}
    with pytest.raises(AlertSourceError, match="401"):
        HttpAlertSource("http://alerts.test/", None, transport=transport).firing()
